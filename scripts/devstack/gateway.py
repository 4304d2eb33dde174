"""A small local API Gateway (HTTP API, payload format 2.0) in front of the Lambda Runtime Interface Emulator.

Each HTTP request becomes a payload-2.0 event, is POSTed to RIE's invoke URL (one invocation at a time, as RIE
allows no more), and the function's answer is mapped back the way HTTP API does it. See docs/gateway.md.

Run: ``python -m devstack.gateway --invoke-url http://127.0.0.1:9000/2015-03-31/functions/function/invocations``
(with ``scripts/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "HEALTH_PATH",
    "MAX_INVOKE_PAYLOAD_BYTES",
    "Gateway",
    "GatewayResponse",
    "LambdaResponseError",
    "build_event",
    "decode_raw_path",
    "invoke_url_for",
    "is_text_media_type",
    "main",
    "map_lambda_response",
    "split_cookies",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOG = logging.getLogger("devstack.gateway")

#: Lambda's synchronous invocation payload limit (request event), in bytes.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
#: The gateway's own health route; any other path goes to the function.
HEALTH_PATH = "/__gateway/health"
#: Set to 1 to log every event and every function answer (bodies cut to LOG_BODY_CHARS).
LOG_EVENTS_ENV = "DEVSTACK_GATEWAY_LOG_EVENTS"
LOG_BODY_CHARS = 2048
#: How long a timed-out invocation may keep RIE busy before the gateway gives up on it (Lambda's maximum).
RIE_HARD_LIMIT_S = 900.0

# HTTP API delivers the body as a string only for these types (and text/*); everything else, a missing
# Content-Type and application/x-www-form-urlencoded included, arrives base64-encoded (observed on AWS).
_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PCT_RUN = re.compile(rb"(?:%[0-9A-Fa-f]{2})+")
# Response headers the gateway sets itself (framing) and never copies from the function's answer.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
# Headers API Gateway sets itself: the function's copy is dropped rather than sent twice.
_GATEWAY_OWNED = _HOP_BY_HOP | {"date"}


def invoke_url_for(host: str = "127.0.0.1", port: int = 8080) -> str:
    """RIE's invoke URL for a given address."""
    return f"http://{host}:{port}/2015-03-31/functions/function/invocations"


def is_text_media_type(content_type: str | None) -> bool:
    """Whether HTTP API passes a request body with this Content-Type as text (else base64)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_MEDIA_TYPES


def decode_raw_path(raw_path: bytes) -> str:
    """Percent-decode a request path as HTTP API builds ``rawPath``: every escape but ``%25`` is decoded."""

    def _decode(match: re.Match[bytes]) -> bytes:
        run = match.group(0)
        out = bytearray()
        for i in range(0, len(run), 3):
            byte = int(run[i + 1 : i + 3], 16)
            out += b"%25" if byte == 0x25 else bytes([byte])
        return bytes(out)

    return _PCT_RUN.sub(_decode, raw_path).decode("utf-8", "replace")


def split_cookies(cookie_headers: Iterable[str]) -> list[str]:
    """``Cookie`` header(s) → the event's ``cookies`` list (split on ``;``, trimmed, empties dropped)."""
    return [part.strip() for header in cookie_headers for part in header.split(";") if part.strip()]


