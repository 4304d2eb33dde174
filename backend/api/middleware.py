"""Request id, one access-log line per request, and a JSON 500 for anything unhandled."""

import json
import logging
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from shared.logging import request_id_var

logger = logging.getLogger("api.access")

# Added by the Lambda Web Adapter: the API Gateway request context, as JSON.
GATEWAY_CONTEXT_HEADER = "x-amzn-request-context"
REQUEST_ID_HEADER = "x-request-id"


def gateway_context(raw_context: str | None) -> dict[str, Any]:
    """The API Gateway request context (the header's JSON); empty when absent (a direct call) or malformed."""
    if raw_context is None:
        return {}
    try:
        context = json.loads(raw_context)
    except ValueError:
        return {}
    return context if isinstance(context, dict) else {}


def _gateway_request_id(raw_context: str | None) -> str | None:
    request_id = gateway_context(raw_context).get("requestId")
    return request_id if isinstance(request_id, str) and request_id else None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_context = Headers(scope=scope).get(GATEWAY_CONTEXT_HEADER)
        request_id = _gateway_request_id(raw_context) or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        context_token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            logger.exception("unhandled error")
            if not response_started:
                response = error_response(500, "internal_error", "internal server error", request_id)
                await response(scope, receive, send_with_request_id)
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "lambda_request_context": raw_context is not None,
                },
            )
            request_id_var.reset(context_token)
