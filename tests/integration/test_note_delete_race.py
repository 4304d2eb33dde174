"""A note deleted while files are being added to it, on MiniStack: the use cases on the real adapters,
many start_upload calls racing one delete, round after round. Whatever the interleaving, no file record
outlives its note, and no version of any object under the note's prefix survives the delete."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import TYPE_CHECKING

import pytest

from application.services import Services
from bootstrap import build_services
from domain.entities import Principal, UploadTicket
from domain.errors import NotFound, ServiceUnavailable
from shared.settings import Settings
from tests.support.buckets import versions_under
from tests.support.flows import UPLOAD_ACCEPTED, post_upload

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

ROUNDS = 12
RACERS = 16  # start_upload calls racing each delete: with the files added before, under the 20-file limit
UPLOADED_BEFORE = 2  # files whose bytes are in S3 (twice: a reused ticket) before the race starts


def _upload(ticket: UploadTicket, content: bytes) -> None:
    response = post_upload(ticket.upload.url, ticket.upload.fields, content, ticket.file.content_type)
    assert response.status_code in UPLOAD_ACCEPTED, response.text


def _start_upload(services: Services, caller: Principal, note_id: str, start: Barrier) -> str:
    start.wait()
    try:
        services.files.start_upload(caller, note_id, "f.txt", "text/plain", 4)
    except NotFound:
        return "refused: note gone"
    return "ticket"


def _delete(services: Services, caller: Principal, note_id: str, start: Barrier) -> str:
    start.wait()
    try:
        services.notes.delete(caller, note_id)
    except ServiceUnavailable:  # 503: contention outlasted the retries; the client tries again
        return "busy"
    return "deleted"


def test_no_file_record_or_object_outlives_a_note_deleted_during_uploads(
    settings: Settings, dynamodb: "DynamoDBClient", s3: "S3Client", versioned_bucket: str
) -> None:
    services = build_services(settings)
    caller = Principal(uid=f"racer-{uuid.uuid4().hex[:12]}", email=None, role=None)
    outcomes: Counter[str] = Counter()
    records_left = versions_left = 0
    for _ in range(ROUNDS):
        note = services.notes.create(caller, "racing", "")
        for _ in range(UPLOADED_BEFORE):
            ticket = services.files.start_upload(caller, note.id, "f.txt", "text/plain", 4)
            _upload(ticket, b"one!")
            _upload(ticket, b"two!")
        start = Barrier(RACERS + 1)
        with ThreadPoolExecutor(max_workers=RACERS + 1) as pool:
            racers = [pool.submit(_start_upload, services, caller, note.id, start) for _ in range(RACERS)]
            deletion = pool.submit(_delete, services, caller, note.id, start)
            outcomes.update(racer.result() for racer in racers)
            outcomes[deletion.result()] += 1
        if deletion.result() == "busy":
            services.notes.delete(caller, note.id)  # nothing races it now

        records_left += dynamodb.query(
            TableName=settings.dynamodb_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :files)",
            ExpressionAttributeValues={
                ":pk": {"S": f"USER#{caller.uid}"},
                ":files": {"S": f"FILE#{note.id}#"},
            },
            ConsistentRead=True,
            Select="COUNT",
        )["Count"]
        versions_left += len(versions_under(s3, versioned_bucket, f"users/{caller.uid}/notes/{note.id}/"))

    assert services.notes.list(caller, 100, None).items == []
    # The outcomes say which interleavings this run saw.
    assert (records_left, versions_left) == (0, 0), dict(outcomes)
