from datetime import UTC, datetime, timedelta

import pytest

from domain.entities import MAX_FILES_PER_NOTE, Note, Principal
from domain.errors import (
    AccountDeleted,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    VersionConflict,
)
from tests.support.fakes import FakeBackend

ALICE = Principal(uid="alice", email="alice@example.com", role=None)
BOB = Principal(uid="bob", email="bob@example.com", role=None)
ADMIN = Principal(uid="root", email="root@example.com", role="admin")


def test_first_profile_read_creates_it_from_the_token(backend: FakeBackend) -> None:
    profile = backend.services.users.get_my_profile(ALICE)
    assert (profile.uid, profile.email, profile.display_name) == ("alice", "alice@example.com", None)
    assert backend.services.users.get_my_profile(ALICE) == profile


def test_profile_update_keeps_creation_time(backend: FakeBackend) -> None:
    created = backend.services.users.get_my_profile(ALICE)
    updated = backend.services.users.update_my_profile(ALICE, "Alice")
    assert updated.display_name == "Alice"
    assert updated.created_at == created.created_at


def test_only_admins_list_users(backend: FakeBackend) -> None:
    backend.services.users.get_my_profile(ALICE)
    with pytest.raises(PermissionDenied):
        backend.services.users.list_users(ALICE, 10, None)
    assert [profile.uid for profile in backend.services.users.list_users(ADMIN, 10, None).items] == ["alice"]


def test_account_deletion_removes_every_item_and_object_of_the_caller_only(backend: FakeBackend) -> None:
    services = backend.services
    for caller in (ALICE, BOB):
        services.users.get_my_profile(caller)
        note = services.notes.create(caller, "title", "body")
        services.files.start_upload(caller, note.id, "a.txt", "text/plain", 3)
    services.users.delete_my_account(ALICE)
    assert services.users.get_my_profile(BOB).uid == "bob"
    assert services.notes.list(ALICE, 10, None).items == []
    assert all(key.startswith("users/bob/") for key in backend.storage.objects)
    assert len(backend.storage.objects) == 1


def test_account_deletion_deletes_the_sign_in_account(backend: FakeBackend) -> None:
    for caller in (ALICE, BOB):
        backend.services.users.get_my_profile(caller)
    backend.services.users.delete_my_account(ALICE)
    assert backend.identity.deleted == {"alice"}


def test_account_deletion_removes_an_upload_that_lands_while_the_records_go(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    ticket = backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)
    delete_records = backend.repository.delete_all_user_items

    def upload_lands_meanwhile(uid: str) -> None:
        backend.storage.receive_upload(ticket.file.object_key)  # the ticket used again, in flight
        delete_records(uid)

    monkeypatch.setattr(backend.repository, "delete_all_user_items", upload_lands_meanwhile)
    backend.services.users.delete_my_account(ALICE)
    assert backend.storage.objects == set()


def test_once_an_account_is_deleted_no_write_of_its_owner_lands_for_longer_than_a_token_lives(
    backend: FakeBackend,
) -> None:
    """Requests that were let in before the deletion and write after it: the store refuses each."""
    services = backend.services
    note = services.notes.create(ALICE, "n", "")
    began = datetime.now(UTC)
    services.users.delete_my_account(ALICE)
    for write in (
        lambda: services.users.get_my_profile(ALICE),  # creates the profile when there is none
        lambda: services.users.update_my_profile(ALICE, "back"),
        lambda: services.notes.create(ALICE, "back", ""),
        lambda: services.files.start_upload(ALICE, note.id, "f", "text/plain", 1),
    ):
        with pytest.raises(AccountDeleted):
            write()
    assert (backend.repository.profiles, backend.repository.notes, backend.repository.files) == ({}, {}, {})
    assert backend.repository.is_deleted("alice")
    assert backend.repository.deleted_until["alice"] - began > timedelta(hours=1)  # ID tokens live an hour


