"""Issue 17 finding 6: a path that a URL parser resolves to another one is refused before any route runs.

Behind HTTP API the Web Adapter resolves `.`/`..` (and `\\`) in the path HTTP API routed, so the app gets
`/health` for a request routed, throttled and authorized as `ANY /{proxy+}`; the routed path is still in
the request context the adapter passes (x-amzn-request-context). The requests below are what the app gets
from the adapter in that case: the resolved path, with the routed one in the context."""

import json

import pytest
from fastapi.testclient import TestClient

from tests.support.fakes import FakeBackend


def _through_the_adapter(routed_path: str, request_id: str = "gw-1") -> dict[str, str]:
    context = {"requestId": request_id, "http": {"method": "GET", "path": routed_path}}
    return {"x-amzn-request-context": json.dumps(context)}


def _refused(response_json: object) -> dict[str, object]:
    assert isinstance(response_json, dict)
    error: dict[str, object] = response_json["error"]
    assert error["code"] == "not_found"
    assert "'..'" in str(error["message"])
    return error


@pytest.mark.parametrize(
    "routed_path",
    [
        "/x/../health",  # HTTP API decoded /x/..%2Fhealth: it reached the adapter as this
        "/x/%2e%2E/health",  # URL parsers read %2e as a dot
        "/x/.%2e/health",
        "/x/..\\health",  # and a backslash as a slash
        "/./health",
    ],
)
def test_a_routed_path_with_dot_segments_does_not_get_health(client: TestClient, routed_path: str) -> None:
    response = client.get("/health", headers=_through_the_adapter(routed_path, "gw-dots"))
    assert response.status_code == 404
    assert _refused(response.json())["request_id"] == "gw-dots"
    assert response.headers["x-request-id"] == "gw-dots"


def test_notes_dot_dot_users_does_not_reach_the_user_directory(
    client: TestClient, backend: FakeBackend
) -> None:
    admin = {"Authorization": f"Bearer {backend.identity.issue('root', 'admin')}"}
    routed = _through_the_adapter("/notes/../../users")
    response = client.get("/users", headers={**admin, **routed})
    assert response.status_code == 404
    _refused(response.json())
    # The same admin, routed as /users, is served: only the path is refused.
    assert client.get("/users", headers={**admin, **_through_the_adapter("/users")}).status_code == 200


def test_an_encoded_slash_is_not_a_separator(client: TestClient, backend: FakeBackend) -> None:
    # Called directly, the router matches the decoded path: /users%2Fme would be GET /users/me.
    alice = {"Authorization": f"Bearer {backend.identity.issue('alice')}"}
    assert client.get("/users/me", headers=alice).status_code == 200
    for path in ("/users%2Fme", "/users%2fme", "/users%5Cme"):
        response = client.get(path, headers=alice)
        assert response.status_code == 404, path
        _refused(response.json())


def test_dots_inside_a_segment_are_not_dot_segments(client: TestClient, backend: FakeBackend) -> None:
    alice = {"Authorization": f"Bearer {backend.identity.issue('alice')}"}
    # Routed to GET /notes/{note_id}, whose id pattern refuses it: a 422 naming the field, not the 404 above.
    response = client.get("/notes/..x", headers={**alice, **_through_the_adapter("/notes/..x")})
    assert response.status_code == 422
