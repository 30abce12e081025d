"""The scenario engine at scale on PostgreSQL: the daily trigger evaluation for 1,000,000 customers, enrollments
advanced per second, and the same evaluation done naively (one customer at a time in Python) for comparison.

    .venv/bin/python bench/engine.py                       # 1,000,000 customers
    options: --customers 200000 --advance 50000 --naive 20000 --runs 3

Data are written straight into a throw-away database with SQL (customers with email consent, one document
request, one reservation and one contract each), arranged so that on the measured day every customer is due for
#14 (renewal in 30 days) and a share of them for #1 and #5: the worst day, not an average one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import libpq_url, temporary_database
from bot.customers.facts import CHANNELS, CONTRACTS, CUSTOMERS
from bot.platform.db import make_engine
from bot.scenarios import runner
from bot.scenarios.triggers import enrol_due
from flows.catalog import SCENARIOS
from flows.engine import TOKYO, all_hold, fires_at, japan_day

DAY = datetime(2026, 7, 1, tzinfo=TOKYO).date()


def populate(url: str, customers: int) -> None:
    renewal = DAY + timedelta(days=30)
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "INSERT INTO customers (id, customer_code, family_name, gender, prefecture, created_at, updated_at)"
            " SELECT g, 'C' || g, '山田', CASE WHEN g %% 2 = 0 THEN 'male' ELSE 'female' END, '東京都', now(), now()"
            " FROM generate_series(1, %s) g",
            (customers,),
        )
        conn.execute(
            "INSERT INTO customer_channels (customer_id, email_main, email_permitted, updated_at)"
            " SELECT g, 'c' || g || '@example.com', g %% 10 <> 0, now() FROM generate_series(1, %s) g",
            (customers,),
        )
        conn.execute(
            "INSERT INTO contract_summaries (customer_id, contracted, next_renewal_on, updated_at)"
            " SELECT g, true, %s::date, now() FROM generate_series(1, %s) g",
            (renewal, customers),
        )
        # requests and reservations spread over 100 days: a hundredth of the customers is due today
        conn.execute(
            "INSERT INTO document_requests (request_code, customer_id, requested_on, contracted, updated_at)"
            " SELECT 'DR' || g, g, %s::date - (g %% 100), false, now() FROM generate_series(1, %s) g",
            (DAY, customers),
        )
        conn.execute(
            "INSERT INTO reservations (reservation_code, customer_id, visit_on, cancelled, visited, updated_at)"
            " SELECT 'R' || g, g, %s::date + (g %% 100), false, false, now() FROM generate_series(1, %s) g",
            (DAY, customers),
        )
        conn.execute("SELECT setval('customers_id_seq', %s)", (customers,))
        conn.commit()
        conn.execute("ANALYZE")


def evaluate_day(engine) -> tuple[float, dict[str, int]]:
    """Every scenario's trigger for the day, each at its own moment (19:00 / 10:00), in one pass."""
    entered: dict[str, int] = {}
    started = time.perf_counter()
    for scenario in SCENARIOS.values():
        moment = fires_at(scenario.trigger, DAY)
        if moment is None:  # a calendar trigger that does not fire that day (1st/3rd Friday, no start date)
            continue
        with engine.begin() as connection:
            entered[scenario.id] = enrol_due(connection, scenario, moment)
    return time.perf_counter() - started, entered


def reset(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE enrollments, deliveries, trace_entries, trigger_runs"))


def advance(engine, limit: int) -> tuple[float, int, int]:
    """Advance up to `limit` due enrollments (their first send); (seconds, advanced, ledger rows)."""
    moment = fires_at(SCENARIOS["renewal_reminder"].trigger, DAY)
    advanced = queued = 0
    started = time.perf_counter()
    while advanced < limit:
        with engine.begin() as connection:
            done, rows = runner.advance_due(connection, SCENARIOS, moment)
        advanced, queued = advanced + done, queued + rows
        if done == 0:
            break
    return time.perf_counter() - started, advanced, queued


def naive(engine, customers: int) -> float:
    """#14 the slow way: per customer, read its contract and channels, test the segment in Python, insert."""
    scenario = SCENARIOS["renewal_reminder"]
    moment = fires_at(scenario.trigger, DAY)
    trigger_day = DAY + timedelta(days=-scenario.trigger.days)
    started = time.perf_counter()
    with engine.begin() as connection:
        for customer_id in range(1, customers + 1):
            contract = connection.execute(
                select(CONTRACTS).where(CONTRACTS.c.customer_id == customer_id)
            ).first()
            channels = connection.execute(
                select(CHANNELS).where(CHANNELS.c.customer_id == customer_id)
            ).first()
            person = connection.execute(select(CUSTOMERS).where(CUSTOMERS.c.id == customer_id)).first()
            facts = {f"contract.{k}": v for k, v in contract._mapping.items()} if contract else {}
            if person is None or contract is None or contract.next_renewal_on != trigger_day:
                continue
            if not (channels and channels.email_permitted and channels.email_main):
                continue
            if not all_hold(scenario.segment, facts, japan_day(moment)):
                continue
            connection.execute(
                text(
                    "INSERT INTO enrollments (scenario_id, customer_id, anchor_key, status, held_out, entered_at,"
                    " wake_at, wake_token, updated_at) VALUES ('naive', :c, :k, 'active', false, :m, :m, 0, now())"
                    " ON CONFLICT DO NOTHING"
                ),
                {"c": customer_id, "k": f"contract_year:{contract.next_renewal_on}", "m": moment},
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--advance", type=int, default=50_000, help="enrollments to advance for the rate")
    parser.add_argument(
        "--naive", type=int, default=20_000, help="customers for the naive loop (extrapolated)"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with temporary_database() as url:
        started = time.perf_counter()
        populate(url, args.customers)
        print(f"{args.customers:,} customers written in {time.perf_counter() - started:.0f}s (PostgreSQL)")
        engine = make_engine(url)
        evaluations, advances = [], []
        for run in range(args.runs):
            reset(engine)
            seconds, entered = evaluate_day(engine)
            evaluations.append(seconds)
            print(f"  run {run + 1}: daily evaluation {seconds:.1f}s, entered {entered}")
            spent, advanced, queued = advance(engine, args.advance)
            advances.append(advanced / spent)
            print(
                f"         advanced {advanced:,} enrollments in {spent:.1f}s ({advanced / spent:,.0f}/s), {queued:,} queued"
            )
        reset(engine)
        slow = naive(engine, args.naive)
        per_customer = slow / args.naive
        print(
            f"daily evaluation, median of {args.runs}: {statistics.median(evaluations):.1f}s for"
            f" {args.customers:,} customers (target <= 60 s)"
        )
        print(f"enrollments advanced per second, median: {statistics.median(advances):,.0f}")
        print(
            f"naive per-customer loop, #14 only: {args.naive:,} customers in {slow:.1f}s ="
            f" {per_customer * 1e3:.2f} ms each -> {per_customer * args.customers:.0f}s for {args.customers:,}"
            " (extrapolated)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
