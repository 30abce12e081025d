"""Delivery rules at send time: which of a message's channels may carry it to this customer now.

Permission is checked again when the message is due, not only at entry, so a customer who unsubscribed after
entering gets nothing more (the deck's N-unsub). Marketing needs the channel's permission flag; transactional
notices need only an address. A blocked LINE friend is unreachable on LINE for both.

Quiet hours, the frequency cap and same-day uniqueness (flows/rules.py) need the customer's recent marketing
sends: `load_history` reads them for a whole batch at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, select, true

from bot.customers.facts import CHANNELS
from bot.platform.bulk import among, chunks, select_each
from flows.dsl import Channel, ChannelPolicy, Pick, Purpose
from flows.engine import japan_day
from models import ACTIVE_HANDOVER, Delivery, DeliveryStatus, FriendStatus, Handover, LineUser

DELIVERIES = Delivery.__table__
HANDOVERS = Handover.__table__
IN_HANDOVER = "in_handover"
# marketing held by a hand-over is looked at again this often; releasing the hand-over sends it at once
HANDOVER_RECHECK = timedelta(hours=1)

LINE_USERS = LineUser.__table__
CHANNEL_COLUMNS = {  # each channel's address column and its marketing-permission column
    Channel.EMAIL: ("email_main", "email_permitted"),
    Channel.LINE: ("line_user_id", "line_permitted"),
    Channel.SMS: ("sms_phone", "sms_permitted"),
    Channel.PUSH: ("fcm_token", "push_permitted"),
}


@dataclass(frozen=True)
class Reach:
    """Per channel: an address on file, the marketing permission, and (LINE) whether the friend blocked us."""

    addressed: frozenset[Channel]
    permitted: frozenset[Channel]
    line_blocked: bool = False
    addresses: Mapping[Channel, str] = field(default_factory=dict, compare=False)  # for the sender only


NOBODY = Reach(frozenset(), frozenset())


def load_reach(connection: Connection, customer_ids: Iterable[int]) -> dict[int, Reach]:
    ids = list(set(customer_ids))
    found: dict[int, Reach] = {}
    channels = list(CHANNEL_COLUMNS.items())
    statement = select(
        CHANNELS.c.customer_id,
        LINE_USERS.c.friend_status,
        *(CHANNELS.c[address] for _, (address, _) in channels),
        *(CHANNELS.c[flag] for _, (_, flag) in channels),
    ).outerjoin(LINE_USERS, LINE_USERS.c.line_user_id == CHANNELS.c.line_user_id)
    count = len(channels)
    for chunk in chunks(connection, ids):
        for row in connection.execute(statement.where(among(connection, CHANNELS.c.customer_id, chunk))):
            addresses, flags = row[2 : 2 + count], row[2 + count :]
            found[row[0]] = Reach(
                addressed=frozenset(c for (c, _), address in zip(channels, addresses) if address),
                permitted=frozenset(c for (c, _), flag in zip(channels, flags) if flag is True),
                line_blocked=row[1] == FriendStatus.BLOCKED,
                addresses={c: address for (c, _), address in zip(channels, addresses)},
            )
    return found


def refusal(channel: Channel, purpose: Purpose, reach: Reach) -> str | None:
    """Why `channel` may not carry the message (no_address, no_consent, blocked), or None if it may."""
    if channel not in reach.addressed:
        return "no_address"
    if channel is Channel.LINE and reach.line_blocked:
        return "blocked"
    if purpose is Purpose.MARKETING and channel not in reach.permitted:
        return "no_consent"
    return None


def may_carry_marketing(channel: Channel) -> ColumnElement[bool]:
    """`refusal(channel, MARKETING, reach) is None` in SQL, over customer_channels: an address (neither missing
    nor empty, as `load_reach` reads it), the permission, and on LINE a friend who has not blocked us."""
    address, permitted = CHANNEL_COLUMNS[channel]
    allowed = and_(CHANNELS.c[permitted].is_(true()), CHANNELS.c[address] != "")
    if channel is not Channel.LINE:
        return allowed
    blocked = select(LINE_USERS.c.id).where(
        LINE_USERS.c.line_user_id == CHANNELS.c.line_user_id,
        LINE_USERS.c.friend_status == FriendStatus.BLOCKED,
    )
    return and_(allowed, ~blocked.exists())


def choose_channels(
    policy: ChannelPolicy, purpose: Purpose, reach: Reach
) -> tuple[list[Channel], dict[str, str]]:
    """The channels to use, and for each channel passed over, why."""
    chosen: list[Channel] = []
    passed: dict[str, str] = {}
    for channel in policy.channels:
        reason = refusal(channel, purpose, reach)
        if reason:
            passed[str(channel)] = reason
            continue
        chosen.append(channel)
        if policy.pick is not Pick.ALL_PERMITTED:
            break
    return chosen, passed


@dataclass
class History:
    """Marketing sends around now: per customer their moments; per (customer, template, channel) their days."""

    sends: dict[int, list[datetime]] = field(default_factory=dict)
    days: dict[tuple[int, str, str], set[date]] = field(default_factory=dict)


def load_history(connection: Connection, customer_ids: Iterable[int], now: datetime) -> History:
    """The customers' marketing deliveries (not failed) due from a week before `now` to two weeks after."""
    ids = list(set(customer_ids))
    history = History()
    statement = select(
        DELIVERIES.c.customer_id,
        DELIVERIES.c.template,
        DELIVERIES.c.channel,
        DELIVERIES.c.step,
        DELIVERIES.c.enrollment_id,
        DELIVERIES.c.broadcast_id,
        DELIVERIES.c.due_at,
    ).where(
        DELIVERIES.c.purpose == Purpose.MARKETING,
        DELIVERIES.c.status != DeliveryStatus.FAILED,
        DELIVERIES.c.due_at >= now - timedelta(days=7),
        DELIVERIES.c.due_at <= now + timedelta(days=14),
    )
    seen: set[tuple[int, int | None, int | None, str]] = set()
    for customer_id, template, channel, step, enrollment_id, broadcast_id, due_at in select_each(
        connection, statement, DELIVERIES.c.customer_id, ids
    ):
        message = (customer_id, enrollment_id, broadcast_id, step)
        if message not in seen:  # one message on several channels counts once
            seen.add(message)
            history.sends.setdefault(customer_id, []).append(due_at)
        history.days.setdefault((customer_id, template, channel), set()).add(japan_day(due_at))
    return history


def in_handover(connection: Connection, customer_ids: Iterable[int]) -> set[int]:
    """The customers whose conversation a person has (a hand-over open or held): their marketing waits."""
    ids = list(set(customer_ids))
    found: set[int] = set()
    statement = select(HANDOVERS.c.customer_id).where(
        HANDOVERS.c.status.in_([str(s) for s in ACTIVE_HANDOVER])
    )
    for chunk in chunks(connection, ids):
        found.update(
            connection.execute(statement.where(among(connection, HANDOVERS.c.customer_id, chunk))).scalars()
        )
    return found
