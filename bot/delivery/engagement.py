"""Engagement on the delivery ledger: a message clicked (クリック), opened (開封) or tapped, and the one-click
opt-out (配信停止) of its links, recorded on the message's ledger row. The first signal wins: a later one
changes nothing, so the scenarios' branches see when the customer first reacted, and applying the same
signal twice (a redelivered or re-read buffer) has one effect.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, update

from bot.delivery.consent import Evidence, opt_out
from bot.platform.bulk import among
from flows.dsl import Channel
from models import Delivery

log = logging.getLogger(__name__)

DELIVERIES = Delivery.__table__
# Tokens are URL-safe random strings no longer than the column; anything else is refused before the database
# (PostgreSQL rejects NUL bytes in text, so a crafted URL must never reach a query).
TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{DELIVERIES.c.token.type.length}}}")
CHANNELS = frozenset(str(channel) for channel in Channel)
CLICK, OPEN, OPT_OUT = "click", "open", "opt_out"
_COLUMN = {CLICK: "clicked_at", OPEN: "opened_at"}


def valid_token(token: object) -> bool:
    """Whether `token` has the shape of a ledger token (checked before any query)."""
    return isinstance(token, str) and TOKEN.fullmatch(token) is not None


@dataclass(frozen=True)
class Signal:
    """What a tracking link told us: `kind` (click, open, opt_out) of the message `token` at `at` (UTC)."""

    kind: str
    token: str
    at: datetime

    def encode(self) -> str:
        return json.dumps({"kind": self.kind, "token": self.token, "at": self.at.isoformat()})

    @classmethod
    def decode(cls, line: str | bytes) -> Signal | None:
        """The signal of a stored line, or None for a line that is not one (never an exception)."""
        try:
            data = json.loads(line)
            signal = cls(data["kind"], data["token"], datetime.fromisoformat(data["at"]))
        except (ValueError, KeyError, TypeError):
            return None
        known = signal.kind in (CLICK, OPEN, OPT_OUT) and signal.at.tzinfo is not None
        return signal if known and valid_token(signal.token) else None


def mark_engaged(
    connection: Connection, criteria: list[ColumnElement[bool]], signal: str, at: datetime, now: datetime
) -> bool:
    """Set `signal` (opened_at, clicked_at, tapped_at) on the matching row if still empty; a click or a tap
    also marks the message opened. False when nothing changed (no such row, or already recorded)."""
    column = DELIVERIES.c[signal]
    values: dict[Any, Any] = {column: at, DELIVERIES.c.updated_at: now}
    if signal != "opened_at":
        values[DELIVERIES.c.opened_at] = func.coalesce(DELIVERIES.c.opened_at, at)
    statement = update(DELIVERIES).where(*criteria, column.is_(None)).values(values)
    return bool(connection.execute(statement).rowcount)


def find_delivery(connection: Connection, token: str) -> Any | None:
    """The ledger row (id, customer, channel) of a token, or None."""
    if not valid_token(token):
        return None
    statement = select(DELIVERIES.c.id, DELIVERIES.c.customer_id, DELIVERIES.c.channel).where(
        DELIVERIES.c.token == token
    )
    return connection.execute(statement).first()


def opt_out_by_link(connection: Connection, row: Any, at: datetime) -> bool:
    """The one-click opt-out of a message's link: withdraw the channel it came on. False when nothing changed."""
    channel = Channel(row.channel)
    changed = opt_out(connection, row.customer_id, channel, f"link:{channel}", at, Evidence.delivery(row.id))
    log.info("delivery=%s opt-out channel=%s changed=%s", row.id, channel, changed)
    return changed


def record_signals(connection: Connection, signals: Iterable[Signal], now: datetime) -> Counter[str]:
    """Apply kept signals in the order they happened; a repeated or unknown one changes nothing."""
    ordered = sorted(set(signals), key=lambda signal: (signal.at, signal.kind, signal.token))
    if not ordered:
        return Counter()
    statement = select(DELIVERIES.c.id, DELIVERIES.c.token, DELIVERIES.c.customer_id, DELIVERIES.c.channel)
    tokens = sorted({signal.token for signal in ordered})
    found = connection.execute(statement.where(among(connection, DELIVERIES.c.token, tokens)))
    rows = {row.token: row for row in found}
    outcomes: Counter[str] = Counter()
    for signal in ordered:
        row = rows.get(signal.token)
        if row is None or (signal.kind == OPT_OUT and row.channel not in CHANNELS):
            outcomes["unknown"] += 1
        elif signal.kind == OPT_OUT:
            outcomes["opt_out" if opt_out_by_link(connection, row, signal.at) else "unchanged"] += 1
        elif mark_engaged(connection, [DELIVERIES.c.id == row.id], _COLUMN[signal.kind], signal.at, now):
            outcomes[signal.kind] += 1
            log.info("delivery=%s %s recorded", row.id, "clicked" if signal.kind == CLICK else "opened")
        else:
            outcomes["unchanged"] += 1
    return outcomes
