"""The gateway over real HTTP (uvicorn) in front of a fake RIE: serialisation, limits, errors, mapping."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import time
from typing import Any

import httpx
import pytest

from devstack.apigw.event_builder import build_event
from devstack.apigw.gateway import HEALTH_PATH, Gateway
from devstack.lambdafn.pool import MAX_INVOKE_PAYLOAD_BYTES, EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

from .gateway_cases import CASES, Case
from .gateway_fakes import FakeRie

RieFixture = tuple[FakeRie, ServerThread]


def _raw(gateway_url: str, answer: Any) -> httpx.Response:
    """Ask the fake function (path /raw) to answer exactly `answer` (JSON-encoded)."""
    return httpx.post(
        gateway_url + "/raw", content=json.dumps(answer), headers={"content-type": "application/json"}
    )


def _event_of(response: httpx.Response, rie: FakeRie) -> dict[str, Any]:
    event: dict[str, Any] = rie.events[response.headers["apigw-requestid"]]
    return event


def test_fake_rie_rejects_overlapping_invokes(fake_rie: RieFixture) -> None:
    """Sanity check of the double: two direct overlapping invokes -> one HTTP 400, as RIE does."""
    rie, server = fake_rie
    event = build_event({"method": "GET", "path": "/sleep/0.3", "headers": []}, b"")
    before = rie.rejected

    async def both() -> list[int]:
        async with httpx.AsyncClient() as client:
            calls = [client.post(server.url + INVOKE_PATH, json=event) for _ in range(2)]
            return sorted(r.status_code for r in await asyncio.gather(*calls))

    assert asyncio.run(both()) == [200, 400]
    assert rie.rejected == before + 1


def test_concurrent_requests_are_serialised(gateway_url: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before_rejected, n = rie.rejected, 8

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.get(f"{gateway_url}/sleep/0.05?i={i}") for i in range(n)))

    started = time.monotonic()
    responses = asyncio.run(many())
    assert [r.status_code for r in responses] == [200] * n
    assert rie.rejected == before_rejected
    assert rie.max_in_flight == 1
    assert time.monotonic() - started >= n * 0.05
    assert sorted(r.json()["queryStringParameters"]["i"] for r in responses) == [str(i) for i in range(n)]


def test_apigw_requestid_on_every_response(gateway_url: str) -> None:
    ok = httpx.get(gateway_url + "/hello")
    assert ok.status_code == 200
    assert ok.headers["apigw-requestid"] == ok.json()["requestContext"]["requestId"]
    for response in (
        httpx.get(gateway_url + "/error"),
        httpx.post(gateway_url + "/x", content=b"\0" * (MAX_INVOKE_PAYLOAD_BYTES + 1)),
        httpx.get(gateway_url + HEALTH_PATH),
    ):
        assert len(response.headers["apigw-requestid"]) == 16


def test_413_when_the_body_alone_is_over_6_mb(gateway_url: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    response = httpx.post(gateway_url + "/upload", content=b"x" * (MAX_INVOKE_PAYLOAD_BYTES + 1))
    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})
    assert rie.invocations == before


def test_413_when_the_base64_event_is_over_6_mb(gateway_url: str, fake_rie: RieFixture) -> None:
    """4.8 MB of binary is 6.4 MB once base64-encoded in the event: over Lambda's limit."""
    rie, _ = fake_rie
    before = rie.invocations
    response = httpx.post(
        gateway_url + "/upload",
        content=b"\x01" * (4_800_000),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 413
    assert rie.invocations == before


def test_just_under_the_limit_is_invoked(gateway_url: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    body = b"a" * (MAX_INVOKE_PAYLOAD_BYTES - 4096)  # text: passed as is, plus ~1 KB of event
    response = httpx.post(gateway_url + "/quiet", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 204
    assert rie.invocations == before + 1


@pytest.mark.parametrize("path", ["/error", "/error-header"])
def test_function_error_is_500(gateway_url: str, path: str) -> None:
    response = httpx.get(gateway_url + path)
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize("status", [400, 500, 502])
def test_rie_http_error_is_500(gateway_url: str, status: int) -> None:
    response = httpx.get(f"{gateway_url}/rie-status/{status}")
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize(
    "answer",
    [
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "cookies": "a=1"},
    ],
)
def test_malformed_answer_is_500(gateway_url: str, answer: Any) -> None:
    response = _raw(gateway_url, answer)
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_timeout_is_503_and_rie_is_never_double_booked(fake_rie: RieFixture) -> None:
    rie, rie_server = fake_rie
    before_rejected = rie.rejected
    app = Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), integration_timeout_s=1.0)
    with ServerThread(app) as gw:

        async def slow_then_fast() -> tuple[httpx.Response, httpx.Response, float]:
            async with httpx.AsyncClient(timeout=30) as client:
                slow = await client.get(gw.url + "/sleep/1.5")
                started = time.monotonic()
                fast = await client.get(gw.url + "/hello")
                return slow, fast, time.monotonic() - started

        slow, fast, waited = asyncio.run(slow_then_fast())
    assert (slow.status_code, slow.json()) == (503, {"message": "Service Unavailable"})
    # The timed-out invocation still occupies RIE: the next one waits for it instead of getting RIE's 400.
    assert fast.status_code == 200
    assert waited > 0.2
    assert rie.rejected == before_rejected


