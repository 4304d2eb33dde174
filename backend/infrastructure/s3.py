from typing import TYPE_CHECKING
from urllib.parse import quote

from botocore.exceptions import ClientError

from domain.entities import PresignedUpload
from domain.ports import FileStorage
from infrastructure.aws import unavailable_on_transport_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

_s3_call = unavailable_on_transport_errors("S3")


def attachment(file_name: str) -> str:
    """Content-Disposition per RFC 6266: an attachment, named in ASCII for old clients (anything else,
    quotes and backslashes become "_") and exactly in RFC 8187's filename*, which current ones prefer."""
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\' else "_" for char in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


class S3FileStorage(FileStorage):
    def __init__(self, client: "S3Client", bucket: str, *, presigner: "S3Client | None" = None) -> None:
        """`presigner` signs the URLs clients use (signing is local); it differs from `client` only where
        clients reach S3 at another address than the app does (the emulator in compose)."""
        self._client = client
        self._presigner = presigner or client
        self._bucket = bucket

    @_s3_call
    def presign_upload(self, key: str, content_type: str, max_size: int, expires_in: int) -> PresignedUpload:
        # Signing is local (no request), but the policy is what S3 enforces on the upload.
        post = self._presigner.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_size]],
            ExpiresIn=expires_in,
        )
        return PresignedUpload(url=post["url"], fields=dict(post["fields"]), expires_in=expires_in)

    @_s3_call
    def presign_download(self, key: str, expires_in: int, file_name: str) -> str:
        # Signed into the URL: S3 answers with this Content-Disposition, whatever the upload said.
        params = {"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": attachment(file_name)}
        return self._presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    @_s3_call
    def delete_object(self, key: str) -> None:
        self._delete_versions(key, of_key=key)

    @_s3_call
    def delete_prefix(self, prefix: str) -> None:
        self._delete_versions(prefix)

    def _delete_versions(self, prefix: str, of_key: str | None = None) -> None:
        """Every version and delete marker under `prefix` (of the one key `of_key`, if given). In a
        versioned bucket a plain delete only hides the bytes under a marker; deleting each version id
        removes them. In an unversioned one each object is listed once, as version "null"."""
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            objects: list[ObjectIdentifierTypeDef] = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if of_key is None or entry["Key"] == of_key
            ]
            if not objects:
                continue
            response = self._client.delete_objects(
                Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True}
            )
            # Quiet: a 200 that lists only the failures. One left is a delete that did not happen.
            if failed := response.get("Errors"):
                code, key = failed[0].get("Code", ""), failed[0].get("Key")
                message = f"{len(failed)} versions left, the first of {key}: {failed[0].get('Message')}"
                raise ClientError({"Error": {"Code": code, "Message": message}}, "DeleteObjects")
