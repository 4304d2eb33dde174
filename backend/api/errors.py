"""Every error leaves the API as {"error": {"code", "message", "request_id", "details"?}}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.schemas import ErrorResponse, GatewayError
from domain import errors

# Domain error -> (HTTP status, stable machine-readable code).
_DOMAIN_STATUS: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.NotFound: (404, "not_found"),
    errors.VersionConflict: (412, "precondition_failed"),
    errors.LimitExceeded: (409, "limit_exceeded"),
    errors.InvalidCursor: (400, "invalid_cursor"),
    errors.AuthenticationFailed: (401, "unauthenticated"),
    errors.PermissionDenied: (403, "forbidden"),
    errors.ServiceUnavailable: (503, "service_unavailable"),
    # As draft-ietf-httpapi-idempotency-key-header advises: the request is well-formed, but its key
    # already stands for another one.
    errors.IdempotencyKeyReused: (422, "idempotency_key_reused"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    428: "precondition_required",
}

# RFC 6750: a 401 names the scheme the client should use.
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# A 503 says when to come back (RFC 9110): the backing service was busy or out of reach just now.
_RETRY_AFTER = {"Retry-After": "1"}


# Why each error status can come back, for the OpenAPI document (what clients and the fuzz suite rely on).
_WHY = {
    400: "The body cannot be parsed (not UTF-8), or the cursor is not one this listing issued",
    401: "Missing, invalid or revoked ID token (refused by the API's authorizer, or by the app)",
    403: "The caller lacks the role this operation needs",
    404: "No such resource for this caller",
    409: "A limit would be exceeded",
    412: "If-Match does not match the note's current ETag",
    422: "The request does not match this schema",
    428: "If-Match is missing",
    503: "A backing service is unavailable or busy: retry after Retry-After seconds",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}, "required": True}},
    503: {"Retry-After": {"description": "seconds", "schema": {"type": "string"}, "required": True}},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses a route can answer, all in the one error shape (they replace
    FastAPI's default 422 body, which our handler never sends) — but a 401, which the API's authorizer may
    answer before the app sees the request, in its own shape (docs/auth.md)."""
    return {
        status: {
            "model": ErrorResponse | GatewayError if status == 401 else ErrorResponse,
            "description": _WHY[status],
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in statuses
    }


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        body["details"] = details
    if status == 401:
        headers = {**_CHALLENGE, **(headers or {})}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = next(
        (mapping for kind, mapping in _DOMAIN_STATUS.items() if isinstance(exc, kind)),
        (500, "internal_error"),
    )
    headers = _RETRY_AFTER if isinstance(exc, errors.ServiceUnavailable) else None
    return error_response(status, code, str(exc), _request_id(request), headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to. Starlette's 405 names only the methods of the first route that
    matches the path, and here each method of a path is a route of its own (RFC 9110: list them all)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 (types only: registered for this class)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(
        exc.status_code,
        _HTTP_CODES.get(exc.status_code, "http_error"),
        message,
        _request_id(request),
        headers=headers or None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 (types only: registered for this class)
    # No "input" echo: it may carry whatever the client sent, including secrets.
    details = [
        {"location": list(error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return error_response(422, "validation_error", "request validation failed", _request_id(request), details)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
