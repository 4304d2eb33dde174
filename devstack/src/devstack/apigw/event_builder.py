"""HTTP request -> API Gateway HTTP API event (payload format 2.0), as HTTP API builds it.

The one event builder: the gateway, the Lambda chain's warm-up and every test use it, and
devstack/tests/gateway/test_event_builder_vs_sam.py checks it against SAM CLI's own
(`samcli.local.apigw.event_constructor.construct_v2_event_http`).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from devstack.apigw.routes import DEFAULT_ROUTE, RouteMatch
from devstack.config import LOCAL_ACCOUNT_ID

LOCAL_API_ID = "1234567890"
"""The api id local events carry (an HTTP API id is ten characters)."""

# HTTP API delivers the body as a string only for these types (and text/*); everything else, a missing
# Content-Type and application/x-www-form-urlencoded included, arrives base64-encoded (observed on AWS).
_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PCT_RUN = re.compile(rb"(?:%[0-9A-Fa-f]{2})+")


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


def encoded_path(scope: Mapping[str, Any]) -> str:
    """The request's path as the client sent it (percent-encoded), without the query string."""
    raw_path = scope.get("raw_path") or urllib.parse.quote(scope["path"]).encode("ascii")
    return bytes(raw_path).split(b"?", 1)[0].decode("latin-1")


def request_header(scope: Mapping[str, Any], name: str) -> str | None:
    """A request header of an ASGI scope (names arrive lower-cased); repeated ones joined with ','."""
    values = [
        bytes(value).decode("latin-1")
        for key, value in scope["headers"]
        if bytes(key).decode("latin-1") == name
    ]
    return ",".join(values) if values else None


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
    account_id: str = LOCAL_ACCOUNT_ID,
    api_id: str = LOCAL_API_ID,
    stage: str = "$default",
    route: RouteMatch | None = None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An ASGI HTTP scope and its body → an API Gateway HTTP API payload-2.0 event for the route it matched
    (routes.RouteTable.match; default: the ``$default`` route); `authorizer` is what the route's authorizer
    let through (``requestContext.authorizer``)."""
    route = route or RouteMatch(DEFAULT_ROUTE)
    request_id = request_id or new_request_id()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    raw_path = decode_raw_path(encoded_path(scope).encode("latin-1"))
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
        "routeKey": route.route.key,
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
        **({"authorizer": dict(authorizer)} if authorizer is not None else {}),
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
        "routeKey": route.route.key,
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
    if route.path_parameters:
        event["pathParameters"] = dict(route.path_parameters)
    return event


def request_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: str = "",
    body: bytes = b"",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event HTTP API sends for one request from 127.0.0.1, built from its parts (no HTTP server)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": urllib.parse.quote(path).encode("ascii"),
        "query_string": query.encode("latin-1"),
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in {"host": "localhost", "user-agent": "devstack", **(headers or {})}.items()
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    return build_event(scope, body, request_id=request_id)
