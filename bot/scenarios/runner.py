"""The runner: enrol whoever the triggers bring in, then advance every enrollment whose wake-up is due.

It loads a batch of due enrollments with their facts (a few queries per batch, not per customer), calls the pure
engine for each, and writes the results in the same transaction: the new state and wake-up, the ledger rows of
the messages to send, and the decisions of the explain trace. PostgreSQL hands a batch to one worker only
(`FOR UPDATE SKIP LOCKED`), SQLite to one at a time (its write lock, taken first); the ledger's unique key keeps a
message from being recorded twice in any case. On PostgreSQL a batch's writes run on a second connection while
the next batch is read and stepped (`advance_all`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.pool import QueuePool

from bot.customers.facts import Subject, load_facts
from bot.delivery.outbox import new_tokens
from bot.delivery.rules import NOBODY, History, choose_channels, load_history, load_reach, refusal
from bot.platform.bulk import insert_many, insert_new, update_matching
from bot.scenarios.controls import paused_scenarios
from bot.scenarios.triggers import enrol_due, scenario_channels
from flows.dsl import Channel, IfSegment, Outcome, Purpose, Scenario
from flows.engine import Decision, Enter, Result, SendMessage, State, Status, Wake, japan_day, step
from flows.rules import DeliveryRules, judge
from models import Delivery, DeliveryStatus, Enrollment, EnrollmentStatus, TraceEntry, utcnow

log = logging.getLogger(__name__)
ENROLLMENTS = Enrollment.__table__
DELIVERIES = Delivery.__table__
TRACE = TraceEntry.__table__
# enrollments per batch (one transaction): each batch pays a fixed share (its statements, the ledger's staging
# table, a commit) that 500 made a fifth of advancing's time (bench/engine.py); 2,000 hold their locks for well
# under a second
BATCH = 2_000
RECOUNT_AFTER = 10_000  # entrants in one tick that leave PostgreSQL's row counts of enrollments out of date
DEFAULT_RULES = DeliveryRules()


@dataclass
class TickReport:
    entered: dict[str, int] = field(default_factory=dict)
    advanced: int = 0
    queued: int = 0
    paused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entered": dict(self.entered),
            "advanced": self.advanced,
            "queued": self.queued,
            "paused": list(self.paused),
        }


def tick(
    engine: Engine,
    scenarios: Mapping[str, Scenario],
    now: datetime,
    filters: Mapping[str, Mapping[str, object]] | None = None,
    rules: DeliveryRules = DEFAULT_RULES,
    stopping: Callable[[], bool] = lambda: False,
) -> TickReport:
    """One tick at `now`: triggers first (each scenario in its own transaction), then every due enrollment.
    Paused scenarios (staff) and those the settings file switched off are left alone. Once `stopping()` says
    so (the worker is being restarted) no further batch is taken: the rest stays due for the next tick."""
    report = TickReport()
    with engine.connect() as connection:
        paused = paused_scenarios(connection)
    report.paused = sorted(paused & set(scenarios))
    scenarios = {key: s for key, s in scenarios.items() if key not in paused and s.enabled}
    if not scenarios:
        return report
    report.entered = enrol_triggers(engine, scenarios, now, filters)
    report.advanced, report.queued = advance_all(engine, scenarios, now, rules, stopping=stopping)
    return report


def advance_all(
    engine: Engine,
    scenarios: Mapping[str, Scenario],
    now: datetime,
    rules: DeliveryRules = DEFAULT_RULES,
    limit: int | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[int, int]:
    """Advance every due enrollment (or batches until `limit` have been, or until `stopping()`), a batch per
    transaction; returns (enrollments advanced, ledger rows queued).

    On PostgreSQL one batch's writes and commit run on a second connection while the next batch is read and
    stepped through the engine: the database writes while this process computes (bench/engine.py). The next
    batch reads its customers' delivery history only once the previous batch has committed, so the caps count
    every message queued before it; its enrollments cannot be the previous batch's (those are locked until
    that commit, and no longer due after it)."""
    if engine.dialect.name != "postgresql" or not _spares_a_connection(engine):
        advanced = queued = 0
        while (limit is None or advanced < limit) and not stopping():
            with engine.begin() as connection:
                done, rows = advance_due(connection, scenarios, now, rules)
            advanced, queued = advanced + done, queued + rows
            if done < BATCH:
                break
        return advanced, queued
    return _Pipeline(engine, scenarios, now, rules).run(limit, stopping)


def _spares_a_connection(engine: Engine) -> bool:
    """The engine's pool can hold two connections at once (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW ≥ 2)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return True
    overflow = pool._max_overflow  # QueuePool has no public reading of its limit; -1 is none
    return overflow < 0 or pool.size() + overflow >= 2


