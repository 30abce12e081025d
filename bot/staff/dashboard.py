"""The staff dashboard's figures (集計): each scenario's funnel (the same query as the admin chat's /stats), the
reach of each channel day by day, SMS segments and cost by carrier and month, and what failed or was held.

How channel reach is counted per day (the seed 002 KPIs; the last 30 Japan days, each day's figure as at its
end). Every KPI is a set of intervals [since, until) per person, and a day counts the intervals open at its end:
- LINE friends (LINE友だち): `line_users` — a friend from `followed_at`; one who blocked us after it only until
  `blocked_at`. A friend who blocked and came back counts from the latest follow (the earlier spell is lost).
- linked IDs (ID連携): customers linked now, from `customer_channels.updated_at` (the row's last change).
- mobile numbers with SMS permission, emails with permission: the consent history (`consent_events`, each grant
  open until the customer's next change on that channel) of customers with the number / address on file now;
  a customer permitted now without any history counts from `customer_channels.updated_at`.
- app users: customers flagged app users now (`customer_activity.app_user`), from their last app login or the
  flag's last write, whichever is earlier.
Dated by a row's last change, a figure may count someone later than they joined, never earlier; withdrawn
permissions and blocks lower the curve on the day they happened.
An erased customer (a tombstone, bot/privacy) keeps the flags and the consent history that counted, without the
addresses: they count as before up to the erasure (`customers.erased_at`) and not after it; their LINE user's
friend spell ends then too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from flows.dsl import Outcome
from flows.engine import TOKYO, japan_day
from models import (
    ConsentEvent,
    Customer,
    CustomerActivity,
    CustomerChannels,
    Delivery,
    DeliveryStatus,
    Enrollment,
    FriendStatus,
    LineUser,
    TraceEntry,
    UTCDateTime,
)

ENROLLMENTS = Enrollment.__table__
DELIVERIES = Delivery.__table__
CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
ACTIVITY = CustomerActivity.__table__
LINE_USERS = LineUser.__table__
TRACE = TraceEntry.__table__
CUSTOMERS = Customer.__table__
REACH_KPIS = ("line_friends", "line_linked", "sms_permitted", "email_permitted", "app_users")
UNKNOWN_CARRIER = "unknown"
REASON_LENGTH = 80  # a provider's error text is cut here: the chart groups by it


# ── the funnel (/stats) ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class Funnel:
    entered: int = 0
    held: int = 0
    converted: int = 0  # of those sent to
    held_converted: int = 0
    opted_out: int = 0
    engaged: int = 0
    sent: dict[str, int] = field(default_factory=dict)

    @property
    def treated(self) -> int:
        """Entrants not held out: the group messages were sent to."""
        return self.entered - self.held

    @property
    def treated_rate(self) -> float | None:
        return self.converted / self.treated if self.treated else None

    @property
    def control_rate(self) -> float | None:
        return self.held_converted / self.held if self.held else None


def funnels(connection: Connection, scenario_id: str | None = None) -> dict[str, Funnel]:
    """Per scenario since it started: entrants (held out or not), outcomes, messages sent per channel, and
    entrants who opened, clicked or tapped a message."""
    chosen = [ENROLLMENTS.c.scenario_id == scenario_id] if scenario_id else []
    out: dict[str, Funnel] = {}
    converted = func.sum(case((ENROLLMENTS.c.outcome == Outcome.CONVERTED, 1), else_=0))
    opted_out = func.sum(case((ENROLLMENTS.c.outcome == Outcome.OPTED_OUT, 1), else_=0))
    people = select(ENROLLMENTS.c.scenario_id, ENROLLMENTS.c.held_out, func.count(), converted, opted_out)
    for sid, held_out, count, won, left in connection.execute(
        people.where(*chosen).group_by(ENROLLMENTS.c.scenario_id, ENROLLMENTS.c.held_out)
    ):
        funnel = out.setdefault(sid, Funnel())
        funnel.entered += count
        funnel.opted_out += left or 0
        if held_out:
            funnel.held, funnel.held_converted = count, won or 0
        else:
            funnel.converted = won or 0
    joined = DELIVERIES.join(ENROLLMENTS, ENROLLMENTS.c.id == DELIVERIES.c.enrollment_id)
    sent = select(ENROLLMENTS.c.scenario_id, DELIVERIES.c.channel, func.count()).select_from(joined)
    for sid, channel, count in connection.execute(
        sent.where(DELIVERIES.c.sent_at.is_not(None), *chosen).group_by(
            ENROLLMENTS.c.scenario_id, DELIVERIES.c.channel
        )
    ):
        out.setdefault(sid, Funnel()).sent[channel] = count
    reacted = or_(*(c.is_not(None) for c in (DELIVERIES.c.opened_at, DELIVERIES.c.clicked_at)))
    reacted = or_(reacted, DELIVERIES.c.tapped_at.is_not(None))
    engaged = select(ENROLLMENTS.c.scenario_id, func.count(distinct(DELIVERIES.c.enrollment_id)))
    for sid, count in connection.execute(
        engaged.select_from(joined).where(reacted, *chosen).group_by(ENROLLMENTS.c.scenario_id)
    ):
        out.setdefault(sid, Funnel()).engaged = count
    return out


# ── channel reach per day ────────────────────────────────────────────────────────────────────────────────


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
    since = CHANNELS.c.updated_at
    return select(*_spans(since, _erased(CHANNELS.c.customer_id))).where(CHANNELS.c.line_linked.is_(True))


def _app_users() -> Select:
    login, written = ACTIVITY.c.app_last_login_at, ACTIVITY.c.updated_at
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


def _kpi_spans(kpi: str) -> Any:
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
        spans = _kpi_spans(kpi).subquery()
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


# ── SMS segments and cost ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SmsMonth:
    month: str  # YYYY-MM in Japan
    carrier: str  # bot.delivery.channels.sms_billing.Carrier, "unknown" when not stored
    messages: int
    segments: int  # billed after a receipt, the send's estimate before
    cost_yen: float  # billed (delivered) messages only


def _japan_month(connection: Connection, column: Any) -> Any:
    # Japan has no daylight saving time: +9 hours is Japan time all year round.
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+9 hours")


def sms_months(connection: Connection, now: datetime, months: int = 12) -> list[SmsMonth]:
    """SMS sent per Japan month (the last `months`) and carrier: messages, segments and billed cost."""
    first = japan_day(now).replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    stored = DELIVERIES.c.get("carrier")  # the receipt's carrier, where the ledger keeps it
    carrier = func.coalesce(stored, UNKNOWN_CARRIER) if stored is not None else literal(UNKNOWN_CARRIER)
    sent = (
        select(
            _japan_month(connection, DELIVERIES.c.sent_at).label("month"),
            carrier.label("carrier"),
            DELIVERIES.c.segments,
            DELIVERIES.c.cost_yen,
        )
        .where(DELIVERIES.c.channel == "sms", DELIVERIES.c.sent_at >= day_start(first))
        .subquery()  # grouped outside: PostgreSQL sees the bound values of an expression as new ones
    )
    grouped = (
        select(
            sent.c.month,
            sent.c.carrier,
            func.count().label("messages"),
            func.coalesce(func.sum(sent.c.segments), 0).label("segments"),
            func.coalesce(func.sum(sent.c.cost_yen), 0).label("cost"),
        )
        .group_by(sent.c.month, sent.c.carrier)
        .order_by(sent.c.month, sent.c.carrier)
    )
    return [
        SmsMonth(row.month, row.carrier, row.messages, int(row.segments), float(row.cost))
        for row in connection.execute(grouped)
    ]


# ── failed, held and skipped ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Problem:
    kind: str  # failed (a delivery failed), held (waiting: quiet hours, cap …), skipped (the rules sent nothing)
    channel: str | None
    reason: str  # a rule's code (quiet_hours, frequency_cap …), "no_channel", or the provider's error text
    count: int


def problems(connection: Connection, now: datetime, days: int = 7) -> list[Problem]:
    """Deliveries failed or held in the last `days` (by their error, a held one by the trace's reasons when
    it has none), and messages the rules did not send at all (the trace's skipped and not_sent)."""
    since = now - timedelta(days=days)
    held_reasons = (
        select(TRACE.c.details["reasons"].as_string())
        .where(
            TRACE.c.enrollment_id == DELIVERIES.c.enrollment_id,
            TRACE.c.step == DELIVERIES.c.step,
            TRACE.c.code == "held",
            TRACE.c.details["channel"].as_string() == DELIVERIES.c.channel,
        )
        .order_by(TRACE.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    reason = case(
        (DELIVERIES.c.status == DeliveryStatus.HELD, func.coalesce(DELIVERIES.c.error, held_reasons)),
        else_=DELIVERIES.c.error,
    )
    rows = (
        select(DELIVERIES.c.status, DELIVERIES.c.channel, reason.label("reason"))
        .where(
            DELIVERIES.c.status.in_([DeliveryStatus.FAILED, DeliveryStatus.HELD]),
            DELIVERIES.c.updated_at >= since,
        )
        .subquery()
    )
    found: dict[tuple[str, str | None, str], int] = defaultdict(int)
    grouped = select(rows.c.status, rows.c.channel, rows.c.reason, func.count()).group_by(
        rows.c.status, rows.c.channel, rows.c.reason
    )
    for status, channel, why, count in connection.execute(grouped):
        found[(str(status), channel, (why or "unknown")[:REASON_LENGTH])] += count
    not_sent = TRACE.c.code == "not_sent"
    decisions = (
        select(
            TRACE.c.details["channel"].as_string().label("channel"),
            case((not_sent, "no_channel"), else_=TRACE.c.details["reasons"].as_string()).label("reason"),
        )
        .where(TRACE.c.code.in_(["skipped", "not_sent"]), TRACE.c.at >= since, TRACE.c.at <= now)
        .subquery()
    )
    skipped = select(decisions.c.channel, decisions.c.reason, func.count()).group_by(
        decisions.c.channel, decisions.c.reason
    )
    for channel_name, why, count in connection.execute(skipped):
        found[("skipped", channel_name, (why or "unknown")[:REASON_LENGTH])] += count
    ordered = sorted(found.items(), key=lambda item: (-item[1], item[0][0], item[0][2]))
    return [Problem(kind, channel, why, count) for (kind, channel, why), count in ordered]
