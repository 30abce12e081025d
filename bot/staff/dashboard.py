"""The staff dashboard's figures (集計): each scenario's funnel (the same function as the admin chat's /stats), the
ledger per channel (the same function as `flask delivery status`: bot/staff/ledger.py), channel reach day by
day from dated history (bot/staff/reach.py), SMS segments and cost by month and carrier from the delivery
receipts, with an estimate for messages not yet receipted (bot/staff/sms_costs.py), and what failed, was held
or was skipped, by reason (bot/delivery/reasons.py names each reason).

"Sent" means one thing everywhere: the provider took the message (`sent_at` set). A scenario's sends are the
ledger's rows of its enrollments, so the funnels' sent per channel add up to the ledger's scenario share.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, distinct, func, or_, select

from bot.staff.ledger import ChannelLedger, ledger
from bot.staff.reach import REACH_KPIS, reach
from bot.staff.sms_costs import SmsMonth, sms_months
from flows.dsl import Outcome
from models import Delivery, DeliveryStatus, Enrollment, TraceEntry

__all__ = [
    "REACH_KPIS",
    "ChannelLedger",
    "Funnel",
    "Problem",
    "SmsMonth",
    "funnels",
    "ledger",
    "problems",
    "reach",
    "scenario_sent",
    "sms_months",
]

ENROLLMENTS = Enrollment.__table__
DELIVERIES = Delivery.__table__
TRACE = TraceEntry.__table__
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


def scenario_sent(figures: dict[str, Funnel]) -> dict[str, int]:
    """Messages sent per channel by all scenarios: the ledger's scenario share (ledger().sent["scenario"])."""
    total: dict[str, int] = defaultdict(int)
    for funnel in figures.values():
        for channel, count in funnel.sent.items():
            total[channel] += count
    return dict(total)


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
