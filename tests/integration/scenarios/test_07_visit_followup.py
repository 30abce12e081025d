"""#7 来店後の契約促進シナリオ over imported F5 and F3 files: who enters the day after the visit, the deck's
7-day-campaign timeline for openers and non-openers, contracts and unsubscribes mid-flow, changed settings."""

from __future__ import annotations

from datetime import datetime

import pytest

from flows import visit_followup as module
from flows.dsl import ScenarioError
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels, Reservation
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


def visit(code: str, visited_on: str = "2026/06/10", **columns: str) -> dict[str, str]:
    """An F3 row for customer `code` (matched by email): visited on `visited_on`, not contracted."""
    row = {
        "reservation_id": f"R-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": "",  # blank: the F5 file's permission stands
        "visit_on": visited_on,
        "visited": "真",
        "visited_on": visited_on,
        "cancelled": "偽",
        "contracted": "偽",
    }
    return row | columns


def load_people(runtime, tmp_path, codes: list[str], **special: dict[str, str]) -> None:
    rows = [person(code, email=f"{code}@example.com", email_ok="真") for code in codes]
    rows += [person(code, email=f"{code}@example.com", **channels) for code, channels in special.items()]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))


def contract(runtime, code: str) -> None:
    set_values(runtime, Reservation, Reservation.reservation_code == f"R-{code}", contracted=True)


def test_visitors_get_thanks_then_the_campaign_and_its_reminder(runtime, tmp_path):
    """A the day after the visit at 19:00; B at A+3d (opened) or A' then B at A+6d; B' to non-openers at B+3d; C at
    B+6d; the actual visit day counts, not the booked one; no-shows, contracted and unconsented never enter."""
    load_people(
        runtime,
        tmp_path,
        ["opens", "ignores", "no_show", "contracted", "undated"],
        no_consent={"email_ok": "偽"},
        liner={"line": LINE_ID, "line_ok": "真", "email_ok": "真"},
    )
    reservations = [
        visit("opens", visit_on="2026/06/12"),  # booked for the 12th, came on the 10th
        visit("ignores"),
        visit("liner"),
        visit("no_show", visited="偽"),
        visit("contracted", contracted="真"),
        visit("undated", visited_on=""),  # 来店フラグ without 来店日: no day to count from
        visit("no_consent"),
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", reservations))
    start = datetime(2026, 6, 10, 0, 0, tzinfo=TOKYO)
    run(runtime, module.SCENARIO, start, 2)
    engage(runtime, customer_ids(runtime)["opens"], "send_a", "opened_at")
    run(runtime, module.SCENARIO, datetime(2026, 6, 12, 0, 0, tzinfo=TOKYO), 4)
    engage(runtime, customer_ids(runtime)["opens"], "send_b", "clicked_at")
    run(runtime, module.SCENARIO, datetime(2026, 6, 16, 0, 0, tzinfo=TOKYO), 9)
    assert timeline(runtime) == [
        ("ignores", "06-11", "19:00", "send_a", "email"),
        ("liner", "06-11", "19:00", "send_a", "line"),
        ("opens", "06-11", "19:00", "send_a", "email"),
        ("ignores", "06-14", "19:00", "send_a2", "email"),
        ("liner", "06-14", "19:00", "send_a2", "line"),
        ("opens", "06-14", "19:00", "send_b", "email"),
        ("ignores", "06-17", "19:00", "send_b", "email"),
        ("liner", "06-17", "19:00", "send_b", "line"),
        ("ignores", "06-20", "19:00", "send_b2", "email"),
        ("liner", "06-20", "19:00", "send_b2", "line"),
        ("opens", "06-20", "19:00", "send_c", "email"),  # the day before the 7-day campaign ends
        ("ignores", "06-23", "19:00", "send_c", "email"),
        ("liner", "06-23", "19:00", "send_c", "line"),
    ]
    assert exits(runtime) == {"opens": "finished", "ignores": "finished", "liner": "finished"}
    assert_no_message_twice(runtime)


def test_a_contract_ends_the_flow_at_any_wake_up_and_an_unsubscribe_opts_out(runtime, tmp_path):
    """Contracted after A: no A' nor B; contracted after B: no B' nor C (not only at the deck's checks);
    email permission withdrawn after A: nothing more, outcome opted_out."""
    load_people(runtime, tmp_path, ["signs_early", "signs_late", "quits"])
    load(
        runtime,
        "F3",
        write(tmp_path / "f3.csv", [visit(code) for code in ("signs_early", "signs_late", "quits")]),
    )
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, datetime(2026, 6, 11, 12, 0, tzinfo=TOKYO), 1)
    engage(runtime, ids["signs_late"], "send_a", "tapped_at")
    contract(runtime, "signs_early")
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["quits"], email_permitted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 12, 12, 0, tzinfo=TOKYO), 3)
    contract(runtime, "signs_late")
    run(runtime, module.SCENARIO, datetime(2026, 6, 15, 12, 0, tzinfo=TOKYO), 10)
    assert timeline(runtime) == [
        ("quits", "06-11", "19:00", "send_a", "email"),
        ("signs_early", "06-11", "19:00", "send_a", "email"),
        ("signs_late", "06-11", "19:00", "send_a", "email"),
        ("signs_late", "06-14", "19:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"signs_early": "converted", "signs_late": "converted", "quits": "opted_out"}
    assert_no_message_twice(runtime)


def test_changed_settings_move_the_trigger_and_stretch_the_campaign(runtime, tmp_path):
    """Two days after the visit at 10:00, a 10-day campaign: A, A', B three days apart, B' at B+3d, C at B+9d."""
    scenario = module.build(
        merge(module.ID, module.DEFAULTS, {"trigger_days": 2, "trigger_at": "10:00", "campaign_days": 10})
    )
    load_people(runtime, tmp_path, ["late"])
    load(runtime, "F3", write(tmp_path / "f3.csv", [visit("late")]))
    run(runtime, scenario, datetime(2026, 6, 11, 0, 0, tzinfo=TOKYO), 18)
    assert timeline(runtime) == [
        ("late", "06-12", "10:00", "send_a", "email"),
        ("late", "06-15", "10:00", "send_a2", "email"),
        ("late", "06-18", "10:00", "send_b", "email"),
        ("late", "06-21", "10:00", "send_b2", "email"),
        ("late", "06-27", "10:00", "send_c", "email"),
    ]
    assert exits(runtime) == {"late": "finished"}


def test_a_campaign_too_short_for_the_re_send_is_refused():
    """C must come after B': campaign_days below wait_days + 2 is an error that names the settings."""
    with pytest.raises(ScenarioError, match="campaign_days"):
        module.build(merge(module.ID, module.DEFAULTS, {"wait_days": 3, "campaign_days": 4}))
