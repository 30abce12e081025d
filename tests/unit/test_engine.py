"""The pure engine, as tables: (scenario, facts over time) → what is sent, on which channel, when; how it ends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from flows import doc_request_followup, renewal_reminder, visit_reminder
from flows.dsl import (
    Anchor,
    Channel,
    IfSegment,
    MonthlyOn,
    NthWeekdays,
    OnDate,
    OnEvent,
    Outcome,
    Pick,
    RelativeTo,
    Scenario,
    Send,
    Wait,
    is_true,
)
from flows.engine import TOKYO, Enter, State, Status, Wake, engaged_fact, fires_at, step

T0 = datetime(2026, 6, 11, 19, 0, tzinfo=TOKYO)  # 資料請求の翌日 19:00


def simulate(scenario, entry, facts_at, *, held_out=False, late=timedelta(0)):
    """Enter at `entry`, then wake at each requested time (plus `late`), with the facts true at that moment."""
    now = entry + late
    result = step(scenario, None, Enter(entry, held_out=held_out), now, facts_at(now))
    sends, results = list(result.sends), [result]
    for _ in range(20):
        state = result.state
        if state.status is Status.DONE:
            break
        now = datetime.fromisoformat(state.wake_at) + late
        result = step(scenario, state, Wake(state.token), now, facts_at(now))
        sends += result.sends
        results.append(result)
    return sends, result.state, results


def timeline(sends, origin):
    """[(day offset, HH:MM, step, channel policy)] relative to `origin`."""
    out = []
    for send in sends:
        local = send.due_at.astimezone(TOKYO)
        policy = send.channels.channels[0] if send.channels.pick is Pick.ONLY else "ladder"
        out.append(((local.date() - origin.date()).days, local.strftime("%H:%M"), send.step, policy))
    return out


def facts(origin=T0, **changes_by_day):
    """Facts that change on given days after `origin`: facts(d1={"x": True}) is x from day 1 on."""

    def at(moment):
        known = {}
        for day, values in sorted(changes_by_day.items()):
            if moment >= origin + timedelta(days=int(day[1:])):
                known.update(values)
        return known

    return at


OPENED_A = engaged_fact("send_a", "opened")
OPENED_B = engaged_fact("send_b", "opened")


@pytest.mark.parametrize(
    ("case", "given", "expected", "outcome"),
    [
        (
            "opened, not contracted: B the next day",
            facts(d0={OPENED_A: True}),
            [(0, "19:00", "send_a", "ladder"), (1, "19:00", "send_b", "ladder")],
            Outcome.FINISHED,
        ),
        (
            "unopened: A' the next day, B the day after",
            facts(),
            [
                (0, "19:00", "send_a", "ladder"),
                (1, "19:00", "send_a2", "ladder"),
                (2, "19:00", "send_b", "ladder"),
            ],
            Outcome.FINISHED,
        ),
        (
            "opened and contracted: no B",
            facts(d0={OPENED_A: True}, d1={"document_request.contracted": True}),
            [(0, "19:00", "send_a", "ladder")],
            Outcome.CONVERTED,
        ),
        (
            "unopened, contracted after A': no B",
            facts(d2={"document_request.contracted": True}),
            [(0, "19:00", "send_a", "ladder"), (1, "19:00", "send_a2", "ladder")],
            Outcome.CONVERTED,
        ),
    ],
)
def test_document_request_followup(case, given, expected, outcome):
    """#1: A at request+1d 19:00; the open check at A+1d; B to the uncontracted; contracted customers exit."""
    sends, state, _ = simulate(doc_request_followup.SCENARIO, T0, given)
    assert timeline(sends, T0) == expected, case
    assert state.outcome is outcome


VISIT = datetime(2026, 6, 20, 10, 0, tzinfo=TOKYO)
V0 = VISIT - timedelta(days=7)


def visit_facts(**changes_by_day):
    return facts(V0, **changes_by_day)