def test_an_account_deletion_that_fails_halfway_keeps_the_sign_in_account(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without it the caller could not authenticate to try again."""
    backend.services.notes.create(ALICE, "n", "")

    def unreachable(_: str) -> None:
        raise ServiceUnavailable("S3 is unavailable")

    monkeypatch.setattr(backend.storage, "delete_prefix", unreachable)
    with pytest.raises(ServiceUnavailable):
        backend.services.users.delete_my_account(ALICE)
    assert backend.identity.deleted == set()


def test_note_update_bumps_the_version_and_rejects_stale_versions(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "draft", "")
    updated = backend.services.notes.update(ALICE, note.id, note.version, "final", None)
    assert (updated.title, updated.body, updated.version) == ("final", "", 2)
    with pytest.raises(VersionConflict):
        backend.services.notes.update(ALICE, note.id, note.version, "lost update", None)


@pytest.mark.parametrize(("if_match", "outcome"), [(None, "mine"), (1, "412")], ids=["*", "a tag"])
def test_an_edit_landing_between_read_and_write_fails_a_tag_but_not_any_version(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch, if_match: int | None, outcome: str
) -> None:
    note = backend.services.notes.create(ALICE, "draft", "")
    repository, write = backend.repository, backend.repository.update_note

    def theirs_first(changed: Note, expected_version: int) -> Note:
        monkeypatch.setattr(repository, "update_note", write)  # once: another client's PATCH lands first
        backend.services.notes.update(ALICE, note.id, 1, "theirs", None)
        return write(changed, expected_version)

    monkeypatch.setattr(repository, "update_note", theirs_first)
    if outcome == "412":
        with pytest.raises(VersionConflict):
            backend.services.notes.update(ALICE, note.id, if_match, "mine", None)
        assert backend.services.notes.get(ALICE, note.id).title == "theirs"
        return
    updated = backend.services.notes.update(ALICE, note.id, if_match, "mine", None)
    assert (updated.title, updated.version) == ("mine", 3)


def test_someone_elses_note_does_not_exist(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "private", "")
    with pytest.raises(NotFound):
        backend.services.notes.get(BOB, note.id)
    with pytest.raises(NotFound):
        backend.services.notes.update(BOB, note.id, 1, "x", None)
    with pytest.raises(NotFound):
        backend.services.notes.delete(BOB, note.id)
    with pytest.raises(NotFound):
        backend.services.files.start_upload(BOB, note.id, "a.txt", "text/plain", 1)


def test_upload_key_is_built_from_ids_under_the_owner_prefix(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    ticket = backend.services.files.start_upload(ALICE, note.id, "../../etc/passwd", "text/plain", 42)
    assert ticket.file.object_key == f"users/alice/notes/{note.id}/files/{ticket.file.id}"
    assert ticket.file.file_name == "../../etc/passwd"
    assert backend.storage.upload_policies[ticket.file.object_key] == ("text/plain", 42)
    assert backend.services.notes.get(ALICE, note.id).file_count == 1


def test_a_download_ticket_presigns_the_owners_object_only(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    upload = backend.services.files.start_upload(ALICE, note.id, "a.txt", "text/plain", 3)
    ticket = backend.services.files.start_download(ALICE, note.id, upload.file.id)
    assert ticket.file == upload.file
    # The fake storage writes the expiry and the attachment name it was asked to sign into the URL.
    assert ticket.url == (
        f"https://storage.invalid/{upload.file.object_key}?expires={ticket.expires_in}&attachment=a.txt"
    )
    with pytest.raises(NotFound):
        backend.services.files.start_download(BOB, note.id, upload.file.id)


def test_a_note_holds_a_bounded_number_of_files(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    for _ in range(MAX_FILES_PER_NOTE):
        backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)
    with pytest.raises(LimitExceeded):
        backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)


def test_deleting_a_note_deletes_its_files_and_objects(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    ticket = backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)
    backend.services.notes.delete(ALICE, note.id)
    assert backend.storage.objects == set()
    with pytest.raises(NotFound):
        backend.services.files.get(ALICE, note.id, ticket.file.id)


def test_deleting_a_note_deletes_what_a_reused_ticket_stored_after_its_file_was_deleted(
    backend: FakeBackend,
) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    ticket = backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)
    backend.services.files.delete(ALICE, note.id, ticket.file.id)
    backend.storage.receive_upload(ticket.file.object_key)  # the ticket, used again before it expired
    backend.services.notes.delete(ALICE, note.id)
    assert backend.storage.objects == set()


def test_deleting_a_file_uncounts_it(backend: FakeBackend) -> None:
    note = backend.services.notes.create(ALICE, "n", "")
    ticket = backend.services.files.start_upload(ALICE, note.id, "f", "text/plain", 1)
    backend.services.files.delete(ALICE, note.id, ticket.file.id)
    assert backend.services.notes.get(ALICE, note.id).file_count == 0
    assert backend.storage.objects == set()
    with pytest.raises(NotFound):
        backend.services.files.delete(ALICE, note.id, ticket.file.id)