def _invoked_queries(rie: FakeRie) -> list[str]:
    return [str(event.get("rawQueryString", "")) for event in rie.events.values()]


def test_waiting_counts_toward_the_integration_timeout(fake_rie: RieFixture) -> None:
    """A request queued behind a hung invocation gets its 503 within its own timeout and is never invoked."""
    rie, rie_server = fake_rie
    app = Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), integration_timeout_s=0.5)
    with ServerThread(app) as gw:

        async def queued_behind_slow() -> tuple[httpx.Response, float]:
            async with httpx.AsyncClient(timeout=30) as client:
                slow = asyncio.ensure_future(client.get(gw.url + "/sleep/2.0?slow=1"))
                await asyncio.sleep(0.1)
                started = time.monotonic()
                queued = await client.get(gw.url + "/hello?queued=1")
                waited = time.monotonic() - started
                await slow
                return queued, waited

        queued, waited = asyncio.run(queued_behind_slow())
    while rie.in_flight:  # the hung invocation runs on; the next test's gateway shares this fake RIE
        time.sleep(0.05)
    assert (queued.status_code, queued.json()) == (503, {"message": "Service Unavailable"})
    assert waited < 1.9, "the queued request waited for the hung invocation, past its integration timeout"
    assert "queued=1" not in _invoked_queries(rie)


def test_a_request_whose_client_left_is_not_invoked(fake_rie: RieFixture) -> None:
    rie, rie_server = fake_rie
    app = Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), integration_timeout_s=5.0)
    with ServerThread(app) as gw:

        async def leave_while_queued() -> httpx.Response:
            async with httpx.AsyncClient(timeout=30) as client:
                slow = asyncio.ensure_future(client.get(gw.url + "/sleep/1.0?slow=2"))
                await asyncio.sleep(0.1)
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(gw.url + "/hello?left=1", timeout=0.3)
                response = await slow
                # Whatever was still queued has had its turn once a later request is answered.
                await client.get(gw.url + "/hello?after=1")
                return response

        assert asyncio.run(leave_while_queued()).status_code == 200
    invoked = _invoked_queries(rie)
    assert "after=1" in invoked
    assert "left=1" not in invoked


def test_past_the_waiting_bound_requests_are_throttled(fake_rie: RieFixture) -> None:
    """Lambda's throttle, as HTTP API answers it (500), once max_waiting requests already wait."""
    _, rie_server = fake_rie
    app = Gateway(
        EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH, max_waiting=2),
        integration_timeout_s=10.0,
    )
    with ServerThread(app) as gw:

        async def crowd() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as client:
                slow = asyncio.ensure_future(client.get(gw.url + "/sleep/2.0"))
                await asyncio.sleep(0.2)
                others = await asyncio.gather(*(client.get(f"{gw.url}/hello?n={n}") for n in range(4)))
                return [await slow, *others]

        responses = asyncio.run(crowd())
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 500, 500]
    throttled = [r.json() for r in responses if r.status_code == 500]
    assert throttled == [{"message": "Internal Server Error"}] * 2


def test_unreachable_rie_is_503() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Gateway(
        EnvironmentPool.of_running_rie(f"http://127.0.0.1:{port}{INVOKE_PATH}"), integration_timeout_s=5
    )
    with ServerThread(app) as gw:
        response = httpx.get(gw.url + "/anything")
    assert (response.status_code, response.json()) == (503, {"message": "Service Unavailable"})


def test_cookies_become_set_cookie_headers(gateway_url: str) -> None:
    answer = {
        "statusCode": 201,
        "headers": {"Set-Cookie": "from_headers=1", "X-Thing": "a,b"},
        "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark; Max-Age=60"],
        "body": "created",
    }
    response = _raw(gateway_url, answer)
    assert response.status_code == 201
    assert response.headers.get_list("set-cookie") == [
        "session=abc; Path=/; HttpOnly",
        "theme=dark; Max-Age=60",
        "from_headers=1",
    ]
    assert response.headers["x-thing"] == "a,b"
    assert response.text == "created"


