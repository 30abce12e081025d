"""#19 友だち紹介キャンペーン: nothing runs until the operator sets the campaign's start date; then policyholders get
A that day at 10:00, A' the next day if unopened, and B the day before the campaign ends unless they followed
the link in A or A'."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flows import referral_campaign as module
from flows.dsl import ScenarioError
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels
from tests.integration.scenario_helpers import (
    LINE_ID,
    assert_no_message_twice,
    customer_ids,
    engage,
    exits,
    load,
    person,
    run,
    set_values,
    timeline,
    write,
)

START = datetime(2026, 7, 10, 0, 0, tzinfo=TOKYO)


def campaign(**changes: object):
    return module.build(merge(module.ID, module.DEFAULTS, {"campaign_start_on": "2026-07-10", **changes}))


def test_without_a_start_date_nobody_enters(runtime, tmp_path):
    """The default has no campaign_start_on: policyholders with permission are never entered."""
    rows = [person(f"h{n}", email=f"h{n}@example.com", email_ok="真", contracted="真") for n in range(3)]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    assert module.SCENARIO.trigger.day is None
    run(runtime, module.SCENARIO, START - timedelta(days=1), 3)
    assert timeline(runtime) == [] and exits(runtime) == {}


def test_policyholders_get_a_a2_and_the_reminder_unless_they_clicked(runtime, tmp_path):
    """A on the start day 10:00; A' the next day to non-openers; B on day 6 (the day before a 7-day campaign
    ends) to those who clicked neither A nor A'; a click on either converts; prospects (契約フラグ 偽) and
    customers without permission never enter; permission withdrawn after A ends the run as opted out."""
    holder = {"contracted": "真"}
    rows = [
        person("clicks_a", email="ca@example.com", email_ok="真", **holder),
        person("clicks_a2", email="cb@example.com", email_ok="真", **holder),
        person("opens", email="op@example.com", email_ok="真", **holder),
        person("ignores", line=LINE_ID, line_ok="真", **holder),
        person("leaves", email="lv@example.com", email_ok="真", **holder),
        person("prospect", email="pr@example.com", email_ok="真"),
        person("silent", email="si@example.com", email_ok="偽", **holder),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    scenario = campaign()
    run(runtime, scenario, START, 1)
    engage(runtime, ids["clicks_a"], "send_a", "clicked_at")
    engage(runtime, ids["opens"], "send_a", "opened_at")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["leaves"], email_permitted=False
    )
    run(runtime, scenario, START + timedelta(days=1), 1)
    engage(runtime, ids["clicks_a2"], "send_a2", "clicked_at")
    run(runtime, scenario, START + timedelta(days=2), 6)
    assert timeline(runtime) == [
        ("clicks_a", "07-10", "10:00", "send_a", "email"),
        ("clicks_a2", "07-10", "10:00", "send_a", "email"),
        ("ignores", "07-10", "10:00", "send_a", "line"),
        ("leaves", "07-10", "10:00", "send_a", "email"),
        ("opens", "07-10", "10:00", "send_a", "email"),
        ("clicks_a2", "07-11", "10:00", "send_a2", "email"),
        ("ignores", "07-11", "10:00", "send_a2", "line"),
        ("ignores", "07-16", "10:00", "send_b", "line"),
        ("opens", "07-16", "10:00", "send_b", "email"),  # opened A but did not follow its link
    ]
    assert exits(runtime) == {
        "clicks_a": "converted",
        "clicks_a2": "converted",
        "opens": "finished",
        "ignores": "finished",
        "leaves": "opted_out",
    }
    assert_no_message_twice(runtime)


def test_a_longer_campaign_moves_the_reminder(runtime, tmp_path):
    """With campaign_days 10, resend_days 2 and trigger_at 11:00: A on 3 August, A' on 5 August, B on 12 August
    (the day before the tenth day ends); nothing before the start date."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", contracted="真")]),
    )
    changes = {
        "campaign_start_on": "2026-08-03",
        "campaign_days": 10,
        "resend_days": 2,
        "trigger_at": "11:00",
    }
    scenario = campaign(**changes)
    run(runtime, scenario, datetime(2026, 8, 1, 0, 0, tzinfo=TOKYO), 12)
    assert timeline(runtime) == [
        ("x", "08-03", "11:00", "send_a", "email"),
        ("x", "08-05", "11:00", "send_a2", "email"),
        ("x", "08-12", "11:00", "send_b", "email"),
    ]


def test_a_reminder_that_would_not_follow_the_resend_is_refused():
    """campaign_days 2 would put B (day 1) on the re-send's day: the settings are rejected with the reason."""
    with pytest.raises(ScenarioError, match="campaign_days"):
        campaign(campaign_days=2)
