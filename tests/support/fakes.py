"""In-memory implementations of the domain ports, for fast tests of use cases and the HTTP layer.

Each subclasses its port, so mypy checks every signature here rather than where the fake is wired."""

import secrets
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from bootstrap import wire_services
from domain.entities import FileRecord, Note, Page, PresignedUpload, Principal, UploadTicket, UserProfile
from domain.errors import (
    AccountDeleted,
    AuthenticationFailed,
    InvalidCursor,
    LimitExceeded,
    NotFound,
    VersionConflict,
)
from domain.idempotency import IdempotentCreate, refuse_another_request
from domain.ports import (
    DeletedAccounts,
    FileStorage,
    NoteRepository,
    TokenVerifier,
    UserAccounts,
    UserRepository,
)
from shared.settings import Settings

T = TypeVar("T")
# Names one listing: ("profiles",), ("notes", owner_uid) or ("files", owner_uid, note_id).
Listing = tuple[str, ...]


class InMemoryRepository(UserRepository, NoteRepository, DeletedAccounts):
    """Held to DynamoRepository's behaviour by tests/integration/test_repository_contract.py."""

    def __init__(self) -> None:
        self.deleted_until: dict[str, datetime] = {}  # uid -> until when its account counts as deleted
        self.profiles: dict[str, UserProfile] = {}
        self.notes: dict[tuple[str, str], Note] = {}
        self.files: dict[tuple[str, str, str], FileRecord] = {}
        self.creates: dict[tuple[str, str], IdempotentCreate[Any]] = {}  # (owner uid, key) -> its create
        # Each cursor handed out -> its listing and the last key of its page: opaque to the caller and
        # good for that listing only, as DynamoRepository's are.
        self._cursors: dict[str, tuple[Listing, str]] = {}

    def mark_deleted(self, uid: str, until: datetime) -> None:
        self.deleted_until[uid] = until

    def is_deleted(self, uid: str) -> bool:
        until = self.deleted_until.get(uid)
        return until is not None and datetime.now(UTC) < until

    def create_profile_if_absent(self, profile: UserProfile) -> UserProfile:
        self._refuse_if_deleted(profile.uid)
        return self.profiles.setdefault(profile.uid, profile)

    def get_profile(self, uid: str) -> UserProfile | None:
        return self.profiles.get(uid)

    def save_profile(self, profile: UserProfile) -> UserProfile:
        self._refuse_if_deleted(profile.uid)
        existing = self.profiles.get(profile.uid)
        stored = profile if existing is None else replace(profile, created_at=existing.created_at)
        self.profiles[profile.uid] = stored
        return stored

    def list_profiles(self, limit: int, cursor: str | None) -> Page[UserProfile]:
        return self._page(("profiles",), self.profiles, limit, cursor)

    def delete_all_user_items(self, uid: str) -> None:
        self.profiles.pop(uid, None)
        self.notes = {key: note for key, note in self.notes.items() if key[0] != uid}
        self.files = {key: record for key, record in self.files.items() if key[0] != uid}
        self.creates = {key: create for key, create in self.creates.items() if key[0] != uid}

    def add_note(
        self, note: Note, idempotency: IdempotentCreate[Note] | None = None
    ) -> IdempotentCreate[Note] | None:
        self._refuse_if_deleted(note.owner_uid)
        earlier = self._live_create(note.owner_uid, idempotency)
        if earlier is not None:
            return earlier
        self.notes[(note.owner_uid, note.id)] = note
        self._record_create(note.owner_uid, idempotency)
        return None

    def get_note(self, owner_uid: str, note_id: str) -> Note | None:
        return self.notes.get((owner_uid, note_id))

    def list_notes(self, owner_uid: str, limit: int, cursor: str | None) -> Page[Note]:
        mine = {note_id: note for (uid, note_id), note in self.notes.items() if uid == owner_uid}
        return self._page(("notes", owner_uid), mine, limit, cursor)

    def update_note(self, note: Note, expected_version: int) -> Note:
        current = self.get_note(note.owner_uid, note.id)
        if current is None:
            raise NotFound("note not found")
        if current.version != expected_version:
            raise VersionConflict("note was changed by another request")
        stored = replace(
            current, title=note.title, body=note.body, version=note.version, updated_at=note.updated_at
        )
        self.notes[(note.owner_uid, note.id)] = stored
        return stored

    def delete_note(self, owner_uid: str, note_id: str) -> None:
        if self.notes.pop((owner_uid, note_id), None) is None:
            raise NotFound("note not found")
        self.files = {key: record for key, record in self.files.items() if key[:2] != (owner_uid, note_id)}

    def add_file(
        self,
        record: FileRecord,
        max_files_per_note: int,
        idempotency: IdempotentCreate[UploadTicket] | None = None,
    ) -> IdempotentCreate[UploadTicket] | None:
        self._refuse_if_deleted(record.owner_uid)
        earlier = self._live_create(record.owner_uid, idempotency)
        if earlier is not None:
            return earlier
        note = self.get_note(record.owner_uid, record.note_id)
        if note is None:
            raise NotFound("note not found")
        if note.file_count >= max_files_per_note:
            raise LimitExceeded("too many files")
        self.files[(record.owner_uid, record.note_id, record.id)] = record
        self.notes[(note.owner_uid, note.id)] = replace(note, file_count=note.file_count + 1)
        self._record_create(record.owner_uid, idempotency)
        return None

    def get_file(self, owner_uid: str, note_id: str, file_id: str) -> FileRecord | None:
        return self.files.get((owner_uid, note_id, file_id))

    def list_files(self, owner_uid: str, note_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
        mine = {
            file_id: record
            for (uid, of_note, file_id), record in self.files.items()
            if (uid, of_note) == (owner_uid, note_id)
        }
        return self._page(("files", owner_uid, note_id), mine, limit, cursor)

    def delete_file(self, record: FileRecord) -> None:
        if self.files.pop((record.owner_uid, record.note_id, record.id), None) is None:
            raise NotFound("file not found")
        note = self.notes[(record.owner_uid, record.note_id)]
        self.notes[(note.owner_uid, note.id)] = replace(note, file_count=note.file_count - 1)

    def _refuse_if_deleted(self, uid: str) -> None:
        """What DynamoRepository's condition on the deletion mark does to every create."""
        if self.is_deleted(uid):
            raise AccountDeleted

    def _live_create(
        self, owner_uid: str, idempotency: IdempotentCreate[T] | None
    ) -> IdempotentCreate[T] | None:
        earlier = None if idempotency is None else self.creates.get((owner_uid, idempotency.key))
        if earlier is None or not earlier.is_live(datetime.now(UTC)):
            return None
        assert idempotency is not None
        refuse_another_request(earlier.fingerprint, idempotency.fingerprint)
        return earlier

    def _record_create(self, owner_uid: str, idempotency: IdempotentCreate[Any] | None) -> None:
        if idempotency is not None:
            self.creates[(owner_uid, idempotency.key)] = idempotency

    def _page(self, listing: Listing, by_key: dict[str, T], limit: int, cursor: str | None) -> Page[T]:
        after = None
        if cursor is not None:
            issued = self._cursors.get(cursor)
            if issued is None or issued[0] != listing:
                raise InvalidCursor("cursor is not valid for this listing")
            after = issued[1]
        keys = sorted(key for key in by_key if after is None or key > after)[:limit]
        next_cursor = None
        # Like a DynamoDB query: a full page always carries a cursor, even when nothing follows.
        if len(keys) == limit:
            next_cursor = secrets.token_urlsafe(16)
            self._cursors[next_cursor] = (listing, keys[-1])
        return Page(items=[by_key[key] for key in keys], next_cursor=next_cursor)


class InMemoryStorage(FileStorage):
    """A versioned bucket, by count: `versions` holds how many versions (delete markers included) each key
    has. Presigning an upload counts as the client using it once, at once; receive_upload is the client
    using a ticket again, or late. Held to S3FileStorage by tests/integration/test_storage_contract.py."""

    def __init__(self) -> None:
        self.versions: Counter[str] = Counter()
        self.upload_policies: dict[str, tuple[str, int]] = {}

    @property
    def objects(self) -> set[str]:
        """Every key with anything left under it."""
        return set(+self.versions)

    def receive_upload(self, key: str) -> None:
        self.versions[key] += 1

    def presign_upload(self, key: str, content_type: str, max_size: int, expires_in: int) -> PresignedUpload:
        self.receive_upload(key)
        self.upload_policies[key] = (content_type, max_size)
        return PresignedUpload(
            url="https://storage.invalid/upload", fields={"key": key}, expires_in=expires_in
        )

    def presign_download(self, key: str, expires_in: int, file_name: str) -> str:
        return f"https://storage.invalid/{key}?expires={expires_in}&attachment={quote(file_name)}"

    def delete_object(self, key: str) -> None:
        del self.versions[key]

    def delete_prefix(self, prefix: str) -> None:
        for key in [key for key in self.versions if key.startswith(prefix)]:
            del self.versions[key]


class FakeIdentity(TokenVerifier, UserAccounts):
    """Accepts exactly the tokens it was given. As with Firebase, tokens that were revoked, or whose
    account was deleted, pass only without check_revoked (until they expire)."""

    def __init__(self) -> None:
        self.claims: dict[str, tuple[str, str | None]] = {}  # token -> (uid, role)
        self.revoked: set[str] = set()
        self.deleted: set[str] = set()

    def issue(self, uid: str, role: str | None = None) -> str:
        token = f"token-{uid}"
        self.claims[token] = (uid, role)
        return token

    def verify(self, token: str, *, check_revoked: bool) -> Principal:
        if token not in self.claims:
            raise AuthenticationFailed("invalid or missing credentials")
        uid, role = self.claims[token]
        if check_revoked and (token in self.revoked or uid in self.deleted):
            raise AuthenticationFailed("invalid or missing credentials")
        # Built from the claims on each call, as the real verifier does, so the Principal's checks apply.
        return Principal(uid=uid, email=f"{uid}@example.com", role=role)

    def delete_user(self, uid: str) -> None:
        self.deleted.add(uid)


class FakeBackend:
    """The fakes, and the use cases wired on them by the app's own composition root."""

    def __init__(self) -> None:
        self.repository = InMemoryRepository()
        self.storage = InMemoryStorage()
        self.identity = FakeIdentity()
        self.services = wire_services(
            token_verifier=self.identity,
            accounts=self.identity,
            deleted_accounts=self.repository,
            users=self.repository,
            notes=self.repository,
            storage=self.storage,
        )


def make_settings(**overrides: object) -> Settings:
    """Explicit values, so variables in the developer's environment cannot leak into unit tests."""
    values: dict[str, object] = {
        "environment": "test",
        "dynamodb_table": "unit-table",
        "s3_bucket": "unit-bucket",
        "firebase_project_id": "demo-unit",
        "aws_endpoint_url": None,
        "firebase_auth_emulator_host": None,
        **overrides,
    }
    return Settings.model_validate(values)
