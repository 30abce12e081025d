"""Events sent back to the insurer's systems (signed outbound webhooks): one row per event and endpoint, written in
the transaction of what happened (a transactional outbox), then posted by the worker until the endpoint takes it
or the attempts run out (a dead letter, replayed by `flask webhooks replay`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class OutboundStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    DEAD = "dead"  # every attempt failed: listed, replayed by hand


class OutboundEvent(SQLModel, table=True):
    __tablename__ = "outbound_events"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint"),
        Index("ix_outbound_events_due", "status", "next_attempt_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(
        sa_column=Column(String(40), nullable=False)
    )  # webhook-id: the receiver's idempotency key
    endpoint: str = Field(sa_column=Column(String(32), nullable=False))  # its name in OUTBOUND_WEBHOOKS
    event_type: str = Field(sa_column=Column(String(48), nullable=False))  # e.g. coupon.redeemed
    customer_id: int | None = Field(default=None, sa_column=customer_fk(nullable=True))
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboundStatus.QUEUED, sa_column=Column(String(12), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))  # "HTTP 503", "timeout" …
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
