"""Channel reach day by day (the seed 002 KPIs): how many people each channel could reach at the end of each of
the last 30 Japan days, built from dated history, so that a past written by an import, a backfill or the demo
shows as the trend it was, and a figure never jumps on the day a row was last rewritten.

Every KPI is a set of spans [since, until) per person, and a day counts the spans open at its end; the last
day is today's figure, the same count as a direct look at the tables now:
- LINE friends (LINE友だち): LINE users who followed this account, from the follow (`line_users.followed_at`)
  until a later block (`blocked_at`). Only LINE's own follow events make a friend here: a LINE ID that only
  the insurer's files report is not a friend until LINE says so. A friend who blocked and came back counts
  from the latest follow (the earlier spell is not kept).
- linked IDs (ID連携): customers linked now, from the link (`customer_channels.line_linked_at`, written by the
  account-link flow and backfilled from its records); a link only an imported file reports has no date and
  counts from the row's last change.
- mobile numbers with SMS permission, emails with permission: the consent history (`consent_events`, each grant
  open until the customer's next change on that channel, at the moment it occurred) of customers with the
  number / address on file now; a customer permitted now without any history counts from the row's last change.
- app users (the customer's `app_user` fact, bot.customers.facts): from their last app login, or the fact's
  last write when that is earlier (the service keeps no date of a first app use).
An erased customer (a tombstone, bot/privacy) keeps the flags and the consent history that counted, without the
addresses: they count as before up to the erasure (`customers.erased_at`) and not after it; their LINE user's
friend spell ends then too.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from bot.customers.facts import ACTIVITY
from flows.engine import TOKYO, japan_day
from models import (
    ConsentEvent,
    Customer,
    CustomerActivity,
    CustomerChannels,
    FriendStatus,
    LineUser,
    UTCDateTime,
)

CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
LINE_USERS = LineUser.__table__
CUSTOMERS = Customer.__table__
APP_DATES = CustomerActivity.__table__.alias("app_dates")  # where the app facts' dates are written
REACH_KPIS = ("line_friends", "line_linked", "sms_permitted", "email_permitted", "app_users")


def _moment(expression: Any) -> Any:
    return type_coerce(expression, UTCDateTime())


def _spans(since: Any, until: Any = None) -> tuple[Any, Any]:
    # an open end is a typed NULL: PostgreSQL reads a bare NULL in a subquery as text
    end = cast(null(), UTCDateTime()) if until is None else _moment(until)
    return _moment(since).label("since"), end.label("until")


def _line_friends() -> Select:
    following = LINE_USERS.c.friend_status == FriendStatus.FOLLOWING
    until = case((following, null()), else_=LINE_USERS.c.blocked_at)
    blocked_after = and_(
        LINE_USERS.c.friend_status == FriendStatus.BLOCKED, LINE_USERS.c.blocked_at > LINE_USERS.c.followed_at
    )
    return select(*_spans(LINE_USERS.c.followed_at, until)).where(
        LINE_USERS.c.followed_at.is_not(None), or_(following, blocked_after)
    )


def _erased(customer_id: Any) -> Any:
    """When the customer was erased (NULL: never): their spans end there."""
    return select(CUSTOMERS.c.erased_at).where(CUSTOMERS.c.id == customer_id).scalar_subquery()


def _until_erased(until: Any, erased: Any) -> Any:
    return case((and_(erased.is_not(None), or_(until.is_(None), erased < until)), erased), else_=until)


def _line_linked() -> Select:
    since = func.coalesce(CHANNELS.c.line_linked_at, CHANNELS.c.updated_at)
    return select(*_spans(since, _erased(CHANNELS.c.customer_id))).where(CHANNELS.c.line_linked.is_(True))


def _app_users() -> Select:
    mine = APP_DATES.c.customer_id == ACTIVITY.c.customer_id
    login = select(APP_DATES.c.app_last_login_at).where(mine).scalar_subquery()
    written = select(APP_DATES.c.updated_at).where(mine).scalar_subquery()
    known = select(CUSTOMERS.c.created_at).where(CUSTOMERS.c.id == ACTIVITY.c.customer_id).scalar_subquery()
    written = func.coalesce(written, known)
    since = case((and_(login.is_not(None), login < written), login), else_=written)
    return select(*_spans(since, _erased(ACTIVITY.c.customer_id))).where(ACTIVITY.c.app_user.is_(True))


def _permitted(channel: str, address: Any, permitted: Any) -> Any:
    """Grants from the consent history, each open until the customer's next change on the channel (or their
    erasure: a tombstone has no address, and kept only the history that counted)."""
    ordered = (
        select(
            CONSENT.c.customer_id,
            CONSENT.c.granted,
            CONSENT.c.occurred_at,
            func.lead(CONSENT.c.occurred_at)
            .over(partition_by=CONSENT.c.customer_id, order_by=(CONSENT.c.occurred_at, CONSENT.c.id))
            .label("next_at"),
        )
        .where(CONSENT.c.channel == channel)
        .subquery()
    )
    erased = CUSTOMERS.c.erased_at
    history = (
        select(*_spans(ordered.c.occurred_at, _until_erased(ordered.c.next_at, erased)))
        .select_from(
            ordered.join(CHANNELS, CHANNELS.c.customer_id == ordered.c.customer_id).join(
                CUSTOMERS, CUSTOMERS.c.id == ordered.c.customer_id
            )
        )
        .where(ordered.c.granted.is_(True), or_(address.is_not(None), erased.is_not(None)))
    )
    unrecorded = (
        select(*_spans(CHANNELS.c.updated_at, erased))
        .select_from(CHANNELS.join(CUSTOMERS, CUSTOMERS.c.id == CHANNELS.c.customer_id))
        .where(
            permitted.is_(True),
            or_(address.is_not(None), erased.is_not(None)),
            ~exists().where(CONSENT.c.customer_id == CHANNELS.c.customer_id, CONSENT.c.channel == channel),
        )
    )
    return union_all(history, unrecorded)


def kpi_spans(kpi: str) -> Any:
    """The spans of one KPI: (since, until) per person, until NULL while it lasts."""
    if kpi == "sms_permitted":
        return _permitted("sms", CHANNELS.c.sms_phone, CHANNELS.c.sms_permitted)
    if kpi == "email_permitted":
        return _permitted("email", CHANNELS.c.email_main, CHANNELS.c.email_permitted)
    return {"line_friends": _line_friends, "line_linked": _line_linked, "app_users": _app_users}[kpi]()


def japan_days(now: datetime, count: int) -> list[date]:
    today = japan_day(now)
    return [today - timedelta(days=count - 1 - n) for n in range(count)]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), TOKYO)


def reach(connection: Connection, now: datetime, days: int = 30) -> tuple[list[date], dict[str, list[int]]]:
    """The Japan days (oldest first) and, per KPI, the people counted at the end of each day."""
    calendar = japan_days(now, days)
    start, end = day_start(calendar[0]), day_start(calendar[-1] + timedelta(days=1))
    out: dict[str, list[int]] = {}
    for kpi in REACH_KPIS:
        spans = kpi_spans(kpi).subquery()
        open_at_start = or_(spans.c.until.is_(None), spans.c.until >= start)
        base = connection.execute(
            select(func.count()).select_from(spans).where(spans.c.since < start, open_at_start)
        ).scalar_one()
        within = or_(
            and_(spans.c.since >= start, spans.c.since < end),
            and_(spans.c.until >= start, spans.c.until < end),
        )
        changes = [0] * days
        for since, until in connection.execute(select(spans.c.since, spans.c.until).where(within)):
            if start <= since < end:
                changes[(japan_day(since) - calendar[0]).days] += 1
            if until is not None and start <= until < end and until > since:
                changes[(japan_day(until) - calendar[0]).days] -= 1
        running, series = base, []
        for change in changes:
            running += change
            series.append(running)
        out[kpi] = series
    return calendar, out
