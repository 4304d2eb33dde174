"""What a bucket holds, as the tests check it: versions and delete markers included."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def versions_under(s3: "S3Client", bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(key, version id) of every version and delete marker under the prefix; one page (up to 1,000) is
    more than any test stores."""
    listed = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    entries = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
    return [(entry["Key"], entry["VersionId"]) for entry in entries]
