"""Scenario data is checked when it is built: a flow that cannot run as written never loads."""

from __future__ import annotations

import pytest

from flows.catalog import SCENARIOS, find_scenario
from flows.dsl import (
    Anchor,
    Exit,
    IfEngaged,
    MonthlyOn,
    NthWeekdays,
    OnEvent,
    RelativeTo,
    Scenario,
    ScenarioError,
    Send,
    Signal,
    Wait,
    check_templates,
    days_since,
)


def build(*steps, trigger=None):
    return Scenario(
        id="t",
        number=99,
        title="テスト",
        trigger=trigger or RelativeTo("document_request.requested_on", 1, "19:00"),
        anchor=Anchor.DOCUMENT_REQUEST,
        segment=(),
        steps=steps,
    )


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ((Send("a", "x"), Send("a", "x")), "step ids used twice: a"),
        ((Send("a", "x", then="nowhere"),), "goes to nowhere, which does not exist"),
        ((Send("a", "x"), Exit("end"), Send("orphan", "x")), "can never be reached: orphan"),
        ((Send("a", "x"), Wait("w", after="end", days=1), Exit("end")), "refers to end, which is not a send"),
        (
            (
                Send("a", "x"),
                IfEngaged("o", message="a", signal=Signal.OPENED, yes="end", no="gone"),
                Exit("end"),
            ),
            "goes to gone",
        ),
        ((), "no steps"),
    ],
)
def test_broken_graphs_are_refused(steps, reason):
    """Unique ids, existing targets, waits and branches on send steps, nothing unreachable."""
    with pytest.raises(ScenarioError, match=reason):
        build(*steps)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RelativeTo("x.on", 1, "25:00"),
        lambda: RelativeTo("x.on", 1, "7pm"),
        lambda: MonthlyOn(31, "10:00"),
        lambda: NthWeekdays((), 4, "10:00"),
        lambda: NthWeekdays((1, 6), 4, "10:00"),
        lambda: days_since("x.on", "one"),
    ],
)
def test_bad_triggers_and_conditions_are_refused(make):
    """Times of day, month days, week numbers and day counts are checked."""
    with pytest.raises(ScenarioError):
        make()


def test_templates_must_exist_in_the_locale_files():
    """A send whose template is not in the locale files is reported by name."""
    scenario = build(Send("a", "exists"), Send("b", "missing.one"))
    check_templates(scenario, {"exists", "missing.one"})
    with pytest.raises(ScenarioError, match="missing.one"):
        check_templates(scenario, {"exists"})


def test_every_catalogued_template_is_in_both_locales():
    """The scenarios' messages exist in Japanese and English."""
    from bot.platform.i18n import template_keys

    for locale in ("ja", "en"):
        for scenario in SCENARIOS.values():
            check_templates(scenario, template_keys(locale))


def test_scenarios_are_found_by_id_or_number():
    """`5`, `#5` and `visit_reminder` are the same scenario; an unknown one lists what exists."""
    assert find_scenario("5") is find_scenario("#5") is find_scenario("visit_reminder")
    with pytest.raises(ScenarioError, match="#1 doc_request_followup"):
        find_scenario("42")


def test_an_event_trigger_names_an_event_the_service_reports_and_a_delay_under_a_day():
    """OnEvent("friend_add") (a typo) would never start anyone: refused with the events there are; a delay is
    whole minutes from 0 to a day."""
    assert OnEvent("booking_made", delay_minutes=30).delay_minutes == 30
    with pytest.raises(ScenarioError, match="no event 'friend_add'.*friend_added, linked"):
        OnEvent("friend_add")
    for delay in (-1, 1440, 1.5):
        with pytest.raises(ScenarioError, match="whole minutes"):
            OnEvent("friend_added", delay_minutes=delay)
