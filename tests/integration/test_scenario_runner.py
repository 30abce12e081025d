"""Scenarios #1, #5 and #14 on simulated days over imported data: who enters, what is queued on which channel at
which day and hour, who exits and when; ticks repeated or late send nothing twice."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.scenarios import runner
from bot.scenarios.runner import _facts_used, tick
from flows.catalog import SCENARIOS
from flows.dsl import Send
from flows.engine import TOKYO
from models import Delivery, Enrollment, Reservation, TraceEntry
from tests.integration.scenario_helpers import (
    customer_ids,
    engage,
    ledger,
    load,
    outcomes,
    person,
    run_days,
    write,
)

LINE_ID = "U" + "c" * 32


def test_visit_reminder_follows_the_decks_timeline(runtime, tmp_path):
    """#5: A at visit−7d 10:00; at −4d B (email) for the opener, C (SMS) otherwise; at −1d D or E; cancelled: nothing."""
    load(
        runtime,
        "F5",
        write(
            tmp_path / "f5.csv",
            [
                person("opens", email="a@example.com", email_ok="真", sms="090-1111-2222", sms_ok="真"),
                person("ignores", email="b@example.com", email_ok="真", sms="090-3333-4444", sms_ok="真"),
                person("cancels", email="c@example.com", email_ok="真"),
                person("visited", email="d@example.com", email_ok="真"),
                person("no_consent", email="e@example.com", email_ok="偽"),
            ],
        ),
    )
    reservations = [
        {
            "reservation_id": f"R-{code}",
            "email_main": email,
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "cancelled": "偽",
            "visited": v,
        }
        for code, email, v in [
            ("opens", "a@example.com", "偽"),
            ("ignores", "b@example.com", "偽"),
            ("cancels", "c@example.com", "偽"),
            ("visited", "d@example.com", "真"),
            ("no_consent", "e@example.com", "偽"),
        ]
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", reservations))
    ids = customer_ids(runtime)
    only = {"visit_reminder": SCENARIOS["visit_reminder"]}

    day0 = datetime(2026, 6, 13, 0, 0, tzinfo=TOKYO)  # visit−7d
    assert run_days(runtime, day0, 1, only) == [
        (ids["opens"], "06-13", "10:00", "send_a", "sms"),  # SMS comes before email on the ladder
        (ids["ignores"], "06-13", "10:00", "send_a", "sms"),
        (ids["cancels"], "06-13", "10:00", "send_a", "email"),
    ]
    engage(runtime, ids["opens"], "send_a", "clicked_at")
    with runtime.engine.begin() as connection:
        connection.execute(
            update(Reservation).where(Reservation.reservation_code == "R-cancels").values(cancelled=True)
        )
    later = run_days(runtime, day0 + timedelta(days=1), 3, only)
    assert later[3:] == [
        (ids["opens"], "06-16", "10:00", "send_b", "email"),
        (ids["ignores"], "06-16", "10:00", "send_c", "sms"),
    ]
    engage(runtime, ids["opens"], "send_b")
    final = run_days(runtime, day0 + timedelta(days=4), 4, only)
    assert final[5:] == [
        (ids["opens"], "06-19", "10:00", "send_d", "email"),
        (ids["ignores"], "06-19", "10:00", "send_e_after_c", "sms"),
    ]
    assert outcomes(runtime) == {
        ids["opens"]: "finished",
        ids["ignores"]: "finished",
        ids["cancels"]: "cancelled",
    }


def test_document_request_followup_over_imported_requests(runtime, tmp_path):
    """#1: A the day after the request at 19:00, then B (opened) or A' and B; contracted customers exit."""
    load(
        runtime,
        "F5",
        write(
            tmp_path / "f5.csv",
            [
                person("opens", email="a@example.com", email_ok="真"),
                person("ignores", line=LINE_ID, line_ok="真", email="b@example.com", email_ok="真"),
                person("signs", email="c@example.com", email_ok="真"),
            ],
        ),
    )
    requests = [
        {
            "document_request_id": f"DR-{code}",
            "email_main": email,
            "email_permitted": "",
            "requested_on": "2026/06/10",
            "contracted": "偽",
        }
        for code, email in [
            ("opens", "a@example.com"),
            ("ignores", "b@example.com"),
            ("signs", "c@example.com"),
        ]
    ]
    requests.append(  # requested two days later: enters on its own day, not with the others
        {
            "document_request_id": "DR-late",
            "email_main": "a@example.com",
            "email_permitted": "",
            "requested_on": "2026/06/12",
            "contracted": "偽",
        }
    )
    load(runtime, "F1", write(tmp_path / "f1.csv", requests))
    ids = customer_ids(runtime)
    only = {"doc_request_followup": SCENARIOS["doc_request_followup"]}
    start = datetime(2026, 6, 11, 12, 0, tzinfo=TOKYO)
    first = run_days(runtime, start, 1, only)
    assert {(c, d, t, s) for c, d, t, s, _ in first} == {
        (ids["opens"], "06-11", "19:00", "send_a"),
        (ids["ignores"], "06-11", "19:00", "send_a"),
        (ids["signs"], "06-11", "19:00", "send_a"),
    }
    assert {c: ch for c, _, _, _, ch in first}[ids["ignores"]] == "line"
    engage(runtime, ids["opens"], "send_a")
    with runtime.engine.begin() as connection:
        from models import DocumentRequest

        connection.execute(
            update(DocumentRequest).where(DocumentRequest.request_code == "DR-signs").values(contracted=True)
        )
    everything = run_days(runtime, start + timedelta(days=1), 3, only)
    later = [(c, d, t, s) for c, d, t, s, _ in everything[3:]]
    assert later == [
        (ids["opens"], "06-12", "19:00", "send_b"),
        (ids["ignores"], "06-12", "19:00", "send_a2"),  # "signs" contracted: no A', no B
        (
            ids["opens"],
            "06-13",
            "19:00",
            "send_a",
        ),  # the 12 June request of the same customer: its own enrollment
        (ids["ignores"], "06-13", "19:00", "send_b"),
        # the fourth message in a week for "opens": the weekly cap (3) holds it until 18 June, 19:00
        (ids["opens"], "06-18", "19:00", "send_a2"),
    ]
    with runtime.engine.connect() as connection:
        converted = connection.execute(
            select(Enrollment.customer_id).where(Enrollment.outcome == "converted")
        ).all()
    assert converted == [(ids["signs"],)]


def test_renewal_reminder_with_holdout_and_unsubscribe(runtime, tmp_path):
    """#14: A 30 days before renewal at 19:00, A' 3 days later if unopened; held-out entrants get nothing; an
    unsubscribe after A stops A' and ends the enrollment as opted out."""
    renewal = "2026/07/31"
    rows = [person(f"c{n}", email=f"c{n}@example.com", email_ok="真", renewal=renewal) for n in range(40)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    base = SCENARIOS["renewal_reminder"]
    from dataclasses import replace

    scenario = replace(base, holdout=0.25)
    start = datetime(2026, 7, 1, 12, 0, tzinfo=TOKYO)  # renewal−30d
    first = run_days(runtime, start, 1, {scenario.id: scenario})
    with runtime.engine.connect() as connection:
        held = {row.customer_id for row in connection.execute(select(Enrollment).where(Enrollment.held_out))}
        enrolled = connection.execute(select(Enrollment.customer_id)).all()
    assert len(enrolled) == 40 and 3 <= len(held) <= 18  # about a quarter, drawn the same way every time
    assert {c for c, *_ in first} == set(ids.values()) - held
    assert {(d, t, s, ch) for _, d, t, s, ch in first} == {("07-01", "19:00", "send_a", "email")}
    someone = min(set(ids.values()) - held)
    with runtime.engine.begin() as connection:
        from models import CustomerChannels

        connection.execute(
            update(CustomerChannels)
            .where(CustomerChannels.customer_id == someone)
            .values(email_permitted=False)
        )
    resent = run_days(runtime, start + timedelta(days=1), 4, {scenario.id: scenario})[len(first) :]
    assert {c for c, *_ in resent} == set(ids.values()) - held - {someone}
    assert {(d, t, s) for _, d, t, s, _ in resent} == {("07-04", "19:00", "send_a2")}
    with runtime.engine.connect() as connection:
        skipped = connection.execute(
            select(TraceEntry.details).where(TraceEntry.customer_id == someone, TraceEntry.code == "not_sent")
        ).scalar_one()
    assert skipped["passed_over"] == {
        "line": "no_address",
        "sms": "no_address",
        "email": "no_consent",
        "push": "no_address",
    }
    assert outcomes(runtime)[someone] == "opted_out"


@pytest.mark.parametrize("repeat", [1, 3])
def test_a_tick_repeated_for_the_same_moment_adds_nothing(runtime, tmp_path, repeat):
    """Enrolment and queuing at one moment happen once, however often that moment is ticked."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    moment = datetime(2026, 7, 1, 19, 5, tzinfo=TOKYO)
    for _ in range(repeat):
        tick(runtime.engine, scenarios, moment)
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Enrollment.id)).all().__len__() == 1
        assert connection.execute(select(Delivery.id)).all().__len__() == 1


def test_the_workers_periodic_tick_runs_the_engine(runtime, tmp_path):
    """The RQ tick job (what the worker enqueues every minute) runs every scenario like `flask engine tick`: #14
    and #16 share the renewal trigger, and the daily cap holds #16's message to the next day."""
    from bot.jobs.tasks import tick as periodic_tick

    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("w", email="w@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    report = periodic_tick(datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO).isoformat())
    entered = report["scenarios"]["entered"]
    assert entered["renewal_reminder"] == 1 and entered["plan_up_at_renewal"] == 1
    assert sum(entered.values()) == 2 and report["scenarios"]["queued"] == 2
    with runtime.engine.connect() as connection:
        rows = dict(connection.execute(select(Delivery.template, Delivery.status)).all())
    assert rows == {"renewal_reminder.a": "queued", "plan_up_at_renewal.a": "held"}


def test_two_workers_ticking_at_once_enrol_and_queue_once(runtime, tmp_path):
    """Two ticks of the same moment in parallel (two workers): every customer once, every message once."""
    import threading

    rows = [
        person(f"p{n}", email=f"p{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(60)
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    moment = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)
    barrier, errors = threading.Barrier(2), []

    def work() -> None:
        try:
            barrier.wait()
            tick(runtime.engine, scenarios, moment)
        except Exception as exc:  # noqa: BLE001 -- surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with runtime.engine.connect() as connection:
        assert len(connection.execute(select(Enrollment.id)).all()) == 60
        assert len(connection.execute(select(Delivery.id)).all()) == 60
        queued = connection.execute(select(TraceEntry.id).where(TraceEntry.code == "queued")).all()
    assert len(queued) == 60


def test_an_enrollment_the_engine_fails_on_is_set_aside_and_the_rest_go_on(
    runtime, tmp_path, monkeypatch, caplog
):
    """One broken enrollment is marked failed with the error class in the trace; the others are advanced."""
    from bot.scenarios import runner

    rows = [person(f"e{n}", email=f"e{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(3)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    real_step = runner.step

    def flaky(scenario, state, given, now, facts):
        if facts.get("poison"):
            raise ZeroDivisionError("boom")
        return real_step(scenario, state, given, now, facts)

    real_load = runner.load_facts

    def load_with_poison(connection, subjects, wanted):
        found = real_load(connection, subjects, wanted)
        for subject in subjects:
            if subject.customer_id == ids["e1"]:
                found[subject.enrollment_id]["poison"] = True
        return found

    monkeypatch.setattr(runner, "step", flaky)
    monkeypatch.setattr(runner, "load_facts", load_with_poison)
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    tick(runtime.engine, scenarios, datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO))
    with runtime.engine.connect() as connection:
        statuses = dict(connection.execute(select(Enrollment.customer_id, Enrollment.status)).all())
        errors = connection.execute(select(TraceEntry.details).where(TraceEntry.code == "engine_error")).all()
    assert statuses == {ids["e0"]: "active", ids["e1"]: "failed", ids["e2"]: "active"}
    assert errors == [({"error": "ZeroDivisionError"},)]
    assert {c for c, *_ in ledger(runtime)} == {ids["e0"], ids["e2"]}
    assert "e1@example.com" not in caplog.text and "山田" not in caplog.text


def test_collisions_go_by_priority_and_quiet_hours_hold_until_morning(runtime, tmp_path):
    """Two scenarios on one trigger (#14 and a #16-like copy): the higher priority sends, the other is held to the
    next day; a trigger at 22:00 is held to 09:00. Held rows are in the ledger with their new time and reason."""
    from dataclasses import replace

    from flows.dsl import RelativeTo

    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("k", email="k@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    from flows.dsl import Send

    renewal = SCENARIOS["renewal_reminder"]

    def copy(scenario_id: str, **changes):  # own templates: the same message twice a day would be a duplicate
        steps = tuple(
            replace(s, template=f"{scenario_id}.a") if isinstance(s, Send) else s for s in renewal.steps
        )
        return replace(renewal, id=scenario_id, steps=steps, **changes)

    plan_up = copy("plan_up_like", number=16, priority=20)
    late = copy(
        "late_trigger", number=97, priority=30, trigger=RelativeTo("contract.next_renewal_on", -30, "22:00")
    )
    scenarios = {s.id: s for s in (plan_up, renewal, late)}
    run_days(runtime, datetime(2026, 7, 1, 12, 0, tzinfo=TOKYO), 1, scenarios)
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Enrollment.scenario_id, Delivery.status, Delivery.due_at)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .order_by(Delivery.id)
        ).all()
        reasons = dict(
            connection.execute(
                select(TraceEntry.scenario_id, TraceEntry.details).where(TraceEntry.code == "held")
            ).all()
        )
    got = {(s, status, due.astimezone(TOKYO).strftime("%m-%d %H:%M")) for s, status, due in rows}
    assert got == {
        ("renewal_reminder", "queued", "07-01 19:00"),
        ("plan_up_like", "held", "07-02 19:00"),
        ("late_trigger", "held", "07-03 09:00"),  # 07-02 is taken by plan_up_like; 22:00 is quiet
    }
    assert reasons["plan_up_like"]["reasons"] == "frequency_cap"
    assert reasons["late_trigger"]["reasons"] == "quiet_hours, frequency_cap"


def test_a_message_caught_up_in_the_night_waits_for_the_morning(runtime, tmp_path):
    """A worker back at 01:00 enrols yesterday's 19:00 entrants; their marketing message is held to 09:00."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("n", email="n@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    tick(
        runtime.engine, scenarios, datetime(2026, 7, 2, 1, 0, tzinfo=TOKYO)
    )  # nothing ran at 19:00 on 1 July
    with runtime.engine.connect() as connection:
        status, due = connection.execute(select(Delivery.status, Delivery.due_at)).one()
    assert (status, due.astimezone(TOKYO)) == ("held", datetime(2026, 7, 2, 9, 0, tzinfo=TOKYO))


def test_a_tick_that_enters_many_brings_the_planners_row_counts_up_to_date(runtime, tmp_path, monkeypatch):
    """PostgreSQL: a tick whose triggers entered RECOUNT_AFTER or more has the enrollments analysed before advancing."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("row counts for the planner are PostgreSQL's")
    monkeypatch.setattr(runner, "RECOUNT_AFTER", 20)
    people = [
        person(f"p{n}", email=f"p{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(20)
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", people))
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    report = tick(runtime.engine, scenarios, datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO))
    with runtime.engine.connect() as connection:
        counted = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'enrollments'::regclass")
        ).scalar()
    assert (report.entered, counted) == ({"renewal_reminder": 20}, 20)


def test_a_batch_reads_only_the_records_its_own_scenarios_speak_of(runtime, tmp_path):
    """Advancing #14 entrants (no conditions on any fact) reads none of the customer's journey facts or LINE
    memberships, though the same tick runs the LINE promotions, whose branches read them."""
    from sqlalchemy import event

    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    read: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        read.append(statement)

    scenarios = {
        key: SCENARIOS[key] for key in ("renewal_reminder", "line_link_promotion", "line_friend_promotion")
    }
    event.listen(runtime.engine, "before_cursor_execute", remember)
    try:
        report = tick(runtime.engine, scenarios, datetime(2026, 7, 1, 19, 5, tzinfo=TOKYO))
    finally:
        event.remove(runtime.engine, "before_cursor_execute", remember)
    assert report.advanced == 1
    assert _facts_used(scenarios.values()) == {"activity.line_friend", "line_member.linked"}
    reads = [s for s in read if s.lstrip().upper().startswith("SELECT")]
    assert reads and not [s for s in reads if "customer_activity" in s or "line_memberships" in s]


def test_a_batch_shares_equal_trace_details_but_keeps_each_moment_as_written():
    """Entrants at one moment share one details document (encoded once by the COPY); the same instant written at
    another UTC offset keeps its own text."""
    from types import SimpleNamespace

    from bot.delivery.rules import NOBODY, History
    from flows.engine import Decision, Result, State

    writes = runner._Writes(runner.DEFAULT_RULES, History())
    scenario = SCENARIOS["renewal_reminder"]
    moment = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)
    state = State("wait_a", moment.isoformat())
    for number, at in enumerate([moment, moment, moment.astimezone(UTC)]):
        row = SimpleNamespace(id=number, customer_id=number, wake_token=0)
        writes.add(
            row, scenario, Result(state, (Decision("entered", details=(("at", at),)),)), NOBODY, moment
        )
    first, second, third = (entry["details"] for entry in writes.trace)
    assert first is second and first == {"at": moment.isoformat()}
    assert third == {"at": moment.astimezone(UTC).isoformat()} != first


def test_a_batch_whose_writing_fails_loses_nothing_and_the_next_tick_advances_it(
    runtime, tmp_path, monkeypatch
):
    """The first batch's writes fail (on PostgreSQL, on the writer connection while the second batch is taken):
    the tick raises, neither batch is written, and the next tick advances every enrollment once."""
    rows = [person(f"w{n}", email=f"w{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(3)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    monkeypatch.setattr(runner, "BATCH", 1)
    scenarios = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    moment = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)
    real_flush = runner._Writes.flush

    def failing(writes, connection):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runner._Writes, "flush", failing)
    with pytest.raises(RuntimeError, match="went away"):
        tick(runtime.engine, scenarios, moment)
    with runtime.engine.connect() as connection:
        states = connection.execute(select(Enrollment.state)).scalars().all()
    assert len(states) == 3 and states == [None] * 3  # entered, none advanced
    assert ledger(runtime) == []

    monkeypatch.setattr(runner._Writes, "flush", real_flush)
    report = tick(runtime.engine, scenarios, moment)
    assert (report.advanced, report.queued) == (3, 3)
    assert len(ledger(runtime)) == 3
    with runtime.engine.connect() as connection:
        assert len(connection.execute(select(TraceEntry.id).where(TraceEntry.code == "queued")).all()) == 3


def test_a_pool_of_one_connection_advances_one_batch_at_a_time(runtime, tmp_path, monkeypatch):
    """DATABASE_POOL_SIZE=1 and no overflow: no second connection to write on, so the batches go in turn (taking
    the next batch would wait for the pool's only connection and time out while the previous one is written)."""
    from bot.platform.db import Pool, Timeouts, make_engine

    rows = [person(f"o{n}", email=f"o{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(5)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    monkeypatch.setattr(runner, "BATCH", 2)
    real_flush = runner._Writes.flush

    def slow_flush(writes, connection):  # a batch written for longer than the pool lends a connection
        time.sleep(0.7)
        return real_flush(writes, connection)

    monkeypatch.setattr(runner._Writes, "flush", slow_flush)
    single = make_engine(runtime.settings.database_url, Timeouts(pool=0.5), Pool(size=1, overflow=0))
    try:
        report = tick(
            single,
            {"renewal_reminder": SCENARIOS["renewal_reminder"]},
            datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO),
        )
    finally:
        single.dispose()
    assert (report.advanced, report.queued) == (5, 5)
    assert len(ledger(runtime)) == 5


def test_a_batch_counts_the_message_the_batch_before_it_queued_against_the_cap(
    runtime, tmp_path, monkeypatch
):
    """Two scenarios fire for one customer at the same moment, in batches of one: on PostgreSQL the second batch
    is taken while the first is being written (advance_all), and it still holds its message for the cap."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("k", email="k@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    monkeypatch.setattr(runner, "BATCH", 1)
    # the first batch's writes wait (up to a second) until a later batch reads its history: the second batch must
    # wait for that commit instead, so reading the history too early shows as both messages queued at once
    reading_history, histories = threading.Event(), []
    real_load_history, real_flush = runner.load_history, runner._Writes.flush

    def load_history(*args):
        histories.append(args)
        if len(histories) > 1:
            reading_history.set()
        return real_load_history(*args)

    def late_flush(writes, connection):
        reading_history.wait(timeout=1)
        return real_flush(writes, connection)

    monkeypatch.setattr(runner, "load_history", load_history)
    monkeypatch.setattr(runner._Writes, "flush", late_flush)
    renewal = SCENARIOS["renewal_reminder"]
    steps = tuple(replace(s, template="twin.a") if isinstance(s, Send) else s for s in renewal.steps)
    twin = replace(renewal, id="renewal_twin", number=98, steps=steps)
    report = tick(
        runtime.engine, {s.id: s for s in (renewal, twin)}, datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)
    )
    assert report.advanced == 2
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(Delivery.status, Delivery.due_at)).all()
    assert sorted((status, due.astimezone(TOKYO).strftime("%m-%d %H:%M")) for status, due in rows) == [
        ("held", "07-02 19:00"),
        ("queued", "07-01 19:00"),
    ]
