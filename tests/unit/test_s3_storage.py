"""S3FileStorage on answers shaped as S3 sends them (botocore's Stubber); tests/integration/
test_storage_contract.py runs the same adapter on MiniStack."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from domain.errors import ServiceUnavailable
from infrastructure.s3 import S3FileStorage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def client() -> "S3Client":
    return boto3.client("s3", region_name="eu-west-1", aws_access_key_id="unit", aws_secret_access_key="unit")


@pytest.fixture
def stubber(client: "S3Client") -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub


@pytest.mark.parametrize(
    ("code", "raised"), [("InternalError", ServiceUnavailable), ("AccessDenied", ClientError)]
)
def test_a_version_s3_did_not_delete_is_an_error_not_a_success(
    client: "S3Client", stubber: Stubber, code: str, raised: type[Exception]
) -> None:
    """With Quiet, DeleteObjects answers 200 and lists only what it failed to delete."""
    stubber.add_response(
        "list_object_versions",
        {"Versions": [{"Key": "users/alice/a", "VersionId": "v1"}], "IsTruncated": False},
    )
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": "users/alice/a", "VersionId": "v1", "Code": code, "Message": "not deleted"}]},
    )
    with pytest.raises(raised):
        S3FileStorage(client, "bucket").delete_prefix("users/alice/")
    stubber.assert_no_pending_responses()
