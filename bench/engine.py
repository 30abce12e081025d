"""The scenario engine at scale on PostgreSQL: the daily trigger evaluation, enrollments advanced per second beside
a server-only floor for the same writes, how both hold up as the customers grow, and the same evaluation done
naively (one customer at a time in Python) for comparison.

    .venv/bin/python bench/engine.py                                 # 200,000 and 1,000,000 customers
    .venv/bin/python bench/engine.py --smoke                         # a few thousand: runs in seconds
    options: --customers 200000,600000 --advance 50000 --naive 20000 --runs 3 --deadline 1800

Data are written straight into a throw-away database per size with SQL (customers with email consent, one
document request, one reservation and one contract each), arranged so that on the measured day every customer is
due for #14 (renewal in 30 days) and a share of them for #1 and #5: the worst day, not an average one.

The floor: the rows advancing wrote (the enrollments' new state, the ledger rows, the trace) written again by
the database alone, one INSERT … SELECT or UPDATE … FROM per table into the same schema, in one transaction.
No runner that keeps this schema can write them faster. Figures are medians of --runs; the ratios compare
figures of the same invocation, so a busy machine moves both sides.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import libpq_url, temporary_database
from bench.report import Goal, print_goals
from bot.customers.facts import CHANNELS, CONTRACTS, CUSTOMERS
from bot.platform.db import Timeouts, make_engine
from bot.scenarios import runner
from flows.catalog import SCENARIOS
from flows.engine import TOKYO, all_hold, fires_at, japan_day

DAY = datetime(2026, 7, 1, tzinfo=TOKYO).date()
ADVANCED_AT = fires_at(SCENARIOS["renewal_reminder"].trigger, DAY)  # #14's firing: its entrants are due
EVALUATED_AT = max(m for s in SCENARIOS.values() if (m := fires_at(s.trigger, DAY)) is not None)
GOAL_EVALUATION_SECONDS = 60.0  # for 1,000,000 customers
GOAL_FLOOR_SHARE = 0.5  # enrollments advanced per second, as a share of the floor's
GOAL_FLATNESS = 0.8  # the rate at the largest size, as a share of the rate at the smallest
SMOKE = {"customers": "3000", "advance": 2000, "naive": 300}


class Deadline:
    """A limit on the whole run: every wait checks it and ends the bench with a message instead of hanging."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return self.ends - time.monotonic()

    def check(self, doing: str) -> None:
        if self.left() <= 0:
            raise SystemExit(
                f"gave up: {doing} was still running after the --deadline of {self.seconds:.0f}s"
            )


def connect(url: str, deadline: Deadline) -> psycopg.Connection:
    """A plain connection whose statements and lock waits end with the deadline."""
    deadline.check("the bench")
    milliseconds = max(1, int(deadline.left() * 1000))
    return psycopg.connect(
        libpq_url(url),
        connect_timeout=10,
        options=f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
    )


def populate(url: str, customers: int, deadline: Deadline) -> None:
    renewal = DAY + timedelta(days=30)
    with connect(url, deadline) as conn:
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


def reset(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE enrollments, deliveries, trace_entries, trigger_runs"))


def evaluate_day(engine: Engine) -> tuple[float, dict[str, int]]:
    """Every scenario's trigger for the day, each at its own moment (10:00 / 19:00), as the tick runs them."""
    started = time.perf_counter()
    entered = runner.enrol_triggers(engine, SCENARIOS, EVALUATED_AT)
    return time.perf_counter() - started, {key: count for key, count in entered.items() if count}


def advance(engine: Engine, limit: int, deadline: Deadline) -> tuple[float, int, int]:
    """Advance up to `limit` due enrollments (their first send); (seconds, advanced, ledger rows)."""
    deadline.check("advancing")  # and each statement ends within the deadline (the engine's limit, measure())
    started = time.perf_counter()
    advanced, queued = runner.advance_all(engine, SCENARIOS, ADVANCED_AT, limit=limit)
    return time.perf_counter() - started, advanced, queued


ADVANCED_COLUMNS = ("state", "wake_at", "wake_token", "status", "outcome", "updated_at")
APPENDED_TABLES = ("deliveries", "trace_entries")


def write_floor(url: str, deadline: Deadline) -> float:
    """Seconds the database alone needs for what advancing wrote: no facts read, no engine, no client.

    The advanced enrollments are put back as they entered and then set to what advancing made of them with one
    UPDATE … FROM (the same rows, the same index changes); the ledger and trace rows are copied with
    INSERT … SELECT into empty twins with the same columns, indexes, constraints and foreign keys. All in one
    transaction, as each batch of the runner is."""
    sets = ", ".join(f"{name} = a.{name}" for name in ADVANCED_COLUMNS)
    with connect(url, deadline) as conn:
        conn.execute(
            f"CREATE TEMPORARY TABLE advanced AS SELECT id, {', '.join(ADVANCED_COLUMNS)}"
            " FROM enrollments WHERE state IS NOT NULL"
        )
        conn.execute(
            "UPDATE enrollments e SET state = NULL, wake_at = e.entered_at, wake_token = 0, status = 'active',"
            " outcome = NULL FROM advanced a WHERE e.id = a.id"
        )
        for table in APPENDED_TABLES:
            conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            conn.execute(
                f"ALTER TABLE floor_{table} ADD FOREIGN KEY (enrollment_id) REFERENCES enrollments (id),"
                " ADD FOREIGN KEY (customer_id) REFERENCES customers (id)"
            )
        conn.commit()
        started = time.perf_counter()
        conn.execute(f"UPDATE enrollments e SET {sets} FROM advanced a WHERE e.id = a.id")
        for table in APPENDED_TABLES:
            conn.execute(f"INSERT INTO floor_{table} SELECT * FROM {table}")
        conn.commit()
        seconds = time.perf_counter() - started
        for table in APPENDED_TABLES:
            conn.execute(f"DROP TABLE floor_{table}")
        conn.commit()
    return seconds


@dataclass
class Size:
    """One population's figures, a value per run."""

    customers: int
    evaluations: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)

    @property
    def evaluation(self) -> float:
        return statistics.median(self.evaluations)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def floor(self) -> float:
        return statistics.median(self.floors)


