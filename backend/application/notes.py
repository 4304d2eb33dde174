from dataclasses import replace
from datetime import UTC, datetime

from domain.entities import Note, Page, Principal, note_object_prefix
from domain.errors import NotFound, VersionConflict
from domain.idempotency import fingerprint, under_key
from domain.ids import new_id
from domain.ports import FileStorage, NoteRepository

# If-Match: * under concurrent edits: reads and writes again this many times in all, then 412 as a tag would.
_ANY_VERSION_TRIES = 3


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
        self,
        caller: Principal,
        note_id: str,
        expected_version: int | None,
        title: str | None,
        body: str | None,
    ) -> Note:
        """Changes the note if it is at expected_version; None (If-Match: *) accepts whichever version is
        current, so an edit that lands between our read and our write is read again, not a 412."""
        tries = 0
        while True:
            tries += 1
            current = self.get(caller, note_id)
            version = current.version if expected_version is None else expected_version
            changed = replace(
                current,
                title=current.title if title is None else title,
                body=current.body if body is None else body,
                version=version + 1,
                updated_at=datetime.now(UTC),
            )
            try:
                # The repository's condition on the version decides; `current` may already be stale.
                return self._notes.update_note(changed, version)
            except VersionConflict:
                if expected_version is not None or tries == _ANY_VERSION_TRIES:
                    raise

    def delete(self, caller: Principal, note_id: str) -> None:
        self._notes.delete_note(caller.uid, note_id)
        # Every file's object is under the note's prefix, and so is anything a ticket stored after its
        # file was deleted.
        self._storage.delete_prefix(note_object_prefix(caller.uid, note_id))
