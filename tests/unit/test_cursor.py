import base64
import json

import pytest

from domain.errors import InvalidCursor
from infrastructure.dynamodb_keys import decode_cursor, encode_cursor


def _mine(pk: str, sk: str) -> bool:
    return pk == "USER#alice" and sk.startswith("NOTE#")


def test_cursor_round_trips_a_dynamodb_key() -> None:
    key = {"pk": {"S": "USER#alice"}, "sk": {"S": "NOTE#01J"}}
    cursor = encode_cursor(key)
    assert cursor is not None
    assert decode_cursor(cursor, _mine) == key


def test_no_last_key_means_no_cursor() -> None:
    assert encode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(json.dumps(["pk", "sk"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": "USER#alice"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": "USER#alice", "sk": 3}).encode()).decode(),
        # Someone else's partition: never a valid start key for the caller's listing.
        base64.urlsafe_b64encode(json.dumps({"pk": "USER#bob", "sk": "NOTE#01J"}).encode()).decode(),
    ],
)
def test_cursors_this_listing_did_not_issue_are_rejected(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, _mine)