def measure(customers: int, args: argparse.Namespace, deadline: Deadline, naive_too: bool) -> Size:
    size = Size(customers)
    with temporary_database() as url:
        started = time.perf_counter()
        populate(url, customers, deadline)
        print(f"{customers:,} customers written in {time.perf_counter() - started:.0f}s (PostgreSQL)")
        engine = make_engine(url, Timeouts(statement=max(1.0, deadline.left())))
        gc.freeze()  # as worker.main does after start-up: what lives for the whole run is not collected
        for run in range(args.runs):
            deadline.check(f"run {run + 1} at {customers:,} customers")
            reset(engine)
            seconds, entered = evaluate_day(engine)
            size.evaluations.append(seconds)
            print(f"  run {run + 1}: daily evaluation {seconds:.1f}s, entered {entered}")
            spent, advanced, queued = advance(engine, args.advance, deadline)
            floor = write_floor(url, deadline)
            size.rates.append(advanced / spent)
            size.floors.append(advanced / floor)
            print(
                f"         advanced {advanced:,} enrollments in {spent:.1f}s ({advanced / spent:,.0f}/s),"
                f" {queued:,} queued; floor {floor:.1f}s ({advanced / floor:,.0f}/s)"
            )
        if naive_too:
            reset(engine)
            slow = naive(engine, args.naive)
            per_customer = slow / args.naive
            print(
                f"naive per-customer loop, #14 only: {args.naive:,} customers in {slow:.1f}s ="
                f" {per_customer * 1e3:.2f} ms each -> {per_customer * customers:.0f}s for {customers:,}"
                " (extrapolated)"
            )
        engine.dispose()
    print(
        f"{customers:,} customers, medians of {args.runs}: daily evaluation {size.evaluation:.1f}s,"
        f" advanced {size.rate:,.0f}/s, floor {size.floor:,.0f}/s"
    )
    return size


def naive(engine: Engine, customers: int) -> float:
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


def report_goals(sizes: list[Size]) -> None:
    largest = sizes[-1]
    evaluation = largest.evaluation * 1_000_000 / largest.customers
    scaled = "" if largest.customers == 1_000_000 else f" (from {largest.customers:,})"
    goals = [
        Goal(f"engine/daily evaluation 1M{scaled}", evaluation, "<=", GOAL_EVALUATION_SECONDS, "{:.1f} s")
    ]
    goals += [
        Goal(
            f"engine/advanced vs floor at {size.customers:,}",
            size.rate / size.floor,
            ">=",
            GOAL_FLOOR_SHARE,
            "{:.0%}",
        )
        for size in sizes
    ]
    if len(sizes) > 1:
        flat = largest.rate / sizes[0].rate
        goals.append(
            Goal(
                f"engine/{largest.customers:,} vs {sizes[0].customers:,}", flat, ">=", GOAL_FLATNESS, "{:.0%}"
            )
        )
    print_goals(*goals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", default="200000,1000000", help="sizes, comma-separated, smallest first"
    )
    parser.add_argument("--advance", type=int, default=50_000, help="enrollments to advance for the rate")
    parser.add_argument(
        "--naive", type=int, default=20_000, help="customers for the naive loop (extrapolated)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=3600, help="seconds for the whole bench")
    parser.add_argument("--smoke", action="store_true", help=f"a small size that runs in seconds: {SMOKE}")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    sizes = sorted(int(size) for size in args.customers.split(","))
    deadline = Deadline(args.deadline)
    try:
        measured = [measure(customers, args, deadline, customers == sizes[-1]) for customers in sizes]
    except (psycopg.Error, DBAPIError) as exc:
        cause = getattr(exc, "orig", exc)
        if not isinstance(cause, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
            raise
        raise SystemExit(f"gave up: a statement ran past the --deadline of {args.deadline:.0f}s") from None
    report_goals(measured)


if __name__ == "__main__":
    main()
