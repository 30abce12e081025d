"""Entry rules beyond the segment: re-entry, event-started enrollments, and the holdout draw in SQL and Python."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from bot.scenarios.journeys import enrol_on_event
from bot.scenarios.runner import tick
from bot.scenarios.triggers import holdout_draw, is_held_out
from flows.catalog import SCENARIOS
from flows.dsl import Anchor, OnEvent, Reentry, Scenario, Send
from flows.engine import TOKYO
from models import Customer, Enrollment
from tests.integration.scenario_helpers import load, person, write

A_MAIL = {"email_main": "a@example.com", "email_permitted": "真"}


def _two_requests(runtime, tmp_path):
    load(runtime, "F5", write(tmp_path / "f5.csv", [person("r", email="r@example.com", email_ok="真")]))
    rows = [
        {
            "document_request_id": code,
            "email_main": "r@example.com",
            "email_permitted": "真",
            "requested_on": day,
            "contracted": "偽",
        }
        for code, day in [("DR1", "2026/06/10"), ("DR2", "2026/06/11")]
    ]
    load(runtime, "F1", write(tmp_path / "f1.csv", rows))


def _enrolled(runtime) -> list[str]:
    with runtime.engine.connect() as connection:
        return [key for (key,) in connection.execute(select(Enrollment.anchor_key).order_by(Enrollment.id))]


def test_per_anchor_lets_two_requests_run_side_by_side(runtime, tmp_path):
    """The default: each document request has its own enrollment."""
    _two_requests(runtime, tmp_path)
    scenarios = {"doc_request_followup": SCENARIOS["doc_request_followup"]}
    for day in (11, 12):
        tick(runtime.engine, scenarios, datetime(2026, 6, day, 19, 0, tzinfo=TOKYO))
    assert _enrolled(runtime) == ["document_request:DR1", "document_request:DR2"]


def test_one_at_a_time_keeps_a_second_request_out_while_the_first_runs(runtime, tmp_path):
    """Re-entry one at a time: the 11 June request does not enter while the 10 June one is still running."""
    _two_requests(runtime, tmp_path)
    scenario = replace(SCENARIOS["doc_request_followup"], reentry=Reentry.ONE_AT_A_TIME)
    for day in (11, 12):
        tick(runtime.engine, {scenario.id: scenario}, datetime(2026, 6, day, 19, 0, tzinfo=TOKYO))
    assert _enrolled(runtime) == ["document_request:DR1"]


WELCOME = Scenario(
    id="welcome_dialog",
    number=90,
    title="友だち追加のあいさつ",
    trigger=OnEvent("friend_added"),
    anchor=Anchor.OCCURRENCE,
    segment=(),
    steps=(Send("greet", "welcome.greet"),),
)


def test_an_event_enrols_once_per_day_in_the_scenarios_it_starts(runtime, tmp_path):
    """friend_added enrols in the dialog it starts, once that day; other events and scenarios are untouched."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [person("ev", email="ev@example.com", email_ok="真")]))
    with runtime.engine.connect() as connection:
        customer_id = connection.execute(select(Customer.id)).scalar_one()
    scenarios = {WELCOME.id: WELCOME, **SCENARIOS}
    at = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)
    with runtime.engine.begin() as connection:
        assert enrol_on_event(connection, scenarios, "friend_added", customer_id, at) == ["welcome_dialog"]
        assert enrol_on_event(connection, scenarios, "friend_added", customer_id, at) == []
        assert enrol_on_event(connection, scenarios, "linked", customer_id, at) == []
    assert _enrolled(runtime) == ["occurrence:2026-06-01"]


