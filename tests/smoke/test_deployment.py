"""What must hold on every deployed environment, without credentials."""

from __future__ import annotations

import os

import httpx
import pytest

pytestmark = pytest.mark.smoke


def test_health_is_public_and_healthy(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    # scripts/deploy.sh says which environment it deployed; run by hand, any known one will do.
    expected = os.environ.get("EXPECTED_ENVIRONMENT")
    assert body["environment"] == expected if expected else body["environment"] in {"dev", "staging", "prod"}


def _assert_refused_at_the_edge(response: httpx.Response) -> None:
    """The API's JWT authorizer's answer (template.yml): the function never ran."""
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"}), response.text
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("path", ["/users", "/users/me", "/notes", "/definitely-not-a-route"])
def test_every_route_but_the_public_ones_needs_a_bearer_token(client: httpx.Client, path: str) -> None:
    _assert_refused_at_the_edge(client.get(path))


def test_a_garbage_token_is_refused(client: httpx.Client) -> None:
    _assert_refused_at_the_edge(client.get("/users/me", headers={"Authorization": "Bearer not-a-jwt"}))


def test_responses_carry_a_request_id(client: httpx.Client) -> None:
    assert client.get("/health").headers.get("x-request-id")