class _Pipeline:
    """PostgreSQL's advancing: batch n+1 taken and stepped while batch n is written (see `advance_all`)."""

    def __init__(
        self, engine: Engine, scenarios: Mapping[str, Scenario], now: datetime, rules: DeliveryRules
    ) -> None:
        self.engine, self.scenarios, self.now, self.rules = engine, scenarios, now, rules
        self.advanced = self.queued = 0
        self.writing: Future[int] | None = None

    def run(self, limit: int | None, stopping: Callable[[], bool]) -> tuple[int, int]:
        with ThreadPoolExecutor(1, thread_name_prefix="advance-writer") as writer:
            try:
                while (limit is None or self.advanced < limit) and not stopping():
                    connection = self.engine.connect()
                    try:
                        transaction = connection.begin()
                        taken = _take(connection, self.scenarios, self.now)
                        self._settle()  # the previous batch committed: its messages are in the history now
                        if taken is None:
                            connection.close()
                            break
                        writes = _record(connection, taken, self.scenarios, self.now, self.rules)
                    except BaseException:
                        connection.close()  # rolls this batch back: its enrollments stay due
                        raise
                    self.writing = writer.submit(_write, connection, transaction, writes)
                    self.advanced += len(taken.rows)
                    if len(taken.rows) < BATCH:
                        break
            finally:
                self._settle()
        return self.advanced, self.queued

    def _settle(self) -> None:
        """Wait for the batch being written, if any; what its writing raised is raised here."""
        writing, self.writing = self.writing, None
        if writing is not None:
            self.queued += writing.result()


def _write(connection: Connection, transaction: Any, writes: _Writes) -> int:
    """On the writer thread: the batch's writes and commit; the ledger rows queued."""
    try:
        writes.flush(connection)
        transaction.commit()
        return writes.queued
    finally:
        connection.close()


def enrol_triggers(
    engine: Engine,
    scenarios: Mapping[str, Scenario],
    now: datetime,
    filters: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, int]:
    """Every scenario's trigger due by `now`, each in its own transaction; {scenario id: enrollments entered}."""
    entered: dict[str, int] = {}
    for scenario in scenarios.values():
        with engine.begin() as connection:
            entered[scenario.id] = enrol_due(connection, scenario, now, (filters or {}).get(scenario.id))
    if sum(entered.values()) >= RECOUNT_AFTER and engine.dialect.name == "postgresql":
        # A renewal day enters most customers at once, an INSERT … SELECT per scenario. Until autovacuum's next
        # ANALYZE the planner counts the enrollments as they were before, takes a due batch for a handful of rows
        # and sorts every due enrollment for each batch of BATCH: 0.7 s a batch at 600,000 customers, growing
        # with the table, instead of 2 ms through ix_enrollments_due (bench/engine.py). Sampling the table
        # once costs a fraction of a second whatever its size.
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE enrollments")
    return entered


def advance_due(
    connection: Connection,
    scenarios: Mapping[str, Scenario],
    now: datetime,
    rules: DeliveryRules = DEFAULT_RULES,
) -> tuple[int, int]:
    """Advance up to BATCH due enrollments; returns (enrollments advanced, ledger rows queued)."""
    taken = _take(connection, scenarios, now)
    if taken is None:
        return 0, 0
    writes = _record(connection, taken, scenarios, now, rules)
    writes.flush(connection)
    return len(taken.rows), writes.queued


@dataclass
class _Taken:
    """A batch of due enrollments, locked, with what the engine made of each (a result, or what it raised)."""

    rows: list[Any]
    results: list[Result | Exception]
    reach: dict[int, Any]


