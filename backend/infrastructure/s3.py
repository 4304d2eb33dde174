from typing import TYPE_CHECKING

from domain.entities import PresignedUpload
from domain.ports import FileStorage
from infrastructure.aws import unavailable_on_transport_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

_s3_call = unavailable_on_transport_errors("S3")


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
    def presign_download(self, key: str, expires_in: int) -> str:
        return self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )

    @_s3_call
    def delete_object(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    @_s3_call
    def delete_prefix(self, prefix: str) -> None:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            objects: list[ObjectIdentifierTypeDef] = [
                {"Key": entry["Key"]} for entry in page.get("Contents", [])
            ]
            if objects:
                self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
