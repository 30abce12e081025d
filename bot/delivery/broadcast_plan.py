"""Who a broadcast reaches and its dry-run figures: the segment (filters over the scenarios' facts), the
channel each customer gets under the delivery rules, the exclusions by reason, quiet hours at the send moment,
LINE messages, and SMS segments and cost."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, select

from bot.customers.derived import per_customer
from bot.customers.facts import CUSTOMERS, ENTITIES, ONE_PER_CUSTOMER, column_of
from bot.delivery.broadcasts import parse_channels, personalised
from bot.delivery.channels.line import MULTICAST_LIMIT
from bot.delivery.channels.sms_billing import Carrier, SmsTooLong, segments
from bot.delivery.content import Links, Template, load_fields, sms_text
from bot.delivery.rules import NOBODY, choose_channels, load_history, load_reach
from bot.delivery.sms_receipts import monthly_price
from bot.platform.config import Settings
from flows.dsl import Channel, ChannelPolicy, Pick, Purpose
from flows.rules import judge
from models import Broadcast, Delivery

log = logging.getLogger(__name__)
BROADCASTS = Broadcast.__table__
DELIVERIES = Delivery.__table__
SHARED_TOKEN = "0" * 22  # as long as a broadcast row's token: the SMS estimate counts its links' characters


# ── the segment and who of it the broadcast reaches ──────────────────────────────────────────────────────


def segment(filters: dict[str, Any] | None) -> Select:
    """The ids of the customers matching every filter: a customer's own facts directly; of their records
    (reservations, quotes …), one record matching every filter on it."""
    joined = per_customer()
    where: list[ColumnElement[bool]] = []
    records: dict[str, list[ColumnElement[bool]]] = {}
    for fact, value in (filters or {}).items():
        entity = fact.partition(".")[0]
        if entity in ONE_PER_CUSTOMER:
            where.append(condition(fact, value))
        else:
            records.setdefault(entity, []).append(condition(fact, value))
    for entity, conditions in records.items():
        table = ENTITIES[entity]
        where.append(
            select(table.c.customer_id).where(table.c.customer_id == CUSTOMERS.c.id, *conditions).exists()
        )
    return select(CUSTOMERS.c.id).select_from(joined).where(*where).order_by(CUSTOMERS.c.id)


def condition(fact: str, value: Any) -> ColumnElement[bool]:
    """`fact = value`; false also matches a fact never recorded (as the scenarios' is_false does)."""
    column = column_of(fact)
    if isinstance(value, bool):
        return column.is_(True) if value else column.is_not(True)
    return column == (date.fromisoformat(value) if column.type.python_type is date else value)


def channel_policy(spec: str) -> ChannelPolicy:
    """ "first_reachable:line,sms,email" or "only:sms" → the policy (ValueError for anything else)."""
    return ChannelPolicy(Pick(spec.partition(":")[0]), parse_channels(spec))


@dataclass
class Plan:
    """Whom a broadcast reaches at a moment (on which channel), and why the others are left out."""

    recipients: dict[int, Channel] = field(default_factory=dict)
    excluded: Counter[str] = field(default_factory=Counter)  # no_address, no_consent, blocked, capped
    held: int = 0  # marketing recipients whom quiet hours hold at the send moment


def plan(connection: Connection, settings: Settings, broadcast: Any, moment: datetime) -> Plan:
    ids = list(connection.execute(segment(broadcast.filters)).scalars())
    policy, purpose = channel_policy(broadcast.channels), Purpose(broadcast.purpose)
    reach = load_reach(connection, ids)
    marketing = purpose is Purpose.MARKETING
    history = load_history(connection, ids, moment) if marketing else None
    rules = settings.delivery_rules()
    found = Plan()
    for customer_id in ids:
        chosen, passed = choose_channels(policy, purpose, reach.get(customer_id, NOBODY))
        if not chosen:  # named by the first channel with an address: blocked on LINE, no consent for SMS …
            found.excluded[next((r for r in passed.values() if r != "no_address"), "no_address")] += 1
            continue
        if history is not None:
            verdict = judge(moment, history.sends.get(customer_id, []), (), rules)
            if "frequency_cap" in verdict.reasons:
                found.excluded["capped"] += 1
                continue
            found.held += "quiet_hours" in verdict.reasons
        found.recipients[customer_id] = chosen[0]
    return found


def figures(
    connection: Connection, settings: Settings, broadcast: Any, found: Plan, now: datetime
) -> dict[str, Any]:
    """The dry run: recipients per channel, exclusions by reason, LINE messages (a multicast to 500 friends
    costs the quota 500, as 500 pushes do) and the SMS segments and price."""
    by_channel = Counter(str(channel) for channel in found.recipients.values())
    line = by_channel.get(Channel.LINE, 0)
    shared = not personalised(broadcast.template, "ja")
    texting = [customer for customer, channel in found.recipients.items() if channel is Channel.SMS]
    billed, too_long = _sms_segments(connection, settings, broadcast, texting)
    negotiated = settings.sms_negotiated_price_yen
    price = Decimal(str(negotiated)) if negotiated is not None else None
    return {
        "recipients": len(found.recipients),
        "channels": dict(sorted(by_channel.items())),
        "excluded": dict(sorted(found.excluded.items())),
        "held_quiet_hours": found.held,
        "line_messages": line,
        "line_requests": -(-line // MULTICAST_LIMIT) if shared else line,
        "line_multicast": shared,
        "sms_messages": len(texting),
        "sms_segments": billed,
        "sms_too_long": too_long,
        # tax excluded, at this month's tier; None above 100,000 a month with no negotiated price
        "sms_yen": monthly_price(connection, billed, now, price) if billed else 0.0,
    }


def _sms_segments(
    connection: Connection, settings: Settings, broadcast: Any, customer_ids: list[int]
) -> tuple[int, int]:
    """(billable segments, messages over 660 characters): no carrier is known before a receipt names it, so
    each SMS is billed as on the carrier that bills most (sms_billing's documented default)."""
    if not customer_ids:
        return 0, 0
    locale = settings.default_locale
    template = Template(broadcast.template, locale)
    shared = not personalised(broadcast.template, locale)
    rows = [
        SimpleNamespace(id=c, customer_id=c, enrollment_id=None)
        for c in customer_ids[: 1 if shared else None]
    ]
    fields = load_fields(connection, rows, locale, settings.scenarios)
    links, marketing = Links(settings.public_base_url, SHARED_TOKEN), broadcast.purpose == Purpose.MARKETING
    billed = too_long = 0
    for row in rows:
        try:
            message = sms_text(template, fields[row.id], links, marketing, settings.sms_sender_label)
            billed += segments(message, Carrier.UNKNOWN)
        except SmsTooLong:
            too_long += 1
    weight = len(customer_ids) if shared else 1  # the same text for everyone: counted once
    return billed * weight, too_long * weight
