"""Each entity's DynamoDB item, both ways, side by side: `<entity>_to_item` / `<entity>_from_item`.

Attributes and keys: docs/data-model.md. Items are in DynamoDB's typed format, as the client sends them.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from domain.entities import FileRecord, Note, PresignedUpload, UploadTicket, UserProfile
from domain.idempotency import IdempotentCreate, refuse_another_request
from infrastructure.dynamodb_keys import (
    PROFILE_SK,
    deleted_account_pk,
    file_sk,
    idempotency_sk,
    note_sk,
    user_pk,
)

T = TypeVar("T")
Item = dict[str, Any]
# The table's TTL attribute (template.yml TimeToLiveSpecification): epoch seconds, as DynamoDB's TTL reads.
EXPIRES_AT = "expires_at"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def serialize(values: Mapping[str, Any]) -> Item:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def deserialize(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


# Numbers come back as Decimal, hence int().


def profile_to_item(profile: UserProfile) -> Item:
    return serialize(
        {
            "pk": user_pk(profile.uid),
            "sk": PROFILE_SK,
            "uid": profile.uid,
            "email": profile.email,
            "display_name": profile.display_name,
            "created_at": profile.created_at.isoformat(),
            "updated_at": profile.updated_at.isoformat(),
        }
    )


def profile_from_item(item: Item) -> UserProfile:
    values = deserialize(item)
    return UserProfile(
        uid=values["uid"],
        email=values.get("email"),
        display_name=values.get("display_name"),
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
    )


def note_to_item(note: Note) -> Item:
    return serialize(
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


def note_from_item(item: Item) -> Note:
    values = deserialize(item)
    return Note(
        id=values["id"],
        owner_uid=values["owner_uid"],
        title=values["title"],
        body=values["body"],
        version=int(values["version"]),
        file_count=int(values["file_count"]),
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
    )


def file_to_item(record: FileRecord) -> Item:
    return serialize(
        {
            "pk": user_pk(record.owner_uid),
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
    )


def file_from_item(item: Item) -> FileRecord:
    values = deserialize(item)
    return FileRecord(
        id=values["id"],
        owner_uid=values["owner_uid"],
        note_id=values["note_id"],
        file_name=values["file_name"],
        content_type=values["content_type"],
        size=int(values["size"]),
        object_key=values["object_key"],
        created_at=datetime.fromisoformat(values["created_at"]),
    )


def ticket_to_item(ticket: UploadTicket) -> Item:
    upload = ticket.upload
    return {
        "file": {"M": file_to_item(ticket.file)},
        "upload": {
            "M": serialize({"url": upload.url, "fields": upload.fields, "expires_in": upload.expires_in})
        },
    }


def ticket_from_item(item: Item) -> UploadTicket:
    upload = deserialize(item["upload"]["M"])
    return UploadTicket(
        file=file_from_item(item["file"]["M"]),
        upload=PresignedUpload(
            url=upload["url"], fields=dict(upload["fields"]), expires_in=int(upload["expires_in"])
        ),
    )


def deleted_account_to_item(uid: str, until: datetime) -> Item:
    pk = deleted_account_pk(uid)
    return serialize({"pk": pk, "sk": pk, EXPIRES_AT: int(until.timestamp())})


def deleted_account_is_live(item: Item, now: datetime) -> bool:
    """Until its expiry: DynamoDB's TTL removes it some time later, and until then it counts no more."""
    return now.timestamp() < int(item[EXPIRES_AT]["N"])


def idempotency_to_item(
    owner_uid: str, create: IdempotentCreate[T], result_to_item: Callable[[T], Item]
) -> Item:
    return {
        **serialize(
            {
                "pk": user_pk(owner_uid),
                "sk": idempotency_sk(create.key),
                "idempotency_key": create.key,
                "fingerprint": create.fingerprint,
                EXPIRES_AT: int(create.expires_at.timestamp()),
            }
        ),
        "result": {"M": result_to_item(create.result)},
    }


def idempotency_from_item(
    item: Item, result_from_item: Callable[[Item], T], *, asked: str, now: datetime
) -> IdempotentCreate[T] | None:
    """The live create recorded in `item` for the request `asked` (its fingerprint); None once expired. A
    live key of another request is refused before its answer is read: it may be another kind of record
    (a note's, for an upload)."""
    values = deserialize({name: value for name, value in item.items() if name != "result"})
    expires_at = datetime.fromtimestamp(int(values[EXPIRES_AT]), UTC)
    if now >= expires_at:
        return None
    refuse_another_request(values["fingerprint"], asked)
    return IdempotentCreate(
        key=values["idempotency_key"],
        fingerprint=values["fingerprint"],
        result=result_from_item(item["result"]["M"]),
        expires_at=expires_at,
    )
