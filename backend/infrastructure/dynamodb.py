"""Single-table DynamoDB repository. Key design and access patterns: docs/data-model.md."""

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from domain.entities import FileRecord, Note, Page, UserProfile
from domain.errors import InvalidCursor, LimitExceeded, NotFound, VersionConflict
from domain.ports import NoteRepository, UserRepository
from infrastructure.aws import error_code, unavailable_on_transport_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
Item = dict[str, Any]

PROFILE_SK = "PROFILE"
NOTE_PREFIX = "NOTE#"
FILE_PREFIX = "FILE#"
USER_PREFIX = "USER#"
DIRECTORY_INDEX = "GSI1"
_BATCH_WRITE_LIMIT = 25

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_dynamodb_call = unavailable_on_transport_errors("DynamoDB")


def user_pk(uid: str) -> str:
    return f"{USER_PREFIX}{uid}"


def note_sk(note_id: str) -> str:
    return f"{NOTE_PREFIX}{note_id}"


def files_of_note_prefix(note_id: str) -> str:
    return f"{FILE_PREFIX}{note_id}#"


def file_sk(note_id: str, file_id: str) -> str:
    return f"{files_of_note_prefix(note_id)}{file_id}"


def _serialize(values: Mapping[str, Any]) -> Item:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _deserialize(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    plain = {name: value["S"] for name, value in last_evaluated_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, is_valid_key: Callable[[str, str], bool]) -> Item:
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
    return _key(plain["pk"], plain["sk"])


def _profile_from_item(item: Item) -> UserProfile:
    return UserProfile(
        uid=item["uid"],
        email=item.get("email"),
        display_name=item.get("display_name"),
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _note_from_item(item: Item) -> Note:
    return Note(
        id=item["id"],
        owner_uid=item["owner_uid"],
        title=item["title"],
        body=item["body"],
        version=int(item["version"]),
        file_count=int(item["file_count"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _file_from_item(item: Item) -> FileRecord:
    return FileRecord(
        id=item["id"],
        owner_uid=item["owner_uid"],
        note_id=item["note_id"],
        file_name=item["file_name"],
        content_type=item["content_type"],
        size=int(item["size"]),
        object_key=item["object_key"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )


def _is_condition_failure(error: ClientError) -> bool:
    return error_code(error) in {"ConditionalCheckFailedException", "TransactionCanceledException"}


class DynamoRepository(UserRepository, NoteRepository):
    """Both repositories on one table (pk, sk; GSI1 = sk, pk)."""

    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- users -------------------------------------------------------------------------------------

    @_dynamodb_call
    def create_profile_if_absent(self, profile: UserProfile) -> UserProfile:
        item = {
            "pk": user_pk(profile.uid),
            "sk": PROFILE_SK,
            "uid": profile.uid,
            "email": profile.email,
            "display_name": profile.display_name,
            "created_at": profile.created_at.isoformat(),
            "updated_at": profile.updated_at.isoformat(),
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=_serialize(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            # A concurrent first request created it: the stored one wins.
            stored = self.get_profile(profile.uid)
            if stored is not None:
                return stored
            raise
        return profile

    @_dynamodb_call
    def get_profile(self, uid: str) -> UserProfile | None:
        item = self._get_item(user_pk(uid), PROFILE_SK)
        return None if item is None else _profile_from_item(item)

    @_dynamodb_call
    def save_profile(self, profile: UserProfile) -> UserProfile:
        response = self._client.update_item(
            TableName=self._table,
            Key=_key(user_pk(profile.uid), PROFILE_SK),
            UpdateExpression=(
                "SET uid = :uid, email = :email, display_name = :display_name, updated_at = :updated_at, "
                "created_at = if_not_exists(created_at, :created_at)"
            ),
            ExpressionAttributeValues=_serialize(
                {
                    ":uid": profile.uid,
                    ":email": profile.email,
                    ":display_name": profile.display_name,
                    ":updated_at": profile.updated_at.isoformat(),
                    ":created_at": profile.created_at.isoformat(),
                }
            ),
            ReturnValues="ALL_NEW",
        )
        return _profile_from_item(_deserialize(response["Attributes"]))

    @_dynamodb_call
    def list_profiles(self, limit: int, cursor: str | None) -> Page[UserProfile]:
        # Every profile has sk=PROFILE, so the inverted index partition "PROFILE" is the user directory.
        return self._query_page(
            _profile_from_item,
            limit,
            cursor,
            is_valid_key=lambda pk, sk: sk == PROFILE_SK and pk.startswith(USER_PREFIX),
            IndexName=DIRECTORY_INDEX,
            KeyConditionExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": PROFILE_SK}},
        )

    @_dynamodb_call
    def delete_all_user_items(self, uid: str) -> None:
        keys = [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self._query_all(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": user_pk(uid)}},
                ProjectionExpression="pk, sk",
            )
        ]
        for start in range(0, len(keys), _BATCH_WRITE_LIMIT):
            requests: Any = {
                self._table: [
                    {"DeleteRequest": {"Key": key}} for key in keys[start : start + _BATCH_WRITE_LIMIT]
                ]
            }
            while requests:
                requests = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems")

    # --- notes -------------------------------------------------------------------------------------

    @_dynamodb_call
    def add_note(self, note: Note) -> None:
        self._client.put_item(
            TableName=self._table, Item=self._note_item(note), ConditionExpression="attribute_not_exists(pk)"
        )

    @_dynamodb_call
    def get_note(self, owner_uid: str, note_id: str) -> Note | None:
        item = self._get_item(user_pk(owner_uid), note_sk(note_id))
        return None if item is None else _note_from_item(item)

    @_dynamodb_call
    def list_notes(self, owner_uid: str, limit: int, cursor: str | None) -> Page[Note]:
        pk = user_pk(owner_uid)
        return self._query_page(
            _note_from_item,
            limit,
            cursor,
            is_valid_key=lambda key_pk, key_sk: key_pk == pk and key_sk.startswith(NOTE_PREFIX),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": NOTE_PREFIX}},
        )

    @_dynamodb_call
    def update_note(self, note: Note, expected_version: int) -> Note:
        # An update, not a put: file_count is maintained by the file transactions and must not be overwritten.
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(user_pk(note.owner_uid), note_sk(note.id)),
                UpdateExpression=(
                    "SET title = :title, body = :body, version = :version, updated_at = :updated_at"
                ),
                ConditionExpression="attribute_exists(pk) AND version = :expected",
                ExpressionAttributeValues=_serialize(
                    {
                        ":title": note.title,
                        ":body": note.body,
                        ":version": note.version,
                        ":updated_at": note.updated_at.isoformat(),
                        ":expected": expected_version,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            if self.get_note(note.owner_uid, note.id) is None:
                raise NotFound("note not found") from error
            raise VersionConflict("note was changed by another request") from error
        return _note_from_item(_deserialize(response["Attributes"]))

    @_dynamodb_call
    def delete_note(self, owner_uid: str, note_id: str, files: list[FileRecord]) -> None:
        pk = user_pk(owner_uid)
        note_delete: Any = {
            "Delete": {
                "TableName": self._table,
                "Key": _key(pk, note_sk(note_id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        file_deletes: list[Any] = [
            {"Delete": {"TableName": self._table, "Key": _key(pk, file_sk(note_id, record.id))}}
            for record in files
        ]
        try:
            self._client.transact_write_items(TransactItems=[note_delete, *file_deletes])
        except ClientError as error:
            if _is_condition_failure(error):
                raise NotFound("note not found") from error
            raise

    @_dynamodb_call
    def add_file(self, record: FileRecord, max_files_per_note: int) -> None:
        pk = user_pk(record.owner_uid)
        file_item = {
            "pk": pk,
            "sk": file_sk(record.note_id, record.id),
            "id": record.id,
            "owner_uid": record.owner_uid,
            "note_id": record.note_id,
            "file_name": record.file_name,
            "content_type": record.content_type,
            "size": record.size,
            "object_key": record.object_key,
            "created_at": record.created_at.isoformat(),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _serialize(file_item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _key(pk, note_sk(record.note_id)),
                            "UpdateExpression": "SET file_count = file_count + :one",
                            "ConditionExpression": "attribute_exists(pk) AND file_count < :max",
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":max": {"N": str(max_files_per_note)},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            if self.get_note(record.owner_uid, record.note_id) is None:
                raise NotFound("note not found") from error
            raise LimitExceeded(f"a note can hold at most {max_files_per_note} files") from error

    @_dynamodb_call
    def get_file(self, owner_uid: str, note_id: str, file_id: str) -> FileRecord | None:
        item = self._get_item(user_pk(owner_uid), file_sk(note_id, file_id))
        return None if item is None else _file_from_item(item)

    @_dynamodb_call
    def list_files(self, owner_uid: str, note_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
        pk = user_pk(owner_uid)
        prefix = files_of_note_prefix(note_id)
        return self._query_page(
            _file_from_item,
            limit,
            cursor,
            is_valid_key=lambda key_pk, key_sk: key_pk == pk and key_sk.startswith(prefix),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": prefix}},
        )

    @_dynamodb_call
    def delete_file(self, record: FileRecord) -> None:
        pk = user_pk(record.owner_uid)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(pk, file_sk(record.note_id, record.id)),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _key(pk, note_sk(record.note_id)),
                            "UpdateExpression": "SET file_count = file_count - :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise NotFound("file not found") from error
            raise

    # --- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _note_item(note: Note) -> Item:
        return _serialize(
            {
                "pk": user_pk(note.owner_uid),
                "sk": note_sk(note.id),
                "id": note.id,
                "owner_uid": note.owner_uid,
                "title": note.title,
                "body": note.body,
                "version": note.version,
                "file_count": note.file_count,
                "created_at": note.created_at.isoformat(),
                "updated_at": note.updated_at.isoformat(),
            }
        )

    def _get_item(self, pk: str, sk: str) -> Item | None:
        response = self._client.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else _deserialize(item)

    def _query_page(
        self,
        to_entity: Callable[[Item], T],
        limit: int,
        cursor: str | None,
        is_valid_key: Callable[[str, str], bool],
        **query: Any,
    ) -> Page[T]:
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(cursor, is_valid_key)
        response = self._client.query(TableName=self._table, Limit=limit, **query)
        return Page(
            items=[to_entity(_deserialize(item)) for item in response.get("Items", [])],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def _query_all(self, **query: Any) -> Iterator[Item]:
        while True:
            response = self._client.query(TableName=self._table, **query)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
