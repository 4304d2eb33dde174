"""tests/samlocal runs against a running `make local` (scripts/test-local.sh, `make test-local`)."""

from __future__ import annotations

import os

import pytest

from devstack.cli import running_endpoints
from devstack.environment import SAM_START_API, Endpoints


@pytest.fixture(scope="session")
def sam_local() -> Endpoints:
    base_url = os.environ.get("BASE_URL", "")
    endpoints = running_endpoints(api=base_url.rstrip("/")) if base_url else None
    if endpoints is None or endpoints.served_by != SAM_START_API:
        pytest.skip("needs a running `make local` as BASE_URL: make test-local runs these")
    return endpoints
