"""Webhook events as LINE delivered them: stored once per `webhookEventId`, then processed by the worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class EventStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class WebhookEvent(SQLModel, table=True):
    """One inbound LINE event. The unique `webhook_event_id` makes redeliveries and replays harmless."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_status_received", "status", "received_at"),
        # the retention job takes the oldest payloads not yet redacted (bot/privacy/retention.py)
        Index(
            "ix_webhook_events_unredacted",
            "received_at",
            postgresql_where=text("redacted_at IS NULL"),
            sqlite_where=text("redacted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_event_id: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    event_type: str = Field(sa_column=Column(String(64), nullable=False))
    source_type: str | None = Field(default=None, sa_column=Column(String(16)))
    line_user_id: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    occurred_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    is_redelivery: bool = False
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: EventStatus = Field(default=EventStatus.RECEIVED, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # when `payload` lost what the person wrote and who they are (retention, or the person's erasure)
    redacted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
