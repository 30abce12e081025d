"""The ID連携 login's own records and the security log: link tokens this service asked LINE for (連携トークン),
one-time codes sent to the phone or email on file (認証コード), and every refusal of the login page.

Nothing here holds a value that could complete a step: link tokens and codes are stored as digests (codes keyed
with the service's secret, as six digits are quick to try against a plain hash).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.customer import customer_fk


class LinkToken(SQLModel, table=True):
    """A link token LINE issued to us for one LINE user (10 minutes, single use): the login page takes no other."""

    __tablename__ = "link_tokens"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))  # SHA-256 of LINE's link token
    line_user_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class VerificationCode(SQLModel, table=True):
    """A one-time code of a link login (認証コード): sent to the customer's phone or email on file when the
    顧客ID and contact matched; a login that matched nobody gets a row too, whose code nobody was sent, so that
    the page answers both alike and never tells whose details an attacker guessed right."""

    __tablename__ = "verification_codes"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(
        sa_column=Column(String(64), ForeignKey("link_tokens.token_hash", ondelete="CASCADE"), index=True)
    )
    customer_id: int | None = Field(default=None, sa_column=customer_fk(nullable=True))
    channel: str | None = Field(default=None, sa_column=Column(String(8)))  # sms or email; None: not sent
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))  # HMAC-SHA256 with the secret
    tries: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SecurityEvent(SQLModel, table=True):
    """A refusal at a public form (the ID連携 login page): what was refused and why, never who typed what.
    Append-only: PostgreSQL refuses UPDATE and DELETE. `subject` is a keyed digest of the client address, so
    staff can see one source spraying without the table holding addresses."""

    __tablename__ = "security_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))  # e.g. link_login, link_code, link_bind
    reason: str = Field(sa_column=Column(String(48), nullable=False))  # e.g. limit:contact, wrong_code
    customer_id: int | None = Field(default=None, sa_column=customer_fk(nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(String(32)))