def _take(connection: Connection, scenarios: Mapping[str, Scenario], now: datetime) -> _Taken | None:
    """Lock up to BATCH due enrollments and step each through the engine; None when none is due."""
    statement = (
        select(ENROLLMENTS)
        .where(
            ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE,
            ENROLLMENTS.c.wake_at <= now,
            ENROLLMENTS.c.scenario_id.in_(list(scenarios)),
        )
        .order_by(ENROLLMENTS.c.wake_at, ENROLLMENTS.c.id)
        .limit(BATCH)
    )
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    else:
        # SQLite has no row locks: take the database's write lock before reading the batch, so that a second
        # worker waits for this transaction and then finds these enrollments no longer due
        connection.execute(update(ENROLLMENTS).where(ENROLLMENTS.c.id == -1).values(wake_token=0))
    rows = connection.execute(statement).all()
    if not rows:
        return None
    # scenarios that collide on one customer and day (#14 and #16): the higher priority takes the cap first
    rows.sort(key=lambda row: (row.wake_at, scenarios[row.scenario_id].priority, row.id))
    # only the facts the batch's own scenarios read: a batch of #14 entrants loads none of the others' records
    present = [scenarios[key] for key in {row.scenario_id for row in rows}]
    facts = load_facts(connection, [_subject(row, scenarios) for row in rows], _facts_used(present))
    results: list[Result | Exception] = []
    for row in rows:
        state = State.from_json(row.state) if row.state else None
        given = Enter(row.entered_at, held_out=row.held_out) if state is None else Wake(row.wake_token)
        try:
            results.append(step(scenarios[row.scenario_id], state, given, now, facts[row.id]))
        except Exception as exc:  # noqa: BLE001 -- one broken enrollment must not stop the others
            log.error(
                "enrollment %s of %s failed in the engine (%s)", row.id, row.scenario_id, type(exc).__name__
            )
            results.append(exc)
    return _Taken(rows, results, load_reach(connection, (row.customer_id for row in rows)))


def _record(
    connection: Connection,
    taken: _Taken,
    scenarios: Mapping[str, Scenario],
    now: datetime,
    rules: DeliveryRules,
) -> _Writes:
    """What the batch writes: sends checked against the customers' delivery history, as it stands now."""
    writes = _Writes(rules, load_history(connection, {row.customer_id for row in taken.rows}, now))
    for row, result in zip(taken.rows, taken.results, strict=True):
        scenario = scenarios[row.scenario_id]
        if isinstance(result, Exception):
            writes.fail(row, scenario, result, now)
        else:
            writes.add(row, scenario, result, taken.reach.get(row.customer_id, NOBODY), now)
    return writes


def _opted_out(channels: set[Channel], result: Result, reach: Any) -> bool:
    """A marketing message fell due and none of the scenario's `channels` may carry marketing to the customer."""
    if result.state.held_out or not any(s.purpose is Purpose.MARKETING for s in result.sends):
        return False
    return all(refusal(c, Purpose.MARKETING, reach) for c in channels)


def _subject(row: Any, scenarios: Mapping[str, Scenario]) -> Subject:
    return Subject(row.id, row.customer_id, scenarios[row.scenario_id].anchor, row.anchor_key)


def _facts_used(scenarios: Any) -> set[str]:
    used: set[str] = set()
    for scenario in scenarios:
        used |= {c.fact for c in scenario.exit_when}
        for node in scenario.steps:
            if isinstance(node, IfSegment):
                used |= {c.fact for c in node.conditions}
    return used


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) if not isinstance(value, int | float | bool | type(None)) else value


