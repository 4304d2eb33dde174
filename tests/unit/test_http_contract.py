"""The HTTP layer on fakes: status codes, the one error shape, headers and the request log."""

import asyncio
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.errors import ServiceUnavailable
from tests.support.fakes import FakeBackend


def _auth(backend: FakeBackend, uid: str = "alice", role: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {backend.identity.issue(uid, role)}"}


def _error(response_json: object) -> dict[str, object]:
    assert isinstance(response_json, dict)
    assert set(response_json) == {"error"}
    error: dict[str, object] = response_json["error"]
    assert {"code", "message", "request_id"} <= set(error)
    return error


def test_health_is_public(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "environment": "test", "version": "1.0.0"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/nowhere", 404, "not_found"), ("POST", "/health", 405, "method_not_allowed")],
)
def test_routing_errors_use_the_error_shape(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert _error(response.json())["code"] == code


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/users/me", "DELETE, GET, PUT"),
        ("/notes/01ARZ3NDEKTSV4RRFFQ69G5FAV", "DELETE, GET, PATCH"),
    ],
)
def test_a_405_allows_every_method_of_the_path(client: TestClient, path: str, allowed: str) -> None:
    # Each method of these paths is its own route: the answer must name them all, not the first route's.
    response = client.request("OPTIONS", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


def test_the_schema_documents_the_errors_in_the_shape_sent(client: TestClient) -> None:
    # Clients and the fuzz suite (tests/e2e/test_hostile_input.py) read error bodies off the schema.
    schema = client.get("/openapi.json").json()
    error_shape = {"$ref": "#/components/schemas/ErrorResponse"}
    gateway_shape = {"$ref": "#/components/schemas/GatewayError"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for operations in schema["paths"].values():
        for operation in operations.values():
            errors = {status: entry for status, entry in operation["responses"].items() if status >= "400"}
            assert ("401" in errors) == bool(operation.get("security")), operation["operationId"]
            for status, entry in errors.items():
                # A 401 may also be the API's authorizer's own answer, refused before the app (template.yml).
                schema_sent = entry["content"]["application/json"]["schema"]
                assert schema_sent.get("anyOf", [schema_sent])[0] == error_shape, operation["operationId"]
                if status == "401":
                    assert schema_sent["anyOf"][1:] == [gateway_shape], operation["operationId"]


def test_a_body_that_is_not_text_is_a_documented_400(client: TestClient, backend: FakeBackend) -> None:
    headers = {**_auth(backend), "Content-Type": "application/json"}
    response = client.put("/users/me", content=b'{"display_name": "\xff"}', headers=headers)
    assert response.status_code == 400
    assert _error(response.json())["code"] == "bad_request"
    assert "400" in client.get("/openapi.json").json()["paths"]["/users/me"]["put"]["responses"]


def test_missing_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/notes")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert _error(response.json())["code"] == "unauthenticated"


def test_unknown_token_gets_the_same_generic_401(client: TestClient) -> None:
    response = client.get("/notes", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert _error(response.json())["message"] == "invalid or missing credentials"


def test_revoked_token_is_rejected_where_revocation_is_checked(
    client: TestClient, backend: FakeBackend
) -> None:
    headers = _auth(backend, "alice", role="admin")
    backend.identity.revoked.add(headers["Authorization"].removeprefix("Bearer "))
    assert client.get("/users/me", headers=headers).status_code == 200
    assert client.get("/users", headers=headers).status_code == 401
    assert client.delete("/users/me", headers=headers).status_code == 401


def test_non_admin_gets_403_on_the_user_directory(client: TestClient, backend: FakeBackend) -> None:
    response = client.get("/users", headers=_auth(backend))
    assert response.status_code == 403
    assert _error(response.json())["code"] == "forbidden"


def test_validation_errors_name_the_fields(client: TestClient, backend: FakeBackend) -> None:
    response = client.post("/notes", json={"title": "", "extra": 1}, headers=_auth(backend))
    assert response.status_code == 422
    error = _error(response.json())
    assert error["code"] == "validation_error"
    assert isinstance(error["details"], list)
    assert {tuple(detail["location"]) for detail in error["details"]} == {
        ("body", "title"),
        ("body", "extra"),
    }


@pytest.mark.parametrize("size", [True, "3", 3.5])
def test_a_body_field_is_taken_only_as_the_schema_types_it(
    client: TestClient, backend: FakeBackend, size: object
) -> None:
    """Found by schemathesis: `"size": true` was taken as 1 (pydantic's lax mode), against the schema."""
    note = client.post("/notes", json={"title": "t"}, headers=_auth(backend)).json()
    upload = {"file_name": "a.txt", "content_type": "text/plain", "size": size}
    response = client.post(f"/notes/{note['id']}/files", json=upload, headers=_auth(backend))
    assert response.status_code == 422, response.text
    details = _error(response.json())["details"]
    assert isinstance(details, list)
    assert [detail["location"] for detail in details] == [["body", "size"]]


@pytest.mark.parametrize("limit", [0, 101])
def test_page_limit_is_bounded(client: TestClient, backend: FakeBackend, limit: int) -> None:
    assert client.get("/notes", params={"limit": limit}, headers=_auth(backend)).status_code == 422


def test_bad_cursor_is_a_clear_400(client: TestClient, backend: FakeBackend) -> None:
    response = client.get("/notes", params={"cursor": "garbage"}, headers=_auth(backend))
    assert response.status_code == 400
    assert _error(response.json())["code"] == "invalid_cursor"


def test_patch_needs_if_match_and_rejects_a_stale_one(client: TestClient, backend: FakeBackend) -> None:
    headers = _auth(backend)
    created = client.post("/notes", json={"title": "t"}, headers=headers)
    assert created.headers["etag"] == '"1"'
    url = f"/notes/{created.json()['id']}"

    missing = client.patch(url, json={"title": "x"}, headers=headers)
    assert missing.status_code == 428
    assert _error(missing.json())["code"] == "precondition_required"

    updated = client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"1"'})
    assert updated.status_code == 200
    assert updated.headers["etag"] == '"2"'

    stale = client.patch(url, json={"title": "y"}, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert _error(stale.json())["code"] == "precondition_failed"
    assert client.get(url, headers=headers).json()["title"] == "x"


def test_if_match_star_changes_whatever_version_is_current(client: TestClient, backend: FakeBackend) -> None:
    """RFC 9110 13.1.1: `*` matches any current representation. A note that does not exist stays a 404
    (13.2.1: preconditions are ignored where the request without them would not succeed)."""
    headers = _auth(backend)
    url = f"/notes/{client.post('/notes', json={'title': 't'}, headers=headers).json()['id']}"
    client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"1"'}).raise_for_status()

    updated = client.patch(url, json={"title": "y"}, headers={**headers, "If-Match": "*"})
    assert (updated.status_code, updated.headers["etag"], updated.json()["title"]) == (200, '"3"', "y")

    client.delete(url, headers=headers).raise_for_status()
    gone = client.patch(url, json={"title": "z"}, headers={**headers, "If-Match": "*"})
    assert (gone.status_code, _error(gone.json())["code"]) == (404, "not_found")


def _patch_with_raw_header(
    client: TestClient, url: str, headers: dict[str, str], if_match: bytes
) -> httpx.Response:
    """TestClient re-encodes header values as UTF-8; an ASGI transport hands the bytes over as sent, as a
    real server does (the app reads them as Latin-1)."""

    async def patch() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw_client:
            return await raw_client.patch(
                url,
                json={"title": "x"},
                headers=[
                    *((name.encode(), value.encode()) for name, value in headers.items()),
                    (b"If-Match", if_match),
                ],
            )

    return asyncio.run(patch())


@pytest.mark.parametrize(
    "if_match",
    [
        pytest.param(b'"\xb2"', id="superscript-two"),  # '²' to the app: str.isdigit() yes, int() no
        pytest.param(b'"' + b"9" * 5000 + b'"', id="5000-digits"),  # past int()'s 4300-digit limit
        pytest.param(b'"' + b"1" * 40 + b'"', id="40-digits"),  # past DynamoDB's 38 significant digits
        pytest.param(b'"-1"', id="negative"),
        pytest.param(b'"1", "2"', id="a-list"),
    ],
)
def test_an_if_match_that_cannot_match_is_412(
    client: TestClient, backend: FakeBackend, if_match: bytes
) -> None:
    headers = _auth(backend)
    url = f"/notes/{client.post('/notes', json={'title': 't'}, headers=headers).json()['id']}"
    response = _patch_with_raw_header(client, url, headers, if_match)
    assert response.status_code == 412
    assert _error(response.json())["code"] == "precondition_failed"
    assert client.get(url, headers=headers).json()["title"] == "t"


def test_file_download_returns_the_record_and_a_signed_url(client: TestClient, backend: FakeBackend) -> None:
    headers = _auth(backend)
    note_id = client.post("/notes", json={"title": "t"}, headers=headers).json()["id"]
    created = client.post(
        f"/notes/{note_id}/files",
        json={"file_name": "a.txt", "content_type": "text/plain", "size": 3},
        headers=headers,
    ).json()
    response = client.get(f"/notes/{note_id}/files/{created['file']['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "file": created["file"],
        "download_url": f"https://storage.invalid/{created['upload']['fields']['key']}?expires=300"
        "&attachment=a.txt",
        "expires_in": 300,
    }


@pytest.mark.parametrize("uid", ["a/b", "a/..", "a/", "a#b", "a b", "", "x" * 129])
def test_a_uid_that_could_overlap_another_users_keys_is_refused(
    client: TestClient, backend: FakeBackend, uid: str
) -> None:
    """users/a/ would cover users/a/b/: one account's deletion must never reach another's objects."""
    owner = _auth(backend, "a")
    note_id = client.post("/notes", json={"title": "t"}, headers=owner).json()["id"]
    client.post(
        f"/notes/{note_id}/files",
        json={"file_name": "f", "content_type": "text/plain", "size": 1},
        headers=owner,
    )
    objects = set(backend.storage.objects)
    other = _auth(backend, uid)
    responses = [
        client.post("/notes", json={"title": "t"}, headers=other),
        client.get(f"/notes/{note_id}", headers=other),
        client.delete("/users/me", headers=other),
    ]
    assert [response.status_code for response in responses] == [401] * len(responses)
    assert backend.storage.objects == objects
    assert len(objects) == 1


def test_malformed_ids_never_reach_the_repository(client: TestClient, backend: FakeBackend) -> None:
    response = client.get("/notes/USER%23bob", headers=_auth(backend))
    assert response.status_code == 422


def test_request_id_comes_from_the_gateway_context_and_is_logged(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    context = json.dumps({"requestId": "gw-request-1", "http": {"method": "GET"}})
    response = client.get("/health", headers={"x-amzn-request-context": context})
    assert response.headers["x-request-id"] == "gw-request-1"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line["message"] == "request")
    assert request_line["request_id"] == "gw-request-1"
    assert request_line["lambda_request_context"] is True
    assert request_line["status"] == 200
    assert request_line["method"] == "GET"
    assert request_line["path"] == "/health"
    assert isinstance(request_line["duration_ms"], float)


def test_without_the_gateway_context_a_request_id_is_generated(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/nowhere")
    request_id = response.headers["x-request-id"]
    uuid.UUID(request_id)
    assert _error(response.json())["request_id"] == request_id
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("lambda_request_context") is False for line in lines)


def test_unavailable_backend_is_503(
    client: TestClient, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_: object) -> None:
        raise ServiceUnavailable("DynamoDB is unavailable")

    monkeypatch.setattr(backend.repository, "list_notes", unreachable)
    response = client.get("/notes", headers=_auth(backend))
    assert response.status_code == 503
    assert _error(response.json())["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) > 0  # RFC 9110: seconds to wait before trying again


def test_unexpected_errors_are_a_json_500_without_internals(
    client: TestClient, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(backend.repository, "list_notes", broken)
    response = client.get("/notes", headers=_auth(backend))
    assert response.status_code == 500
    assert _error(response.json())["code"] == "internal_error"
    assert "secret" not in response.text
    assert "x-request-id" in response.headers


# --- Idempotency-Key on creates ----------------------------------------------------------------------


def _created(response: httpx.Response) -> tuple[int, object, str | None, str | None]:
    """What a client sees of a create: status, body, and the headers it acts on."""
    return (
        response.status_code,
        response.json(),
        response.headers.get("etag"),
        response.headers.get("location"),
    )


def test_a_create_resent_with_its_idempotency_key_gets_the_first_answer_and_makes_nothing(
    client: TestClient, backend: FakeBackend
) -> None:
    key = "3f1c6a2e-5b7d-4c8e-9a0b-1d2e3f4a5b6c"  # gitleaks:allow (a client's UUID, no secret)
    headers = {**_auth(backend), "Idempotency-Key": key}
    note = client.post("/notes", json={"title": "t", "body": "b"}, headers=headers)
    assert note.status_code == 201
    assert _created(client.post("/notes", json={"title": "t", "body": "b"}, headers=headers)) == _created(
        note
    )
    assert len(backend.repository.notes) == 1

    upload_headers = {**headers, "Idempotency-Key": "upload-1"}
    files_url = f"/notes/{note.json()['id']}/files"
    asked = {"file_name": "a.txt", "content_type": "text/plain", "size": 3}
    upload = client.post(files_url, json=asked, headers=upload_headers)
    assert upload.status_code == 201
    assert _created(client.post(files_url, json=asked, headers=upload_headers)) == _created(upload)
    assert len(backend.repository.files) == 1


def test_an_idempotency_key_used_for_another_request_is_refused(
    client: TestClient, backend: FakeBackend
) -> None:
    headers = {**_auth(backend), "Idempotency-Key": "key-1"}
    note = client.post("/notes", json={"title": "t"}, headers=headers).json()
    other_body = client.post("/notes", json={"title": "other"}, headers=headers)
    other_route = client.post(
        f"/notes/{note['id']}/files",
        json={"file_name": "a.txt", "content_type": "text/plain", "size": 3},
        headers=headers,
    )
    for refused in (other_body, other_route):
        assert refused.status_code == 422
        assert _error(refused.json())["code"] == "idempotency_key_reused"
    assert (len(backend.repository.notes), len(backend.repository.files)) == (1, 0)


def test_idempotency_keys_are_per_user(client: TestClient, backend: FakeBackend) -> None:
    key = {"Idempotency-Key": "key-1"}
    alices = client.post("/notes", json={"title": "t"}, headers={**_auth(backend, "alice"), **key})
    bobs = client.post("/notes", json={"title": "t"}, headers={**_auth(backend, "bob"), **key})
    assert (alices.status_code, bobs.status_code) == (201, 201)
    assert alices.json()["id"] != bobs.json()["id"]
    assert len(backend.repository.notes) == 2


@pytest.mark.parametrize(
    "key",
    ["", "a" * 129, "two words", "key/with/slash", "ключ".encode(), '"quoted"'],
    ids=["empty", "129-chars", "space", "slash", "non-ascii", "quoted"],
)
def test_a_malformed_idempotency_key_is_refused_before_anything_is_created(
    client: TestClient, backend: FakeBackend, key: str | bytes
) -> None:
    headers: dict[str, str | bytes] = {**_auth(backend), "Idempotency-Key": key}
    response = client.post("/notes", json={"title": "t"}, headers=headers)
    assert response.status_code == 422
    error = _error(response.json())
    assert error["code"] == "validation_error"
    assert isinstance(error["details"], list)
    assert [detail["location"] for detail in error["details"]] == [["header", "idempotency-key"]]
    assert backend.repository.notes == {}


def test_the_openapi_schema_documents_the_idempotency_key(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/notes", "/notes/{note_id}/files"):
        (header,) = [p for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        assert header["name"] == "idempotency-key"
        assert header["required"] is False
        assert "same key again" in header["description"]
