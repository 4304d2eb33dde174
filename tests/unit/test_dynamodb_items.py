"""Each entity survives its DynamoDB item: `<entity>_to_item` then `<entity>_from_item` gives it back.
The item is the wire format DynamoDB stores and returns (numbers as strings, timestamps as ISO text)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.entities import FileRecord, Note, UserProfile, object_key
from infrastructure.dynamodb_items import (
    Item,
    file_from_item,
    file_to_item,
    note_from_item,
    note_to_item,
    profile_from_item,
    profile_to_item,
)

CREATED = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
UPDATED = datetime(2025, 6, 7, 8, 9, 10, 111213, tzinfo=UTC)
NOTE_ID = "01JGQ3Z5K2M4N6P8R0S2T4V6W8"
FILE_ID = "01JGQ3Z9A1B3C5D7E9F1G3H5J7"


@pytest.mark.parametrize(
    ("entity", "to_item", "from_item", "key"),
    [
        pytest.param(
            UserProfile("alice", "alice@example.com", "Alice", CREATED, UPDATED),
            profile_to_item,
            profile_from_item,
            ("USER#alice", "PROFILE"),
            id="profile",
        ),
        pytest.param(
            UserProfile("alice", None, None, CREATED, UPDATED),
            profile_to_item,
            profile_from_item,
            ("USER#alice", "PROFILE"),
            id="profile-without-email-or-name",
        ),
        pytest.param(
            Note(NOTE_ID, "alice", "title", "body", 3, 2, CREATED, UPDATED),
            note_to_item,
            note_from_item,
            ("USER#alice", f"NOTE#{NOTE_ID}"),
            id="note",
        ),
        pytest.param(
            FileRecord(
                FILE_ID,
                "alice",
                NOTE_ID,
                "report final.txt",
                "text/plain",
                42,
                object_key("alice", NOTE_ID, FILE_ID),
                CREATED,
            ),
            file_to_item,
            file_from_item,
            ("USER#alice", f"FILE#{NOTE_ID}#{FILE_ID}"),
            id="file",
        ),
    ],
)
def test_entity_round_trips_through_its_item_under_its_documented_key(
    entity: object,
    to_item: Callable[[Any], Item],
    from_item: Callable[[Item], object],
    key: tuple[str, str],
) -> None:
    item = to_item(entity)
    assert (item["pk"], item["sk"]) == ({"S": key[0]}, {"S": key[1]})
    assert from_item(item) == entity
