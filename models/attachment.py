"""Photos, videos and files a customer sent in the chat with a service-desk request (事故の写真など).

The content is never kept in the clear: it is sealed with AES-GCM under a key from the settings (`key_id` names
which, so keys can rotate) and kept in this row (`sealed`) or in S3-compatible object storage (`storage_key`).
`sha256` is the digest of the plaintext, so staff and the export can show that what they read is what was sent.
A row exists from the moment the message arrives (`pending`); the worker downloads it from LINE and checks it
(`stored`), or refuses it (`refused`, with the reason) or gives up (`failed`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.customer import customer_fk


class AttachmentStatus(StrEnum):
    PENDING = "pending"  # the message arrived; the download waits in the worker
    STORED = "stored"  # downloaded, checked and sealed
    REFUSED = "refused"  # wrong type or too large (`refusal`); nothing kept
    FAILED = "failed"  # LINE never gave the content (gone, or transcoding failed)


class Attachment(SQLModel, table=True):
    """One photo, video or file of a customer's request."""

    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=customer_fk())
    # the request it belongs to; None while the request is still being filled in
    request_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("service_requests.id", ondelete="CASCADE"), index=True),
    )
    line_message_id: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(8), nullable=False))  # image, video, file
    status: str = Field(default=AttachmentStatus.PENDING, sa_column=Column(String(12), nullable=False))
    refusal: str | None = Field(default=None, sa_column=Column(String(16)))  # too_large, wrong_type, gone …
    file_name: str | None = Field(default=None, sa_column=Column(String(255)))  # a file's name as sent
    content_type: str | None = Field(default=None, sa_column=Column(String(64)))  # from the bytes, not LINE
    size: int | None = Field(default=None, sa_column=Column(Integer))  # plaintext bytes
    sha256: str | None = Field(default=None, sa_column=Column(String(64)))  # of the plaintext
    storage: str | None = Field(default=None, sa_column=Column(String(16)))  # database or s3
    storage_key: str | None = Field(default=None, sa_column=Column(String(255)))  # the object's key in S3
    key_id: str | None = Field(default=None, sa_column=Column(String(16)))  # the key that sealed it
    sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # nonce + ciphertext (database)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    stored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
