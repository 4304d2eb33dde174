"""The e2e target: BASE_URL (a running `make dev`) or a whole local environment started for this session."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devstack import auth_emulator
from devstack.environment import Endpoints, Ports, local_environment
from devstack.paths import RUN_FILE
from support.target import LogCapture, Target


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    base_url = os.environ.get("BASE_URL")
    if base_url:
        if not RUN_FILE.exists():
            pytest.fail("BASE_URL is set but no `make dev` is running here to provide the auth emulator.")
        running = Endpoints(**json.loads(RUN_FILE.read_text()))
        yield Target(Endpoints(**{**running.__dict__, "api": base_url.rstrip("/")}), logs=None)
        return
    logs = LogCapture()
    with local_environment(Ports.free(), sink=logs) as (endpoints, _chain):
        yield Target(endpoints, logs)


@pytest.fixture(scope="session")
def api(target: Target) -> Iterator[httpx.Client]:
    """Through the whole chain: gateway -> RIE -> Web Adapter -> uvicorn."""
    with httpx.Client(base_url=target.endpoints.api, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def direct(target: Target) -> Iterator[httpx.Client]:
    """Straight to uvicorn inside the function, skipping Lambda: the parity reference."""
    with httpx.Client(base_url=target.endpoints.app, timeout=30) as client:
        yield client


@pytest.fixture
def new_user(target: Target) -> auth_emulator.AuthUser:
    return auth_emulator.sign_up(
        target.endpoints.firebase_auth_host, f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    )
