"""The gateway's connection to an environment's RIE (devstack.lambdafn.rie_client), against HTTP servers that
answer as RIE can: a streamed (chunked) 6 MB answer, `Connection: close`, a listener that is gone, an
invocation that never ends. The real RIE is tests/chain's."""

from __future__ import annotations

import asyncio

import pytest

from devstack.lambdafn.rie_client import RieConnection, RieError
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread, free_port

from .gateway_fakes import Receive, Scope, Send

SIX_MB = 6 * 1024 * 1024


async def _read_all(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


async def streaming_rie(scope: Scope, receive: Receive, send: Send) -> None:
    """Echoes the invocation's size, then a 6 MB answer in 64 KiB parts: no Content-Length, so chunked."""
    if scope["type"] != "http":
        return
    payload = await _read_all(receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    size = f"{len(payload)}:".encode()
    await send({"type": "http.response.body", "body": size, "more_body": True})
    part = b"x" * 65536
    for _ in range(SIX_MB // len(part)):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def closing_rie(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers each invocation, then closes the connection (`Connection: close`)."""
    if scope["type"] != "http":
        return
    payload = await _read_all(receive)
    headers = [(b"connection", b"close"), (b"x-amz-function-error", b"Unhandled")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def silent_rie(scope: Scope, receive: Receive, send: Send) -> None:
    """Takes the invocation and never answers (a function past its Timeout, as RIE sees it)."""
    if scope["type"] == "http":
        await _read_all(receive)
        await asyncio.sleep(2)  # past the test's hold limit; short, so the server stops soon after


def connection_to(server: ServerThread, *, hold_limit_s: float = 10.0) -> RieConnection:
    return RieConnection(server.url + INVOKE_PATH, connect_timeout_s=5.0, hold_limit_s=hold_limit_s)


def test_a_streamed_answer_arrives_whole_and_the_connection_serves_the_next() -> None:
    async def twice(connection: RieConnection) -> list[tuple[int, bytes]]:
        answers = [await connection.post(b"{}" * n) for n in (1, 1000)]
        connection.close()
        return [(a.status, a.body) for a in answers]

    with ServerThread(streaming_rie) as server:
        answers = asyncio.run(twice(connection_to(server)))
    assert answers == [(200, b"2:" + b"x" * SIX_MB), (200, b"2000:" + b"x" * SIX_MB)]


def test_after_connection_close_the_next_invocation_opens_a_new_one() -> None:
    async def twice(connection: RieConnection) -> list[tuple[int, str, bytes]]:
        answers = [await connection.post(body) for body in (b'{"n": 1}', b'{"n": 2}')]
        connection.close()
        return [(a.status, a.headers["x-amz-function-error"], a.body) for a in answers]

    with ServerThread(closing_rie) as server:
        answers = asyncio.run(twice(connection_to(server)))
    assert answers == [(200, "Unhandled", b'{"n": 1}'), (200, "Unhandled", b'{"n": 2}')]


def test_no_rie_listening_is_an_error_naming_it() -> None:
    port = free_port()
    connection = RieConnection(
        f"http://127.0.0.1:{port}{INVOKE_PATH}", connect_timeout_s=5.0, hold_limit_s=10.0
    )
    with pytest.raises(RieError, match=f"127.0.0.1:{port}"):
        asyncio.run(connection.post(b"{}"))


def test_an_invocation_past_the_hold_limit_is_an_error() -> None:
    with ServerThread(silent_rie) as server:
        connection = connection_to(server, hold_limit_s=0.5)
        with pytest.raises(RieError, match="did not answer within"):
            asyncio.run(connection.post(b"{}"))
