import re
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from domain.errors import AuthenticationFailed

T = TypeVar("T")

ADMIN_ROLE = "admin"
MAX_FILE_SIZE = 10 * 1024 * 1024
# Keeps a note and all its file records within one TransactWriteItems (limit 100) when the note is deleted.
MAX_FILES_PER_NOTE = 20


# Firebase uids are 1-128 characters, and custom auth may put anything in them. Ours become a key
# prefix (USER#{uid}, users/{uid}/): limited to these characters no uid is a prefix of another's keys.
_UID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as stated by a verified ID token."""

    uid: str
    email: str | None
    role: str | None

    def __post_init__(self) -> None:
        if _UID.fullmatch(self.uid) is None:
            # A valid token, but for an account whose keys could overlap another's ("a/b" under "a/").
            raise AuthenticationFailed("invalid or missing credentials")

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE


@dataclass(frozen=True)
class UserProfile:
    uid: str
    email: str | None
    display_name: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Note:
    id: str
    owner_uid: str
    title: str
    body: str
    version: int
    file_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner_uid: str
    note_id: str
    file_name: str
    content_type: str
    size: int
    object_key: str
    created_at: datetime


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    fields: dict[str, str]
    expires_in: int


@dataclass(frozen=True)
class UploadTicket:
    """A new file record and the presigned POST that uploads its bytes: what POST /notes/{id}/files
    answers, and what its Idempotency-Key replays."""

    file: FileRecord
    upload: PresignedUpload


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, in key order. next_cursor is opaque, good only for the listing that issued
    it, and None once the listing is done. It promises nothing about what follows: a DynamoDB query hands
    one out with every full page (so a listing can end with an empty page) and can stop short at 1 MB."""

    items: list[T]
    next_cursor: str | None


def object_key(owner_uid: str, note_id: str, file_id: str) -> str:
    """Built from ids only: a client-supplied file name never reaches the key."""
    return f"{note_object_prefix(owner_uid, note_id)}files/{file_id}"


def note_object_prefix(owner_uid: str, note_id: str) -> str:
    return f"{user_object_prefix(owner_uid)}notes/{note_id}/"


def user_object_prefix(owner_uid: str) -> str:
    return f"users/{owner_uid}/"
