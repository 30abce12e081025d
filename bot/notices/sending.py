"""A service notice list counted (the dry run), confirmed (the ledger rows) and reported back (the result file).

A notice is a broadcast (models.Broadcast, purpose transactional) whose recipients come from a list instead of a
segment: each matched row becomes one ledger row on the first channel of the ladder that can carry it (an address
on file; on LINE a friend who has not blocked us), with the row's own values as its merge fields and its line
in the file as its step (`line 12`). A list is known by its SHA-256: the same file confirmed again finds its
notice and writes nothing, and the ledger's unique (broadcast, customer, channel) keeps a crash and a retry from
sending twice. A notice due inside quiet hours waits for their end. Above BROADCAST_APPROVAL_THRESHOLD recipients
a second staff member approves, as for a broadcast.
"""

from __future__ import annotations

import csv
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from bot.customers.language import customer_locales
from bot.delivery.broadcast_plan import channel_policy
from bot.delivery.channels.sms_billing import Carrier, SmsTooLong, segments
from bot.delivery.content import Links, Template, load_fields, sms_text
from bot.delivery.reasons import read_reason
from bot.delivery.rules import NOBODY, choose_channels, load_reach
from bot.delivery.sms_receipts import monthly_price
from bot.notices.lists import SCENE, NoticeList, spelt
from bot.platform.config import Settings
from flows.dsl import Channel, Purpose
from flows.rules import in_quiet_hours, quiet_end
from models import Broadcast, BroadcastStatus, Customer, Delivery

BROADCASTS, DELIVERIES = Broadcast.__table__, Delivery.__table__
LADDER = "first_reachable:line,sms,email"


class NoticeRefused(ValueError):
    """The notice cannot be confirmed as asked (an approval missing, bad rows not skipped); nothing was written."""


@dataclass
class Figures:
    """The dry run: what the list becomes, counted the way the ledger will hold it."""

    rows: int = 0
    matched: int = 0
    unmatched: dict[str, int] = field(default_factory=dict)  # reason → rows (no personal data)
    recipients: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, int] = field(
        default_factory=dict
    )  # matched, but no channel of the ladder can carry it
    held_quiet_hours: int = 0
    sms_segments: int = 0
    sms_too_long: int = 0
    sms_yen: float | None = 0.0
    due_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Planned:
    figures: Figures
    recipients: dict[int, tuple[int, Channel]]  # line → (customer id, channel)
    unsent: dict[int, str]  # line → why it gets no notice
    due_at: datetime


def plan(
    connection: Connection, settings: Settings, notice: NoticeList, channels: str, now: datetime
) -> Planned:
    policy = channel_policy(channels)
    matched = notice.matched
    reach = load_reach(connection, [row.customer_id for row in matched])
    figures = Figures(
        rows=len(notice.rows), matched=len(matched), unmatched=dict(sorted(notice.unmatched.items()))
    )
    recipients: dict[int, tuple[int, Channel]] = {}
    unsent = {row.line: str(row.reason).split(":")[0] for row in notice.rows if row.customer_id is None}
    unreachable: Counter[str] = Counter()
    for row in matched:
        assert row.customer_id is not None
        chosen, passed = choose_channels(policy, Purpose.TRANSACTIONAL, reach.get(row.customer_id, NOBODY))
        if not chosen:
            why = next((r for r in passed.values() if r != "no_address"), "no_address")
            unreachable[why] += 1
            unsent[row.line] = why
            continue
        recipients[row.line] = (row.customer_id, chosen[0])
    rules = settings.delivery_rules()
    due = quiet_end(now, rules) if in_quiet_hours(now, rules) else now
    figures.recipients = len(recipients)
    figures.channels = dict(sorted(Counter(str(channel) for _, channel in recipients.values()).items()))
    figures.unreachable = dict(sorted(unreachable.items()))
    figures.held_quiet_hours = len(recipients) if due > now else 0
    figures.due_at = due.isoformat()
    _price_sms(connection, settings, notice, recipients, figures, now)
    return Planned(figures, recipients, unsent, due)


def _price_sms(
    connection: Connection,
    settings: Settings,
    notice: NoticeList,
    recipients: dict[int, tuple[int, Channel]],
    figures: Figures,
    now: datetime,
) -> None:
    """Each SMS rendered with its own values, billed as on the carrier that bills most (no receipt yet)."""
    texting = {line: customer for line, (customer, channel) in recipients.items() if channel is Channel.SMS}
    if not texting:
        return
    values = {row.line: row.values for row in notice.rows}
    locales = customer_locales(connection, texting.values(), settings.default_locale)
    rows = [
        SimpleNamespace(id=line, customer_id=customer, enrollment_id=None)
        for line, customer in texting.items()
    ]
    for row in rows:
        row.fields = spelt(values[row.id], locales[row.customer_id])
    fields = load_fields(connection, rows, locales, settings.scenarios)  # one look-up for the batch
    links = Links(settings.public_base_url, "x" * 22)
    for row in rows:
        template = Template(f"{SCENE}.{notice.template}", locales[row.customer_id])
        try:
            figures.sms_segments += segments(
                sms_text(template, fields[row.id], links, False, settings.sms_sender_label), Carrier.UNKNOWN
            )
        except SmsTooLong:
            figures.sms_too_long += 1
    negotiated = settings.sms_negotiated_price_yen
    price = Decimal(str(negotiated)) if negotiated is not None else None
    figures.sms_yen = (
        monthly_price(connection, figures.sms_segments, now, price) if figures.sms_segments else 0.0
    )


