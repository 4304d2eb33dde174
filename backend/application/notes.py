from dataclasses import replace
from datetime import UTC, datetime

from domain.entities import Note, Page, Principal, note_object_prefix
from domain.errors import NotFound
from domain.idempotency import fingerprint, under_key
from domain.ids import new_id
from domain.ports import FileStorage, NoteRepository


class NoteService:
    def __init__(self, notes: NoteRepository, storage: FileStorage) -> None:
        self._notes = notes
        self._storage = storage

    def create(self, caller: Principal, title: str, body: str, idempotency_key: str | None = None) -> Note:
        """A new note; with a key the caller used before for the same title and body, the note that
        request created (as it was answered then) and nothing new."""
        now = datetime.now(UTC)
        note = Note(
            id=new_id(),
            owner_uid=caller.uid,
            title=title,
            body=body,
            version=1,
            file_count=0,
            created_at=now,
            updated_at=now,
        )
        asked = fingerprint("create note", title, body)
        earlier = self._notes.add_note(note, under_key(idempotency_key, asked, note, now))
        return note if earlier is None else earlier.answer_to(asked)

    def get(self, caller: Principal, note_id: str) -> Note:
        note = self._notes.get_note(caller.uid, note_id)
        if note is None:
            raise NotFound("note not found")
        return note

    def list(self, caller: Principal, limit: int, cursor: str | None) -> Page[Note]:
        return self._notes.list_notes(caller.uid, limit, cursor)

    def update(
        self, caller: Principal, note_id: str, expected_version: int, title: str | None, body: str | None
    ) -> Note:
        current = self.get(caller, note_id)
        changed = replace(
            current,
            title=current.title if title is None else title,
            body=current.body if body is None else body,
            version=expected_version + 1,
            updated_at=datetime.now(UTC),
        )
        # The repository's condition on expected_version decides; `current` may already be stale.
        return self._notes.update_note(changed, expected_version)

    def delete(self, caller: Principal, note_id: str) -> None:
        self._notes.delete_note(caller.uid, note_id)
        # Every file's object is under the note's prefix, and so is anything a ticket stored after its
        # file was deleted.
        self._storage.delete_prefix(note_object_prefix(caller.uid, note_id))