def test_base64_body_is_decoded(gateway_url: str) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    answer = {
        "statusCode": 200,
        "headers": {"content-type": "image/png"},
        "body": base64.b64encode(png).decode(),
        "isBase64Encoded": True,
    }
    response = _raw(gateway_url, answer)
    assert (response.status_code, response.headers["content-type"], response.content) == (
        200,
        "image/png",
        png,
    )


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        ({"message": "hi", "n": 1}, b'{"message": "hi", "n": 1}'),
        (["a", 1], b'["a", 1]'),
        ("plain string", b"plain string"),
        (42, b"42"),
    ],
)
def test_answer_without_status_code_is_200_json(gateway_url: str, answer: Any, body: bytes) -> None:
    response = _raw(gateway_url, answer)
    assert (response.status_code, response.headers["content-type"], response.content) == (
        200,
        "application/json",
        body,
    )


def test_health_route_is_the_gateways_own(gateway_url: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    health = httpx.get(gateway_url + HEALTH_PATH)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert rie.invocations == before
    # Anything else, however close, goes to the function.
    assert httpx.get(gateway_url + HEALTH_PATH + "/x").json()["rawPath"] == HEALTH_PATH + "/x"
    assert rie.invocations == before + 1


WIRE_CASES = [c for c in CASES if c.method != "HEAD"]


@pytest.mark.parametrize("case", WIRE_CASES, ids=[c.id for c in WIRE_CASES])
def test_event_over_the_wire_matches_the_builder(case: Case, gateway_url: str, fake_rie: RieFixture) -> None:
    """uvicorn's view of the request (raw path, repeated headers...) yields the event the table expects."""
    rie, _ = fake_rie
    url = gateway_url + case.path + (f"?{case.query}" if case.query else "")
    headers = [(k, v) for k, v in case.all_headers() if k.lower() not in ("host", "content-length")]
    response = httpx.request(case.method, url, headers=headers, content=case.body or None)
    assert response.status_code == 200
    wire = _event_of(response, rie)
    direct = build_event(case.asgi_scope(), case.body)
    for key in ("rawPath", "rawQueryString", "queryStringParameters", "cookies", "body", "isBase64Encoded"):
        assert wire.get(key) == direct.get(key), key
    assert wire["requestContext"]["http"]["method"] == case.method
    for name, _ in case.headers:
        if name.lower() != "cookie":
            assert wire["headers"][name.lower()] == direct["headers"][name.lower()]


def _sample_event() -> dict[str, Any]:
    sam = shutil.which("sam")
    if sam is None:
        pytest.fail("sam CLI not on PATH: run `make install`")
    done = subprocess.run(
        [sam, "local", "generate-event", "apigateway", "http-api-proxy"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    sample: dict[str, Any] = json.loads(done.stdout)
    return sample


def test_aws_sample_event_is_representable(gateway_url: str, fake_rie: RieFixture) -> None:
    """Replay AWS's sample HTTP API event as a request: the gateway must rebuild it (bar the unemulated)."""
    rie, _ = fake_rie
    sample = _sample_event()
    http = sample["requestContext"]["http"]
    headers: list[tuple[str, str]] = [
        ("cookie", "; ".join(sample["cookies"])),
        ("user-agent", http["userAgent"]),
    ]
    for name, value in sample["headers"].items():
        headers += [(name, part) for part in value.split(",")]  # "value1,value2" was a repeated header
    body = base64.b64decode(sample["body"]) if sample["isBase64Encoded"] else sample["body"].encode()
    response = httpx.request(
        http["method"],
        f"{gateway_url}{sample['rawPath']}?{sample['rawQueryString']}",
        headers=headers,
        content=body,
    )
    assert response.status_code == 200
    ours = response.json()
    assert ours == _event_of(response, rie)  # the response mapping carried the event back intact

    for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "queryStringParameters"):
        assert ours[key] == sample[key], key
    assert (ours["body"], ours["isBase64Encoded"]) == (sample["body"], sample["isBase64Encoded"])
    # The sample capitalises its made-up header names; HTTP API lower-cases every name.
    assert {k.lower(): v for k, v in sample["headers"].items()}.items() <= ours["headers"].items()
    # Not emulated: path parameters ($default route only), stage variables, authorizers, mutual TLS.
    assert set(ours) == set(sample) - {"pathParameters", "stageVariables"}
    ctx, sample_ctx = ours["requestContext"], sample["requestContext"]
    assert set(ctx) == set(sample_ctx) - {"authentication", "authorizer"}
    assert set(ctx["http"]) == set(sample_ctx["http"])
    for key in ("method", "path", "protocol", "userAgent"):
        assert ctx["http"][key] == sample_ctx["http"][key], key
    for key in ("routeKey", "stage", "accountId"):
        assert ctx[key] == sample_ctx[key], key
    assert len(ctx["time"]) == len(sample_ctx["time"])
    assert len(str(ctx["timeEpoch"])) == len(str(sample_ctx["timeEpoch"]))
