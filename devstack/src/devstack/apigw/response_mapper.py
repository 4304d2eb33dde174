"""A function's payload-2.0 answer -> the HTTP response HTTP API sends, with HTTP API's error answers."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from devstack.lambdafn.rie_client import is_error_document

# Response headers the gateway sets itself (framing) and never copies from the function's answer.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
# Headers API Gateway sets itself: the function's copy is dropped rather than sent twice.
_GATEWAY_OWNED = _HOP_BY_HOP | {"date"}


class LambdaResponseError(Exception):
    """The function failed, or answered something HTTP API cannot map (both give 500)."""


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def error_response(status: int, message: str) -> GatewayResponse:
    return GatewayResponse(
        status, [("content-type", "application/json")], json.dumps({"message": message}).encode()
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
    if function_error or is_error_document(payload):
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
