"""Fixtures for the gateway tests: a fake RIE and the gateway in front of it, each served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.apigw.gateway import Gateway
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

from .gateway_fakes import FakeRie


@pytest.fixture(scope="module")
def fake_rie() -> Iterator[tuple[FakeRie, ServerThread]]:
    rie = FakeRie()
    with ServerThread(rie) as server:
        yield rie, server


@pytest.fixture(scope="module")
def gateway_url(fake_rie: tuple[FakeRie, ServerThread]) -> Iterator[str]:
    """The gateway in front of the fake RIE, with a 1 s integration timeout."""
    _, rie_server = fake_rie
    app = Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), integration_timeout_s=1.0)
    with ServerThread(app) as server:
        yield server.url
