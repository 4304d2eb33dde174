"""The e2e target: BASE_URL (a running `make dev`) or a whole local environment started for this session."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from devstack import auth_emulator
from devstack.environment import Endpoints, Ports, local_environment
from devstack.paths import RUN_FILE


@dataclass
class LogCapture:
    """Every line the parts printed, so tests can check what the app saw (e.g. the Lambda context)."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, part: str, line: str) -> None:
        with self._lock:
            self.lines.append((part, line))

    def app_requests(self) -> list[dict[str, object]]:
        """The app's one-JSON-line-per-request access logs."""
        with self._lock:
            lines = [line for _, line in self.lines]
        records = []
        for line in lines:
            start = line.find("{")
            if start < 0:
                continue
            try:
                record = json.loads(line[start:])
            except ValueError:
                continue
            if isinstance(record, dict) and "status" in record and "path" in record:
                records.append(record)
        return records


@dataclass(frozen=True)
class Target:
    endpoints: Endpoints
    logs: LogCapture | None
    """None when the tests target a stack they did not start (BASE_URL)."""


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


def bearer(user: auth_emulator.AuthUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.id_token}"}