def _format_time(epoch_ms: int) -> str:
    t = time.gmtime(epoch_ms / 1000)
    month = _MONTHS[t.tm_mon - 1]
    return f"{t.tm_mday:02d}/{month}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def new_request_id() -> str:
    """An id shaped like HTTP API's (16 base64 characters, e.g. ``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def _trace_id(epoch_ms: int) -> str:
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


def build_event(
    scope: Mapping[str, Any],
    body: bytes,
    *,
    request_id: str | None = None,
    now_ms: int | None = None,
    account_id: str = "123456789012",
    api_id: str = "1234567890",
    stage: str = "$default",
) -> dict[str, Any]:
    """An ASGI HTTP scope and its body → an API Gateway HTTP API payload-2.0 event (``$default`` route)."""
    request_id = request_id or new_request_id()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    raw_path_bytes = scope.get("raw_path") or urllib.parse.quote(scope["path"]).encode("ascii")
    raw_path = decode_raw_path(bytes(raw_path_bytes).split(b"?", 1)[0])
    raw_query = bytes(scope.get("query_string", b"")).decode("latin-1")
    client_ip = (scope.get("client") or ("127.0.0.1", 0))[0]
    server_port = (scope.get("server") or ("127.0.0.1", 80))[1]

    # Header names lower-cased, repeats comma-joined, Cookie moved to `cookies` (as HTTP API does).
    headers: dict[str, str] = {}
    cookie_headers: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = bytes(raw_name).decode("latin-1").lower()
        value = bytes(raw_value).decode("latin-1")
        if name == "cookie":
            cookie_headers.append(value)
        elif name in headers:
            headers[name] = f"{headers[name]},{value}"
        else:
            headers[name] = value
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip
    headers["x-forwarded-port"] = str(server_port)
    headers["x-forwarded-proto"] = str(scope.get("scheme", "http"))
    headers.setdefault("x-amzn-trace-id", _trace_id(now_ms))
    host = headers.get("host", "localhost")
    domain_name = host.rsplit(":", 1)[0] if not host.endswith("]") else host

    query: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    cookies = split_cookies(cookie_headers)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": str(scope["method"]).upper(),
            "path": raw_path,
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "sourceIp": client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": stage,
        "time": _format_time(now_ms),
        "timeEpoch": now_ms,
    }
    if body:
        if is_text_media_type(headers.get("content-type")):
            event["body"], event["isBase64Encoded"] = body.decode("utf-8", "replace"), False
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    else:
        event["isBase64Encoded"] = False
    return event


class LambdaResponseError(Exception):
    """The function failed, or answered something HTTP API cannot map (both give 500)."""


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _message(status: int, message: str) -> GatewayResponse:
    return GatewayResponse(
        status, [("content-type", "application/json")], json.dumps({"message": message}).encode()
    )


def _is_function_error(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "statusCode" not in payload
        and {"errorType", "errorMessage"} <= set(payload)
    )


def map_lambda_response(raw: bytes, *, function_error: bool = False) -> GatewayResponse:
    """Map a function's payload-2.0 answer (the bytes RIE returns) to an HTTP response.

    Raises LambdaResponseError for a function error (``X-Amz-Function-Error`` or an errorType/errorMessage
    object) and for answers HTTP API rejects (bad statusCode, non-string body, bad base64...).
    """
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise LambdaResponseError("function answer is not valid JSON") from exc
    if function_error or _is_function_error(payload):
        raise LambdaResponseError(f"function error: {raw[:500]!r}")
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # Valid JSON without statusCode: HTTP API answers 200, application/json, the answer as the body
        # (a JSON string is unwrapped).
        body = payload.encode() if isinstance(payload, str) else raw.strip()
        return GatewayResponse(200, [("content-type", "application/json")], body)

    status = payload["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise LambdaResponseError(f"invalid statusCode {status!r}")
    headers_in = {} if payload.get("headers") is None else payload["headers"]
    cookies = [] if payload.get("cookies") is None else payload["cookies"]
    body_in = payload.get("body")
    if not isinstance(headers_in, dict):
        raise LambdaResponseError("headers must be an object")
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise LambdaResponseError("cookies must be a list of strings")
    if body_in is not None and not isinstance(body_in, str):
        raise LambdaResponseError("body must be a string")

    headers: list[tuple[str, str]] = []
    for name, value in headers_in.items():
        lname = str(name).lower()
        if lname in _GATEWAY_OWNED or value is None:
            continue
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        headers.append((lname, text))
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    # Every entry of `cookies` becomes its own Set-Cookie, before any Set-Cookie from `headers`.
    headers = [("set-cookie", c) for c in cookies] + headers

    body = (body_in or "").encode()
    if payload.get("isBase64Encoded") and body:
        try:
            body = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise LambdaResponseError("isBase64Encoded is true but body is not base64") from exc
    return GatewayResponse(status, headers, body)


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class InvokeUnavailableError(Exception):
    """RIE unreachable, or no answer within the integration timeout (503)."""


class Gateway:
    """The gateway ASGI app for one RIE.

    ``function_timeout_s`` is the integration timeout (HTTP API's default and maximum is 30 s): past it the
    client gets 503 while the invocation still runs to its end in RIE. ``log_events`` defaults to the
    ``DEVSTACK_GATEWAY_LOG_EVENTS`` environment variable.
    """

    def __init__(
        self,
        invoke_url: str,
        *,
        function_timeout_s: float = 30.0,
        account_id: str = "123456789012",
        api_id: str = "1234567890",
        stage: str = "$default",
        log_events: bool | None = None,
    ) -> None:
        self.invoke_url = invoke_url
        self.function_timeout_s = function_timeout_s
        self.account_id = account_id
        self.api_id = api_id
        self.stage = stage
        self.log_events = (
            os.environ.get(LOG_EVENTS_ENV, "") not in ("", "0") if log_events is None else log_events
        )
        self._lock: asyncio.Lock | None = None
        self._client: httpx.AsyncClient | None = None
        self.invocations = 0

    # -- ASGI -------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # websocket: HTTP APIs do not do websockets
            raise RuntimeError(f"unsupported ASGI scope type {scope['type']!r}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        if scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            busy = self._lock is not None and self._lock.locked()
            health = {
                "status": "ok",
                "invokeUrl": self.invoke_url,
                "busy": busy,
                "invocations": self.invocations,
            }
            response = GatewayResponse(
                200, [("content-type", "application/json")], json.dumps(health).encode()
            )
        else:
            try:
                body = await self._read_body(receive)
            except _ClientGone:
                return
            except _BodyTooLarge:
                response = _message(413, "Request Entity Too Large")
            else:
                response = await self.handle(scope, body, request_id=request_id)
        await self._send(send, response, request_id, head=scope["method"] == "HEAD")

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_INVOKE_PAYLOAD_BYTES:
                chunks.append(chunk)
            else:  # the event can only be larger; read the rest (dropped) so the client gets the 413 cleanly
                chunks.clear()
            if not message.get("more_body", False):
                if size > MAX_INVOKE_PAYLOAD_BYTES:
                    raise _BodyTooLarge
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: GatewayResponse, request_id: str, *, head: bool) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        headers.append((b"apigw-requestid", request_id.encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    # -- request → event → RIE → response ---------------------------------------------------------
    async def handle(self, scope: Mapping[str, Any], body: bytes, *, request_id: str) -> GatewayResponse:
        """Everything but the ASGI plumbing: build the event, invoke, map the answer."""
        event = build_event(
            scope,
            body,
            request_id=request_id,
            account_id=self.account_id,
            api_id=self.api_id,
            stage=self.stage,
        )
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        if len(payload) > MAX_INVOKE_PAYLOAD_BYTES:
            LOG.warning("%s: event is %d bytes, over Lambda's 6 MB limit: 413", request_id, len(payload))
            return _message(413, "Request Entity Too Large")
        if self.log_events:
            LOG.info("%s event: %s", request_id, _for_log(event))
        try:
            status, function_error, raw = await self._invoke(payload)
        except InvokeUnavailableError as exc:
            LOG.warning("%s: %s: 503", request_id, exc)
            return _message(503, "Service Unavailable")
        if self.log_events:
            LOG.info(
                "%s RIE answered %d (function error: %s): %s", request_id, status, function_error, raw[:4096]
            )
        if status != 200 and not function_error:
            LOG.error("%s: RIE answered HTTP %d: %r: 500", request_id, status, raw[:500])
            return _message(500, "Internal Server Error")
        try:
            return map_lambda_response(raw, function_error=function_error)
        except LambdaResponseError as exc:
            LOG.error("%s: %s: 500", request_id, exc)
            return _message(500, "Internal Server Error")

    async def _invoke(self, payload: bytes) -> tuple[int, bool, bytes]:
        """POST the event to RIE, one invocation at a time.

        The lock is held until RIE has answered, even when this request stopped waiting (timeout, client
        gone): RIE answers HTTP 400 to an invocation that overlaps another one.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(RIE_HARD_LIMIT_S, connect=5.0))
        lock, client = self._lock, self._client
        await lock.acquire()
        self.invocations += 1
        try:
            task = asyncio.ensure_future(client.post(self.invoke_url, content=payload))
        except BaseException:
            lock.release()
            raise

        def _done(t: asyncio.Future[httpx.Response]) -> None:
            lock.release()
            if not t.cancelled():
                t.exception()  # retrieved here when nobody awaits it any more (timed out)

        task.add_done_callback(_done)
        try:
            response = await asyncio.wait_for(asyncio.shield(task), self.function_timeout_s)
        except TimeoutError as exc:
            raise InvokeUnavailableError(f"no answer within {self.function_timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise InvokeUnavailableError(f"RIE at {self.invoke_url} unreachable: {exc!r}") from exc
        return response.status_code, "x-amz-function-error" in response.headers, response.content


def _for_log(event: Mapping[str, Any]) -> str:
    shown = dict(event)
    body = shown.get("body")
    if isinstance(body, str) and len(body) > LOG_BODY_CHARS:
        shown["body"] = f"{body[:LOG_BODY_CHARS]}...({len(body)} chars)"
    return json.dumps(shown, ensure_ascii=False)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m devstack.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--invoke-url", required=True, help="RIE invoke URL, e.g. " + invoke_url_for("127.0.0.1", 9000)
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="integration timeout in seconds (503 past it)"
    )
    parser.add_argument(
        "--log-events", action="store_true", default=None, help=f"log each event (or {LOG_EVENTS_ENV}=1)"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = Gateway(args.invoke_url, function_timeout_s=args.timeout, log_events=args.log_events)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            app, host=args.host, port=args.port, log_level=args.log_level, server_header=False, lifespan="on"
        )


if __name__ == "__main__":
    main()
