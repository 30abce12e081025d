"""#8 来店後休眠顧客への契約促進シナリオ over imported F5 and F3 files: who enters 60 days after the visit, the
deck's 7-day-campaign timeline, contracts and unsubscribes mid-flow, and a changed trigger."""

from __future__ import annotations

from datetime import datetime

from flows import dormant_visitor as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels, Reservation
from tests.integration.scenario_helpers import (
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

SIXTY_DAYS_BEFORE_10_JUNE = "2026/04/11"


def visit(code: str, visited_on: str = SIXTY_DAYS_BEFORE_10_JUNE, **columns: str) -> dict[str, str]:
    """An F3 row for customer `code` (matched by email): visited on `visited_on`, not contracted."""
    row = {
        "reservation_id": f"R-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": "",  # blank: the F5 file's permission stands
        "visit_on": visited_on,
        "visited": "真",
        "visited_on": visited_on,
        "contracted": "偽",
    }
    return row | columns


def load_people(runtime, tmp_path, codes: list[str], reservations: list[dict[str, str]]) -> dict[str, int]:
    rows = [person(code, email=f"{code}@example.com", email_ok="真") for code in codes]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    load(runtime, "F3", write(tmp_path / "f3.csv", reservations))
    return customer_ids(runtime)


def test_dormant_visitors_get_the_comparison_then_the_campaign_and_its_reminder(runtime, tmp_path):
    """A 60 days after the visit at 19:00; B at A+3d (opened) or A' then B at A+6d; B' at B+3d; C at B+6d;
    a visit 59 or 61 days ago, a no-show and a contracted visitor do not enter that day."""
    codes = ["opens", "ignores", "recent", "older", "no_show", "contracted"]
    ids = load_people(
        runtime,
        tmp_path,
        codes,
        [
            visit("opens"),
            visit("ignores"),
            visit("recent", "2026/04/12"),  # 60 days on 11 June: enters that day
            visit("older", "2026/04/09"),  # 60 days on 8 June, before the run
            visit("no_show", visited="偽"),
            visit("contracted", contracted="真"),
        ],
    )
    run(runtime, module.SCENARIO, datetime(2026, 6, 10, 12, 0, tzinfo=TOKYO), 2)
    engage(runtime, ids["opens"], "send_a", "opened_at")
    run(runtime, module.SCENARIO, datetime(2026, 6, 12, 12, 0, tzinfo=TOKYO), 4)
    engage(runtime, ids["opens"], "send_b", "opened_at")
    run(runtime, module.SCENARIO, datetime(2026, 6, 16, 12, 0, tzinfo=TOKYO), 9)
    assert timeline(runtime) == [
        ("ignores", "06-10", "19:00", "send_a", "email"),
        ("opens", "06-10", "19:00", "send_a", "email"),
        ("recent", "06-11", "19:00", "send_a", "email"),
        ("ignores", "06-13", "19:00", "send_a2", "email"),
        ("opens", "06-13", "19:00", "send_b", "email"),
        ("recent", "06-14", "19:00", "send_a2", "email"),
        ("ignores", "06-16", "19:00", "send_b", "email"),
        ("recent", "06-17", "19:00", "send_b", "email"),
        ("ignores", "06-19", "19:00", "send_b2", "email"),
        ("opens", "06-19", "19:00", "send_c", "email"),  # B+6d: the day before the campaign ends
        ("recent", "06-20", "19:00", "send_b2", "email"),
        ("ignores", "06-22", "19:00", "send_c", "email"),
        ("recent", "06-23", "19:00", "send_c", "email"),
    ]
    assert exits(runtime) == {"opens": "finished", "ignores": "finished", "recent": "finished"}
    assert_no_message_twice(runtime)


def test_contracting_after_a_resend_or_unsubscribing_after_b_ends_the_flow(runtime, tmp_path):
    """Contracted after A' (the deck's check before B): converted, no B; email withdrawn after B: no B',
    outcome opted_out."""
    ids = load_people(runtime, tmp_path, ["signs", "quits"], [visit("signs"), visit("quits")])
    run(runtime, module.SCENARIO, datetime(2026, 6, 10, 12, 0, tzinfo=TOKYO), 4)
    set_values(runtime, Reservation, Reservation.reservation_code == "R-signs", contracted=True)
    run(runtime, module.SCENARIO, datetime(2026, 6, 14, 12, 0, tzinfo=TOKYO), 3)
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["quits"], email_permitted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 17, 12, 0, tzinfo=TOKYO), 7)
    assert timeline(runtime) == [
        ("quits", "06-10", "19:00", "send_a", "email"),
        ("signs", "06-10", "19:00", "send_a", "email"),
        ("quits", "06-13", "19:00", "send_a2", "email"),
        ("signs", "06-13", "19:00", "send_a2", "email"),
        ("quits", "06-16", "19:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"signs": "converted", "quits": "opted_out"}
    assert_no_message_twice(runtime)


def test_a_changed_trigger_reaches_visitors_ninety_days_on_at_another_hour(runtime, tmp_path):
    """trigger_days 90 at 18:00: the visit of 12 March enters on 10 June at 18:00, the 60-day one does not."""
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"trigger_days": 90, "trigger_at": "18:00"}))
    load_people(runtime, tmp_path, ["ninety", "sixty"], [visit("ninety", "2026/03/12"), visit("sixty")])
    run(runtime, scenario, datetime(2026, 6, 10, 12, 0, tzinfo=TOKYO), 4)
    assert timeline(runtime) == [
        ("ninety", "06-10", "18:00", "send_a", "email"),
        ("ninety", "06-13", "18:00", "send_a2", "email"),
    ]
    assert exits(runtime) == {"ninety": None}
