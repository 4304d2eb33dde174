"""Why DynamoDB refused a write, read from the error itself, and the bounded retry for refusals that may
pass. A failed condition is the caller's answer (the repository maps it by item); a conflict or throttle
is retried with jittered backoff, then ServiceUnavailable (503 with Retry-After)."""

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from domain.errors import ServiceUnavailable
from infrastructure.aws import error_code
from infrastructure.dynamodb_items import Item

T = TypeVar("T")

# CancellationReasons codes that say nothing about the request itself: it may succeed if sent again.
_PASSING_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
# A single-item write on an item an ongoing transaction holds. botocore does not retry it; the throttling
# codes it does retry, and once its retries are spent aws.py answers them with ServiceUnavailable.
_PASSING_CODES = frozenset({"TransactionConflictException"})
_FAILED_CONDITION = "ConditionalCheckFailed"


class TryAgain(Exception):
    """The write did not happen, for a reason that may pass: another transaction, throttling, a stale read."""


def failed_conditions(error: ClientError) -> dict[int, Item | None]:
    """The items of a refused write whose condition failed, by position in the request, each with the item
    as it was stored (when the request asked for ALL_OLD and the item exists), else None.

    Raises TryAgain when any item was refused for a passing reason: a condition evaluated while another
    transaction changed things may hold on the next try. Re-raises `error` when no condition failed (a
    validation error is our bug: it must not look like the caller's)."""
    code = error_code(error)
    # Read untyped: botocore-stubs declare the returned Item as {key, value}, not as an attribute map.
    response: Mapping[str, Any] = error.response
    if code in _PASSING_CODES:
        raise TryAgain(code) from error
    if code == f"{_FAILED_CONDITION}Exception":
        return {0: response.get("Item")}
    if code == "TransactionCanceledException":
        reasons: list[Mapping[str, Any]] = response.get("CancellationReasons", [])
        codes = {str(reason.get("Code")) for reason in reasons}
        if codes & _PASSING_REASONS:
            raise TryAgain(", ".join(sorted(codes & _PASSING_REASONS))) from error
        if codes <= {"None", _FAILED_CONDITION} and _FAILED_CONDITION in codes:
            return {
                position: reason.get("Item")
                for position, reason in enumerate(reasons)
                if reason.get("Code") == _FAILED_CONDITION
            }
    raise error


@dataclass(frozen=True)
class Backoff:
    """Up to `attempts` tries; before each retry a random pause of up to base_delay_s, doubled each time
    (full jitter, so writers that collided once do not collide again in step)."""

    attempts: int = 4
    base_delay_s: float = 0.025

    def run(self, attempt: Callable[[], T]) -> T:
        refusal: TryAgain | None = None
        for tries in range(self.attempts):
            if refusal is not None:
                time.sleep(random.uniform(0, self.base_delay_s * 2 ** (tries - 1)))  # noqa: S311 (not a secret)
            try:
                return attempt()
            except TryAgain as error:
                refusal = error
        raise ServiceUnavailable("DynamoDB is busy: try again shortly") from refusal
