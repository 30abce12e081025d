"""Requests to the event ingestion API made under an `Idempotency-Key`: what was asked and what was answered.

A retry with the same key and body gets the stored answer again and writes nothing; the unique key makes two
simultaneous requests with one new key write once. Keys are honoured for 24 hours, then forgotten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class ApiRequest(SQLModel, table=True):
    """One idempotent request: who sent it (a token fingerprint), its key, its body's hash, the reply."""

    __tablename__ = "api_requests"
    __table_args__ = (UniqueConstraint("client", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(sa_column=Column(String(16), nullable=False))  # sha256 prefix of the bearer token
    idempotency_key: str = Field(sa_column=Column(String(255), nullable=False))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))  # sha256 of the canonical JSON
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
