"""One whole local environment for the dependency fault tests: on free ports, its data in a directory of its
own as `make dev` keeps it (so an emulator stopped by a test comes back with its state), never the session's
or the developer's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from devstack import config
from devstack.emulators import firebase_accounts
from devstack.environment import RunningEnvironment, local_environment
from devstack.supervision import LogCapture


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEnvironment]:
    data_dir = tmp_path_factory.mktemp("faults") / "data"
    with local_environment(config.load().isolated(), data_dir=data_dir, sink=LogCapture()) as running:
        yield running


@pytest.fixture(scope="module")
def api(environment: RunningEnvironment) -> Iterator[httpx.Client]:
    """Through the whole chain: gateway -> RIE -> Web Adapter -> uvicorn."""
    with httpx.Client(base_url=environment.endpoints.api, timeout=30) as client:
        yield client


@pytest.fixture
def email() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def new_user(environment: RunningEnvironment, email: str) -> firebase_accounts.AuthUser:
    return firebase_accounts.sign_up(environment.endpoints.firebase_auth_host, email)
