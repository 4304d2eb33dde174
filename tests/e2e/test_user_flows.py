"""What a user does, end to end: HTTP -> gateway -> RIE -> Web Adapter -> run.sh -> uvicorn -> FastAPI,
with real emulator tokens, the deployed table and real presigned S3 transfers."""

from __future__ import annotations

import time

import httpx
import pytest

from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import UPLOAD_ACCEPTED, bearer, collect_pages, create_note, start_upload, upload
from tests.support.target import Target, app_requests, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e


def test_health_went_through_the_lambda_chain(api: httpx.Client, target: Target) -> None:
    skip_where_sam_local_differs(target, "apigw-requestid")
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    # The app takes its request id from the x-amzn-request-context header the adapter adds: equal ids
    # prove the request crossed RIE and the adapter, not a shortcut to uvicorn.
    assert response.headers["x-request-id"] == response.headers["apigw-requestid"]


def test_app_logs_show_the_lambda_request_context(api: httpx.Client, target: Target) -> None:
    if target.logs is None:
        pytest.skip("BASE_URL run: the app's logs are in the `make dev` terminal, not here")
    request_id = api.get("/health").headers["apigw-requestid"]
    logs = target.logs
    deadline = time.monotonic() + 10  # the line reaches the capture through a reader thread
    while not (matching := [r for r in app_requests(logs) if r.get("request_id") == request_id]):
        assert time.monotonic() < deadline, "the app logged no line for a request that went through the chain"
        time.sleep(0.05)
    assert matching[-1]["lambda_request_context"] is True


@pytest.mark.parametrize("path", ["/users/me", "/users", "/notes", "/notes/some-id/files"])
def test_no_token_no_entry(api: httpx.Client, target: Target, path: str) -> None:
    """Refused at the edge by the API's JWT authorizer, as HTTP API answers (the app never sees it)."""
    skip_where_sam_local_differs(target, "JWT authorizer")
    response = api.get(path)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_forged_token_is_refused(api: httpx.Client) -> None:
    assert api.get("/users/me", headers={"Authorization": "Bearer forged.token.value"}).status_code == 401


def test_profile_notes_and_concurrency(api: httpx.Client, new_user: AuthUser) -> None:
    assert api.put("/users/me", json={"display_name": "Grace"}, headers=bearer(new_user)).status_code == 200
    assert api.get("/users/me", headers=bearer(new_user)).json()["display_name"] == "Grace"

    created = [create_note(api, new_user, f"note {index}") for index in range(5)]
    listed = collect_pages(api, "/notes", new_user, limit=2)
    assert [note["id"] for note in listed] == [note["id"] for note in created]

    note_url = f"/notes/{created[0]['id']}"
    etag = api.get(note_url, headers=bearer(new_user)).headers["etag"]
    first = api.patch(note_url, json={"title": "mine"}, headers={**bearer(new_user), "If-Match": etag})
    assert first.status_code == 200
    late = api.patch(note_url, json={"title": "theirs"}, headers={**bearer(new_user), "If-Match": etag})
    assert late.status_code == 412
    assert api.get(note_url, headers=bearer(new_user)).json()["title"] == "mine"
    assert api.delete(note_url, headers=bearer(new_user)).status_code == 204
    assert api.get(note_url, headers=bearer(new_user)).status_code == 404


def test_file_upload_download_and_isolation(api: httpx.Client, new_user: AuthUser, target: Target) -> None:
    intruder = firebase_accounts.sign_up(
        target.endpoints.firebase_auth_host, f"intruder-{new_user.uid}@example.com"
    )
    note_id = create_note(api, new_user)["id"]
    content = bytes(range(256)) * 64  # binary, 16 KiB
    ticket_response = start_upload(api, new_user, note_id, "application/octet-stream", len(content))
    assert ticket_response.status_code == 201, ticket_response.text
    ticket = ticket_response.json()
    assert upload(ticket, content, "application/octet-stream").status_code in UPLOAD_ACCEPTED

    file_url = f"/notes/{note_id}/files/{ticket['file']['id']}"
    download_url = api.get(file_url, headers=bearer(new_user)).json()["download_url"]
    assert httpx.get(download_url, timeout=10).content == content

    for path in (f"/notes/{note_id}", f"/notes/{note_id}/files", file_url):
        assert api.get(path, headers=bearer(intruder)).status_code == 404
    assert api.delete(file_url, headers=bearer(intruder)).status_code == 404
    assert api.delete(file_url, headers=bearer(new_user)).status_code == 204


def test_admin_directory(api: httpx.Client, new_user: AuthUser, target: Target) -> None:
    host, project = target.endpoints.firebase_auth_host, target.endpoints.project_id
    api.get("/users/me", headers=bearer(new_user))
    assert api.get("/users", headers=bearer(new_user)).status_code == 403
    firebase_accounts.set_claims(host, project, new_user.uid, {"role": "admin"})
    admin = firebase_accounts.sign_in(host, new_user.email)
    uids = {profile["uid"] for profile in collect_pages(api, "/users", admin, limit=50)}
    assert new_user.uid in uids


def test_account_deletion_takes_everything(api: httpx.Client, new_user: AuthUser) -> None:
    note_id = create_note(api, new_user)["id"]
    ticket = start_upload(api, new_user, note_id, "text/plain", 5).json()
    assert upload(ticket, b"bytes", "text/plain").status_code in UPLOAD_ACCEPTED
    download_url = api.get(f"/notes/{note_id}/files/{ticket['file']['id']}", headers=bearer(new_user)).json()[
        "download_url"
    ]

    assert api.delete("/users/me", headers=bearer(new_user)).status_code == 204

    # Firebase accepts the token until it expires (up to an hour): the API refuses it, and nothing is made
    # again (the profile a first read creates, a note, an upload ticket).
    for method, path, body in (
        ("GET", "/users/me", None),
        ("GET", "/notes", None),
        ("POST", "/notes", {"title": "back again"}),
        ("POST", f"/notes/{note_id}/files", {"file_name": "a.txt", "content_type": "text/plain", "size": 5}),
    ):
        response = api.request(method, path, json=body, headers=bearer(new_user))
        assert response.status_code == 401, f"{method} {path}: {response.text}"
    assert httpx.get(download_url, timeout=10).status_code == 404