@pytest.mark.parametrize(
    ("case", "given", "expected", "outcome"),
    [
        (
            "A opened, B opened: email confirmation, email reminder",
            visit_facts(d0={OPENED_A: True}, d3={OPENED_B: True}),
            [(-7, "send_a", "ladder"), (-4, "send_b", Channel.EMAIL), (-1, "send_d", Channel.EMAIL)],
            Outcome.FINISHED,
        ),
        (
            "A opened, B unopened: the day-before reminder moves to SMS",
            visit_facts(d0={OPENED_A: True}),
            [(-7, "send_a", "ladder"), (-4, "send_b", Channel.EMAIL), (-1, "send_e", Channel.SMS)],
            Outcome.FINISHED,
        ),
        (
            "A unopened: confirmation and reminder by SMS",
            visit_facts(),
            [(-7, "send_a", "ladder"), (-4, "send_c", Channel.SMS), (-1, "send_e_after_c", Channel.SMS)],
            Outcome.FINISHED,
        ),
        (
            "cancelled after A: nothing more",
            visit_facts(d1={"reservation.cancelled": True}),
            [(-7, "send_a", "ladder")],
            Outcome.CANCELLED,
        ),
        (
            "cancelled after the confirmation: no reminder",
            visit_facts(d0={OPENED_A: True}, d4={"reservation.cancelled": True}),
            [(-7, "send_a", "ladder"), (-4, "send_b", Channel.EMAIL)],
            Outcome.CANCELLED,
        ),
        (
            "visited early (rebooked to an earlier day): the goal ends the flow",
            visit_facts(d2={"reservation.visited": True}),
            [(-7, "send_a", "ladder")],
            Outcome.CONVERTED,
        ),
    ],
)
def test_visit_reminder(case, given, expected, outcome):
    """#5: A at visit−7d 10:00; B by email or C by SMS at visit−4d by engagement; D or E at visit−1d."""
    sends, state, _ = simulate(visit_reminder.SCENARIO, V0, given)
    got = [(d - 7, step_id, policy) for d, hhmm, step_id, policy in timeline(sends, V0)]
    assert got == expected, case
    assert {s.due_at.astimezone(TOKYO).strftime("%H:%M") for s in sends} == {"10:00"}
    assert state.outcome is outcome


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (facts(), [(0, "19:00", "send_a", "ladder"), (3, "19:00", "send_a2", "ladder")]),
        (facts(d0={OPENED_A: True}), [(0, "19:00", "send_a", "ladder")]),
    ],
)
def test_renewal_reminder(given, expected):
    """#14: A at renewal−30d 19:00, A' three days later to those who did not open A."""
    sends, state, _ = simulate(renewal_reminder.SCENARIO, T0, given)
    assert timeline(sends, T0) == expected
    assert state.outcome is Outcome.FINISHED


def test_waits_keep_the_clock_time_when_ticks_run_late():
    """A tick 7 minutes late does not move later sends off 19:00."""
    sends, _, _ = simulate(doc_request_followup.SCENARIO, T0, facts(), late=timedelta(minutes=7))
    assert [s.due_at for s in sends] == [T0, T0 + timedelta(days=1), T0 + timedelta(days=2)]


def test_a_worker_down_for_days_catches_up_on_the_nominal_timeline():
    """Woken three days late, the flow runs every step that fell due, each at its own nominal time."""
    scenario = doc_request_followup.SCENARIO
    first = step(scenario, None, Enter(T0), T0, {})
    late = T0 + timedelta(days=3, hours=2)
    result = step(scenario, first.state, Wake(first.state.token), late, {})
    assert [(s.step, s.due_at) for s in result.sends] == [
        ("send_a2", T0 + timedelta(days=1)),
        ("send_b", T0 + timedelta(days=2)),
    ]
    assert result.state.outcome is Outcome.FINISHED


def test_a_stale_wake_token_changes_nothing():
    """A timer from before the last reschedule (or delivered twice) is ignored."""
    scenario = renewal_reminder.SCENARIO
    first = step(scenario, None, Enter(T0), T0, {})
    stale = step(scenario, first.state, Wake(first.state.token - 1), T0 + timedelta(days=3), {})
    assert stale.state == first.state and not stale.sends
    assert [d.code for d in stale.decisions] == ["stale_wake"]
    again = step(scenario, first.state, Wake(first.state.token), T0 + timedelta(days=3), {})
    replay = step(scenario, again.state, Wake(first.state.token), T0 + timedelta(days=3), {})
    assert len(again.sends) == 1 and not replay.sends


