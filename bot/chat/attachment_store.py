"""Where sealed attachments are kept: in their database row by default, or in S3-compatible object storage when
ATTACHMENT_S3_BUCKET is set (ATTACHMENT_S3_ENDPOINT_URL for a store other than AWS; credentials and region from
the standard AWS_* variables). Each row records its backend and object key, so a row stored under an earlier
setting is still read from where it is. Objects are named by a random key: nothing in S3 says whose they are.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, Protocol

from bot.platform.config import Settings

DATABASE = "database"
S3 = "s3"


class StoreNotConfigured(RuntimeError):
    """A row says its object is in S3, and no bucket is configured."""


class ObjectStore(Protocol):
    name: str

    def put(self, sealed: bytes) -> tuple[str | None, bytes | None]:
        """(object key, or None; what the row keeps in `sealed`, or None)."""

    def get(self, key: str | None, row_sealed: bytes | None) -> bytes: ...

    def delete(self, key: str | None) -> None: ...


class DatabaseStore:
    """The sealed bytes in the attachment's own row: nothing to set up, gone with the row."""

    name = DATABASE

    def put(self, sealed: bytes) -> tuple[str | None, bytes | None]:
        return None, sealed

    def get(self, key: str | None, row_sealed: bytes | None) -> bytes:
        if row_sealed is None:
            raise LookupError("the attachment's row holds no content")
        return row_sealed

    def delete(self, key: str | None) -> None:
        return None


class S3Store:
    """Objects in one bucket, under `attachments/<random>`."""

    name = S3

    def __init__(self, bucket: str, endpoint_url: str | None) -> None:
        self.bucket = bucket
        self.client = _client(endpoint_url or None)

    def put(self, sealed: bytes) -> tuple[str | None, bytes | None]:
        key = f"attachments/{uuid.uuid4().hex}"
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=sealed, ContentType="application/octet-stream"
        )
        return key, None

    def get(self, key: str | None, row_sealed: bytes | None) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str | None) -> None:
        if key:
            self.client.delete_object(Bucket=self.bucket, Key=key)


@cache
def _client(endpoint_url: str | None) -> Any:
    import boto3  # only where S3 is configured: a second of imports the other processes never pay

    return boto3.client("s3", endpoint_url=endpoint_url)


def store_for(settings: Settings) -> ObjectStore:
    """Where new attachments go."""
    if settings.attachment_s3_bucket:
        return S3Store(settings.attachment_s3_bucket, settings.attachment_s3_endpoint_url)
    return DatabaseStore()


def store_named(settings: Settings, name: str | None) -> ObjectStore:
    """The backend a row was stored in."""
    if name == S3:
        if not settings.attachment_s3_bucket:
            raise StoreNotConfigured("an attachment is in S3 and ATTACHMENT_S3_BUCKET is not set")
        return S3Store(settings.attachment_s3_bucket, settings.attachment_s3_endpoint_url)
    return DatabaseStore()
