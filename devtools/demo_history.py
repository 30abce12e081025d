"""`make demo`'s past: the weeks before the simulated days, written as dated history so that the dashboard's
channel reach chart shows the trend a live account would have, and so that its figures agree with each other.

The imported files say who has a LINE ID, who linked it, who allowed which channel and who uses the app, but not
since when: an import writes everything at once. Here each of those gets a moment in the `WEEKS` before the
demo's first day, the way the service would have recorded it live:
- every LINE ID on file is a LINE user who followed the account (`record_follow`, as the follow handler does):
  nobody is sent a LINE message without being a LINE user, and a linked customer is a friend;
- a few unlinked ones blocked it later (`record_unfollow` and the LINE permission withdrawn, as the unfollow
  handler does), so the friends curve dips where a real one would;
- a link is dated a few days after its follow (`customer_channels.line_linked_at`);
- the consent events the import wrote are dated when each permission was given (in their order);
- app users get a last login.
Everything is a pure function of the seed and the customer's id, and happens before the first simulated day.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from flows.engine import TOKYO
from models import ConsentEvent, CustomerActivity, CustomerChannels, utcnow

WEEKS = 7
BLOCKED_SHARE = 0.06  # of LINE users not linked
CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
ACTIVITY = CustomerActivity.__table__


@dataclass
class History:
    weeks: int = WEEKS
    followed: int = 0
    blocked: int = 0
    linked: int = 0
    consents: int = 0
    app_users: int = 0
    receipts: int = 0  # SMS delivery receipts during the simulated days (deliver_receipts)


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment between start and end, in Japan's waking hours (08:00–22:59)."""
    day = start.date() + timedelta(days=rng.randint(0, max((end - start).days - 1, 0)))
    moment = datetime.combine(day, time(rng.randint(8, 22), rng.randint(0, 59)), TOKYO)
    return min(max(moment, start), end)


def write_history(runtime: Any, first: date, cast: frozenset[str] = frozenset(), seed: int = 9) -> History:
    """Date the imported customers' LINE follows, links, consents and app use over the WEEKS before `first`.
    `cast` names LINE users whose story the demo tells itself: they follow, and never block here."""
    from bot.chat.reachability import record_follow, record_unfollow
    from bot.delivery.consent import BLOCKED_SOURCE, Evidence, opt_out
    from flows.dsl import Channel

    end = datetime.combine(first, time(), TOKYO) - timedelta(minutes=1)
    start = end - timedelta(weeks=WEEKS)
    done, now = History(), utcnow()
    with Session(runtime.engine) as session:
        connection = session.connection()
        on_line = connection.execute(
            select(CHANNELS.c.customer_id, CHANNELS.c.line_user_id, CHANNELS.c.line_linked)
            .where(CHANNELS.c.line_user_id.is_not(None))
            .order_by(CHANNELS.c.customer_id)
        ).all()
        followed_at: dict[int, datetime] = {}
        for customer_id, line_user_id, linked in on_line:
            rng = _rng(seed, "line", line_user_id)  # the same past whatever ids the database hands out
            at = _moment(rng, start, end - timedelta(days=3))
            record_follow(session, line_user_id, at, now)
            followed_at[customer_id] = at
            done.followed += 1
            if linked:
                when = min(at + timedelta(days=rng.randint(0, 10), hours=rng.randint(0, 5)), end)
                connection.execute(
                    update(CHANNELS).where(CHANNELS.c.customer_id == customer_id).values(line_linked_at=when)
                )
                done.linked += 1
            elif rng.random() < BLOCKED_SHARE and line_user_id not in cast:
                gone = min(at + timedelta(days=rng.randint(1, 14)), end)
                record_unfollow(session, line_user_id, gone, now)
                opt_out(
                    connection, customer_id, Channel.LINE, BLOCKED_SOURCE, gone, Evidence(ref="demo:block")
                )
                done.blocked += 1
        session.flush()
        done.consents = _date_consents(connection, seed, start, end, followed_at)
        done.app_users = _date_app_use(connection, seed, start, end)
        session.commit()
    return done


