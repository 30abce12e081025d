"""What the staff dashboard page shows: the figures of bot/staff/dashboard.py as table rows and SVG charts, every
word in the reader's language (`ui_dashboard.*`), scenario names whole (`scenario_view.names.*`), every
reason of a failure, a hold or a skip in words (bot/delivery/reasons.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from bot.delivery.reasons import read_reason
from bot.delivery.rules import CHANNELS, may_carry_marketing
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.staff import dashboard
from bot.staff.charts import Series, bar_chart, hbar_chart, line_chart
from bot.staff.ledger import CHANNEL_ORDER, ORIGINS
from flows.dsl import Channel, Scenario

STATUS_ORDER = ("queued", "held", "paused", "sent", "delivered", "failed")
CARRIER_ORDER = ("docomo", "au", "rakuten", "softbank", "not_reported")
KINDS = ("failed", "held", "skipped")
Texts = Callable[..., str]


def texts(locale: str) -> Texts:
    return lambda key, **fields: text(f"ui_dashboard.{key}", locale, **fields)


def channel_name(channel: str | None, locale: str) -> str:
    if channel in CHANNEL_ORDER:
        return text(f"tracking.channel.{channel}", locale)
    return text("ui_dashboard.problems.no_channel", locale)


def scenario_name(scenario: Scenario, locale: str) -> str:
    """#5 来店予約後の来店リマインドシナリオ: the number and the whole title, in the reader's language."""
    return f"#{scenario.number} {text(f'scenario_view.names.{scenario.id}', locale)}"


def reason_label(reason: str | None, locale: str) -> str:
    """quiet_hours, frequency_cap → 配信しない時間帯・配信回数の上限; not_sent: blocked → 送信せず：LINEでブロック…;
    a provider's own text inside the words that say it is one."""
    joiner = "・" if locale == "ja" else ", "
    return joiner.join(
        text(f"ui_dashboard.problems.reasons.{one.code}", locale, detail=one.detail)
        for one in read_reason(reason)
    )


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def figures(connection: Connection, settings: Settings, locale: str, now: datetime) -> dict[str, Any]:
    t = texts(locale)
    empty = t("no_data")
    negotiated = settings.sms_negotiated_price_yen
    return {
        **funnel_section(connection, settings, locale, t, empty),
        **ledger_section(connection, locale, t),
        **reach_section(connection, now, locale, t, empty),
        **sms_section(connection, now, t, empty, Decimal(str(negotiated)) if negotiated else None),
        **problem_section(connection, now, locale, t),
    }


def funnel_section(connection, settings: Settings, locale: str, t: Texts, empty: str) -> dict[str, Any]:
    found = dashboard.funnels(connection)
    rows = []
    for scenario in sorted(settings.scenarios.values(), key=lambda s: s.number):
        funnel = found.get(scenario.id, dashboard.Funnel())
        rows.append(
            {"name": scenario_name(scenario, locale), "funnel": funnel, "sent": sum(funnel.sent.values())}
        )
    shown = [row for row in rows if row["funnel"].entered]
    names = [row["name"] for row in shown]
    counts = [
        Series(t(f"funnel.{key}"), [value(row) for row in shown])
        for key, value in (
            ("entered", lambda r: r["funnel"].entered),
            ("held", lambda r: r["funnel"].held),
            ("sent", lambda r: r["sent"]),
            ("engaged", lambda r: r["funnel"].engaged),
            ("converted", lambda r: r["funnel"].converted + r["funnel"].held_converted),
            ("opted_out", lambda r: r["funnel"].opted_out),
        )
    ]
    channels = [
        Series(channel_name(c, locale), [r["funnel"].sent.get(c, 0) for r in shown]) for c in CHANNEL_ORDER
    ]
    rates = [
        Series(t("funnel.treated_rate"), [(row["funnel"].treated_rate or 0) * 100 for row in shown]),
        Series(t("funnel.control_rate"), [(row["funnel"].control_rate or 0) * 100 for row in shown]),
    ]
    for row in rows:
        treated, control = row["funnel"].treated_rate, row["funnel"].control_rate
        row["rates"] = (percent(treated), percent(control))
        row["difference"] = "—" if treated is None or control is None else f"{(treated - control) * 100:+.1f}"
    return {
        "funnel_rows": rows,
        "funnel_total": dashboard.scenario_sent(found),
        "channels": [(c, channel_name(c, locale)) for c in CHANNEL_ORDER],
        "funnel_charts": [
            hbar_chart(t("funnel.chart_counts"), names, counts, empty=empty),
            hbar_chart(t("funnel.chart_channels"), names, channels, stacked=True, empty=empty),
            hbar_chart(t("funnel.chart_rates"), names, rates, empty=empty, fmt=lambda v: f"{v:.1f}%"),
        ],
    }


