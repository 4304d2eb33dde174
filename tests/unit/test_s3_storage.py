"""S3FileStorage on answers shaped as S3 sends them (botocore's Stubber); tests/integration/
test_storage_contract.py runs the same adapter on MiniStack."""

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from domain.errors import ServiceUnavailable
from infrastructure.s3 import S3FileStorage, attachment

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


@pytest.mark.parametrize(
    ("file_name", "header"),
    [
        pytest.param(
            "report final.txt",
            "attachment; filename=\"report final.txt\"; filename*=UTF-8''report%20final.txt",
            id="ascii",
        ),
        pytest.param(
            'Ünïcödé "draft".svg',
            'attachment; filename="_n_c_d_ _draft_.svg"; '
            "filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%22draft%22.svg",
            id="non-ascii-and-quotes",
        ),
        pytest.param(
            "a\r\nSet-Cookie: x=1;\\b",
            'attachment; filename="a__Set-Cookie: x=1;_b"; '
            "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%3B%5Cb",
            id="no-header-injection",
        ),
    ],
)
def test_a_download_is_named_as_an_attachment_per_rfc_6266(file_name: str, header: str) -> None:
    """filename= is the ASCII fallback for old clients; filename* (RFC 8187) carries the name exactly."""
    assert attachment(file_name) == header


def test_the_download_url_signs_the_attachment_header(client: "S3Client") -> None:
    url = S3FileStorage(client, "bucket").presign_download("users/alice/a", 60, "a b.html")
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == [attachment("a b.html")]
    assert "X-Amz-Signature" in query or "Signature" in query
