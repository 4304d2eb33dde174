"""Each entity's DynamoDB item, both ways, side by side: `<entity>_to_item` / `<entity>_from_item`.

Attributes and keys: docs/data-model.md. Items are in DynamoDB's typed format, as the client sends them.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from domain.entities import FileRecord, Note, UserProfile
from infrastructure.dynamodb_keys import PROFILE_SK, file_sk, note_sk, user_pk

Item = dict[str, Any]

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