def test_the_holdout_draw_is_the_same_in_sql_and_python(runtime, tmp_path):
    """Scheduled and event-started enrollments hold out the same customers."""
    rows = [person(f"h{n}", email=f"h{n}@example.com") for n in range(300)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    scenario = replace(WELCOME, holdout=0.3)
    customers = Customer.__table__
    with runtime.engine.connect() as connection:
        drawn = dict(connection.execute(select(customers.c.id, holdout_draw(scenario, customers.c.id))).all())
    assert {cid: is_held_out(scenario, cid) for cid in drawn} == {cid: bool(v) for cid, v in drawn.items()}
    assert 50 <= sum(map(bool, drawn.values())) <= 130


def test_a_firing_is_evaluated_again_only_after_data_was_written(runtime, tmp_path):
    """Later ticks the same day skip the trigger's query unless an import (or the API) wrote data since."""
    from models import TriggerRun

    load(runtime, "F5", write(tmp_path / "f5.csv", [person("a", email="a@example.com", email_ok="真")]))
    first = [{"document_request_id": "DR1", **A_MAIL, "requested_on": "2026/06/10"}]
    load(runtime, "F1", write(tmp_path / "f1.csv", first))
    scenarios = {"doc_request_followup": SCENARIOS["doc_request_followup"]}
    report = tick(runtime.engine, scenarios, datetime(2026, 6, 11, 19, 0, tzinfo=TOKYO))
    assert report.entered == {"doc_request_followup": 1}
    with runtime.engine.begin() as connection:  # written behind the importer's back: not noticed
        connection.execute(
            Enrollment.__table__.delete().where(Enrollment.anchor_key == "document_request:DR1")
        )
    assert tick(runtime.engine, scenarios, datetime(2026, 6, 11, 19, 30, tzinfo=TOKYO)).entered == {
        "doc_request_followup": 0
    }
    second = [{"document_request_id": "DR2", **A_MAIL, "requested_on": "2026/06/10"}]
    load(runtime, "F1", write(tmp_path / "f1b.csv", second))
    again = tick(runtime.engine, scenarios, datetime(2026, 6, 11, 20, 0, tzinfo=TOKYO))
    assert again.entered == {
        "doc_request_followup": 2
    }  # DR2, and DR1 once more since its enrollment was removed
    with runtime.engine.connect() as connection:
        runs = connection.execute(select(TriggerRun.scenario_id, TriggerRun.day)).all()
    assert sorted(runs) == sorted(
        [
            ("doc_request_followup", datetime(2026, 6, 10).date()),
            ("doc_request_followup", datetime(2026, 6, 11).date()),
        ]
    )


def test_entrants_must_be_reachable_on_the_first_messages_channels(runtime, tmp_path):
    """#6 sends A by email only: a customer reachable only by SMS does not enter, even without the scenario's
    own email condition, since the flow would start with nothing sent."""
    from flows.dsl import Channel

    rows = [
        person("mail", email="m@example.com", email_ok="真"),
        person("phone", sms="090-1234-5678", sms_ok="真"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    cancellations = [
        {
            "reservation_id": f"R-{code}",
            "email_main": email,
            "email_permitted": "",  # blank: the F5 file's permission stands
            "sms_phone": phone,
            "sms_permitted": "",
            "cancelled": "真",
            "cancelled_on": "2026/06/10",
            "rebooked": "偽",
        }
        for code, email, phone in (("mail", "m@example.com", ""), ("phone", "", "090-1234-5678"))
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", cancellations))
    base = SCENARIOS["rebooking_after_cancel"]
    without_email_condition = replace(base, segment=base.segment[:2])
    assert all(c.fact != "channel.email_permitted" for c in without_email_condition.segment)
    tick(runtime.engine, {base.id: without_email_condition}, datetime(2026, 6, 11, 19, 0, tzinfo=TOKYO))
    with runtime.engine.connect() as connection:
        entered = (
            connection.execute(
                select(Customer.given_name).join(Enrollment, Enrollment.customer_id == Customer.id)
            )
            .scalars()
            .all()
        )
    assert entered == ["mail"] and Channel.SMS in {
        c for s in base.steps if isinstance(s, Send) for c in s.channels.channels
    }
