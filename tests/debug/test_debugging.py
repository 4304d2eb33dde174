"""`make debug`: a real DAP client (as VS Code is one, with .vscode/launch.json's mapping) attaches to the
function's app through the local chain and stops at a breakpoint in backend/ on a request sent through the
gateway with a real token; a paused request outlives HTTP API's 30 s; after a save under backend/ the debugger
attaches again and the breakpoint still hits. The same `local_environment` `make debug` runs, with DEBUG=1 as
`make debug` sets it."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import config
from devstack.emulators import firebase_accounts
from devstack.environment import RunningEnvironment, local_environment
from devstack.reload import Reloader, copy_project
from devstack.supervision import LogCapture, StartupError
from tests.support.dap import NATIVE, NOTES_BREAKPOINT, NOTES_HANDLER, DapClient, get_notes_paused, line_of
from tests.support.dap import path_mappings as mappings_of

PAUSE_S = 40.0
"""Longer than HTTP API's 30 s integration timeout and the function's 30 s Timeout."""


@dataclass(frozen=True)
class Debugging:
    facts: config.LocalFacts
    environment: RunningEnvironment
    logs: LogCapture

    def attach(self, sources: Path, line: int) -> DapClient:
        """Attach as "Attach to the local Lambda" does, the editor's sources at `sources`."""
        assert self.facts.debugger is not None
        client = DapClient("127.0.0.1", self.facts.debugger.port)
        return client.attach(mappings_of(NATIVE, sources=sources), {sources / NOTES_HANDLER: [line]})


def _debug_facts() -> config.LocalFacts:
    """`make debug`'s facts (DEBUG=1), on free ports."""
    return config.load(environ={**os.environ, config.DEBUG_ENV: "1"}).isolated()


@pytest.fixture(scope="module")
def debugging() -> Iterator[Debugging]:
    facts = _debug_facts()
    logs = LogCapture()
    with local_environment(facts, sink=logs) as environment:
        yield Debugging(facts, environment, logs)


def test_a_breakpoint_in_backend_stops_a_request_through_the_api_and_hits_again_after_a_save(
    debugging: Debugging, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")  # the editor's checkout, which the test saves in
    handler = project / NOTES_HANDLER
    api = debugging.environment.endpoints.api
    email = f"debug-{uuid.uuid4().hex[:10]}@example.com"
    user = firebase_accounts.sign_up(debugging.environment.endpoints.firebase_auth_host, email)

    line = line_of(handler, NOTES_BREAKPOINT)
    client = debugging.attach(project, line)
    try:
        get_notes_paused(client, api, user, handler, line)
        get_notes_paused(client, api, user, handler, line, pause_s=PAUSE_S)  # past every 30 s timeout
    finally:
        client.close()

    # A save of the handler's own file, its line moved: the new code serves, the debugger attaches again.
    handler.write_text(handler.read_text().replace(NOTES_BREAKPOINT, f"# saved\n    {NOTES_BREAKPOINT}"))
    reloader = Reloader(
        debugging.environment.function,
        project_dir=project,
        artifacts_dir=tmp_path / "artifacts",
        sink=debugging.logs,
    )
    assert reloader.apply({handler}), debugging.logs.lines[-20:]
    line = line_of(handler, NOTES_BREAKPOINT)
    client = debugging.attach(project, line)
    try:
        get_notes_paused(client, api, user, handler, line)
    finally:
        client.close()


def test_a_taken_debug_port_is_named_with_its_variable_before_anything_starts() -> None:
    """A second `make debug` (native, or compose's published port) refuses, naming DEBUG_PORT."""
    facts = _debug_facts()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", facts.ports.debugger))
        holder.listen()
        taken = rf"debugger: port {facts.ports.debugger} is already taken.*DEBUG_PORT=<port>"
        with pytest.raises(StartupError, match=taken), local_environment(facts, sink=LogCapture()):
            pass
