"""Consent history and opting out (配信停止): every change of a customer's permission on a channel, with where it
came from and the evidence that shows it (特定電子メール法 asks a sender to keep records of consent).

Every way of opting out ends here — the email's opt-out link or `List-Unsubscribe`, an SMS reply keyword or
link, LINE's "配信停止" postback, blocking the LINE account — so that it takes effect for every later send (the
delivery rules read the permission at send time) and is written once to the consent history with where it came
from. Transactional notices (a reservation confirmation) still need only an address.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bot.delivery.rules import CHANNEL_COLUMNS
from bot.platform import outbound
from bot.platform.runtime import current
from flows.dsl import Channel, Purpose
from models import ConsentEvent, CustomerChannels

CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
BLOCKED_SOURCE = "line:unfollow"


@dataclass(frozen=True)
class Evidence:
    """What shows a consent change was asked for: the imported file (name, SHA-256, line; the header is line 1),
    an API request (its body's SHA-256, the event's position) or the reference of the event that carried it."""

    file: str | None = None
    sha256: str | None = None
    line: int | None = None
    # what carried it: "webhook:<webhookEventId>", "delivery:<ledger id>", "api:<caller>:<key>", "sms:<id>"
    ref: str | None = None

    @classmethod
    def webhook(cls, webhook_event_id: str | None) -> Evidence:
        """A LINE event (follow, block, postback, a chat answer): LINE's `webhookEventId`."""
        return cls(ref=f"webhook:{webhook_event_id}" if webhook_event_id else None)

    @classmethod
    def delivery(cls, ledger_id: int) -> Evidence:
        """The message whose opt-out link was followed (its ledger row)."""
        return cls(ref=f"delivery:{ledger_id}")

    def at_line(self, line: int) -> Evidence:
        return replace(self, line=line)

    def columns(self) -> dict[str, Any]:
        ref = self.ref[:300] if self.ref else None
        return {
            "evidence_file": self.file,
            "evidence_sha256": self.sha256,
            "evidence_line": self.line,
            "evidence_ref": ref,
        }


def consent_row(
    customer_id: int,
    channel: Channel | str,
    granted: bool,
    at: datetime,
    source: str,
    evidence: Evidence,
    purpose: str = Purpose.MARKETING,
) -> dict[str, Any]:
    """One row of the consent history, with its evidence."""
    return {
        "customer_id": customer_id,
        "channel": str(channel),
        "purpose": str(purpose),
        "granted": granted,
        "occurred_at": at,
        "source": source[:64],
    } | evidence.columns()


def customers_on_line(connection: Connection, line_user_id: str) -> list[int]:
    statement = select(CHANNELS.c.customer_id).where(CHANNELS.c.line_user_id == line_user_id)
    return list(connection.execute(statement).scalars())


def opt_out(
    connection: Connection, customer_id: int, channel: Channel, source: str, at: datetime, evidence: Evidence
) -> bool:
    """Withdraw marketing permission on `channel`; False when it was not granted (nothing changes then)."""
    flag = CHANNELS.c[CHANNEL_COLUMNS[channel][1]]
    changed = connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == customer_id, flag.is_not(False))
        .values({flag: False, CHANNELS.c.updated_at: at})
    ).rowcount
    if not changed:
        return False
    connection.execute(
        CONSENT.insert().values(consent_row(customer_id, channel, False, at, source, evidence))
    )
    _tell_insurer(connection, customer_id, channel, False, source, at)
    return True


def restore_after_block(connection: Connection, customer_id: int, at: datetime, evidence: Evidence) -> bool:
    """A friend who unblocks us gets back the LINE permission that the block took away — and only that: a
    permission the insurer never had, or that the customer withdrew otherwise, stays withdrawn."""
    last = connection.execute(
        select(CONSENT.c.granted, CONSENT.c.source)
        .where(CONSENT.c.customer_id == customer_id, CONSENT.c.channel == str(Channel.LINE))
        .order_by(CONSENT.c.occurred_at.desc(), CONSENT.c.id.desc())
        .limit(1)
    ).first()
    if last is None or last.granted or last.source != BLOCKED_SOURCE:
        return False
    flag = CHANNELS.c[CHANNEL_COLUMNS[Channel.LINE][1]]
    connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == customer_id)
        .values({flag: True, CHANNELS.c.updated_at: at})
    )
    connection.execute(
        CONSENT.insert().values(consent_row(customer_id, Channel.LINE, True, at, "line:follow", evidence))
    )
    _tell_insurer(connection, customer_id, Channel.LINE, True, "line:follow", at)
    return True


def _tell_insurer(
    connection: Connection, customer_id: int, channel: Channel, granted: bool, source: str, at: datetime
) -> None:
    """A permission the customer changed here (not one the insurer's own files set): an outbound webhook."""
    data = {"channel": str(channel), "purpose": str(Purpose.MARKETING), "granted": granted, "source": source}
    outbound.record(connection, current().settings, "consent.changed", data, at, customer_id)
