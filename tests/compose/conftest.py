"""The compose stack scripts/test-compose.sh brought up: its project name and ports are in the environment."""

from __future__ import annotations

import os
import subprocess

import pytest

from devstack.cli import running_endpoints
from devstack.environment import Endpoints
from devstack.paths import REPO_ROOT, SCRIPTS


def compose(*args: str, timeout: float = 600) -> str:
    """`docker compose ARGS` in the test's own project; fails the test with compose's output."""
    done = subprocess.run(
        ["docker", "compose", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"docker compose {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def compose_up(**environment: str) -> None:
    """What `make up` runs (DEBUG="1": `DEBUG=1 make up`): the stack back up, healthy, through the gateway."""
    done = subprocess.run(
        [str(SCRIPTS / "compose.sh"), "up"],
        cwd=REPO_ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="session")
def stack() -> Endpoints:
    base_url = os.environ.get("BASE_URL")
    if not base_url or not os.environ.get("COMPOSE_PROJECT_NAME", "").startswith("fastapi-lambda-test-"):
        pytest.fail("tests/compose restarts the stack it runs against: run them with `make test-compose`")
    return running_endpoints(api=base_url)