def ledger_section(connection, locale: str, t: Texts) -> dict[str, Any]:
    rows = [
        {
            "channel": channel_name(channel, locale),
            "rows": one.rows,
            "statuses": [one.statuses.get(status, 0) for status in STATUS_ORDER],
            "sent": one.sent_total,
            "origins": [one.sent.get(origin, 0) for origin in ORIGINS],
        }
        for channel, one in dashboard.ledger(connection).items()
    ]
    return {
        "ledger_rows": rows,
        "ledger_statuses": [t(f"ledger.statuses.{status}") for status in STATUS_ORDER],
        "ledger_origins": [t(f"ledger.origins.{origin}") for origin in ORIGINS],
    }


def reachable_now(connection: Connection) -> dict[str, int]:
    """Customers each channel may carry a marketing message to now, by the rule the send job applies."""
    return {
        channel: connection.execute(
            select(func.count()).select_from(CHANNELS).where(may_carry_marketing(Channel(channel)))
        ).scalar_one()
        for channel in CHANNEL_ORDER
    }


def reach_section(connection, now: datetime, locale: str, t: Texts, empty: str) -> dict[str, Any]:
    days, series = dashboard.reach(connection, now)
    labels = [day.strftime("%m/%d") for day in days]
    lines = [Series(t(f"reach.{kpi}"), series[kpi]) for kpi in dashboard.REACH_KPIS]
    rows = [
        {"kpi": kpi, "name": t(f"reach.{kpi}"), "first": series[kpi][0], "last": series[kpi][-1]}
        for kpi in dashboard.REACH_KPIS
    ]
    reachable = reachable_now(connection)
    return {
        "reach_chart": line_chart(t("reach.chart"), labels, lines, empty=empty),
        "reach_rows": rows,
        "reach_first": days[0].strftime("%Y-%m-%d"),
        "reach_last": days[-1].strftime("%Y-%m-%d"),
        "reachable_rows": [(c, channel_name(c, locale), reachable[c]) for c in CHANNEL_ORDER],
    }


def sms_label(row: dashboard.SmsMonth, t: Texts) -> str:
    if row.kind == "billed":
        carrier = row.carrier or "not_reported"
        return t(f"sms.carriers.{carrier}") if carrier in CARRIER_ORDER else carrier
    return t(f"sms.kinds.{row.kind}")


def sms_section(
    connection, now: datetime, t: Texts, empty: str, negotiated: Decimal | None
) -> dict[str, Any]:
    found = dashboard.sms_months(connection, now, negotiated=negotiated)
    months = sorted({row.month for row in found})
    order = {c: n for n, c in enumerate(CARRIER_ORDER)}
    keys = sorted(
        {(row.kind, row.carrier) for row in found},
        key=lambda k: (k[0] != "billed", order.get(k[1] or "", len(order)), k[0], k[1] or ""),
    )
    by_key = {(row.month, row.kind, row.carrier): row for row in found}

    def series(field: str, keys_shown) -> list[Series]:
        out = []
        for kind, carrier in keys_shown:
            label = sms_label(dashboard.SmsMonth("", kind, carrier, 0, 0, None), t)
            values = [getattr(by_key.get((m, kind, carrier)), field, 0) or 0 for m in months]
            out.append(Series(label, values))
        return out

    billable = [key for key in keys if key[0] != "undelivered"]
    return {
        "sms_rows": [(row, sms_label(row, t), row.kind == "estimate") for row in found],
        "sms_charts": [
            bar_chart(
                t("sms.chart_segments"), months, series("segments", billable), stacked=True, empty=empty
            ),
            bar_chart(t("sms.chart_cost"), months, series("cost_yen", billable), stacked=True, empty=empty),
        ],
    }


def problem_section(connection, now: datetime, locale: str, t: Texts) -> dict[str, Any]:
    found = dashboard.problems(connection, now)
    labels: list[str] = []
    for problem in found:
        if reason_label(problem.reason, locale) not in labels:
            labels.append(reason_label(problem.reason, locale))
    totals = {(label, kind): 0 for label in labels for kind in KINDS}
    for problem in found:
        totals[(reason_label(problem.reason, locale), problem.kind)] += problem.count
    series = [
        Series(t(f"problems.kinds.{kind}"), [totals[(label, kind)] for label in labels]) for kind in KINDS
    ]
    rows = [
        {
            "kind": t(f"problems.kinds.{problem.kind}"),
            "channel": channel_name(problem.channel, locale),
            "reason": reason_label(problem.reason, locale),
            "count": problem.count,
        }
        for problem in found
    ]
    return {
        "problem_rows": rows,
        "problem_chart": hbar_chart(
            t("problems.chart"), labels, series, stacked=True, empty=t("problems.none")
        ),
    }