def _date_consents(
    connection: Any, seed: int, start: datetime, end: datetime, followed_at: dict[int, datetime]
) -> int:
    """The import's consent events, dated when each permission was given: a LINE one at the follow, the others
    somewhere in the weeks; a customer's later changes on a channel a day apart, in their order."""
    events = connection.execute(
        select(CONSENT.c.id, CONSENT.c.customer_id, CONSENT.c.channel, CONSENT.c.occurred_at)
        .where(CONSENT.c.source.like("import:%"))
        .order_by(CONSENT.c.customer_id, CONSENT.c.channel, CONSENT.c.id)
    ).all()
    per_channel: dict[tuple[int, str], list[int]] = defaultdict(list)
    for event in events:
        per_channel[(event.customer_id, event.channel)].append(event.id)
    for (customer_id, channel), ids in per_channel.items():
        rng = _rng(seed, "consent", customer_id, channel)
        latest = end - timedelta(days=len(ids))
        at = followed_at.get(customer_id) if channel == "line" else None
        at = min(at or _moment(rng, start, latest), latest)
        for n, event_id in enumerate(ids):
            moment = at + timedelta(days=n)
            connection.execute(update(CONSENT).where(CONSENT.c.id == event_id).values(occurred_at=moment))
    return len(events)


def _date_app_use(connection: Any, seed: int, start: datetime, end: datetime) -> int:
    users = connection.execute(
        select(ACTIVITY.c.customer_id).where(
            ACTIVITY.c.app_user.is_(True), ACTIVITY.c.app_last_login_at.is_(None)
        )
    ).scalars()
    count = 0
    for customer_id in list(users):
        at = _moment(_rng(seed, "app", customer_id), start, end)
        connection.execute(
            update(ACTIVITY)
            .where(ACTIVITY.c.customer_id == customer_id)
            .values(app_last_login_at=at, updated_at=at)
        )
        count += 1
    return count


CARRIERS = (("docomo", 40), ("au", 27), ("softbank", 20), ("rakuten", 8), (None, 5))  # None: not reported
UNDELIVERED_SHARE = 0.04


def deliver_receipts(
    runtime: Any, moment: datetime, cast: frozenset[str] = frozenset(), seed: int = 9
) -> int:
    """What the SMS gateway reports during the demo: each SMS's delivery receipt, 10 minutes to a day and a
    half after it was sent (a phone switched off reports late), naming the carrier or not, a few undelivered
    (never the `cast`'s, 顧客IDs whose story the timeline tells); applied as the receipt endpoint does
    (bot/delivery/sms_receipts.py). Those not yet due stay estimates."""
    from bot.delivery.channels.sms_billing import Carrier
    from bot.delivery.sms_receipts import Receipt, apply_receipt
    from models import Customer, Delivery

    table, people = Delivery.__table__, Customer.__table__
    negotiated = runtime.settings.sms_negotiated_price_yen
    price = None if negotiated is None else Decimal(str(negotiated))
    applied = 0
    with runtime.engine.begin() as connection:
        waiting = connection.execute(
            select(table.c.provider_id, table.c.sent_at, people.c.customer_code)
            .join(people, people.c.id == table.c.customer_id)
            .where(table.c.channel == "sms", table.c.status == "sent", table.c.provider_id.is_not(None))
            .order_by(table.c.id)
        ).all()
        for row in waiting:
            rng = _rng(seed, "receipt", row.provider_id)
            if row.sent_at + timedelta(minutes=rng.randint(10, 36 * 60)) > moment:
                continue
            names, weights = zip(*CARRIERS, strict=True)
            carrier = rng.choices(names, weights)[0]
            delivered = rng.random() >= UNDELIVERED_SHARE or row.customer_code in cast
            receipt = Receipt(
                row.provider_id,
                delivered=delivered,
                carrier=Carrier(carrier) if carrier else Carrier.UNKNOWN,
                error=None if delivered else "absent_subscriber",
            )
            applied += apply_receipt(connection, receipt, moment, price)
    return applied
