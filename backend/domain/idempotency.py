"""Idempotency-Key on creates: a client that resends a create with the same key gets the first answer
again instead of a second record (docs/data-model.md)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from domain.errors import IdempotencyKeyReused

T = TypeVar("T")

# What a client may send as a key: a UUID, a ULID or any URL-safe token fits; anything else is refused
# before it reaches a table key.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
# How long a key answers for: far beyond any client retry, short enough that stored answers do not pile up.
KEY_RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotentCreate(Generic[T]):
    """One create made under a caller's key: what was asked (a fingerprint), what was answered (the
    result), and when the key may be forgotten. Stored with the record it created, in one write."""

    key: str
    fingerprint: str
    result: T
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at

    def answer_to(self, fingerprint: str) -> T:
        """The first answer again, for the same request; a different request under this key is refused."""
        refuse_another_request(self.fingerprint, fingerprint)
        return self.result


def refuse_another_request(recorded: str, asked: str) -> None:
    """A live key answers only the request it was first sent with (another operation included)."""
    if asked != recorded:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")


def under_key(key: str | None, fingerprint: str, result: T, now: datetime) -> "IdempotentCreate[T] | None":
    """The record of a create made with `key`, or None when the client sent no key."""
    return None if key is None else IdempotentCreate(key, fingerprint, result, now + KEY_RETENTION)


def fingerprint(operation: str, *fields: object) -> str:
    """The same request gives the same fingerprint; any other field, or another operation, another one."""
    canonical = json.dumps([operation, *fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
