"""`DEBUG=1 make up` (compose.debug.yaml): the same debugging as `make debug` through the compose stack, its
gateway and the debug port it publishes on 127.0.0.1, attached as "Attach to the local Lambda (compose)"."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from devstack.emulators import firebase_accounts
from devstack.environment import Endpoints
from devstack.paths import REPO_ROOT, SCRIPTS
from tests.support.dap import COMPOSE, NOTES_BREAKPOINT, NOTES_HANDLER, DapClient, get_notes_paused, line_of
from tests.support.dap import path_mappings as mappings_of

from .conftest import compose, compose_up

PAUSE_S = 40.0
"""Longer than HTTP API's 30 s integration timeout and the function's 30 s Timeout."""


@pytest.fixture(scope="module")
def debug_stack(stack: Endpoints) -> Iterator[Endpoints]:
    """The stack again with the debug override (its data kept); as it was afterwards, for the other tests."""
    compose("down")
    compose_up(DEBUG="1")
    try:
        yield stack
    finally:
        compose("down")
        compose_up()


def test_a_breakpoint_in_backend_stops_a_request_through_the_compose_gateway(debug_stack: Endpoints) -> None:
    email = f"debug-{uuid.uuid4().hex[:10]}@example.com"
    user = firebase_accounts.sign_up(debug_stack.firebase_auth_host, email)
    handler = REPO_ROOT / NOTES_HANDLER
    line = line_of(handler, NOTES_BREAKPOINT)
    client = DapClient("127.0.0.1", int(os.environ["DEBUG_PORT"]))
    client.attach(mappings_of(COMPOSE, sources=REPO_ROOT), {handler: [line]})
    try:
        get_notes_paused(client, debug_stack.api, user, handler, line)
        get_notes_paused(client, debug_stack.api, user, handler, line, pause_s=PAUSE_S)
    finally:
        client.close()


def test_a_debug_stack_is_refused_naming_the_debug_port_while_make_debug_holds_it() -> None:
    """`DEBUG=1 make up` beside a running `make debug` (it holds DEBUG_PORT) refuses, naming the port, before
    compose starts anything."""
    with socket.socket() as make_debug:
        make_debug.bind(("127.0.0.1", 0))
        make_debug.listen()
        port = make_debug.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPTS / "compose.sh"), "up"],
            cwd=REPO_ROOT,
            env={**os.environ, "DEBUG": "1", "DEBUG_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode != 0
    assert f"port {port} (DEBUG_PORT) is already taken" in done.stderr
