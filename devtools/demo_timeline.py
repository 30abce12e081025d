"""The demo's timeline: what happened to whom, read back from the ledger, the enrollments and the trace, and
printed in Japanese and English (`make demo`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.platform.i18n import text
from flows.engine import TOKYO
from models import SENT_OR_DELIVERED, Customer, Delivery, Enrollment, TraceEntry

CODES = ("DEMO0001", "DEMO0002", "DEMO0003", "DEMO0004")
LOCALES = ("ja", "en")


@dataclass
class Entry:
    """One line of the timeline: a moment, whose story it is (顧客ID), and its text in each language."""

    at: datetime
    who: str
    kind: str  # story, sent, fallback, held, queued, failed, paused, converted, exit
    texts: dict[str, str]


@dataclass
class Demo:
    first: date
    last: date
    files: dict[str, int] = field(default_factory=dict)  # file → rows imported
    entries: list[Entry] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # 顧客ID → name, for the cast
    summary: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # the demo had run on this database: its timeline is read back, nothing run again
    history: Any = None  # devtools.demo_history.History: the dated past written before the simulated days


def entry_texts(key: str, scenario: Any = None, channel: str = "", passed: dict | None = None, **fields: Any):
    """{locale: text} of `demo.<key>`, with the scenario, channel, outcome and passed-over channels named in
    each language (a scenario by its number and whole name)."""
    out = {}
    for locale in LOCALES:
        named = dict(fields)
        if scenario is not None:
            named["scenario"] = f"#{scenario.number} " + text(f"scenario_view.names.{scenario.id}", locale)
        if channel:
            named["channel"] = text(f"tracking.channel.{channel}", locale)
        if passed:
            named["passed"] = ", ".join(
                text("demo.passed_item", locale, channel=text(f"tracking.channel.{c}", locale),
                     reason=text(f"trace.reason.{reason}", locale))
                for c, reason in passed.items()
            )  # fmt: skip
        if "outcome" in named:
            named["outcome"] = text(f"demo.outcome.{named['outcome']}", locale)
        out[locale] = text(f"demo.{key}", locale, **named)
    return out


def _label(template: str, step: str) -> str:
    """A step as the deck names it: A, A' (the re-send), B …"""
    return template.rsplit(".", 1)[-1].upper() + ("'" if step.endswith("2") else "")


def read_timeline(runtime: Any) -> tuple[list[Entry], dict[str, str]]:
    """The cast's messages (with any channel passed over for a reason other than a missing address) and how
    their scenarios ended; and the cast's names."""
    scenarios = runtime.settings.scenarios
    with runtime.engine.connect() as connection:
        people = connection.execute(
            select(Customer.id, Customer.customer_code, Customer.family_name, Customer.given_name)
            .where(Customer.customer_code.in_(CODES))
        ).all()  # fmt: skip
        ids = [row.id for row in people]
        rows = connection.execute(
            select(Delivery, Enrollment.scenario_id)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .where(Delivery.customer_id.in_(ids))
        ).all()
        trace = connection.execute(
            select(TraceEntry).where(TraceEntry.customer_id.in_(ids), TraceEntry.code == "queued")
        ).all()
        ended = connection.execute(
            select(Enrollment).where(Enrollment.customer_id.in_(ids), Enrollment.outcome.is_not(None))
        ).all()
    code = {row.id: row.customer_code for row in people}
    passed = {(t.enrollment_id, t.step): (t.details or {}).get("passed_over") or {} for t in trace}
    entries = []
    for row in rows:
        skipped = {
            c: r for c, r in passed.get((row.enrollment_id, row.step), {}).items() if r != "no_address"
        }
        kind = ("fallback" if skipped else "sent") if row.status in SENT_OR_DELIVERED else str(row.status)
        texts = entry_texts(
            kind, scenarios.get(row.scenario_id), row.channel, skipped, step=_label(row.template, row.step)
        )
        entries.append(Entry(row.sent_at or row.due_at, code[row.customer_id], kind, texts))
    for row in ended:
        kind = "converted" if row.outcome == "converted" else "exit"
        texts = entry_texts(kind, scenarios.get(row.scenario_id), outcome=row.outcome)
        entries.append(Entry(row.updated_at, code[row.customer_id], kind, texts))
    return entries, {row.customer_code: f"{row.family_name} {row.given_name}" for row in people}


def read_summary(runtime: Any) -> list[dict[str, Any]]:
    """Per scenario, everyone included: entered, messages sent by channel, converted: the figures of the
    dashboard's funnel and the admin chat's /stats (one function, bot.staff.dashboard.funnels)."""
    from bot.staff.dashboard import funnels

    with runtime.engine.connect() as connection:
        found = funnels(connection)
    scenarios = runtime.settings.scenarios
    rows = [
        {"scenario": scenarios[sid], "entered": funnel.entered, "converted": funnel.converted + funnel.held_converted,
         **{channel: funnel.sent.get(channel, 0) for channel in ("line", "sms", "email", "push")}}
        for sid, funnel in found.items() if sid in scenarios and funnel.entered
    ]  # fmt: skip
    return sorted(rows, key=lambda row: row["scenario"].number)


def _width(value: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def render(demo: Demo, locales: tuple[str, ...] = LOCALES, data_dir: Path = Path("var")) -> list[str]:
    """The timeline as printed: each line in every language asked for, Japanese first."""

    def say(key: str, **fields: Any) -> list[str]:
        return [("  " if i else "") + text(f"demo.{key}", loc, **fields) for i, loc in enumerate(locales)]

    lines = say("title", first=demo.first.isoformat(), last=demo.last.isoformat())
    files = ", ".join(f"{name} ({count})" for name, count in demo.files.items())
    lines += say("replayed", data_dir=data_dir) if demo.replayed else say("loaded", files=files)
    if demo.history is not None:
        lines += say("history", **vars(demo.history))
    day = None
    for entry in demo.entries:
        local = entry.at.astimezone(TOKYO)
        if local.date() != day:
            day = local.date()
            lines += ["", f"── {day.isoformat()} ──"]
        head = f"  {local:%H:%M}  {demo.names.get(entry.who, entry.who)}  "
        lines += [head + entry.texts[locales[0]]]
        lines += [" " * _width(head) + entry.texts[locale] for locale in locales[1:]]
    lines += ["", *say("summary")]
    for row in demo.summary:
        for i, locale in enumerate(locales):
            texts = entry_texts(
                "summary_row", row["scenario"], **{k: v for k, v in row.items() if k != "scenario"}
            )
            lines.append(("      " if i else "  ") + texts[locale])
    return [*lines, "", *say("next", data_dir=data_dir)]
