"""Test doubles for the gateway tests: a fake RIE, and fake execution environments made of fake RIEs."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

START_BOUND_S = 30.0
"""A start held by its test gives up after this: a test that failed before letting it go still ends."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FakeRie:
    """Speaks RIE's invoke API and answers like RIE: HTTP 400 to an invocation overlapping another one.

    What the "function" answers depends on the event's rawPath:
      /sleep/<seconds>  sleep, then echo
      /error            an errorType/errorMessage body, as RIE relays a function error
      /error-header     X-Amz-Function-Error
      /raw              the request body is the function's answer, verbatim
      /rie-status/<n>   RIE itself answers HTTP n
      /quiet            {"statusCode": 204}
      anything else     echo: 200, the event as a JSON body
    """

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.invocations = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["path"] != INVOKE_PATH or scope["method"] != "POST":
            await _reply(send, 404, b"not found")
            return
        if self.in_flight:
            self.rejected += 1
            await _reply(send, 400, b'{"errorType":"InvalidRequest","errorMessage":"concurrent invoke"}')
            return
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.invocations += 1
        try:
            event = json.loads(b"".join(chunks))
            self.events[event["requestContext"]["requestId"]] = event
            status, headers, answer = await self._function(event)
        finally:
            self.in_flight -= 1
        await _reply(send, status, answer, headers)

    async def _function(self, event: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        path: str = event["rawPath"]
        if path.startswith("/sleep/"):
            await asyncio.sleep(float(path.rsplit("/", 1)[1]))
        elif path == "/error":
            return 200, [], b'{"errorMessage":"boom","errorType":"RuntimeError","stackTrace":[]}'
        elif path == "/error-header":
            return 200, [(b"x-amz-function-error", b"Unhandled")], b'{"errorMessage":"boom","errorType":"E"}'
        elif path == "/raw":
            return 200, [], str(event.get("body", "")).encode()
        elif path.startswith("/rie-status/"):
            return int(path.rsplit("/", 1)[1]), [], b"RIE says no"
        elif path == "/quiet":
            return 200, [], b'{"statusCode":204}'
        answer = {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(event),
        }
        return 200, [], json.dumps(answer).encode()


async def _reply(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    all_headers = [(b"content-type", b"application/json"), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class FakeEnvironment:
    """An execution environment for EnvironmentPool: its own FakeRie, served while started. Given `may_start`,
    its start lasts until that is set (a cold start as slow as a test needs: a loaded machine, a first
    install of the runtime's SDK)."""

    def __init__(self, number: int, may_start: threading.Event | None = None) -> None:
        self.number = number
        self.may_start = may_start
        self.rie = FakeRie()
        self._server: ServerThread | None = None
        self.stopped = False

    @property
    def invoke_url(self) -> str:
        assert self._server is not None, "invoked before start"
        return self._server.url + INVOKE_PATH

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self.may_start is not None and not self.may_start.wait(START_BOUND_S):
            raise RuntimeError(f"fake environment {self.number}: never allowed to start")
        self._server = ServerThread(self.rie).__enter__()

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__()
            self._server = None
        self.stopped = True

    def exit_report(self) -> str | None:
        return None if self.running else f"fake environment {self.number} stopped"
