"""Request and response bodies (the HTTP contract), separate from domain entities."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.entities import MAX_FILE_SIZE

# type/subtype per RFC 6838, no parameters: the upload policy compares it byte for byte.
CONTENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"

PageLimit = Annotated[int, Field(ge=1, le=100)]


class StrictModel(BaseModel):
    """A request body exactly as the schema documents it: no unknown field, no coercion (`"size": true` or
    `"size": "3"` is a 422, not 1 or 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EntityView(BaseModel):
    """A response read off a domain entity's attributes (`Model.model_validate(entity)`): the fields
    listed are the contract; anything else on the entity (owner ids, object keys) stays internal."""

    model_config = ConfigDict(from_attributes=True)


class HealthResponse(BaseModel):
    status: str
    environment: str
    version: str


class ProfileUpdate(StrictModel):
    display_name: str | None = Field(default=None, max_length=100)


class ProfileResponse(EntityView):
    uid: str
    email: str | None
    display_name: str | None
    created_at: datetime
    updated_at: datetime


class ProfilePage(EntityView):
    items: list[ProfileResponse]
    next_cursor: str | None


class NoteCreate(StrictModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class NoteUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)


class NoteResponse(EntityView):
    id: str
    title: str
    body: str
    version: int
    file_count: int
    created_at: datetime
    updated_at: datetime


class NotePage(EntityView):
    items: list[NoteResponse]
    next_cursor: str | None


class FileCreate(StrictModel):
    file_name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(pattern=CONTENT_TYPE_PATTERN)
    size: int = Field(ge=1, le=MAX_FILE_SIZE, description="bytes; the upload may not exceed it")


class FileResponse(EntityView):
    id: str
    note_id: str
    file_name: str
    content_type: str
    size: int
    created_at: datetime


class FilePage(EntityView):
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


class GatewayError(BaseModel):
    """API Gateway's own answer: its JWT authorizer refused the token, the function never ran."""

    message: str
