from dataclasses import dataclass
from datetime import UTC, datetime

from domain.entities import MAX_FILES_PER_NOTE, FileRecord, Page, Principal, UploadTicket, object_key
from domain.errors import NotFound
from domain.idempotency import fingerprint, under_key
from domain.ids import new_id
from domain.ports import FileStorage, NoteRepository

URL_EXPIRY_SECONDS = 300


@dataclass(frozen=True)
class DownloadTicket:
    file: FileRecord
    url: str
    expires_in: int


class FileService:
    def __init__(self, notes: NoteRepository, storage: FileStorage) -> None:
        self._notes = notes
        self._storage = storage

    def start_upload(
        self,
        caller: Principal,
        note_id: str,
        file_name: str,
        content_type: str,
        size: int,
        idempotency_key: str | None = None,
    ) -> UploadTicket:
        """A new file record and its upload ticket; with a key the caller used before for the same
        request, the record and ticket that request got (the ticket may have expired since)."""
        now = datetime.now(UTC)
        file_id = new_id()
        record = FileRecord(
            id=file_id,
            owner_uid=caller.uid,
            note_id=note_id,
            file_name=file_name,
            content_type=content_type,
            size=size,
            object_key=object_key(caller.uid, note_id, file_id),
            created_at=now,
        )
        # Signed before the record is stored, so the key can record the whole answer in the same write.
        # Signing calls nothing; a ticket whose record is refused is never handed out.
        upload = self._storage.presign_upload(record.object_key, content_type, size, URL_EXPIRY_SECONDS)
        ticket = UploadTicket(file=record, upload=upload)
        asked = fingerprint("create file", note_id, file_name, content_type, size)
        earlier = self._notes.add_file(
            record, MAX_FILES_PER_NOTE, under_key(idempotency_key, asked, ticket, now)
        )
        return ticket if earlier is None else earlier.answer_to(asked)

    def list(self, caller: Principal, note_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
        if self._notes.get_note(caller.uid, note_id) is None:
            raise NotFound("note not found")
        return self._notes.list_files(caller.uid, note_id, limit, cursor)

    def get(self, caller: Principal, note_id: str, file_id: str) -> FileRecord:
        record = self._notes.get_file(caller.uid, note_id, file_id)
        if record is None:
            raise NotFound("file not found")
        return record

    def start_download(self, caller: Principal, note_id: str, file_id: str) -> DownloadTicket:
        record = self.get(caller, note_id, file_id)
        url = self._storage.presign_download(record.object_key, URL_EXPIRY_SECONDS, record.file_name)
        return DownloadTicket(file=record, url=url, expires_in=URL_EXPIRY_SECONDS)

    def delete(self, caller: Principal, note_id: str, file_id: str) -> None:
        record = self.get(caller, note_id, file_id)
        self._notes.delete_file(record)
        self._storage.delete_object(record.object_key)
