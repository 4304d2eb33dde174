"""Idempotency-Key on MiniStack's DynamoDB through the real app (uvicorn): the same create sent by 20
clients at once with one key makes one record, and every client gets the same answer."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from devstack.emulators.firebase_accounts import AuthUser
from shared.settings import Settings
from tests.support.flows import bearer, create_note
from tests.support.gate import Gate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

SENDERS = 20


def _answer(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    return (
        response.status_code,
        response.json(),
        response.headers.get("etag"),
        response.headers.get("location"),
    )


def _send_together(
    served_app: tuple[str, Gate], path: str, payload: object, headers: dict[str, str]
) -> list[Any]:
    base_url, gate = served_app

    def send(_: int) -> Any:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            return _answer(client.post(path, json=payload, headers=headers))

    gate.arm("POST", SENDERS)
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        answers = list(pool.map(send, range(SENDERS)))
    assert not gate.timed_out, "the creates did not all reach the app together"
    return answers


def _items(dynamodb: "DynamoDBClient", settings: Settings, user: AuthUser, sk_prefix: str) -> int:
    return dynamodb.query(
        TableName=settings.dynamodb_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user.uid}"}, ":prefix": {"S": sk_prefix}},
        ConsistentRead=True,
        Select="COUNT",
    )["Count"]


def test_concurrent_creates_under_one_key_make_one_record_and_get_one_answer(
    served_app: tuple[str, Gate],
    client: httpx.Client,
    sign_up: Callable[[], AuthUser],
    dynamodb: "DynamoDBClient",
    settings: Settings,
) -> None:
    user = sign_up()
    note_key = {**bearer(user), "Idempotency-Key": "note-create-1"}
    answers = _send_together(served_app, "/notes", {"title": "once", "body": "only once"}, note_key)
    assert answers[0][0] == 201
    assert answers == [answers[0]] * SENDERS
    assert _items(dynamodb, settings, user, "NOTE#") == 1

    note_id = answers[0][1]["id"]
    upload_key = {**bearer(user), "Idempotency-Key": "file-create-1"}
    asked = {"file_name": "a.txt", "content_type": "text/plain", "size": 3}
    uploads = _send_together(served_app, f"/notes/{note_id}/files", asked, upload_key)
    assert uploads[0][0] == 201
    assert uploads == [uploads[0]] * SENDERS  # the same record and the same ticket, byte for byte
    assert _items(dynamodb, settings, user, f"FILE#{note_id}#") == 1
    assert client.get(f"/notes/{note_id}", headers=bearer(user)).json()["file_count"] == 1
    assert _items(dynamodb, settings, user, "IDEMPOTENCY#") == 2


def test_a_key_answers_its_own_request_only_and_only_for_its_user(
    client: httpx.Client, sign_up: Callable[[], AuthUser]
) -> None:
    alice, bob = sign_up(), sign_up()
    key = {"Idempotency-Key": "shared-key"}
    first = client.post("/notes", json={"title": "t"}, headers={**bearer(alice), **key})
    assert first.status_code == 201
    assert _answer(client.post("/notes", json={"title": "t"}, headers={**bearer(alice), **key})) == _answer(
        first
    )

    other = client.post("/notes", json={"title": "other"}, headers={**bearer(alice), **key})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"

    bobs = client.post("/notes", json={"title": "t"}, headers={**bearer(bob), **key})
    assert bobs.status_code == 201
    assert bobs.json()["id"] != first.json()["id"]
    assert [len(client.get("/notes", headers=bearer(u)).json()["items"]) for u in (alice, bob)] == [1, 1]
    create_note(client, alice)  # without a key, creates as before
    assert len(client.get("/notes", headers=bearer(alice)).json()["items"]) == 2


def test_a_note_key_sent_with_an_upload_is_refused_not_a_500(
    client: httpx.Client, sign_up: Callable[[], AuthUser]
) -> None:
    """Found by schemathesis: the key's record held a note, and reading it as an upload ticket was a 500."""
    user = sign_up()
    key = {"Idempotency-Key": "note-then-upload"}
    note = client.post("/notes", json={"title": "t"}, headers={**bearer(user), **key})
    assert note.status_code == 201
    upload = {"file_name": "a.txt", "content_type": "text/plain", "size": 3}
    for note_id in (note.json()["id"], "00000000000000000000000000"):  # its note, and one that does not exist
        refused = client.post(f"/notes/{note_id}/files", json=upload, headers={**bearer(user), **key})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert client.get(f"/notes/{note.json()['id']}", headers=bearer(user)).json()["file_count"] == 0
