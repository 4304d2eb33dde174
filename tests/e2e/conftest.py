"""The e2e target: BASE_URL (a running `make dev`) or a whole local environment started for this session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from devstack import config
from devstack.cli import running_endpoints
from devstack.emulators import firebase_accounts
from devstack.environment import local_environment
from devstack.supervision import LogCapture
from tests.support.target import Target, app_straight


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    base_url = os.environ.get("BASE_URL")
    if base_url:
        # A running `make dev` or compose stack: its emulators sign the test users up.
        yield Target(running_endpoints(api=base_url.rstrip("/")), logs=None)
        return
    logs = LogCapture()
    with local_environment(config.load().isolated(), sink=logs) as environment:
        yield Target(environment.endpoints, logs)


@pytest.fixture(scope="session")
def api(target: Target) -> Iterator[httpx.Client]:
    """Through the whole chain: gateway -> RIE -> Web Adapter -> uvicorn."""
    with httpx.Client(base_url=target.endpoints.api, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def direct(target: Target) -> Iterator[httpx.Client]:
    """Straight to uvicorn inside the function, skipping Lambda: the parity reference. Where the target's app
    is out of reach (make local: inside SAM's container), the same artifact's, on the same emulators."""
    with ExitStack() as stack:
        app = target.endpoints.app or stack.enter_context(app_straight(target.endpoints))
        yield stack.enter_context(httpx.Client(base_url=app, timeout=30))


@pytest.fixture
def new_user(target: Target) -> firebase_accounts.AuthUser:
    return firebase_accounts.sign_up(
        target.endpoints.firebase_auth_host, f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    )