def existing(connection: Connection, notice: NoticeList) -> Any | None:
    """The notice already made from this very file (same template and SHA-256), if any."""
    return connection.execute(
        select(BROADCASTS).where(
            BROADCASTS.c.template == f"{SCENE}.{notice.template}", BROADCASTS.c.list_sha256 == notice.sha256
        )
    ).first()


def confirm(
    connection: Connection,
    settings: Settings,
    notice: NoticeList,
    channels: str,
    now: datetime,
    by: str,
    approved_by: str | None = None,
    skip_invalid: bool = False,
) -> tuple[int, int]:
    """Write the notice and its ledger rows: (its id, rows written). The same file again: its id and 0."""
    found = existing(connection, notice)
    if found is not None:
        return found.id, 0
    invalid = sum(count for reason, count in notice.unmatched.items() if reason == "invalid")
    if invalid and not skip_invalid:
        raise NoticeRefused(
            f"{invalid} rows are not valid: fix them, or send the good rows only (skip invalid)"
        )
    planned = plan(connection, settings, notice, channels, now)
    if planned.figures.recipients > settings.broadcast_approval_threshold and (
        not approved_by or approved_by == by
    ):
        raise NoticeRefused(
            f"{planned.figures.recipients} recipients is above the approval threshold"
            f" ({settings.broadcast_approval_threshold}): another staff member approves it"
        )
    counts = planned.figures.as_dict() | {
        "unsent": {str(line): why for line, why in sorted(planned.unsent.items())}
    }
    try:
        with connection.begin_nested():
            notice_id = connection.execute(
                insert(BROADCASTS)
                .values(
                    name=f"notice:{notice.template}:{notice.path.name}"[:128],
                    template=f"{SCENE}.{notice.template}",
                    purpose=Purpose.TRANSACTIONAL,
                    channels=channels,
                    status=BroadcastStatus.QUEUED,
                    send_at=planned.due_at,
                    created_by=by[:64],
                    confirmed_by=(approved_by or by)[:64],
                    list_sha256=notice.sha256,
                    counts=counts,
                    created_at=now,
                    updated_at=now,
                )
                .returning(BROADCASTS.c.id)
            ).scalar_one()
    except IntegrityError:  # confirmed at the same moment elsewhere: that one stands
        found = existing(connection, notice)
        if found is None:
            raise
        return found.id, 0
    values = {row.line: row.values for row in notice.rows}
    locales = customer_locales(
        connection, [c for c, _ in planned.recipients.values()], settings.default_locale
    )
    rows = [
        {
            "broadcast_id": notice_id,
            "customer_id": customer,
            "step": f"line {line}",
            "template": f"{SCENE}.{notice.template}",
            "channel": str(channel),
            "purpose": Purpose.TRANSACTIONAL,
            "status": "queued",
            "due_at": planned.due_at,
            "attempts": 0,
            "token": secrets.token_hex(11),
            "fields": spelt(values[line], locales[customer]),
            "created_at": now,
            "updated_at": now,
        }
        for line, (customer, channel) in sorted(planned.recipients.items())
    ]
    if rows:
        connection.execute(insert(DELIVERIES), rows)
    return notice_id, len(rows)


RESULT_HEADER = ["行", "顧客ID", "結果", "チャネル", "理由"]


def write_result(connection: Connection, notice_id: int, path: Path) -> Counter[str]:
    """The result file: one row per line of the list (sent, delivered, waiting, failed and why, not sent and
    why), the customer by 顧客ID only; UTF-8 with BOM for a spreadsheet. Returns the counts per result."""
    notice = connection.execute(select(BROADCASTS).where(BROADCASTS.c.id == notice_id)).one()
    customers = Customer.__table__
    ledger = connection.execute(
        select(
            DELIVERIES.c.step,
            DELIVERIES.c.channel,
            DELIVERIES.c.status,
            DELIVERIES.c.error,
            customers.c.customer_code,
        )
        .join(customers, customers.c.id == DELIVERIES.c.customer_id)
        .where(DELIVERIES.c.broadcast_id == notice_id)
    ).all()
    lines: dict[int, list[str]] = {}
    for step, channel, status, error, code in ledger:
        line = int(step.removeprefix("line "))
        lines[line] = [str(line), code or "", status, channel, _reason(error) if status == "failed" else ""]
    for line, why in (notice.counts or {}).get("unsent", {}).items():
        lines[int(line)] = [line, "", "not_sent", "", why]
    tally: Counter[str] = Counter(row[2] for row in lines.values())
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(RESULT_HEADER)
        writer.writerows(lines[line] for line in sorted(lines))
    return tally


def _reason(error: str | None) -> str:
    """The failure's codes only: a provider's own words may quote the address (an SMTP refusal)."""
    return ",".join(reason.code for reason in read_reason(error))
