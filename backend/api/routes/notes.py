import re
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status

from api.dependencies import CurrentUser, CursorQuery, IdempotencyKeyHeader, PageLimitQuery, ServicesDep
from api.errors import error_responses
from api.paths import NoteId
from api.schemas import NoteCreate, NotePage, NoteResponse, NoteUpdate
from domain.entities import Note
from domain.errors import VersionConflict

router = APIRouter(prefix="/notes", tags=["notes"], responses=error_responses(401, 422, 503))

# A version we could have issued: ASCII digits only (str.isdigit() also takes '²'), and short enough to
# be a DynamoDB number (38 digits) and an exact JSON number in any client; versions grow by one a PATCH.
_VERSION = re.compile(r"[0-9]{1,15}")


def etag(note: Note) -> str:
    return f'"{note.version}"'


def parse_if_match(if_match: str | None) -> int | None:
    """The note version the client last saw, from If-Match: "<version>" (the ETag we sent); None for
    If-Match: *, which RFC 9110 (13.1.1) matches with any current version.

    Anything that is not such a tag cannot match: 412, like a stale one."""
    if if_match is None:
        raise HTTPException(
            status.HTTP_428_PRECONDITION_REQUIRED, "If-Match with the note's ETag is required to change it"
        )
    if if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if _VERSION.fullmatch(tag) is None:
        raise VersionConflict("If-Match does not match the note's current ETag")
    return int(tag)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400))
def create_note(
    payload: NoteCreate,
    caller: CurrentUser,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NoteResponse:
    note = services.notes.create(caller, payload.title, payload.body, idempotency_key)
    response.headers["ETag"] = etag(note)
    response.headers["Location"] = f"/notes/{note.id}"
    return NoteResponse.model_validate(note)


@router.get("", responses=error_responses(400))
def list_notes(
    caller: CurrentUser, services: ServicesDep, limit: PageLimitQuery = 20, cursor: CursorQuery = None
) -> NotePage:
    page = services.notes.list(caller, limit, cursor)
    return NotePage.model_validate(page)


@router.get("/{note_id}", responses=error_responses(404))
def get_note(note_id: NoteId, caller: CurrentUser, services: ServicesDep, response: Response) -> NoteResponse:
    note = services.notes.get(caller, note_id)
    response.headers["ETag"] = etag(note)
    return NoteResponse.model_validate(note)


@router.patch("/{note_id}", responses=error_responses(400, 404, 412, 428))
def update_note(
    note_id: NoteId,
    payload: NoteUpdate,
    caller: CurrentUser,
    services: ServicesDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> NoteResponse:
    note = services.notes.update(caller, note_id, parse_if_match(if_match), payload.title, payload.body)
    response.headers["ETag"] = etag(note)
    return NoteResponse.model_validate(note)


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
def delete_note(note_id: NoteId, caller: CurrentUser, services: ServicesDep) -> Response:
    services.notes.delete(caller, note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
