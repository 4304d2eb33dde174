"""An account deleted while its owner's requests are writing, on MiniStack: the use cases on the real
adapters, so every racer stands for a request already let in (its token checked before the deletion mark
existed). Whatever the interleaving, nothing they write outlives the deletion: each write lands before the
erase and goes with it, or is refused (AccountDeleted, a 401) — none lands after it."""

import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from threading import Barrier
from typing import TYPE_CHECKING

import pytest

from application.services import Services
from bootstrap import build_services
from domain.entities import Principal
from domain.errors import AccountDeleted, NotFound
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

ROUNDS = 8
RACERS = 16  # writes racing each deletion, of every kind that creates an item


def _writes(services: Services, caller: Principal, note_id: str) -> list[Callable[[], object]]:
    return [
        lambda: services.users.get_my_profile(caller),  # creates the profile when it is gone
        lambda: services.users.update_my_profile(caller, "racing"),
        lambda: services.notes.create(caller, "racing", ""),
        lambda: services.notes.create(caller, "racing", "", idempotency_key=uuid.uuid4().hex),
        lambda: services.files.start_upload(caller, note_id, "f.txt", "text/plain", 4),
    ]


def _race(write: Callable[[], object], start: Barrier) -> str:
    start.wait()
    try:
        write()
    except AccountDeleted:
        return "refused"
    except NotFound:  # an upload whose note the erase took first
        return "note gone"
    return "done"


def test_no_write_racing_an_account_deletion_outlives_it(
    settings: Settings, dynamodb: "DynamoDBClient"
) -> None:
    services = build_services(settings)
    outcomes: Counter[str] = Counter()
    items_left: list[str] = []
    for _ in range(ROUNDS):
        # Not a Firebase user: deleting it there is done already, as for a retried deletion.
        caller = Principal(uid=f"racer-{uuid.uuid4().hex[:12]}", email=None, role=None)
        note = services.notes.create(caller, "before", "")
        writes = _writes(services, caller, note.id)
        start = Barrier(RACERS + 1)
        with ThreadPoolExecutor(max_workers=RACERS + 1) as pool:
            racers = [pool.submit(_race, writes[n % len(writes)], start) for n in range(RACERS)]
            deletion = pool.submit(_race, partial(services.users.delete_my_account, caller), start)
            assert deletion.result() == "done"
            outcomes.update(racer.result() for racer in racers)

        left = dynamodb.query(
            TableName=settings.dynamodb_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER#{caller.uid}"}},
            ProjectionExpression="sk",
            ConsistentRead=True,
        )["Items"]
        items_left += [item["sk"]["S"] for item in left]
    print(f"{ROUNDS} rounds x {RACERS} writes racing a deletion: {dict(outcomes)}")  # shown with -s
    assert items_left == [], f"items written after the erase: {items_left}"
