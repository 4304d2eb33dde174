"""What the use cases need from the outside world; infrastructure implements these."""

from datetime import datetime
from typing import Protocol

from domain.entities import FileRecord, Note, Page, PresignedUpload, Principal, UploadTicket, UserProfile
from domain.idempotency import IdempotentCreate


class TokenVerifier(Protocol):
    def verify(self, token: str, *, check_revoked: bool) -> Principal:
        """Raises AuthenticationFailed for any unacceptable token."""
        ...


class UserAccounts(Protocol):
    """The sign-in accounts behind the tokens (Firebase Auth users)."""

    def delete_user(self, uid: str) -> None:
        """No new tokens for this uid after this; done already if there is no such account."""
        ...


class DeletedAccounts(Protocol):
    """Accounts being deleted or deleted lately: their ID tokens stay valid up to an hour after the account
    is gone, so every request asks here (cheaply: no Firebase call) after the token checks out.

    Held by the store of the users' records (one table), because its writes are conditioned on it: once
    mark_deleted(uid) returned, every create of UserRepository and NoteRepository for uid raises
    AccountDeleted and stores nothing, so no write racing the deletion can bring data back after the erase.
    """

    def mark_deleted(self, uid: str, until: datetime) -> None:
        """From now until `until`: is_deleted(uid), and nothing new of uid is stored. Marking again moves
        `until` (a deletion that failed halfway runs again)."""
        ...

    def is_deleted(self, uid: str) -> bool:
        """A strongly consistent read: a mark_deleted that returned is seen."""
        ...


class UserRepository(Protocol):
    def create_profile_if_absent(self, profile: UserProfile) -> UserProfile:
        """Stores `profile` unless one exists; returns the stored profile either way."""
        ...

    def get_profile(self, uid: str) -> UserProfile | None: ...

    def save_profile(self, profile: UserProfile) -> UserProfile:
        """Upsert that keeps the original created_at."""
        ...

    def list_profiles(self, limit: int, cursor: str | None) -> Page[UserProfile]: ...

    def delete_all_user_items(self, uid: str) -> None:
        """Profile, notes and file records of one user."""
        ...


class NoteRepository(Protocol):
    def add_note(
        self, note: Note, idempotency: IdempotentCreate[Note] | None = None
    ) -> IdempotentCreate[Note] | None:
        """Stores the note, and `idempotency` with it in one step. If the note's owner holds a live key
        of that name already, stores nothing and returns what that key recorded when it was the same
        request (same fingerprint), else raises IdempotencyKeyReused; returns None once stored."""
        ...

    def get_note(self, owner_uid: str, note_id: str) -> Note | None: ...

    def list_notes(self, owner_uid: str, limit: int, cursor: str | None) -> Page[Note]: ...

    def update_note(self, note: Note, expected_version: int) -> Note:
        """Writes title, body, version and updated_at from `note` if the stored version is expected_version
        (else VersionConflict; NotFound if gone). file_count and created_at stay as stored."""
        ...

    def delete_note(self, owner_uid: str, note_id: str) -> None:
        """Removes the note and every file record of it in one step: a file added meanwhile is removed
        with them or refused (NotFound), never left without its note. NotFound if the note is gone."""
        ...

    def add_file(
        self,
        record: FileRecord,
        max_files_per_note: int,
        idempotency: IdempotentCreate[UploadTicket] | None = None,
    ) -> IdempotentCreate[UploadTicket] | None:
        """Stores the record and counts it on its note atomically, with `idempotency` in the same step.

        A live key of that name held by the owner wins over everything: nothing is stored, and what the
        key recorded is returned for the same request, IdempotencyKeyReused raised for another one (a
        note's create included). Else NotFound if the note is gone; LimitExceeded if the note has
        max_files_per_note files; None once stored.
        """
        ...

    def get_file(self, owner_uid: str, note_id: str, file_id: str) -> FileRecord | None: ...

    def list_files(
        self, owner_uid: str, note_id: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]: ...

    def delete_file(self, record: FileRecord) -> None:
        """Removes the record and uncounts it on its note atomically; NotFound if gone."""
        ...


class FileStorage(Protocol):
    def presign_upload(
        self, key: str, content_type: str, max_size: int, expires_in: int
    ) -> PresignedUpload: ...

    def presign_download(self, key: str, expires_in: int, file_name: str) -> str:
        """A URL that downloads the object as an attachment named file_name: never shown inline, so an
        uploaded page or SVG cannot run in the storage's origin."""
        ...

    def delete_object(self, key: str) -> None:
        """Every version of exactly this key: nothing stays that a version id could bring back."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Every version of every key under the prefix."""
        ...
