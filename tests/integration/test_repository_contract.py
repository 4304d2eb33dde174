"""One contract, two repositories: every case runs on the in-memory fake the unit tests rely on and on
DynamoRepository against MiniStack, so the fake cannot drift from what production does."""

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

import pytest
from botocore.exceptions import ClientError

from domain.entities import (
    MAX_FILES_PER_NOTE,
    FileRecord,
    Note,
    Page,
    PresignedUpload,
    UploadTicket,
    UserProfile,
    object_key,
)
from domain.errors import (
    AccountDeleted,
    IdempotencyKeyReused,
    InvalidCursor,
    LimitExceeded,
    NotFound,
    VersionConflict,
)
from domain.idempotency import KEY_RETENTION, IdempotentCreate
from domain.ids import new_id
from domain.ports import DeletedAccounts, NoteRepository, UserRepository
from infrastructure.aws import dynamodb_client
from infrastructure.dynamodb import DynamoRepository
from infrastructure.dynamodb_items import note_to_item
from infrastructure.dynamodb_refusals import failed_conditions
from shared.settings import Settings
from tests.support.fakes import InMemoryRepository

pytestmark = pytest.mark.integration

T = TypeVar("T")
CREATED = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
EXPIRED = datetime(2025, 1, 3, 3, 4, 5, tzinfo=UTC)  # whole seconds: the table keeps epoch seconds
LATER = datetime(2025, 6, 7, 8, 9, 10, 111213, tzinfo=UTC)


class Repository(UserRepository, NoteRepository, DeletedAccounts, Protocol):
    """The three ports on one store, as each implementation provides them."""


@pytest.fixture(params=["memory", "dynamodb"])
def repository(request: pytest.FixtureRequest) -> Repository:
    if request.param == "memory":
        return InMemoryRepository()
    # A fresh table per test, so every listing (the user directory too) holds only this test's items.
    new_table: Callable[[], str] = request.getfixturevalue("new_table")
    settings: Settings = request.getfixturevalue("settings")
    return DynamoRepository(dynamodb_client(settings.aws_region, settings.aws_endpoint_url), new_table())


def _profile(uid: str, display_name: str | None = None, at: datetime = CREATED) -> UserProfile:
    return UserProfile(uid, f"{uid}@example.com", display_name, created_at=at, updated_at=at)


def _note(owner_uid: str, note_id: str | None = None) -> Note:
    return Note(note_id or new_id(), owner_uid, "title", "body", 1, 0, CREATED, CREATED)


def _file(note: Note, file_id: str | None = None) -> FileRecord:
    file_id = file_id or new_id()
    key = object_key(note.owner_uid, note.id, file_id)
    return FileRecord(file_id, note.owner_uid, note.id, "a.txt", "text/plain", 3, key, CREATED)


