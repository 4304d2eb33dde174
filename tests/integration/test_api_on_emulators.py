"""The whole API against MiniStack and the Firebase Auth emulator, with real tokens and real S3 uploads."""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from devstack.supervision import free_port
from shared.settings import Settings
from tests.support.buckets import versions_under
from tests.support.flows import UPLOAD_ACCEPTED, bearer, collect_pages, create_note, start_upload, upload
from web import build_app

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

SignUp = Callable[..., AuthUser]


def test_profile_is_created_on_first_read_and_updated(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    first = client.get("/users/me", headers=bearer(user))
    assert first.status_code == 200
    assert first.json()["uid"] == user.uid
    assert first.json()["email"] == user.email
    updated = client.put("/users/me", json={"display_name": "Ada"}, headers=bearer(user))
    assert updated.json()["display_name"] == "Ada"
    assert updated.json()["created_at"] == first.json()["created_at"]
    assert client.get("/users/me", headers=bearer(user)).json()["display_name"] == "Ada"


def test_notes_crud_with_cursor_pagination(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    created = [create_note(client, user, f"note {index}") for index in range(5)]
    seen = [note["id"] for note in collect_pages(client, "/notes", user, limit=2)]
    assert seen == [note["id"] for note in created]  # ids are time-sortable: creation order

    note_url = f"/notes/{created[0]['id']}"
    fetched = client.get(note_url, headers=bearer(user))
    assert fetched.headers["etag"] == '"1"'
    patched = client.patch(note_url, json={"body": "new"}, headers={**bearer(user), "If-Match": '"1"'})
    assert patched.status_code == 200
    assert (patched.json()["body"], patched.json()["version"]) == ("new", 2)
    assert client.delete(note_url, headers=bearer(user)).status_code == 204
    assert client.get(note_url, headers=bearer(user)).status_code == 404


def test_stale_and_missing_if_match(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_url = f"/notes/{create_note(client, user)['id']}"
    assert client.patch(note_url, json={"title": "a"}, headers=bearer(user)).status_code == 428
    assert (
        client.patch(note_url, json={"title": "a"}, headers={**bearer(user), "If-Match": '"1"'}).status_code
        == 200
    )
    stale = client.patch(note_url, json={"title": "b"}, headers={**bearer(user), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert client.get(note_url, headers=bearer(user)).json()["title"] == "a"


def test_if_match_star_changes_the_current_version(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_url = f"/notes/{create_note(client, user)['id']}"
    client.patch(
        note_url, json={"title": "a"}, headers={**bearer(user), "If-Match": '"1"'}
    ).raise_for_status()
    updated = client.patch(note_url, json={"title": "b"}, headers={**bearer(user), "If-Match": "*"})
    assert (updated.status_code, updated.headers["etag"]) == (200, '"3"')
    assert client.get(note_url, headers=bearer(user)).json()["title"] == "b"


def test_an_if_match_past_dynamodbs_number_precision_is_412(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_url = f"/notes/{create_note(client, user)['id']}"
    too_long = {**bearer(user), "If-Match": f'"{"1" * 40}"'}  # DynamoDB numbers hold 38 digits
    response = client.patch(note_url, json={"title": "x"}, headers=too_long)
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"


def test_another_users_cursor_is_rejected(client: TestClient, sign_up: SignUp) -> None:
    owner, other = sign_up(), sign_up()
    for _ in range(2):
        create_note(client, owner)
    cursor = client.get("/notes", params={"limit": 1}, headers=bearer(owner)).json()["next_cursor"]
    response = client.get("/notes", params={"cursor": cursor}, headers=bearer(other))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_upload_and_download_through_presigned_urls(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_id = create_note(client, user)["id"]
    content = b"hello, attachments"
    response = start_upload(client, user, note_id, "text/plain", len(content))
    assert response.status_code == 201, response.text
    ticket = response.json()
    key = ticket["upload"]["fields"]["key"]
    assert key == f"users/{user.uid}/notes/{note_id}/files/{ticket['file']['id']}"
    assert "report" not in key
    assert upload(ticket, content, "text/plain").status_code in UPLOAD_ACCEPTED

    listed = client.get(f"/notes/{note_id}/files", headers=bearer(user)).json()
    assert [item["file_name"] for item in listed["items"]] == ["report final.txt"]
    assert client.get(f"/notes/{note_id}", headers=bearer(user)).json()["file_count"] == 1

    file_url = f"/notes/{note_id}/files/{ticket['file']['id']}"
    download_url = client.get(file_url, headers=bearer(user)).json()["download_url"]
    downloaded = httpx.get(download_url, timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == content

    assert client.delete(file_url, headers=bearer(user)).status_code == 204
    assert httpx.get(download_url, timeout=10).status_code == 404
    assert client.get(file_url, headers=bearer(user)).status_code == 404
    assert client.get(f"/notes/{note_id}", headers=bearer(user)).json()["file_count"] == 0


def _versions(s3: "S3Client", bucket: str, prefix: str) -> list[str]:
    return [version for _, version in versions_under(s3, bucket, prefix)]


def test_a_deleted_file_leaves_no_version_and_a_reused_ticket_cannot_restore_one(
    client: TestClient, sign_up: SignUp, versioned_bucket: str, s3: "S3Client"
) -> None:
    user = sign_up()
    note_id = create_note(client, user)["id"]
    ticket = start_upload(client, user, note_id, "text/plain", 5).json()
    key = ticket["upload"]["fields"]["key"]
    for content in (b"first", b"again"):  # a ticket can be used until it expires: two versions
        assert upload(ticket, content, "text/plain").status_code in UPLOAD_ACCEPTED
    deleted_versions = _versions(s3, versioned_bucket, key)
    assert len(deleted_versions) == 2
    file_url = f"/notes/{note_id}/files/{ticket['file']['id']}"

    assert client.delete(file_url, headers=bearer(user)).status_code == 204
    assert _versions(s3, versioned_bucket, key) == []

    # S3 cannot revoke a presigned POST: the ticket still stores bytes under its key until it expires.
    assert upload(ticket, b"later", "text/plain").status_code in UPLOAD_ACCEPTED
    after = _versions(s3, versioned_bucket, key)
    assert len(after) == 1
    assert set(after).isdisjoint(deleted_versions)  # nothing deleted came back
    assert client.get(file_url, headers=bearer(user)).status_code == 404  # and the API serves no new bytes
    # Those bytes go with the note (or the account).
    assert client.delete(f"/notes/{note_id}", headers=bearer(user)).status_code == 204
    assert _versions(s3, versioned_bucket, f"users/{user.uid}/") == []


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/xhtml+xml"])
def test_a_download_is_an_attachment_never_a_page(
    client: TestClient, sign_up: SignUp, content_type: str
) -> None:
    """Served inline, an uploaded page would run its scripts in the bucket's origin."""
    user = sign_up()
    note_id = create_note(client, user)["id"]
    content = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    ticket = start_upload(client, user, note_id, content_type, len(content)).json()
    assert upload(ticket, content, content_type).status_code in UPLOAD_ACCEPTED
    file_url = f"/notes/{note_id}/files/{ticket['file']['id']}"
    downloaded = httpx.get(client.get(file_url, headers=bearer(user)).json()["download_url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"report final.txt\"; filename*=UTF-8''report%20final.txt"
    )


def test_upload_policy_rejects_too_large_and_wrong_type(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_id = create_note(client, user)["id"]
    ticket = start_upload(client, user, note_id, "image/png", 10).json()
    assert upload(ticket, b"x" * 11, "image/png").status_code == 400
    assert upload(ticket, b"x" * 10, "text/html").status_code == 403
    assert upload(ticket, b"x" * 10, "image/png").status_code in UPLOAD_ACCEPTED


def test_declared_size_is_capped(client: TestClient, sign_up: SignUp) -> None:
    user = sign_up()
    note_id = create_note(client, user)["id"]
    assert start_upload(client, user, note_id, "image/png", 10 * 1024 * 1024 + 1).status_code == 422


def test_other_users_resources_are_404(client: TestClient, sign_up: SignUp) -> None:
    owner, intruder = sign_up(), sign_up()
    note_id = create_note(client, owner)["id"]
    file_id = start_upload(client, owner, note_id, "text/plain", 1).json()["file"]["id"]
    note_url, file_url = f"/notes/{note_id}", f"/notes/{note_id}/files/{file_id}"
    as_intruder = bearer(intruder)
    responses = [
        client.get(note_url, headers=as_intruder),
        client.patch(note_url, json={"title": "x"}, headers={**as_intruder, "If-Match": '"1"'}),
        client.delete(note_url, headers=as_intruder),
        client.get(f"{note_url}/files", headers=as_intruder),
        start_upload(client, intruder, note_id, "text/plain", 1),
        client.get(file_url, headers=as_intruder),
        client.delete(file_url, headers=as_intruder),
    ]
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert client.get(file_url, headers=bearer(owner)).status_code == 200


def test_user_directory_is_for_admins(client: TestClient, sign_up: SignUp) -> None:
    member, admin = sign_up(), sign_up(role="admin")
    for user in (member, admin):
        client.get("/users/me", headers=bearer(user))
    assert client.get("/users").status_code == 401
    assert client.get("/users", headers=bearer(member)).status_code == 403

    uids = [profile["uid"] for profile in collect_pages(client, "/users", admin, limit=1)]
    assert {member.uid, admin.uid} <= set(uids)
    assert len(uids) == len(set(uids))


def test_account_deletion_removes_items_every_object_version_and_the_sign_in_account(
    client: TestClient,
    sign_up: SignUp,
    settings: Settings,
    dynamodb: "DynamoDBClient",
    s3: "S3Client",
    versioned_bucket: str,
    auth_emulator_host: str,
) -> None:
    user, bystander = sign_up(), sign_up()
    tickets = {}
    for owner in (user, bystander):
        client.get("/users/me", headers=bearer(owner))
        note_id = create_note(client, owner)["id"]
        tickets[owner.uid] = start_upload(client, owner, note_id, "text/plain", 4).json()
        for content in (b"data", b"more"):  # the ticket used twice: two versions
            assert upload(tickets[owner.uid], content, "text/plain").status_code in UPLOAD_ACCEPTED
    deleted_versions = _versions(s3, versioned_bucket, f"users/{user.uid}/")

    assert client.delete("/users/me", headers=bearer(user)).status_code == 204

    def items_of(uid: str) -> int:
        response = dynamodb.query(
            TableName=settings.dynamodb_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER#{uid}"}},
            Select="COUNT",
        )
        return response["Count"]

    assert (items_of(user.uid), _versions(s3, versioned_bucket, f"users/{user.uid}/")) == (0, [])
    with pytest.raises(RuntimeError, match="EMAIL_NOT_FOUND"):
        firebase_accounts.sign_in(auth_emulator_host, user.email)
    assert items_of(bystander.uid) == 3
    assert len(_versions(s3, versioned_bucket, f"users/{bystander.uid}/")) == 2

    # A ticket issued before the deletion still stores bytes until it expires; none of the deleted come
    # back, and nothing in the API leads to the new ones.
    assert upload(tickets[user.uid], b"late", "text/plain").status_code in UPLOAD_ACCEPTED
    assert set(_versions(s3, versioned_bucket, f"users/{user.uid}/")).isdisjoint(deleted_versions)
    assert items_of(user.uid) == 0


def test_a_uid_that_could_overlap_another_users_prefix_is_refused(
    client: TestClient,
    sign_up: SignUp,
    sign_up_as: Callable[[str], AuthUser],
    settings: Settings,
    s3: "S3Client",
) -> None:
    owner = sign_up()
    note_id = create_note(client, owner)["id"]
    ticket = start_upload(client, owner, note_id, "text/plain", 4).json()
    assert upload(ticket, b"data", "text/plain").status_code in UPLOAD_ACCEPTED
    for uid in (f"{owner.uid}/b", f"{owner.uid}/.."):
        intruder = sign_up_as(uid)
        assert intruder.uid == uid
        responses = [
            client.post("/notes", json={"title": "t"}, headers=bearer(intruder)),
            client.delete("/users/me", headers=bearer(intruder)),
        ]
        assert [response.status_code for response in responses] == [401, 401]
    listed = s3.list_objects_v2(Bucket=settings.s3_bucket, Prefix=f"users/{owner.uid}/")
    assert [entry["Key"] for entry in listed.get("Contents", [])] == [ticket["upload"]["fields"]["key"]]


def test_disabled_user_is_rejected_where_revocation_is_checked(
    client: TestClient, sign_up: SignUp, settings: Settings, auth_emulator_host: str
) -> None:
    admin = sign_up(role="admin")
    assert client.get("/users", headers=bearer(admin)).status_code == 200
    firebase_accounts.disable_user(auth_emulator_host, settings.firebase_project_id, admin.uid)
    for response in (
        client.get("/users", headers=bearer(admin)),
        client.delete("/users/me", headers=bearer(admin)),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["message"] == "invalid or missing credentials"
    # Documented trade-off (docs/auth.md): ordinary routes skip the round trip until the token expires.
    assert client.get("/users/me", headers=bearer(admin)).status_code == 200


def test_forged_token_is_rejected(client: TestClient) -> None:
    response = client.get("/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid or missing credentials"


def test_unreachable_aws_answers_503_quickly(settings: Settings, sign_up: SignUp) -> None:
    closed_port = free_port()  # bound then released: nothing listens there
    broken = settings.model_copy(update={"aws_endpoint_url": f"http://127.0.0.1:{closed_port}"})
    user = sign_up()
    with TestClient(build_app(broken), raise_server_exceptions=False) as broken_client:
        started = time.monotonic()
        response = broken_client.get("/notes", headers=bearer(user))
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert elapsed < 5
