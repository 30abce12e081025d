"""#2 資料請求後休眠顧客への契約促進: 60 days after a document request, 19:00, A; at A+3d B to openers, A' to the
rest and B three days later; at B+3d B' to those who did not open B; C the day before the 7-day campaign ends
(B+6d); a contract ends the flow at any point."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flows import dormant_doc_request as module
from flows.dsl import ScenarioError
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels, DocumentRequest
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exit_times,
    exits,
    load,
    run,
    set_values,
    timeline,
    write,
)

START = datetime(2026, 5, 31, 0, 0, tzinfo=TOKYO)  # 60 days after 1 April


def request(code: str, requested_on: str = "2026/04/01", **fields: str) -> dict[str, str]:
    """An F1 row of a prospect known by email (given name = code); `sms` adds a permitted phone number."""
    sms = fields.get("sms", "")
    return {
        "document_request_id": f"DR-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": fields.get("email_ok", "真"),
        "sms_phone": sms,
        "sms_permitted": "真" if sms else "偽",
        "requested_on": requested_on,
        "contracted": fields.get("contracted", "偽"),
        "family_name": "山田",
        "given_name": code,
    }


def signs(runtime, code: str) -> None:
    set_values(runtime, DocumentRequest, DocumentRequest.request_code == f"DR-{code}", contracted=True)


def test_dormant_requesters_follow_the_decks_campaign_timeline(runtime, tmp_path):
    """Openers get A, B, C; others A, A', B, B', C; a contract converts at the next wake-up; opt-out stops."""
    rows = [
        request("opens"),
        request("ignores", sms="090-1111-2222"),
        request("signs"),
        request("signs_in_campaign"),
        request("opts_out"),
        request("holder", contracted="真"),
        request("silent", email_ok="偽"),
        request("not_yet", requested_on="2026/05/01"),
    ]
    load(runtime, "F1", write(tmp_path / "f1.csv", rows))
    run(runtime, module.SCENARIO, START, 1)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a")
    engage(runtime, ids["signs_in_campaign"], "send_a", "clicked_at")
    signs(runtime, "signs")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["opts_out"], email_permitted=False
    )
    run(runtime, module.SCENARIO, START + timedelta(days=1), 3)
    engage(runtime, ids["opens"], "send_b")
    signs(runtime, "signs_in_campaign")
    run(runtime, module.SCENARIO, START + timedelta(days=4), 10)
    assert timeline(runtime) == [
        ("ignores", "05-31", "19:00", "send_a", "sms"),  # SMS comes before email on the ladder
        ("opens", "05-31", "19:00", "send_a", "email"),
        ("opts_out", "05-31", "19:00", "send_a", "email"),
        ("signs", "05-31", "19:00", "send_a", "email"),
        ("signs_in_campaign", "05-31", "19:00", "send_a", "email"),
        ("ignores", "06-03", "19:00", "send_a2", "sms"),
        ("opens", "06-03", "19:00", "send_b", "email"),
        ("signs_in_campaign", "06-03", "19:00", "send_b", "email"),
        ("ignores", "06-06", "19:00", "send_b", "sms"),
        ("ignores", "06-09", "19:00", "send_b2", "sms"),
        ("opens", "06-09", "19:00", "send_c", "email"),  # B+6d: the day before a 7-day campaign ends
        ("ignores", "06-12", "19:00", "send_c", "sms"),
    ]
    assert exits(runtime) == {
        "opens": "finished",
        "ignores": "finished",
        "signs": "converted",
        "signs_in_campaign": "converted",
        "opts_out": "opted_out",
    }
    ended = exit_times(runtime)  # at the wake-ups before A' (A+3d) and before C (B+3d), not later
    assert (ended["signs"], ended["signs_in_campaign"]) == (
        ("converted", "06-03 19:00"),
        ("converted", "06-06 19:00"),
    )
    assert_no_message_twice(runtime)


def test_operators_can_change_the_trigger_the_waits_and_the_campaign(runtime, tmp_path):
    """30 days, 10:00, waits of 2 days, a 6-day campaign: A, B at A+2d, B' at B+2d, C at B+5d."""
    load(runtime, "F1", write(tmp_path / "f1.csv", [request("opens_a", requested_on="2026/05/01")]))
    settings = {"trigger_days": 30, "trigger_at": "10:00", "wait_days": 2, "campaign_days": 6}
    scenario = module.build(merge(module.ID, module.DEFAULTS, settings))
    run(runtime, scenario, START, 1)
    engage(runtime, customer_ids(runtime)["opens_a"], "send_a")
    run(runtime, scenario, START + timedelta(days=1), 7)
    assert timeline(runtime) == [
        ("opens_a", "05-31", "10:00", "send_a", "email"),
        ("opens_a", "06-02", "10:00", "send_b", "email"),
        ("opens_a", "06-04", "10:00", "send_b2", "email"),
        ("opens_a", "06-07", "10:00", "send_c", "email"),
    ]
    assert exits(runtime) == {"opens_a": "finished"}


def test_the_reminder_must_come_after_the_re_send():
    """A campaign too short for B' to go before C is refused with a message that says why."""
    with pytest.raises(ScenarioError, match="B' before C"):
        module.build(merge(module.ID, module.DEFAULTS, {"wait_days": 3, "campaign_days": 4}))
