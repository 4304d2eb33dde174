"""A taken port or a missing tool is named, with its fix, before anything starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devstack import services
from devstack.paths import tool
from devstack.procs import StartupError


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_taken_port_is_named_with_the_variable_that_moves_it(taken_port: int) -> None:
    starting = services.ministack(taken_port)
    with pytest.raises(StartupError, match=rf"port {taken_port} is already taken.*MINISTACK_PORT=<port>"):
        starting.__enter__()


def test_missing_tool_points_at_make_install() -> None:
    with pytest.raises(StartupError, match=r"`no-such-tool` is not installed\. Run `make install`"):
        tool("no-such-tool")


def test_firebase_refuses_a_real_project_id() -> None:
    starting = services.firebase_auth(0, "my-real-project")
    with pytest.raises(StartupError, match="must start with 'demo-'"):
        starting.__enter__()
