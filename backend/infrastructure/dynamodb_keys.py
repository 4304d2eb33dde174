"""The single table's key schema, and the cursors that carry a key from one page to the next.
Key design and pagination: docs/data-model.md."""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.errors import InvalidCursor

Key = dict[str, Any]

PROFILE_SK = "PROFILE"
NOTE_PREFIX = "NOTE#"
FILE_PREFIX = "FILE#"
USER_PREFIX = "USER#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
# A deleted account's mark: outside the user's partition, so the account's erase leaves it standing.
DELETED_PREFIX = "DELETED#"


def user_pk(uid: str) -> str:
    return f"{USER_PREFIX}{uid}"


def note_sk(note_id: str) -> str:
    return f"{NOTE_PREFIX}{note_id}"


def files_of_note_prefix(note_id: str) -> str:
    return f"{FILE_PREFIX}{note_id}#"


def file_sk(note_id: str, file_id: str) -> str:
    return f"{files_of_note_prefix(note_id)}{file_id}"


def idempotency_sk(key: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key}"


def deleted_account_pk(uid: str) -> str:
    """Its sk too: each mark a partition of its own, in GSI1 as well."""
    return f"{DELETED_PREFIX}{uid}"


def table_key(pk: str, sk: str) -> Key:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    plain = {name: value["S"] for name, value in last_evaluated_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, is_valid_key: Callable[[str, str], bool]) -> Key:
    """Accepts only a {pk, sk} pair that this listing could have produced."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidCursor("cursor is not valid for this listing") from error
    if (
        not isinstance(plain, dict)
        or set(plain) != {"pk", "sk"}
        or not all(isinstance(value, str) for value in plain.values())
        or not is_valid_key(plain["pk"], plain["sk"])
    ):
        raise InvalidCursor("cursor is not valid for this listing")
    return table_key(plain["pk"], plain["sk"])
