"""The explain trace, read back: every decision taken for one customer, in Japanese (default) or English;
and, for a scenario the customer is not in, which entry condition keeps them out today, in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, literal, select

from bot.customers.derived import per_customer
from bot.customers.facts import CUSTOMERS, ENTITIES, ONE_PER_CUSTOMER
from bot.platform.i18n import text
from bot.scenarios.describe import condition_words, trigger_words
from bot.scenarios.triggers import sql_condition
from flows.dsl import Condition, OnEvent, RelativeTo, Scenario
from flows.engine import TOKYO, japan_day
from models import TraceEntry

HOLDS, FAILS = "✓", "✗"


def trace_lines(connection: Connection, customer_id: int, scenario_id: str | None, locale: str) -> list[str]:
    statement = select(TraceEntry).where(TraceEntry.customer_id == customer_id).order_by(TraceEntry.id)
    if scenario_id:
        statement = statement.where(TraceEntry.scenario_id == scenario_id)
    lines = []
    for entry in connection.execute(statement):
        moment = entry.at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        details = {key: value for key, value in (entry.details or {}).items() if value is not None}
        reason = _reason(entry.code, details, locale)
        lines.append(f"{moment}  {entry.scenario_id}  {entry.step or '-':<20} {reason}")
    return lines


def _reason(code: str, details: dict, locale: str) -> str:
    """The decision in words; a code this release has no words for (written by an older one) is named as it is."""
    words = _words(details, locale)
    try:
        return text(f"trace.{code}", locale, **words)
    except KeyError:
        return text("trace.unknown", locale, code=code)


def _word(group: str, value: object, locale: str) -> str:
    """A value of the details in words (`group.value`), or as it is when this release has no words for it."""
    try:
        return text(f"{group}.{value}", locale)
    except KeyError:
        return str(value)


def _local(value: object) -> str:
    """Times in the trace are shown in Japan time."""
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value).astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    return str(value)


def _words(details: dict, locale: str) -> dict[str, str]:
    """The details as the texts show them: times in Japan; channels, reasons, outcomes and signals in words."""
    words = {key: _local(value) for key, value in details.items()}
    separator = text("scenario_view.separator", locale)
    passed = details.get("passed_over")
    if isinstance(passed, dict):
        words["passed_over"] = separator.join(
            f"{_word('tracking.channel', channel, locale)}: {_word('trace.reason', why, locale)}"
            for channel, why in passed.items()
        )
    words.setdefault("passed_over", "-")
    if isinstance(details.get("reasons"), str):  # a held or skipped message: why, in words
        reasons = (why.strip() for why in details["reasons"].split(","))
        words["reasons"] = separator.join(_word("trace.hold_reason", why, locale) for why in reasons)
    for key, group in (
        ("channel", "tracking.channel"),
        ("outcome", "scenario_view.outcome"),
        ("signal", "trace.signal"),
    ):
        if key in details:
            words[key] = _word(group, details[key], locale)
    return words


@dataclass(frozen=True)
class EntryCheck:
    """Why a customer is or is not among a scenario's entrants today, as far as their data says."""

    record: (
        str | None
    )  # the kind of record the scenario starts from (reservation …), if the customer has none
    conditions: tuple[tuple[Condition, bool], ...]  # each entry condition checked, and whether it holds


def entry_check(connection: Connection, scenario: Scenario, customer_id: int, now: datetime) -> EntryCheck:
    """The scenario's entry conditions for the customer today: on their own data, or on any of their records of
    the kind the scenario starts from. Without such a record, that is the answer, and its conditions are not
    checked (each would fail on nothing)."""
    day = japan_day(now)
    missing = _missing_record(connection, scenario, customer_id)
    results = []
    for condition in scenario.segment:
        entity = condition.fact.partition(".")[0]
        if entity == missing:
            continue
        column = sql_condition(condition, day)
        table = ENTITIES[entity]
        if entity in ONE_PER_CUSTOMER:  # joined as the triggers join them
            source, mine = per_customer(), CUSTOMERS.c.id == customer_id
        else:
            source, mine = table, table.c.customer_id == customer_id
        statement = select(literal(1)).select_from(source).where(and_(mine, column)).limit(1)
        results.append((condition, connection.execute(statement).first() is not None))
    return EntryCheck(missing, tuple(results))


def _missing_record(connection: Connection, scenario: Scenario, customer_id: int) -> str | None:
    """The entity the scenario's start date is read from (a reservation's visit date …), when the customer has
    no record of it; None when they have one, or when the scenario starts on a calendar day or an event."""
    if not isinstance(scenario.trigger, RelativeTo):
        return None
    entity = scenario.trigger.date_fact.partition(".")[0]
    table = ENTITIES[entity]
    if entity in ONE_PER_CUSTOMER and entity != "contract":  # the customer's own row: always there to read
        return None
    statement = select(literal(1)).select_from(table).where(table.c.customer_id == customer_id)
    found = connection.execute(statement.limit(1)).first()
    return None if found else entity


def entry_lines(
    connection: Connection, scenario: Scenario, customer_id: int, now: datetime, locale: str
) -> list[str]:
    """The entry check in words, one line each: ✗ 来店予約の記録がありません, ✓ 来店キャンセル：なし …; a scenario an
    event starts says which event first (→ 友だち追加のとき), since no day of the calendar brings anyone in."""
    check = entry_check(connection, scenario, customer_id, now)
    lines = [f"→ {trigger_words(scenario.trigger, locale)}"] if isinstance(scenario.trigger, OnEvent) else []
    lines += [f"{FAILS} {text(f'trace.no_record.{check.record}', locale)}"] if check.record else []
    lines += [f"{HOLDS if holds else FAILS} {condition_words(c, locale)}" for c, holds in check.conditions]
    return lines
