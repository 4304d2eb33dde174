"""One contract, two storages: every case runs on the in-memory fake the unit tests rely on and on
S3FileStorage against MiniStack buckets, versioned (as template.yml makes it) and not. A delete leaves
nothing behind: no old version, no delete marker, so no bytes a version id could bring back."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from domain.ports import FileStorage
from infrastructure.s3 import S3FileStorage
from tests.support.buckets import versions_under
from tests.support.fakes import InMemoryStorage
from tests.support.flows import UPLOAD_ACCEPTED, post_upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

KEY = "users/alice/notes/N/files/F"


@dataclass(frozen=True)
class Bucket:
    """A storage, and the test's hands on the bucket behind it."""

    storage: FileStorage
    upload: Callable[[str], None]
    """The client using an upload ticket for the key: one more version each time."""
    hide: Callable[[str], None]
    """A plain delete, as the app did before: in a versioned bucket, a delete marker over the versions."""
    left: Callable[[str], list[str]]
    """The key of every version and delete marker under a prefix."""


def _memory() -> Bucket:
    storage = InMemoryStorage()
    return Bucket(
        storage,
        upload=storage.receive_upload,
        hide=storage.receive_upload,
        left=lambda prefix: sorted(key for key in storage.versions.elements() if key.startswith(prefix)),
    )


def _s3(s3: "S3Client", *, versioned: bool) -> Bucket:
    name = f"contract-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    storage = S3FileStorage(s3, name)

    def upload(key: str) -> None:
        ticket = storage.presign_upload(key, "text/plain", 10, 60)
        response = post_upload(ticket.url, ticket.fields, b"bytes", "text/plain")
        assert response.status_code in UPLOAD_ACCEPTED, response.text

    def left(prefix: str) -> list[str]:
        return sorted(key for key, _ in versions_under(s3, name, prefix))

    def hide(key: str) -> None:
        s3.delete_object(Bucket=name, Key=key)

    # Left in place: it goes with the session's emulator.
    return Bucket(storage, upload, hide, left)


@pytest.fixture(params=["memory", "s3-versioned", "s3-unversioned"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    if request.param == "memory":
        return _memory()
    return _s3(request.getfixturevalue("s3"), versioned=request.param == "s3-versioned")


def test_deleting_an_object_removes_every_version_of_that_key_only(bucket: Bucket) -> None:
    longer, other = f"{KEY}X", "users/alice/notes/N/files/G"
    for key in (KEY, KEY, longer, other):  # the first ticket used twice
        bucket.upload(key)
    bucket.hide(KEY)
    bucket.upload(KEY)  # and once more after a plain delete
    bucket.storage.delete_object(KEY)
    assert bucket.left("users/") == sorted([longer, other])


def test_deleting_a_prefix_removes_every_version_under_it_only(bucket: Bucket) -> None:
    alices = [f"users/alice/notes/N/files/{name}" for name in ("F", "G")]
    kept = ["users/alice-x/notes/N/files/F", "users/bob/notes/N/files/F"]
    for key in [*alices, *alices, *kept]:
        bucket.upload(key)
    bucket.hide(alices[0])
    bucket.storage.delete_prefix("users/alice/")
    assert bucket.left("users/") == kept


def test_deleting_what_is_not_there_is_done(bucket: Bucket) -> None:
    bucket.storage.delete_object(KEY)
    bucket.storage.delete_prefix("users/alice/")
    assert bucket.left("") == []
