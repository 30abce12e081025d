"""Customers in scenarios: one enrollment per customer, scenario and anchor record (a document request, a
reservation, a contract year …), the explain trace of every decision taken for them, and the delivery ledger
that every message goes through.

Unique keys make the scheduler idempotent: a trigger evaluated twice enrols nobody twice, and a step carried out
twice writes one ledger row per channel.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"  # waiting for its next wake-up (or its first step)
    DONE = "done"  # exited: finished, converted, cancelled, opted out
    FAILED = "failed"  # the engine raised for it; kept aside (trace: engine_error) until an operator looks


class Enrollment(SQLModel, table=True):
    """A customer in a scenario for one anchor record; `state` is the engine's (flows.engine.State)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("scenario_id", "customer_id", "anchor_key"),
        Index("ix_enrollments_due", "status", "wake_at", "id"),  # the runner takes them in this order
    )

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(sa_column=Column(String(64), nullable=False))
    customer_id: int = Field(sa_column=customer_fk())
    anchor_key: str = Field(sa_column=Column(String(128), nullable=False))  # e.g. document_request:DR0001
    status: str = Field(default=EnrollmentStatus.ACTIVE, sa_column=Column(String(8), nullable=False))
    held_out: bool = False
    entered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the trigger's moment
    wake_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    wake_token: int = 0
    state: dict | None = Field(default=None, sa_column=Column(JSON))  # None until the first step has run
    outcome: str | None = Field(default=None, sa_column=Column(String(16)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TraceEntry(SQLModel, table=True):
    """One decision about one customer (entered, branch taken, channel chosen, held, skipped, exited …)."""

    __tablename__ = "trace_entries"
    __table_args__ = (Index("ix_trace_entries_customer", "customer_id", "scenario_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("enrollments.id", ondelete="CASCADE"), index=True),
    )
    customer_id: int = Field(  # indexed with scenario_id below
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    )
    scenario_id: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the flow's moment, not the tick's
    step: str | None = Field(default=None, sa_column=Column(String(64)))
    code: str = Field(sa_column=Column(String(32), nullable=False))
    details: dict | None = Field(default=None, sa_column=Column(JSON))


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    HELD = "held"  # waiting for an allowed time (quiet hours, frequency cap)
    PAUSED = "paused"  # its scenario is paused: sent when staff resume it


SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.HELD)  # a send job may still take the row, now or later
UNSETTLED = (*SENDABLE, DeliveryStatus.PAUSED)  # may still go out: no outcome (sent, delivered, failed) yet
SENT_OR_DELIVERED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)  # the provider took it


class Delivery(SQLModel, table=True):
    """The delivery ledger: a row per (enrollment step or broadcast, customer, channel), written before anything
    is sent. A due row is handed to a send job (`send_job`, `claimed_until`), which takes it over as it starts
    (claimed for SEND_CLAIM_SECONDS). A row whose job was lost before it started is handed out again at the
    next dispatch; one whose worker died while sending, once its claim has passed, and LINE's retry key
    (derived from the row) turns the second push into a 409."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step", "channel"),
        UniqueConstraint("broadcast_id", "customer_id", "channel", name="uq_deliveries_broadcast"),
        Index("ix_deliveries_token", "token", unique=True),
        Index("ix_deliveries_due", "status", "due_at", "id"),  # the dispatcher takes them in this order
        Index("ix_deliveries_provider", "channel", "provider_id"),  # delivery receipts find their row
        Index(  # rows handed to a send job that has not taken them yet: every dispatch checks those jobs
            "ix_deliveries_send_job",
            "send_job",
            postgresql_where=text("send_job IS NOT NULL"),
            sqlite_where=text("send_job IS NOT NULL"),
        ),
        # the retention job clears the merge values of old chat answers (bot/privacy/retention.py)
        Index(
            "ix_deliveries_fields_kept",
            "created_at",
            postgresql_where=text("fields IS NOT NULL"),
            sqlite_where=text("fields IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("enrollments.id", ondelete="CASCADE")),  # led by the unique key
    )
    broadcast_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("broadcasts.id", ondelete="CASCADE", name="fk_deliveries_broadcast_id")
        ),  # led by the unique key
    )
    # the public token of this message's links: /r/<token> (click), /o/<token>.gif (open), /u/<token> (opt-out)
    token: str | None = Field(default=None, sa_column=Column(String(24)))
    batch_key: str | None = Field(default=None, sa_column=Column(String(64)))  # same content: one multicast
    # an answer in a chat: LINE's reply token of the customer's message, used (free of quota) until `reply_by`
    reply_token: str | None = Field(default=None, sa_column=Column(String(64)))
    reply_by: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # an answer in a chat: the merge values of that moment (the address to confirm, a reference number)
    fields: dict | None = Field(default=None, sa_column=Column(JSON))
    customer_id: int = Field(sa_column=customer_fk())
    step: str = Field(sa_column=Column(String(64), nullable=False))
    template: str = Field(sa_column=Column(String(128), nullable=False))
    channel: str = Field(sa_column=Column(String(8), nullable=False))
    purpose: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(default=DeliveryStatus.QUEUED, sa_column=Column(String(12), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempts: int = 0
    provider_id: str | None = Field(default=None, sa_column=Column(String(128)))
    error: str | None = Field(default=None, sa_column=Column(String(512)))
    cost_yen: float | None = None
    segments: int | None = None  # SMS billable segments (課金通数) for the recipient's carrier
    # the carrier an SMS delivery receipt named (bot.delivery.channels.sms_billing.Carrier); None before a
    # receipt, or when the receipt named none: until then segments and cost are the send's estimate
    carrier: str | None = Field(default=None, sa_column=Column(String(16)))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    send_job: str | None = Field(default=None, sa_column=Column(String(64)))  # the RQ job it was handed to
    first_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    opened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    clicked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    tapped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TriggerRun(SQLModel, table=True):
    """When a scenario's trigger last ran for a day: a later tick that day runs it again only if data changed."""

    __tablename__ = "trigger_runs"
    __table_args__ = (UniqueConstraint("scenario_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(sa_column=Column(String(64), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))  # the trigger day in Japan
    ran_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # wall clock


class DataChange(SQLModel, table=True):
    """The last time customer data was written (imports, the events API): what a trigger run is compared with."""

    __tablename__ = "data_changes"

    scope: str = Field(sa_column=Column(String(32), primary_key=True))
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ScenarioControl(SQLModel, table=True):
    """Staff's switch for a scenario: paused (no one enters, nothing is sent) or running (no row, or not paused)."""

    __tablename__ = "scenario_controls"

    scenario_id: str = Field(sa_column=Column(String(64), primary_key=True))
    paused: bool = False
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    changed_by: str | None = Field(
        default=None, sa_column=Column(String(64))
    )  # who, for the audit (not a name)