def test_entering_twice_is_refused():
    """One enrollment per anchor: an Enter for a running enrollment sends nothing."""
    scenario = renewal_reminder.SCENARIO
    first = step(scenario, None, Enter(T0), T0, {})
    second = step(scenario, first.state, Enter(T0), T0, {})
    assert not second.sends and second.state == first.state


def test_held_out_entrants_walk_the_flow_without_sends():
    """Holdout: the same path and outcome as everyone else, every send recorded as held out instead."""
    sends, state, results = simulate(doc_request_followup.SCENARIO, T0, facts(), held_out=True)
    assert sends == []
    held = [d.step for r in results for d in r.decisions if d.code == "held_out_not_sent"]
    assert held == ["send_a", "send_a2", "send_b"]
    assert state.outcome is Outcome.FINISHED


def test_state_round_trips_through_json():
    """What the runner stores is what the engine gets back."""
    first = step(visit_reminder.SCENARIO, None, Enter(V0), V0, {})
    assert State.from_json(first.state.to_json()) == first.state


@pytest.mark.parametrize(
    ("trigger", "day", "expected"),
    [
        (MonthlyOn(1, "10:00"), date(2026, 7, 1), datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO)),
        (MonthlyOn(1, "10:00"), date(2026, 7, 2), None),
        (
            NthWeekdays((1, 3), 4, "10:00"),
            date(2026, 7, 3),
            datetime(2026, 7, 3, 10, 0, tzinfo=TOKYO),
        ),  # 1st Fri
        (NthWeekdays((1, 3), 4, "10:00"), date(2026, 7, 10), None),  # 2nd Friday
        (NthWeekdays((1, 3), 4, "10:00"), date(2026, 7, 17), datetime(2026, 7, 17, 10, 0, tzinfo=TOKYO)),
        (NthWeekdays((1, 3), 4, "10:00"), date(2026, 7, 16), None),  # a Thursday
        (OnDate("2026-08-01", "10:00"), date(2026, 8, 1), datetime(2026, 8, 1, 10, 0, tzinfo=TOKYO)),
        (OnDate("2026-08-01", "10:00"), date(2026, 8, 2), None),
        (
            RelativeTo("reservation.visit_on", -7, "10:00"),
            date(2026, 8, 2),
            datetime(2026, 8, 2, 10, 0, tzinfo=TOKYO),
        ),
        (OnEvent("friend_added"), date(2026, 8, 2), None),
    ],
)
def test_calendar_triggers_fire_on_their_days_in_japan_time(trigger, day, expected):
    """毎月1日, 第1・第3金曜日, a fixed date; a relative trigger is evaluated daily; events never on the calendar."""
    assert fires_at(trigger, day) == expected


def test_a_wait_on_a_send_the_path_skipped_counts_from_where_it_is():
    """A flow that waits on a message its path did not send waits from the current step, and says so."""
    scenario = Scenario(
        id="skip",
        number=98,
        title="テスト",
        trigger=RelativeTo("document_request.requested_on", 1, "19:00"),
        anchor=Anchor.DOCUMENT_REQUEST,
        segment=(),
        steps=(
            IfSegment("lucky", (is_true("customer.vip"),), yes="send_gift", no="wait_gift"),
            Send("send_gift", "x.gift"),
            Wait("wait_gift", after="send_gift", days=2),
            Send("send_note", "x.note"),
        ),
    )
    first = step(scenario, None, Enter(T0), T0, {})
    assert [d.code for d in first.decisions][-2:] == ["wait_from_here", "waiting"]
    assert first.state.wake_at == (T0 + timedelta(days=2)).isoformat()


def test_a_states_copy_with_changes_is_what_dataclasses_replace_makes():
    """`State.but` (the engine's cheap copy) gives the same value as `dataclasses.replace`, and stays frozen."""
    from dataclasses import FrozenInstanceError, replace

    state = State("send_a", T0.isoformat(), sent={"send_a": T0.isoformat()}, token=2, held_out=True)
    changes = {"step": None, "status": Status.DONE, "wake_at": None, "token": 3}
    copy = state.but(**changes)
    assert copy == replace(state, **changes) and copy.to_json() == replace(state, **changes).to_json()
    assert state.step == "send_a" and state.token == 2  # the original is unchanged
    with pytest.raises(FrozenInstanceError):
        copy.step = "x"  # type: ignore[misc]
