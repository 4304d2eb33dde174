from fastapi import APIRouter, Response, status

from api.dependencies import CurrentUser, CursorQuery, IdempotencyKeyHeader, PageLimitQuery, ServicesDep
from api.errors import error_responses
from api.paths import FileId, NoteId
from api.schemas import (
    FileCreate,
    FileDownloadResponse,
    FilePage,
    FileResponse,
    FileUploadResponse,
    UploadInstructions,
)

router = APIRouter(
    prefix="/notes/{note_id}/files", tags=["files"], responses=error_responses(401, 404, 422, 503)
)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 409))
def start_upload(
    note_id: NoteId,
    payload: FileCreate,
    caller: CurrentUser,
    services: ServicesDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> FileUploadResponse:
    """Records the file and returns a presigned S3 POST limited to this content type and size."""
    ticket = services.files.start_upload(
        caller, note_id, payload.file_name, payload.content_type, payload.size, idempotency_key
    )
    return FileUploadResponse(
        file=FileResponse.model_validate(ticket.file),
        upload=UploadInstructions(
            url=ticket.upload.url, fields=ticket.upload.fields, expires_in=ticket.upload.expires_in
        ),
    )


@router.get("", responses=error_responses(400))
def list_files(
    note_id: NoteId,
    caller: CurrentUser,
    services: ServicesDep,
    limit: PageLimitQuery = 20,
    cursor: CursorQuery = None,
) -> FilePage:
    page = services.files.list(caller, note_id, limit, cursor)
    return FilePage.model_validate(page)


@router.get("/{file_id}")
def get_file(
    note_id: NoteId, file_id: FileId, caller: CurrentUser, services: ServicesDep
) -> FileDownloadResponse:
    ticket = services.files.start_download(caller, note_id, file_id)
    return FileDownloadResponse(
        file=FileResponse.model_validate(ticket.file), download_url=ticket.url, expires_in=ticket.expires_in
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_file(note_id: NoteId, file_id: FileId, caller: CurrentUser, services: ServicesDep) -> Response:
    services.files.delete(caller, note_id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
