"""How DynamoRepository reads a refused write, on errors shaped as DynamoDB sends them (botocore's Stubber
makes the ClientError; tests/integration/test_repository_contract.py sees MiniStack's real ones).

A transaction is refused as a whole with one CancellationReason per item, in request order: a failed
condition is the caller's answer (404, 409, 412), anything that may pass is retried, then 503."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from domain.entities import MAX_FILES_PER_NOTE, FileRecord, Note, object_key
from domain.errors import LimitExceeded, NotFound, ServiceUnavailable, VersionConflict
from infrastructure.dynamodb import DynamoRepository
from infrastructure.dynamodb_items import note_to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
NOTE = Note("01JGQ3Z5K2M4N6P8R0S2T4V6W8", "alice", "title", "body", 1, 0, CREATED, CREATED)
FILE = FileRecord(
    "01JGQ3Z9A1B3C5D7E9F1G3H5J7",
    "alice",
    NOTE.id,
    "a.txt",
    "text/plain",
    3,
    object_key("alice", NOTE.id, "01JGQ3Z9A1B3C5D7E9F1G3H5J7"),
    CREATED,
)
# More refusals than any bounded retry makes: what is left over shows the retry stopped by itself.
PLENTY = 10
NO_REASON: dict[str, Any] = {"Code": "None"}
_ANY_QUERY = dict.fromkeys(
    ["TableName", "KeyConditionExpression", "ExpressionAttributeValues", "ProjectionExpression"], ANY
)


def _failed_condition(item: Note | None = None) -> dict[str, Any]:
    reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    if item is not None:  # ReturnValuesOnConditionCheckFailure=ALL_OLD and the item exists
        reason["Item"] = note_to_item(item)
    return reason


def _passing(code: str) -> dict[str, Any]:
    return {"Code": code, "Message": f"{code} on this item"}


@pytest.fixture
def client() -> "DynamoDBClient":
    return boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="unit", aws_secret_access_key="unit"
    )


@pytest.fixture
def stubber(client: "DynamoDBClient") -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub


@pytest.fixture
def repository(client: "DynamoDBClient") -> DynamoRepository:
    return DynamoRepository(client, "unit-table")


def _cancel(stubber: Stubber, *reasons: dict[str, Any], times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(
            "transact_write_items",
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons",
            modeled_fields={"CancellationReasons": list(reasons)},
        )


def _update_refused(stubber: Stubber, code: str, item: Note | None = None, times: int = 1) -> None:
    fields = {} if item is None else {"Item": note_to_item(item)}
    for _ in range(times):
        stubber.add_client_error("update_item", code, "refused", modeled_fields=fields)


# --- a failed condition answers the caller, decided by which item failed and what it held -------------


def test_adding_a_file_to_a_missing_note_is_not_found(stubber: Stubber, repository: DynamoRepository) -> None:
    _cancel(stubber, NO_REASON, _failed_condition())
    with pytest.raises(NotFound):
        repository.add_file(FILE, MAX_FILES_PER_NOTE)
    stubber.assert_no_pending_responses()


def test_adding_a_file_to_a_full_note_is_limit_exceeded(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    _cancel(stubber, NO_REASON, _failed_condition(replace(NOTE, file_count=MAX_FILES_PER_NOTE)))
    with pytest.raises(LimitExceeded):
        repository.add_file(FILE, MAX_FILES_PER_NOTE)


def test_deleting_a_missing_file_is_not_found(stubber: Stubber, repository: DynamoRepository) -> None:
    _cancel(stubber, _failed_condition(), _failed_condition())
    with pytest.raises(NotFound):
        repository.delete_file(FILE)


@pytest.mark.parametrize(
    ("stored", "expected"), [(None, NotFound), (replace(NOTE, version=2), VersionConflict)]
)
def test_a_refused_note_update_is_not_found_or_a_version_conflict_by_the_item_returned(
    stubber: Stubber, repository: DynamoRepository, stored: Note | None, expected: type[Exception]
) -> None:
    _update_refused(stubber, "ConditionalCheckFailedException", stored)
    with pytest.raises(expected):
        repository.update_note(replace(NOTE, version=2), expected_version=1)
    stubber.assert_no_pending_responses()


def test_a_refusal_that_is_no_failed_condition_is_not_read_as_one(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    _cancel(stubber, NO_REASON, _passing("ValidationError"))
    with pytest.raises(ClientError):
        repository.add_file(FILE, MAX_FILES_PER_NOTE)


# --- refusals that may pass are retried, a bounded number of times, then 503 ---------------------------


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_transaction_refused_for_a_passing_reason_is_retried(
    stubber: Stubber, repository: DynamoRepository, code: str
) -> None:
    _cancel(stubber, NO_REASON, _passing(code))
    stubber.add_response("transact_write_items", {})
    repository.add_file(FILE, MAX_FILES_PER_NOTE)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_transaction_refused_until_the_retries_run_out_is_unavailable(
    stubber: Stubber, repository: DynamoRepository, code: str
) -> None:
    _cancel(stubber, _passing(code), NO_REASON, times=PLENTY)
    with pytest.raises(ServiceUnavailable):
        repository.delete_file(FILE)


def test_a_conflict_anywhere_outweighs_a_failed_condition(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    """The condition was read in a state another transaction was changing: it may hold on a retry."""
    _cancel(stubber, _passing("TransactionConflict"), _failed_condition())
    stubber.add_response("transact_write_items", {})
    repository.add_file(FILE, MAX_FILES_PER_NOTE)
    stubber.assert_no_pending_responses()


def test_an_update_on_a_note_inside_a_transaction_is_retried(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    _update_refused(stubber, "TransactionConflictException")
    stubber.add_response("update_item", {"Attributes": note_to_item(replace(NOTE, version=2))})
    assert repository.update_note(replace(NOTE, version=2), expected_version=1).version == 2


def test_an_update_that_keeps_conflicting_is_unavailable(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    _update_refused(stubber, "TransactionConflictException", times=PLENTY)
    with pytest.raises(ServiceUnavailable):
        repository.update_note(replace(NOTE, version=2), expected_version=1)


def test_unprocessed_items_of_a_batch_are_retried_a_bounded_number_of_times(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    key = {"pk": {"S": "USER#alice"}, "sk": {"S": "PROFILE"}}
    stubber.add_response("query", {"Items": [key]})
    for _ in range(PLENTY):
        stubber.add_response(
            "batch_write_item", {"UnprocessedItems": {"unit-table": [{"DeleteRequest": {"Key": key}}]}}
        )
    with pytest.raises(ServiceUnavailable):
        repository.delete_all_user_items("alice")
    with pytest.raises(AssertionError):  # it stopped by itself, before the answers ran out
        stubber.assert_no_pending_responses()


def test_the_account_deletion_lists_what_to_remove_consistently(
    stubber: Stubber, repository: DynamoRepository
) -> None:
    """An eventually consistent query can miss an item written a moment ago, which would then outlive
    the account. MiniStack reads consistently either way, so only the request can show it."""
    stubber.add_response("query", {"Items": []}, expected_params={**_ANY_QUERY, "ConsistentRead": True})
    repository.delete_all_user_items("alice")
    stubber.assert_no_pending_responses()
