"""Smoke tests run against a deployed API on purpose: `API_URL=https://... uv run pytest tests/smoke`.

They are marked `smoke`; the default test run deselects them. Run without API_URL they fail with a clear
message rather than being skipped, so a deploy pipeline can never pass them vacuously.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture(scope="session")
def api_url() -> str:
    url = os.environ.get("API_URL", "").strip().rstrip("/")
    if not url:
        pytest.fail(
            "API_URL is not set. The smoke tests check a deployed API: "
            "API_URL=https://<api-id>.execute-api.<region>.amazonaws.com uv run pytest tests/smoke "
            "(scripts/deploy.sh ENV sets it from the stack outputs).",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def client(api_url: str) -> Iterator[httpx.Client]:
    # Generous timeout: the first request after a deploy may hit a cold start (adapter + uvicorn + imports).
    with httpx.Client(base_url=api_url, timeout=httpx.Timeout(30.0), follow_redirects=False) as http:
        yield http
