"""After DELETE /users/me, the caller's ID token (Firebase keeps accepting it until it expires, up to an
hour) is refused on every route, in the one error shape, and nothing of the caller's is stored again: the
HTTP layer on the fakes. On DynamoDB and both verification paths: tests/integration/test_auth_matrix.py."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.errors import ServiceUnavailable
from tests.support.fakes import FakeBackend
from tests.support.routes import Route, protected_routes

# A request each route would carry out for the token's owner: a token let in by mistake changes something.
BODIES: dict[Route, dict[str, Any]] = {
    ("PUT", "/users/me"): {"display_name": "back again"},
    ("POST", "/notes"): {"title": "back again"},
    ("PATCH", "/notes/{note_id}"): {"title": "back again"},
    ("POST", "/notes/{note_id}/files"): {"file_name": "a.txt", "content_type": "text/plain", "size": 3},
}


def _assert_refused(response: Any, what: str) -> None:
    assert response.status_code == 401, f"{what} answered {response.status_code}: {response.text}"
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def _records_of(backend: FakeBackend, uid: str) -> list[object]:
    repository = backend.repository
    return [
        *(profile for key, profile in repository.profiles.items() if key == uid),
        *(note for key, note in repository.notes.items() if key[0] == uid),
        *(record for key, record in repository.files.items() if key[0] == uid),
        *(create for key, create in repository.creates.items() if key[0] == uid),
    ]


def test_a_deleted_accounts_token_is_refused_on_every_route_and_stores_nothing(
    client: TestClient, backend: FakeBackend
) -> None:
    auth = {"Authorization": f"Bearer {backend.identity.issue('alice')}"}
    client.get("/users/me", headers=auth).raise_for_status()
    note_id = client.post("/notes", json={"title": "t"}, headers=auth).json()["id"]
    started = client.post(
        f"/notes/{note_id}/files", json=BODIES[("POST", "/notes/{note_id}/files")], headers=auth
    )
    file_id = started.json()["file"]["id"]
    assert client.delete("/users/me", headers=auth).status_code == 204
    assert _records_of(backend, "alice") == []

    for method, path in protected_routes(client.app):  # type: ignore[arg-type]  # TestClient.app is the app
        response = client.request(
            method,
            path.format(note_id=note_id, file_id=file_id),
            json=BODIES.get((method, path)),
            headers={**auth, "If-Match": "*"},
        )
        _assert_refused(response, f"{method} {path}")
    assert _records_of(backend, "alice") == []
    assert [key for key in backend.storage.objects if key.startswith("users/alice/")] == []


def test_a_deletion_that_failed_halfway_closes_the_account_and_can_run_again(
    client: TestClient, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = {"Authorization": f"Bearer {backend.identity.issue('alice')}"}
    client.post("/notes", json={"title": "t"}, headers=auth).raise_for_status()
    sweep = backend.storage.delete_prefix

    def unreachable_once(prefix: str) -> None:
        monkeypatch.setattr(backend.storage, "delete_prefix", sweep)
        raise ServiceUnavailable("S3 is unavailable")

    monkeypatch.setattr(backend.storage, "delete_prefix", unreachable_once)
    assert client.delete("/users/me", headers=auth).status_code == 503
    # Half deleted: closed to everything but finishing the deletion, which Firebase still lets in.
    _assert_refused(client.get("/users/me", headers=auth), "GET /users/me")
    assert client.delete("/users/me", headers=auth).status_code == 204
    assert backend.identity.deleted == {"alice"}
