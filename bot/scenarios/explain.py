"""The explain trace, read back: every decision taken for one customer, in Japanese (default) or English;
and, for a scenario the customer is not in, which entry condition keeps them out today.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, literal, select

from bot.platform.i18n import text
from bot.scenarios.facts import ACTIVITY, CHANNELS, CONTRACTS, CUSTOMERS, ENTITIES
from bot.scenarios.triggers import sql_condition
from flows.dsl import Condition, Scenario
from flows.engine import TOKYO, japan_day
from models import Customer, TraceEntry

LARGEST_ID = 2**31 - 1
ONE_PER_CUSTOMER = (CUSTOMERS, CONTRACTS, CHANNELS, ACTIVITY)


def find_customer(connection: Connection, key: str) -> int | None:
    """A customer by 顧客ID, or by the service's own id when the key is a number."""
    found = connection.execute(select(Customer.id).where(Customer.customer_code == key)).scalar()
    if found is None and key.isdigit() and int(key) <= LARGEST_ID:  # a phone number is not an id
        found = connection.execute(select(Customer.id).where(Customer.id == int(key))).scalar()
    return found


def trace_lines(connection: Connection, customer_id: int, scenario_id: str | None, locale: str) -> list[str]:
    statement = select(TraceEntry).where(TraceEntry.customer_id == customer_id).order_by(TraceEntry.id)
    if scenario_id:
        statement = statement.where(TraceEntry.scenario_id == scenario_id)
    lines = []
    for entry in connection.execute(statement):
        moment = entry.at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        details = {key: value for key, value in (entry.details or {}).items() if value is not None}
        reason = text(f"trace.{entry.code}", locale, step=entry.step or "-", **_words(details, locale))
        lines.append(f"{moment}  {entry.scenario_id}  {entry.step or '-':<20} {reason}")
    return lines


def _local(value: object) -> str:
    """Times in the trace are shown in Japan time."""
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value).astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    return str(value)


def _words(details: dict, locale: str) -> dict[str, str]:
    words = {key: _local(value) for key, value in details.items()}
    passed = details.get("passed_over")
    if isinstance(passed, dict):
        words["passed_over"] = ", ".join(
            f"{channel}: {text(f'trace.reason.{why}', locale)}" for channel, why in passed.items()
        )
    words.setdefault("passed_over", "-")
    return words


def entry_check(
    connection: Connection, scenario: Scenario, customer_id: int, now: datetime
) -> list[tuple[Condition, bool]]:
    """Each entry condition and whether it holds for the customer today (anchor conditions: for any record)."""
    day = japan_day(now)
    results = []
    for condition in scenario.segment:
        column = sql_condition(condition, day)
        entity = condition.fact.partition(".")[0]
        table = ENTITIES[entity]
        if table in ONE_PER_CUSTOMER:  # joined as the trigger joins them: no row is a fact never recorded
            source = CUSTOMERS
            for joined in ONE_PER_CUSTOMER[1:]:
                source = source.outerjoin(joined, joined.c.customer_id == CUSTOMERS.c.id)
            statement = (
                select(literal(1)).select_from(source).where(and_(CUSTOMERS.c.id == customer_id, column))
            )
        else:
            statement = (
                select(literal(1)).select_from(table).where(table.c.customer_id == customer_id, column)
            )
        results.append((condition, connection.execute(statement.limit(1)).first() is not None))
    return results