def _pages(list_page: Callable[[str | None], Page[T]]) -> list[list[T]]:
    """Every page of a listing, following next_cursor until it is None."""
    pages: list[list[T]] = []
    cursor = None
    while len(pages) < 20:
        page = list_page(cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
    raise AssertionError(f"the listing did not end: {pages}")


def _accepted(listings: Mapping[str, Callable[[], object]]) -> list[str]:
    """The names of the listings that did not reject their cursor."""
    accepted = []
    for name, list_page in listings.items():
        try:
            list_page()
        except InvalidCursor:
            continue
        accepted.append(name)
    return accepted


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# --- profiles --------------------------------------------------------------------------------------


def test_create_profile_if_absent_keeps_the_first(repository: Repository) -> None:
    first = _profile("alice", "First")
    assert repository.get_profile("alice") is None
    assert repository.create_profile_if_absent(first) == first
    assert repository.create_profile_if_absent(_profile("alice", "Second", at=LATER)) == first
    assert repository.get_profile("alice") == first


def test_save_profile_upserts_and_keeps_created_at(repository: Repository) -> None:
    assert repository.save_profile(_profile("bob")) == _profile("bob")
    repository.create_profile_if_absent(_profile("alice"))
    saved = repository.save_profile(UserProfile("alice", "new@example.com", "Alice", LATER, LATER))
    assert saved == UserProfile("alice", "new@example.com", "Alice", created_at=CREATED, updated_at=LATER)
    assert repository.get_profile("alice") == saved


def test_profiles_page_through_all_in_uid_order(repository: Repository) -> None:
    for uid in ("carol", "alice", "erin", "bob", "dave"):
        repository.create_profile_if_absent(_profile(uid))
    pages = _pages(lambda cursor: repository.list_profiles(2, cursor))
    assert [[profile.uid for profile in page] for page in pages] == [
        ["alice", "bob"],
        ["carol", "dave"],
        ["erin"],
    ]


def test_a_full_page_carries_a_cursor_even_when_nothing_follows(repository: Repository) -> None:
    for uid in ("alice", "bob"):
        repository.create_profile_if_absent(_profile(uid))
    pages = _pages(lambda cursor: repository.list_profiles(2, cursor))
    assert [[profile.uid for profile in page] for page in pages] == [["alice", "bob"], []]
    assert repository.list_profiles(3, None).next_cursor is None


def test_a_cursor_from_another_listing_is_rejected(repository: Repository) -> None:
    for uid in ("alice", "bob"):
        repository.create_profile_if_absent(_profile(uid))
        for _ in range(2):
            repository.add_note(_note(uid))
    note, other_note = repository.list_notes("alice", 2, None).items
    for _ in range(2):
        repository.add_file(_file(note), MAX_FILES_PER_NOTE)
    profiles = repository.list_profiles(1, None).next_cursor
    alices_notes = repository.list_notes("alice", 1, None).next_cursor
    files = repository.list_files("alice", note.id, 1, None).next_cursor
    assert None not in (profiles, alices_notes, files)
    misused: dict[str, Callable[[], object]] = {
        "profiles cursor on notes": partial(repository.list_notes, "alice", 1, profiles),
        "notes cursor on profiles": partial(repository.list_profiles, 1, alices_notes),
        "alice's notes cursor on bob's": partial(repository.list_notes, "bob", 1, alices_notes),
        "files cursor on notes": partial(repository.list_notes, "alice", 1, files),
        "one note's files cursor on another's": partial(
            repository.list_files, "alice", other_note.id, 1, files
        ),
    }
    assert _accepted(misused) == []


def test_cursors_the_repository_did_not_issue_are_rejected(repository: Repository) -> None:
    repository.add_note(_note("alice"))
    forged = {
        "garbage": "not base64 !",
        "not JSON": base64.urlsafe_b64encode(b"not json").decode(),
        "not an object": _b64(["pk", "sk"]),
        "no sort key": _b64({"pk": "USER#alice"}),
        "a number for a key": _b64({"pk": "USER#alice", "sk": 3}),
        "another user's partition": _b64({"pk": "USER#bob", "sk": "NOTE#01J"}),
    }
    listings = {name: partial(repository.list_notes, "alice", 1, cursor) for name, cursor in forged.items()}
    assert _accepted(listings) == []


# --- notes -----------------------------------------------------------------------------------------


def test_a_note_is_read_back_by_its_owner_only(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    assert repository.get_note("alice", note.id) == note
    assert repository.get_note("bob", note.id) is None
    assert repository.get_note("alice", new_id()) is None


def test_notes_list_in_id_order_which_is_creation_order(repository: Repository) -> None:
    notes = [_note("alice", note_id) for note_id in sorted(new_id() for _ in range(5))]
    for note in reversed(notes):
        repository.add_note(note)
    repository.add_note(_note("bob"))
    pages = _pages(lambda cursor: repository.list_notes("alice", 2, cursor))
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [note for page in pages for note in page] == notes


def test_update_with_the_current_version_writes_the_editable_fields(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    repository.add_file(_file(note), MAX_FILES_PER_NOTE)
    # file_count and created_at come from the store, whatever the caller's copy says.
    edited = replace(note, title="new", body="text", version=2, updated_at=LATER, created_at=LATER)
    stored = repository.update_note(edited, expected_version=1)
    assert stored == replace(note, title="new", body="text", version=2, updated_at=LATER, file_count=1)
    assert repository.get_note("alice", note.id) == stored


def test_update_with_a_stale_version_conflicts_and_changes_nothing(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    first = repository.update_note(replace(note, title="first", version=2), expected_version=1)
    with pytest.raises(VersionConflict):
        repository.update_note(replace(note, title="lost", version=2), expected_version=1)
    assert repository.get_note("alice", note.id) == first


def test_update_of_a_missing_note_is_not_found(repository: Repository) -> None:
    with pytest.raises(NotFound):
        repository.update_note(_note("alice"), expected_version=1)


def test_deleting_a_note_deletes_all_its_files_and_no_other(repository: Repository) -> None:
    note, other = _note("alice"), _note("alice")
    for each in (note, other):
        repository.add_note(each)
    records = [_file(note) for _ in range(3)]
    for record in records:
        repository.add_file(record, MAX_FILES_PER_NOTE)
    repository.delete_file(records[0])
    kept = _file(other)
    repository.add_file(kept, MAX_FILES_PER_NOTE)

    repository.delete_note("alice", note.id)

    assert repository.get_note("alice", note.id) is None
    assert [repository.get_file("alice", note.id, record.id) for record in records] == [None] * 3
    assert repository.list_files("alice", note.id, 10, None).items == []
    assert repository.list_files("alice", other.id, 10, None).items == [kept]


def test_no_file_can_be_added_to_a_deleted_note(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    repository.delete_note("alice", note.id)
    record = _file(note)
    with pytest.raises(NotFound):
        repository.add_file(record, MAX_FILES_PER_NOTE)
    assert repository.get_file("alice", note.id, record.id) is None


def test_deleting_a_missing_or_foreign_note_is_not_found(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    with pytest.raises(NotFound):
        repository.delete_note("alice", new_id())
    with pytest.raises(NotFound):
        repository.delete_note("bob", note.id)
    assert repository.get_note("alice", note.id) == note


# --- files -----------------------------------------------------------------------------------------


def test_an_added_file_is_counted_on_its_note(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    record = _file(note)
    repository.add_file(record, MAX_FILES_PER_NOTE)
    assert repository.get_file("alice", note.id, record.id) == record
    assert repository.get_file("bob", note.id, record.id) is None
    assert repository.get_note("alice", note.id) == replace(note, file_count=1)


def test_a_note_at_its_file_limit_refuses_another(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    for _ in range(2):
        repository.add_file(_file(note), max_files_per_note=2)
    extra = _file(note)
    with pytest.raises(LimitExceeded):
        repository.add_file(extra, max_files_per_note=2)
    assert repository.get_file("alice", note.id, extra.id) is None
    assert repository.get_note("alice", note.id) == replace(note, file_count=2)


def test_a_file_on_a_missing_note_is_not_found(repository: Repository) -> None:
    never_added = _note("alice")
    record = _file(never_added)
    with pytest.raises(NotFound):
        repository.add_file(record, MAX_FILES_PER_NOTE)
    assert repository.get_file("alice", never_added.id, record.id) is None


def test_files_list_per_note_in_id_order(repository: Repository) -> None:
    note, other = _note("alice"), _note("alice")
    for each in (note, other):
        repository.add_note(each)
    records = [_file(note, file_id) for file_id in sorted(new_id() for _ in range(3))]
    for record in reversed(records):
        repository.add_file(record, MAX_FILES_PER_NOTE)
    repository.add_file(_file(other), MAX_FILES_PER_NOTE)
    pages = _pages(lambda cursor: repository.list_files("alice", note.id, 2, cursor))
    assert [len(page) for page in pages] == [2, 1]
    assert [record for page in pages for record in page] == records


def test_deleting_a_file_uncounts_it(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    record = _file(note)
    repository.add_file(record, MAX_FILES_PER_NOTE)
    repository.delete_file(record)
    assert repository.get_file("alice", note.id, record.id) is None
    assert repository.get_note("alice", note.id) == note


def test_deleting_a_missing_file_is_not_found(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    with pytest.raises(NotFound):
        repository.delete_file(_file(note))
    assert repository.get_note("alice", note.id) == note


# --- Idempotency-Key ------------------------------------------------------------------------------


def _under_key(key: str, asked: str, result: T, expires_at: datetime | None = None) -> IdempotentCreate[T]:
    expires_at = expires_at or datetime.now(UTC).replace(microsecond=0) + KEY_RETENTION
    return IdempotentCreate(key, asked, result, expires_at)


def _ticket(record: FileRecord) -> UploadTicket:
    upload = PresignedUpload("https://bucket.example/", {"key": record.object_key, "policy": "p"}, 300)
    return UploadTicket(record, upload)


def test_a_create_under_a_used_key_stores_nothing_and_returns_what_the_key_recorded(
    repository: Repository,
) -> None:
    first, second = _note("alice"), _note("alice")
    recorded = _under_key("key-1", "asked", first)
    assert repository.add_note(first, recorded) is None
    assert repository.add_note(second, _under_key("key-1", "asked", second)) == recorded
    assert repository.list_notes("alice", 10, None).items == [first]


def test_a_used_key_refuses_another_request_even_of_another_kind(repository: Repository) -> None:
    note = _note("alice")
    assert repository.add_note(note, _under_key("key-1", "asked first", note)) is None
    with pytest.raises(IdempotencyKeyReused):
        repository.add_note(_note("alice"), _under_key("key-1", "asked again", _note("alice")))
    record = _file(note)
    with pytest.raises(IdempotencyKeyReused):  # the key recorded a note, not a ticket
        repository.add_file(record, 10, _under_key("key-1", "asked for an upload", _ticket(record)))
    assert repository.list_notes("alice", 10, None).items == [note]
    assert repository.list_files("alice", note.id, 10, None).items == []


def test_keys_are_per_user(repository: Repository) -> None:
    alices, bobs = _note("alice"), _note("bob")
    assert repository.add_note(alices, _under_key("shared", "asked", alices)) is None
    assert repository.add_note(bobs, _under_key("shared", "asked", bobs)) is None
    assert repository.list_notes("bob", 10, None).items == [bobs]


def test_an_expired_key_is_free_again_even_before_it_is_removed(repository: Repository) -> None:
    old, new = _note("alice"), _note("alice")
    assert repository.add_note(old, _under_key("key-1", "asked", old, expires_at=EXPIRED)) is None
    assert repository.add_note(new, _under_key("key-1", "asked", new)) is None
    assert len(repository.list_notes("alice", 10, None).items) == 2


def test_a_replayed_upload_returns_its_ticket_even_once_the_note_is_full(repository: Repository) -> None:
    note = _note("alice")
    repository.add_note(note)
    record = _file(note)
    recorded = _under_key("upload-1", "asked", _ticket(record))
    assert repository.add_file(record, 1, recorded) is None
    again = _file(note)
    # The note is full now (1 of 1), and with its own first file: the key answers, not the limit.
    assert repository.add_file(again, 1, _under_key("upload-1", "asked", _ticket(again))) == recorded
    assert repository.list_files("alice", note.id, 10, None).items == [record]
    assert repository.get_note("alice", note.id) == replace(note, file_count=1)


def test_an_upload_under_a_new_key_is_still_refused_by_its_note(repository: Repository) -> None:
    never_added = _note("alice")
    record = _file(never_added)
    with pytest.raises(NotFound):
        repository.add_file(record, MAX_FILES_PER_NOTE, _under_key("upload-1", "asked", _ticket(record)))
    # Nothing was recorded under the key either: the same key may try again once the note exists.
    repository.add_note(never_added)
    assert (
        repository.add_file(record, MAX_FILES_PER_NOTE, _under_key("upload-1", "asked", _ticket(record)))
        is None
    )


# --- accounts --------------------------------------------------------------------------------------


def test_deleting_a_users_items_leaves_everyone_elses(repository: Repository) -> None:
    kept: dict[str, tuple[UserProfile, Note, FileRecord]] = {}
    for uid in ("alice", "bob"):
        profile, note = _profile(uid), _note(uid)
        record = _file(note)
        repository.create_profile_if_absent(profile)
        repository.add_note(note)
        repository.add_file(record, MAX_FILES_PER_NOTE)
        kept[uid] = (profile, replace(note, file_count=1), record)

    keyed = _note("alice")
    repository.add_note(keyed, _under_key("key-1", "asked", keyed))

    repository.delete_all_user_items("alice")

    # What a key recorded (a copy of the note) goes with the account: the key is free again.
    assert repository.add_note(keyed, _under_key("key-1", "asked", keyed)) is None
    repository.delete_note("alice", keyed.id)
    _, alices_note, alices_file = kept["alice"]
    assert repository.get_profile("alice") is None
    assert repository.list_notes("alice", 10, None).items == []
    assert repository.get_file("alice", alices_note.id, alices_file.id) is None
    bobs_profile, bobs_note, bobs_file = kept["bob"]
    assert repository.list_profiles(10, None).items == [bobs_profile]
    assert repository.list_notes("bob", 10, None).items == [bobs_note]
    assert repository.list_files("bob", bobs_note.id, 10, None).items == [bobs_file]


def test_once_an_account_is_marked_deleted_none_of_its_creates_stores_anything(
    repository: Repository,
) -> None:
    """What a request let in before the deletion, writing after it, runs into: every create of the user is
    refused, with or without an Idempotency-Key; others' are not."""
    note = _note("alice")
    repository.add_note(note)
    repository.delete_all_user_items("alice")  # as the deletion does, after the mark (no order needed here)
    repository.mark_deleted("alice", until=datetime.now(UTC) + timedelta(hours=1))
    for create in (
        lambda: repository.create_profile_if_absent(_profile("alice")),
        lambda: repository.save_profile(_profile("alice", "back")),
        lambda: repository.add_note(_note("alice")),
        lambda: repository.add_note(note, _under_key("key-1", "asked", note)),
        lambda: repository.add_file(_file(note), MAX_FILES_PER_NOTE),
    ):
        with pytest.raises(AccountDeleted):
            create()
    assert repository.get_profile("alice") is None
    assert repository.list_notes("alice", 10, None).items == []
    assert repository.list_files("alice", note.id, 10, None).items == []
    bobs = _note("bob")
    repository.add_note(bobs)
    assert repository.create_profile_if_absent(_profile("bob")) == _profile("bob")
    assert repository.list_notes("bob", 10, None).items == [bobs]


def test_a_deletion_mark_is_seen_at_once_outlives_the_erase_and_lapses_at_its_expiry(
    repository: Repository,
) -> None:
    assert not repository.is_deleted("alice")
    repository.mark_deleted("alice", until=datetime.now(UTC) + timedelta(hours=1))
    repository.delete_all_user_items("alice")
    assert repository.is_deleted("alice")
    assert not repository.is_deleted("bob")
    # Marked again (a deletion run again), with an expiry now past: DynamoDB's TTL has not removed the item
    # yet, and it counts no more.
    repository.mark_deleted("alice", until=datetime.now(UTC) - timedelta(seconds=5))
    assert not repository.is_deleted("alice")
    assert repository.create_profile_if_absent(_profile("alice")) == _profile("alice")


# --- how DynamoDB refuses (tests/unit/test_dynamodb_refusals.py stubs this shape) --------------------


def test_a_refused_transaction_names_the_item_whose_condition_failed(
    settings: Settings, new_table: Callable[[], str]
) -> None:
    client = dynamodb_client(settings.aws_region, settings.aws_endpoint_url)
    table = new_table()
    full = replace(_note("alice"), file_count=MAX_FILES_PER_NOTE)
    DynamoRepository(client, table).add_note(full)
    note_key = {"pk": note_to_item(full)["pk"], "sk": note_to_item(full)["sk"]}
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**note_key, "sk": {"S": "FILE#x"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": note_key,
                        "ConditionExpression": "file_count < :max",
                        "ExpressionAttributeValues": {":max": {"N": str(MAX_FILES_PER_NOTE)}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in refused.value.response["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    assert failed_conditions(refused.value) == {1: note_to_item(full)}
