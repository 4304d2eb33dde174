"""A taken port, a missing tool or a stale pin is named, with its fix, before anything starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from devstack import config
from devstack.emulators.firebase import firebase_auth
from devstack.emulators.ministack import ministack
from devstack.paths import TEMPLATE
from devstack.supervision import StartupError
from devstack.tools import tool


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_taken_port_is_named_with_the_variable_that_moves_it(taken_port: int) -> None:
    aws = replace(config.load().aws, port=taken_port)
    with (
        pytest.raises(StartupError, match=rf"port {taken_port} is already taken.*AWS_EMULATOR_PORT=<port>"),
        ministack(aws, TEMPLATE),
    ):
        pass


def test_missing_tool_points_at_make_install() -> None:
    with pytest.raises(StartupError, match=r"`no-such-tool` is not installed\. Run `make install`"):
        tool("no-such-tool")


def test_firebase_refuses_a_real_project_id() -> None:
    firebase = replace(config.load().firebase, project_id="my-real-project")
    with pytest.raises(StartupError, match="must start with 'demo-'"), firebase_auth(firebase, 0):
        pass


def test_a_port_that_is_not_a_number_is_named() -> None:
    with pytest.raises(StartupError, match=r"GATEWAY_PORT='3k' is not a port number"):
        config.load(environ={"GATEWAY_PORT": "3k"})