class _Writes:
    """What one batch writes, collected so that each table gets one statement."""

    def __init__(self, rules: DeliveryRules, history: History) -> None:
        self.rules = rules
        self.history = history
        self.enrollments: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.trace: list[dict[str, Any]] = []
        self.queued = 0
        self.channels: dict[str, set[Channel]] = {}  # each scenario's channels, worked out once a batch
        # equal trace details are one object (every entrant's "entered" at the same moment): the batch's COPY
        # encodes each object once (bot/platform/bulk.py)
        self.details: dict[tuple, dict[str, Any] | None] = {}

    def add(self, row: Any, scenario: Scenario, result: Result, reach: Any, now: datetime) -> None:
        base = {"enrollment_id": row.id, "customer_id": row.customer_id, "scenario_id": scenario.id}
        if scenario.id not in self.channels:
            self.channels[scenario.id] = scenario_channels(scenario)
        if _opted_out(self.channels[scenario.id], result, reach):
            # every send re-checks permission (the deck's N-unsub): a customer who withdrew it on all of the
            # scenario's channels leaves now, even in a flow without a segment branch (#13)
            state = replace(
                result.state, step=None, status=Status.DONE, outcome=Outcome.OPTED_OUT, wake_at=None
            )
            exited = Decision("exited", details=(("outcome", Outcome.OPTED_OUT),))
            kept = tuple(e for e in result.effects if not (isinstance(e, Decision) and e.code == "exited"))
            result = Result(state, (*kept, Decision("opted_out"), exited))
        for effect in result.effects:
            if isinstance(effect, Decision):
                # keyed by the values as written: one moment at two UTC offsets is two documents
                plain = tuple((key, _plain(value)) for key, value in effect.details)
                details = self._shared(plain, lambda p=plain: dict(p) or None)
                self.trace.append(
                    base | {"at": now, "step": effect.step, "code": effect.code, "details": details}
                )
            elif isinstance(effect, SendMessage):
                self._send(base, effect, reach, now)
        state = result.state
        self.enrollments.append(
            {
                "b_id": row.id,
                "b_token": row.wake_token,
                "state": state.to_json(),
                "wake_at": datetime.fromisoformat(state.wake_at) if state.wake_at else None,
                "wake_token": state.token,
                "status": EnrollmentStatus.DONE if state.status is Status.DONE else EnrollmentStatus.ACTIVE,
                "outcome": str(state.outcome) if state.outcome else None,
                "updated_at": now,
            }
        )

    def fail(self, row: Any, scenario: Scenario, exc: Exception, now: datetime) -> None:
        base = {"enrollment_id": row.id, "customer_id": row.customer_id, "scenario_id": scenario.id}
        self.trace.append(
            base | {"at": now, "step": None, "code": "engine_error", "details": {"error": type(exc).__name__}}
        )
        self.enrollments.append(
            {
                "b_id": row.id,
                "b_token": row.wake_token,
                "state": row.state,
                "wake_at": None,
                "wake_token": row.wake_token,
                "status": EnrollmentStatus.FAILED,
                "outcome": None,
                "updated_at": now,
            }
        )

    def _send(self, base: dict[str, Any], send: SendMessage, reach: Any, now: datetime) -> None:
        channels, passed = choose_channels(send.channels, send.purpose, reach)
        details: dict[str, Any] = {"template": send.template, "passed_over": passed or None}
        passed_key = tuple(passed.items())
        if not channels:
            self.trace.append(
                base | {"at": send.due_at, "step": send.step, "code": "not_sent", "details": details}
            )
            return
        customer = base["customer_id"]
        counted = False
        for channel in channels:
            send_at, reasons = send.due_at, ()
            if send.purpose is Purpose.MARKETING:
                verdict = judge(
                    max(send.due_at, now),  # a message caught up late goes now, and now must be allowed
                    self.history.sends.get(customer, []),
                    self.history.days.get((customer, send.template, str(channel)), set()),
                    self.rules,
                )
                if verdict.send_at is None:
                    skipped = self._shared(
                        ("skipped", send.template, passed_key, str(channel), verdict.reasons),
                        lambda c=channel, r=verdict.reasons: (
                            details | {"channel": str(c), "reasons": ", ".join(r)}
                        ),
                    )
                    self.trace.append(
                        base | {"at": send.due_at, "step": send.step, "code": "skipped", "details": skipped}
                    )
                    continue
                send_at, reasons = verdict.send_at, verdict.reasons
                if not counted:  # a message on several channels counts once towards the cap
                    self.history.sends.setdefault(customer, []).append(send_at)
                    counted = True
                self.history.days.setdefault((customer, send.template, str(channel)), set()).add(
                    japan_day(send_at)
                )
            held = bool(reasons)
            stamp = utcnow()
            self.deliveries.append(
                {
                    "enrollment_id": base["enrollment_id"],
                    "customer_id": customer,
                    "step": send.step,
                    "template": send.template,
                    "channel": str(channel),
                    "purpose": str(send.purpose),
                    "status": DeliveryStatus.HELD if held else DeliveryStatus.QUEUED,
                    "due_at": send_at,
                    "attempts": 0,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            entry = self._shared(
                ("sent", send.template, passed_key, str(channel), held and send_at.isoformat(), reasons),
                lambda c=channel, a=send_at, r=reasons, h=held: (
                    details
                    | {"channel": str(c)}
                    | ({"until": a.isoformat(), "reasons": ", ".join(r)} if h else {})
                ),
            )
            code = "held" if held else "queued"
            self.trace.append(base | {"at": send.due_at, "step": send.step, "code": code, "details": entry})

    def _shared(self, key: tuple, make: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The batch's one object for the details named by `key`, made by `make` the first time."""
        try:
            return self.details[key] if key in self.details else self.details.setdefault(key, make())
        except TypeError:  # a value that cannot be a key: the details stand alone
            return make()

    def flush(self, connection: Connection) -> None:
        # an enrollment is written only if no other worker advanced it since it was read (its token unchanged)
        update_matching(
            connection,
            ENROLLMENTS,
            self.enrollments,
            {"b_id": "id", "b_token": "wake_token"},
            {"status": EnrollmentStatus.ACTIVE},
        )
        # one statement each (a JSON recordset, or COPY for large batches on PostgreSQL), not a row at a time
        for row, token in zip(self.deliveries, new_tokens(len(self.deliveries)), strict=True):
            row["token"] = token
        keys = ("enrollment_id", "step", "channel")
        self.queued = len(insert_new(connection, DELIVERIES, self.deliveries, keys, ("id",)))
        insert_many(connection, TRACE, self.trace)
