"""`make debug`: a real DAP client (as VS Code is one) attaches to the function's app through the local chain
and stops at a breakpoint in backend/ on a request sent through the gateway with a real token; a paused
request outlives HTTP API's 30 s; after a save under backend/ the debugger attaches again and the breakpoint
still hits. The same `local_environment` `make debug` runs, with DEBUG=1 as `make debug` sets it."""

from __future__ import annotations

import concurrent.futures
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack import config
from devstack.emulators import firebase_accounts
from devstack.environment import RunningEnvironment, local_environment
from devstack.lambdafn.sandbox import Sandbox
from devstack.reload import Reloader, copy_project
from devstack.supervision import LogCapture
from tests.support.dap import DapClient

HANDLER = Path("backend/api/routes/notes.py")
"""GET /notes's handler, in the project copy the test edits."""
BREAKPOINT_AT = "page = services.notes.list(caller, limit, cursor)"
PAUSE_S = 40.0
"""Longer than HTTP API's 30 s integration timeout and the function's 30 s Timeout."""


@dataclass(frozen=True)
class Debugging:
    facts: config.LocalFacts
    environment: RunningEnvironment
    logs: LogCapture


@pytest.fixture(scope="module")
def debugging() -> Iterator[Debugging]:
    facts = config.load(environ={**os.environ, config.DEBUG_ENV: "1"}).isolated()
    logs = LogCapture()
    with local_environment(facts, sink=logs) as environment:
        yield Debugging(facts, environment, logs)


def _line_of(source: Path, text: str) -> int:
    return next(n for n, line in enumerate(source.read_text().splitlines(), start=1) if text in line)


def _attach(debugging: Debugging, backend: Path, handler: Path, line: int) -> DapClient:
    """What VS Code's "Attach to the local Lambda" sends: .vscode/launch.json's path mapping, the sandbox's
    task root (where every artifact is seen) to backend/."""
    assert debugging.facts.debugger is not None
    client = DapClient("127.0.0.1", debugging.facts.debugger.port)
    client.attach([{"localRoot": str(backend), "remoteRoot": str(Sandbox().task_root)}], {handler: [line]})
    return client


def _get_notes(api: str, token: str) -> httpx.Response:
    return httpx.get(f"{api}/notes", headers={"Authorization": f"Bearer {token}"}, timeout=PAUSE_S * 3)


def _stop_at_breakpoint(
    client: DapClient, request: concurrent.futures.Future[httpx.Response], handler: Path, line: int
) -> tuple[int, int]:
    """The request's `stopped` event at the breakpoint; returns its thread and top frame ids."""
    stopped = client.event("stopped")
    assert stopped["reason"] == "breakpoint", stopped
    assert not request.done(), "the request completed while paused"
    frame = client.top_frame(stopped["threadId"])
    assert (Path(frame["source"]["path"]), frame["line"]) == (handler, line)
    return stopped["threadId"], frame["id"]


def test_a_breakpoint_in_backend_stops_a_request_through_the_api_and_hits_again_after_a_save(
    debugging: Debugging, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    backend, handler = project / "backend", project / HANDLER
    endpoints = debugging.environment.endpoints
    email = f"debug-{uuid.uuid4().hex[:10]}@example.com"
    user = firebase_accounts.sign_up(endpoints.firebase_auth_host, email)
    line = _line_of(handler, BREAKPOINT_AT)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as requests:
        client = _attach(debugging, backend, handler, line)
        try:
            # A stop, the caller's uid read from the paused frame, continue: the request completes.
            request = requests.submit(_get_notes, endpoints.api, user.id_token)
            thread, frame = _stop_at_breakpoint(client, request, handler, line)
            assert client.evaluate("caller.uid", frame) == repr(user.uid)
            client.request("continue", threadId=thread)
            assert request.result().status_code == 200

            # Paused past every 30 s timeout of the chain: still completes.
            request = requests.submit(_get_notes, endpoints.api, user.id_token)
            thread, _ = _stop_at_breakpoint(client, request, handler, line)
            time.sleep(PAUSE_S)
            client.request("continue", threadId=thread)
            assert request.result().status_code == 200
        finally:
            client.close()

        # A save under backend/ (the handler's own file, its line moved): served, and the breakpoint hits.
        handler.write_text(handler.read_text().replace(BREAKPOINT_AT, f"# saved\n    {BREAKPOINT_AT}"))
        reloader = Reloader(
            debugging.environment.function,
            project_dir=project,
            artifacts_dir=tmp_path / "artifacts",
            sink=debugging.logs,
        )
        assert reloader.apply({handler}), debugging.logs.lines[-20:]
        line = _line_of(handler, BREAKPOINT_AT)
        client = _attach(debugging, backend, handler, line)
        try:
            request = requests.submit(_get_notes, endpoints.api, user.id_token)
            thread, _ = _stop_at_breakpoint(client, request, handler, line)
            client.request("continue", threadId=thread)
            assert request.result().status_code == 200
        finally:
            client.close()
