"""Single-table DynamoDB repository: the access patterns (docs/data-model.md); items in dynamodb_items."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from botocore.exceptions import ClientError

from domain.entities import FileRecord, Note, Page, UploadTicket, UserProfile
from domain.errors import AccountDeleted, LimitExceeded, NotFound, VersionConflict
from domain.idempotency import IdempotentCreate
from domain.ports import DeletedAccounts, NoteRepository, UserRepository
from infrastructure.aws import unavailable_on_transport_errors
from infrastructure.dynamodb_items import (
    EXPIRES_AT,
    Item,
    deleted_account_is_live,
    deleted_account_to_item,
    file_from_item,
    file_to_item,
    idempotency_from_item,
    idempotency_to_item,
    note_from_item,
    note_to_item,
    profile_from_item,
    profile_to_item,
    ticket_from_item,
    ticket_to_item,
)
from infrastructure.dynamodb_keys import (
    NOTE_PREFIX,
    PROFILE_SK,
    USER_PREFIX,
    decode_cursor,
    deleted_account_pk,
    encode_cursor,
    file_sk,
    files_of_note_prefix,
    idempotency_sk,
    note_sk,
    table_key,
    user_pk,
)
from infrastructure.dynamodb_refusals import Backoff, TryAgain, failed_conditions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
# Why a transaction was refused, by item position, for the items the caller put in it; raises the error
# the caller should see.
RefusalReader = Callable[[ClientError, dict[int, Item | None]], NoReturn]

DIRECTORY_INDEX = "GSI1"
_BATCH_WRITE_LIMIT = 25

_dynamodb_call = unavailable_on_transport_errors("DynamoDB")
# Writes refused by a conflict or throttle: 4 tries within ~0.2 s, then 503.
_BACKOFF = Backoff()


def _key_of(item: Item) -> Item:
    return {"pk": item["pk"], "sk": item["sk"]}


def _placeholders(item: Item, *names: str) -> Item:
    """ExpressionAttributeValues that set the named attributes to their values in `item`."""
    return {f":{name}": item[name] for name in names}


class DynamoRepository(UserRepository, NoteRepository, DeletedAccounts):
    """The three ports on one table (pk, sk; GSI1 = sk, pk). Every write that creates an item of a user
    goes through _write_for, so the user's deletion mark refuses it."""

    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- deleted accounts --------------------------------------------------------------------------

    @_dynamodb_call
    def mark_deleted(self, uid: str, until: datetime) -> None:
        self._client.put_item(TableName=self._table, Item=deleted_account_to_item(uid, until))

    @_dynamodb_call
    def is_deleted(self, uid: str) -> bool:
        pk, now = deleted_account_pk(uid), datetime.now(UTC)
        return bool(self._get(lambda item: deleted_account_is_live(item, now), pk, pk))

    # --- users -------------------------------------------------------------------------------------

    @_dynamodb_call
    def create_profile_if_absent(self, profile: UserProfile) -> UserProfile:
        profile_put: Any = {
            "Put": {
                "TableName": self._table,
                "Item": profile_to_item(profile),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

        def attempt() -> UserProfile:
            try:
                self._write_for(profile.uid, [profile_put])
            except ClientError as error:
                # A concurrent first request created it: the stored one wins.
                stored = failed_conditions(error).get(0)
                if stored is None:
                    raise
                return profile_from_item(stored)
            return profile

        return _BACKOFF.run(attempt)

    @_dynamodb_call
    def get_profile(self, uid: str) -> UserProfile | None:
        return self._get(profile_from_item, user_pk(uid), PROFILE_SK)

    @_dynamodb_call
    def save_profile(self, profile: UserProfile) -> UserProfile:
        item = profile_to_item(profile)
        profile_upsert: Any = {
            "Update": {
                "TableName": self._table,
                "Key": _key_of(item),
                "UpdateExpression": (
                    "SET uid = :uid, email = :email, display_name = :display_name, "
                    "updated_at = :updated_at, created_at = if_not_exists(created_at, :created_at)"
                ),
                "ExpressionAttributeValues": _placeholders(
                    item, "uid", "email", "display_name", "updated_at", "created_at"
                ),
            }
        }
        _BACKOFF.run(lambda: self._write_for(profile.uid, [profile_upsert]))
        # A transaction returns no item: read it back for the stored created_at.
        stored = self._get(profile_from_item, user_pk(profile.uid), PROFILE_SK)
        if stored is None:  # the account's deletion erased it in between
            raise AccountDeleted
        return stored

    @_dynamodb_call
    def list_profiles(self, limit: int, cursor: str | None) -> Page[UserProfile]:
        # Every profile has sk=PROFILE, so the inverted index partition "PROFILE" is the user directory.
        return self._query_page(
            profile_from_item,
            limit,
            cursor,
            is_valid_key=lambda pk, sk: sk == PROFILE_SK and pk.startswith(USER_PREFIX),
            IndexName=DIRECTORY_INDEX,
            KeyConditionExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": PROFILE_SK}},
        )

    @_dynamodb_call
    def delete_all_user_items(self, uid: str) -> None:
        keys = list(  # projected to pk and sk: each item is its own key
            self._query_all(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": user_pk(uid)}},
                ProjectionExpression="pk, sk",
                ConsistentRead=True,  # or an item written a moment ago could outlive the account
            )
        )
        for start in range(0, len(keys), _BATCH_WRITE_LIMIT):
            batch = keys[start : start + _BATCH_WRITE_LIMIT]
            self._write_batch({self._table: [{"DeleteRequest": {"Key": key}} for key in batch]})

    # --- notes -------------------------------------------------------------------------------------

    @_dynamodb_call
    def add_note(
        self, note: Note, idempotency: IdempotentCreate[Note] | None = None
    ) -> IdempotentCreate[Note] | None:
        note_put: Any = {
            "TableName": self._table,
            "Item": note_to_item(note),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

        def refused(error: ClientError, _failed: dict[int, Item | None]) -> NoReturn:
            raise error  # only the new note's id can have clashed: not the caller's doing

        return self._write_under_key(
            note.owner_uid, [{"Put": note_put}], idempotency, note_to_item, note_from_item, refused
        )

    @_dynamodb_call
    def get_note(self, owner_uid: str, note_id: str) -> Note | None:
        return self._get(note_from_item, user_pk(owner_uid), note_sk(note_id))

    @_dynamodb_call
    def list_notes(self, owner_uid: str, limit: int, cursor: str | None) -> Page[Note]:
        pk = user_pk(owner_uid)
        return self._query_page(
            note_from_item,
            limit,
            cursor,
            is_valid_key=lambda key_pk, key_sk: key_pk == pk and key_sk.startswith(NOTE_PREFIX),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": NOTE_PREFIX}},
        )

    @_dynamodb_call
    def update_note(self, note: Note, expected_version: int) -> Note:
        # An update, not a put: file_count is maintained by the file transactions and must not be overwritten.
        item = note_to_item(note)

        def attempt() -> Note:
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=_key_of(item),
                    UpdateExpression=(
                        "SET title = :title, body = :body, version = :version, updated_at = :updated_at"
                    ),
                    ConditionExpression="attribute_exists(pk) AND version = :expected",
                    ExpressionAttributeValues={
                        **_placeholders(item, "title", "body", "version", "updated_at"),
                        ":expected": {"N": str(expected_version)},
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as error:
                if failed_conditions(error)[0] is None:
                    raise NotFound("note not found") from error
                raise VersionConflict("note was changed by another request") from error
            return note_from_item(response["Attributes"])

        return _BACKOFF.run(attempt)

    @_dynamodb_call
    def delete_note(self, owner_uid: str, note_id: str) -> None:
        pk = user_pk(owner_uid)

        def attempt() -> None:
            # Read consistently: a file added just before must be listed, or the count below cannot match.
            file_keys = list(
                self._query_all(
                    KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                    ExpressionAttributeValues={
                        ":pk": {"S": pk},
                        ":prefix": {"S": files_of_note_prefix(note_id)},
                    },
                    ProjectionExpression="pk, sk",
                    ConsistentRead=True,
                )
            )
            # file_count moves with every file record (add_file, delete_file): if it still equals the
            # number listed, and each listed record still exists, the list is all of them.
            note_delete: Any = {
                "Delete": {
                    "TableName": self._table,
                    "Key": table_key(pk, note_sk(note_id)),
                    "ConditionExpression": "attribute_exists(pk) AND file_count = :listed",
                    "ExpressionAttributeValues": {":listed": {"N": str(len(file_keys))}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            file_deletes: list[Any] = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key,
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
                for key in file_keys
            ]
            try:
                self._client.transact_write_items(TransactItems=[note_delete, *file_deletes])
            except ClientError as error:
                failed = failed_conditions(error)
                if 0 in failed and failed[0] is None:
                    raise NotFound("note not found") from error
                raise TryAgain("the note's files changed while it was being deleted") from error

        _BACKOFF.run(attempt)

    @_dynamodb_call
    def add_file(
        self,
        record: FileRecord,
        max_files_per_note: int,
        idempotency: IdempotentCreate[UploadTicket] | None = None,
    ) -> IdempotentCreate[UploadTicket] | None:
        file_put: Any = {
            "Put": {
                "TableName": self._table,
                "Item": file_to_item(record),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        note_count: Any = {
            "Update": {
                "TableName": self._table,
                "Key": table_key(user_pk(record.owner_uid), note_sk(record.note_id)),
                "UpdateExpression": "SET file_count = file_count + :one",
                "ConditionExpression": "attribute_exists(pk) AND file_count < :max",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(max_files_per_note)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

        def refused(error: ClientError, failed: dict[int, Item | None]) -> NoReturn:
            if 1 not in failed:  # only the new file's id can have clashed: not the caller's doing
                raise error
            if failed[1] is None:
                raise NotFound("note not found") from error
            raise LimitExceeded(f"a note can hold at most {max_files_per_note} files") from error

        return self._write_under_key(
            record.owner_uid, [file_put, note_count], idempotency, ticket_to_item, ticket_from_item, refused
        )

    @_dynamodb_call
    def get_file(self, owner_uid: str, note_id: str, file_id: str) -> FileRecord | None:
        return self._get(file_from_item, user_pk(owner_uid), file_sk(note_id, file_id))

    @_dynamodb_call
    def list_files(self, owner_uid: str, note_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
        pk = user_pk(owner_uid)
        prefix = files_of_note_prefix(note_id)
        return self._query_page(
            file_from_item,
            limit,
            cursor,
            is_valid_key=lambda key_pk, key_sk: key_pk == pk and key_sk.startswith(prefix),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": prefix}},
        )

    @_dynamodb_call
    def delete_file(self, record: FileRecord) -> None:
        pk = user_pk(record.owner_uid)
        file_delete: Any = {
            "Delete": {
                "TableName": self._table,
                "Key": table_key(pk, file_sk(record.note_id, record.id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        note_uncount: Any = {
            "Update": {
                "TableName": self._table,
                "Key": table_key(pk, note_sk(record.note_id)),
                "UpdateExpression": "SET file_count = file_count - :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

        def attempt() -> None:
            try:
                self._client.transact_write_items(TransactItems=[file_delete, note_uncount])
            except ClientError as error:
                failed_conditions(error)  # the file, or its note, is gone: both mean the file is
                raise NotFound("file not found") from error

        _BACKOFF.run(attempt)

    # --- helpers -----------------------------------------------------------------------------------

    def _write_under_key(
        self,
        owner_uid: str,
        writes: list[Any],
        idempotency: IdempotentCreate[T] | None,
        result_to_item: Callable[[T], Item],
        result_from_item: Callable[[Item], T],
        refused: RefusalReader,
    ) -> IdempotentCreate[T] | None:
        """`writes` in one transaction, with the key's record when there is a key: the record and what it
        answers exist together or not at all. A live record of the key already there refuses the whole
        transaction and is returned; any other refusal goes to `refused`."""

        def attempt() -> IdempotentCreate[T] | None:
            now = datetime.now(UTC)
            key_put: list[Any] = []
            if idempotency is not None:
                key_put.append(
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": idempotency_to_item(owner_uid, idempotency, result_to_item),
                            # An expired record lingers until DynamoDB's TTL removes it: it counts no more.
                            "ConditionExpression": f"attribute_not_exists(pk) OR {EXPIRES_AT} <= :now",
                            "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    }
                )
            try:
                self._write_for(owner_uid, [*writes, *key_put])
            except ClientError as error:
                failed = failed_conditions(error)
                if idempotency is not None:
                    earlier = self._live_create(
                        owner_uid, idempotency, failed.get(len(writes)), now, result_from_item
                    )
                    if earlier is not None:
                        return earlier
                refused(error, failed)
            return None

        return _BACKOFF.run(attempt)

    def _live_create(
        self,
        owner_uid: str,
        asked: IdempotentCreate[T],
        reported: Item | None,
        now: datetime,
        result_from_item: Callable[[Item], T],
    ) -> IdempotentCreate[T] | None:
        """The create recorded under the key, if live: as the refusal reported it, else read. The read
        covers a refusal that named only another item (a full note on a replayed upload), whether or not
        DynamoDB also evaluated the key's condition."""

        def from_item(item: Item) -> IdempotentCreate[T] | None:
            return idempotency_from_item(item, result_from_item, asked=asked.fingerprint, now=now)

        if reported is not None:
            return from_item(reported)
        return self._get(from_item, user_pk(owner_uid), idempotency_sk(asked.key))

    def _write_for(self, uid: str, items: list[Any]) -> None:
        """`items` in one transaction with a check that `uid`'s account has no live deletion mark: once
        mark_deleted returned, none of them is stored (AccountDeleted). Any other refusal is raised as is,
        its positions those of `items` (the check comes last)."""
        not_deleted: Any = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": table_key(deleted_account_pk(uid), deleted_account_pk(uid)),
                "ConditionExpression": f"attribute_not_exists(pk) OR {EXPIRES_AT} <= :now",
                "ExpressionAttributeValues": {":now": {"N": str(int(datetime.now(UTC).timestamp()))}},
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[*items, not_deleted])
        except ClientError as error:
            if len(items) in failed_conditions(error):
                raise AccountDeleted from error
            raise

    def _write_batch(self, requests: Any) -> None:
        """BatchWriteItem answers what it could not do (throttled) as UnprocessedItems, with a 200: those
        are sent again, with backoff, a bounded number of times."""

        def attempt() -> None:
            nonlocal requests
            requests = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems")
            if requests:
                raise TryAgain("unprocessed items")

        _BACKOFF.run(attempt)

    def _get(self, from_item: Callable[[Item], T], pk: str, sk: str) -> T | None:
        response = self._client.get_item(TableName=self._table, Key=table_key(pk, sk), ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else from_item(item)

    def _query_page(
        self,
        from_item: Callable[[Item], T],
        limit: int,
        cursor: str | None,
        is_valid_key: Callable[[str, str], bool],
        **query: Any,
    ) -> Page[T]:
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(cursor, is_valid_key)
        response = self._client.query(TableName=self._table, Limit=limit, **query)
        return Page(
            items=[from_item(item) for item in response.get("Items", [])],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def _query_all(self, **query: Any) -> Iterator[Item]:
        while True:
            response = self._client.query(TableName=self._table, **query)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
