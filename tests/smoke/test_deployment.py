"""What must hold on every deployed environment, without credentials."""

from __future__ import annotations

import os

import httpx
import pytest

pytestmark = pytest.mark.smoke


def _assert_error_shape(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert "request_id" in error
    return error  # type: ignore[no-any-return]


def test_health_is_public_and_healthy(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    # scripts/deploy.sh says which environment it deployed; run by hand, any known one will do.
    expected = os.environ.get("EXPECTED_ENVIRONMENT")
    assert body["environment"] == expected if expected else body["environment"] in {"dev", "staging", "prod"}


@pytest.mark.parametrize("path", ["/users", "/users/me", "/notes"])
def test_protected_routes_need_a_bearer_token(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    _assert_error_shape(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


def test_a_garbage_token_is_refused(client: httpx.Client) -> None:
    response = client.get("/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    _assert_error_shape(response, 401)


def test_unknown_route_gives_the_json_error_shape(client: httpx.Client) -> None:
    _assert_error_shape(client.get("/definitely-not-a-route"), 404)


def test_responses_carry_a_request_id(client: httpx.Client) -> None:
    assert client.get("/health").headers.get("x-request-id")
