"""Pure unit tests of the gateway's pieces: response mapping, body encoding rule, path and cookie handling."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import httpx
import pytest

from devstack.apigw.event_builder import build_event, decode_raw_path, is_text_media_type, split_cookies
from devstack.apigw.gateway import LOG_EVENTS_ENV, Gateway
from devstack.apigw.response_mapper import LambdaResponseError, map_lambda_response
from devstack.lambdafn.pool import EnvironmentPool


def _map(answer: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    r = map_lambda_response(json.dumps(answer).encode())
    return r.status, r.headers, r.body


def test_full_answer() -> None:
    status, headers, body = _map(
        {
            "statusCode": 302,
            "headers": {"Location": "/next", "Content-Type": "text/html", "Content-Length": "999"},
            "cookies": ["a=1", "b=2; Secure"],
            "body": "<p>moved</p>",
            "isBase64Encoded": False,
        }
    )
    assert status == 302
    assert headers == [
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2; Secure"),
        ("location", "/next"),
        ("content-type", "text/html"),
    ]  # content-length is the gateway's to compute
    assert body == b"<p>moved</p>"


def test_defaults() -> None:
    assert _map({"statusCode": 204}) == (204, [("content-type", "application/json")], b"")


def test_base64() -> None:
    raw = bytes(range(256))
    answer = {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    assert _map(answer)[2] == raw


def test_header_values_are_stringified() -> None:
    assert ("x-n", "3") in _map({"statusCode": 200, "headers": {"X-N": 3}})[1]
    assert ("x-b", "true") in _map({"statusCode": 200, "headers": {"X-B": True}})[1]


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b'{"a": 1}', b'{"a": 1}'),  # an object without statusCode is passed through as the body
        (b'"text"', b"text"),
        (b"[1, 2]", b"[1, 2]"),
        (b"true", b"true"),
        (b"null", b"null"),
    ],
)
def test_answer_without_status_code(raw: bytes, body: bytes) -> None:
    r = map_lambda_response(raw)
    assert (r.status, r.headers, r.body) == (200, [("content-type", "application/json")], body)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}',
        b'{"statusCode": 0}',
        b'{"statusCode": true}',
        b'{"statusCode": 200.5}',
        b'{"statusCode": 200, "body": 1}',
        b'{"statusCode": 200, "headers": []}',
        b'{"statusCode": 200, "cookies": [1]}',
        b'{"statusCode": 200, "body": "***", "isBase64Encoded": true}',
    ],
)
def test_errors(raw: bytes) -> None:
    with pytest.raises(LambdaResponseError):
        map_lambda_response(raw)


def test_function_error_header_wins() -> None:
    with pytest.raises(LambdaResponseError):
        map_lambda_response(b'{"statusCode": 200}', function_error=True)


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True),
        ("TEXT/HTML; charset=utf-8", True),
        ("text/csv", True),
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),
        ("application/vnd.api+json", False),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        ("image/png", False),
        ("", False),
        (None, False),
    ],
)
def test_text_media_types(content_type: str | None, text: bool) -> None:
    assert is_text_media_type(content_type) is text


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"/plain", "/plain"),
        (b"/a%2Fb", "/a/b"),
        (b"/caf%C3%A9", "/café"),
        (b"/100%25", "/100%25"),
        (b"/%25%41%25", "/%25A%25"),
        (b"/bad%FF", "/bad\ufffd"),
        (b"/not%zzescape", "/not%zzescape"),
    ],
)
def test_decode_raw_path(raw: bytes, decoded: str) -> None:
    assert decode_raw_path(raw) == decoded


def test_split_cookies() -> None:
    assert split_cookies(["a=1; b=2", "c=3;d=4; "]) == ["a=1", "b=2", "c=3", "d=4"]
    assert split_cookies([]) == []


def test_event_without_cookies_body_or_query_omits_them() -> None:
    event = build_event({"method": "GET", "path": "/", "headers": [(b"host", b"example.com")]}, b"")
    for key in ("cookies", "body", "queryStringParameters", "pathParameters", "stageVariables"):
        assert key not in event
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["domainName"] == "example.com"


def test_x_forwarded_for_is_appended_to() -> None:
    scope = {
        "method": "GET",
        "path": "/",
        "headers": [(b"x-forwarded-for", b"1.1.1.1")],
        "client": ("2.2.2.2", 1),
    }
    assert build_event(scope, b"")["headers"]["x-forwarded-for"] == "1.1.1.1, 2.2.2.2"


def test_log_events_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(LOG_EVENTS_ENV, "1")
    app = Gateway(EnvironmentPool.of_running_rie("http://127.0.0.1:9/unused"), integration_timeout_s=0.5)
    assert app.log_events
    monkeypatch.setenv(LOG_EVENTS_ENV, "0")
    assert not Gateway(EnvironmentPool.of_running_rie("http://127.0.0.1:9/unused")).log_events

    caplog.set_level(logging.INFO, logger="devstack.gateway")

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            return await client.get("/logged?x=1")

    response = asyncio.run(call())
    assert response.status_code == 503  # nothing listens on port 9
    assert any('"rawPath": "/logged"' in r.getMessage() for r in caplog.records)


def test_the_gateway_owns_the_date_header() -> None:
    function_answer = {"statusCode": 200, "headers": {"Date": "Mon, 01 Jan 2024 00:00:00 GMT"}}
    response = map_lambda_response(json.dumps(function_answer).encode())
    assert [name for name, _ in response.headers if name == "date"] == []
