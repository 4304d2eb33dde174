"""Request and response bodies (the HTTP contract), separate from domain entities."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.entities import MAX_FILE_SIZE, FileRecord, Note, UserProfile

# type/subtype per RFC 6838, no parameters: the upload policy compares it byte for byte.
CONTENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"

PageLimit = Annotated[int, Field(ge=1, le=100)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HealthResponse(BaseModel):
    status: str
    environment: str
    version: str


class ProfileUpdate(StrictModel):
    display_name: str | None = Field(default=None, max_length=100)


class ProfileResponse(BaseModel):
    uid: str
    email: str | None
    display_name: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, profile: UserProfile) -> "ProfileResponse":
        return cls(
            uid=profile.uid,
            email=profile.email,
            display_name=profile.display_name,
            created_at=profile.created_at,
            updated_at=profile.updated_at,
        )


class ProfilePage(BaseModel):
    items: list[ProfileResponse]
    next_cursor: str | None


class NoteCreate(StrictModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class NoteUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)


class NoteResponse(BaseModel):
    id: str
    title: str
    body: str
    version: int
    file_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, note: Note) -> "NoteResponse":
        return cls(
            id=note.id,
            title=note.title,
            body=note.body,
            version=note.version,
            file_count=note.file_count,
            created_at=note.created_at,
            updated_at=note.updated_at,
        )


class NotePage(BaseModel):
    items: list[NoteResponse]
    next_cursor: str | None


class FileCreate(StrictModel):
    file_name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(pattern=CONTENT_TYPE_PATTERN)
    size: int = Field(ge=1, le=MAX_FILE_SIZE, description="bytes; the upload may not exceed it")


class FileResponse(BaseModel):
    id: str
    note_id: str
    file_name: str
    content_type: str
    size: int
    created_at: datetime

    @classmethod
    def of(cls, record: FileRecord) -> "FileResponse":
        return cls(
            id=record.id,
            note_id=record.note_id,
            file_name=record.file_name,
            content_type=record.content_type,
            size=record.size,
            created_at=record.created_at,
        )


class FilePage(BaseModel):
    items: list[FileResponse]
    next_cursor: str | None


class UploadInstructions(BaseModel):
    """POST multipart/form-data to `url` with all `fields` first, then the `file` part."""

    url: str
    fields: dict[str, str]
    expires_in: int


class FileUploadResponse(BaseModel):
    file: FileResponse
    upload: UploadInstructions


class FileDownloadResponse(BaseModel):
    file: FileResponse
    download_url: str
    expires_in: int


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None
    details: list[dict[str, object]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
