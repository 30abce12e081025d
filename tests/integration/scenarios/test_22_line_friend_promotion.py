"""#22 LINE利用促進シナリオ over imported F5 data: on the 1st and 3rd Friday at 10:00, customers who are not LINE
friends get A by SMS, email or push (never LINE); A' a day later if unopened; B at A+4d unless they became friends."""

from __future__ import annotations

from datetime import datetime

from flows import line_friend_promotion as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerActivity, CustomerChannels
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

FIRST_FRIDAY = datetime(2026, 6, 5, 0, 0, tzinfo=TOKYO)  # 1st Friday of June 2026; the 3rd is 19 June


def customer(code: str, friend: str = "偽", push: str = "", **channels: str) -> dict:
    """An F5 row with LINEID 利用フラグ and an optional app push token (permitted)."""
    return person(code, **channels) | {
        "line_friend": friend,
        "fcm_token": push,
        "push_permitted": "真" if push else "偽",
    }


def test_non_friends_get_a_a2_and_b_off_line_and_friends_leave(runtime, tmp_path):
    """A Fri 10:00, A' Sat to non-openers, B Tue; a friend-add after A ends it; LINE is never used."""
    line_id = "U" + "e" * 32
    rows = [
        customer("ignores", sms="090-1111-2222", sms_ok="真", email="i@example.com", email_ok="真"),
        customer("opens", email="o@example.com", email_ok="真"),
        # a LINE ID on file (a row of any data file, the chat) is a friendship the F5 flag has not caught up with
        customer("on_line", line=line_id, line_ok="真", email="l@example.com", email_ok="真"),
        customer("joins", email="j@example.com", email_ok="真"),
        customer("stops", sms="090-3333-4444", sms_ok="真"),
        customer("app_only", push="fcm-token-1"),
        customer("friend", friend="真", email="f@example.com", email_ok="真"),
        customer("line_only", line="U" + "f" * 32, line_ok="真"),  # LINE is not one of its channels
        customer("no_consent", email="n@example.com", email_ok="偽"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)

    run(runtime, module.SCENARIO, FIRST_FRIDAY, 1)
    engage(runtime, ids["opens"], "send_a", "opened_at")
    set_values(runtime, CustomerActivity, CustomerActivity.customer_id == ids["joins"], line_friend=True)
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["stops"], sms_permitted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 6, tzinfo=TOKYO), 5)

    assert timeline(runtime) == [
        ("app_only", "06-05", "10:00", "send_a", "push"),
        ("ignores", "06-05", "10:00", "send_a", "sms"),
        ("joins", "06-05", "10:00", "send_a", "email"),
        ("opens", "06-05", "10:00", "send_a", "email"),
        ("stops", "06-05", "10:00", "send_a", "sms"),
        ("app_only", "06-06", "10:00", "send_a2", "push"),
        ("ignores", "06-06", "10:00", "send_a2", "sms"),
        ("app_only", "06-09", "10:00", "send_b", "push"),
        ("ignores", "06-09", "10:00", "send_b", "sms"),
        ("opens", "06-09", "10:00", "send_b", "email"),
    ]
    assert exits(runtime) == {
        "app_only": "finished",
        "ignores": "finished",
        "opens": "finished",
        "joins": "converted",
        "stops": "opted_out",
    }
    assert_no_message_twice(runtime)

    run(runtime, module.SCENARIO, datetime(2026, 6, 19, tzinfo=TOKYO), 1)  # the 3rd Friday: a new round
    again = [row for row in timeline(runtime) if row[1] == "06-19"]
    assert again == [
        ("app_only", "06-19", "10:00", "send_a", "push"),
        ("ignores", "06-19", "10:00", "send_a", "sms"),
        ("opens", "06-19", "10:00", "send_a", "email"),
    ]


def test_changed_settings_and_one_round_at_a_time(runtime, tmp_path):
    """Trigger 12:00, A' after 2 days, a 21-day coupon reminded 3 days before: B at A+18d; the 3rd Friday, while
    that round still runs, enrols nobody again."""
    changes = {"trigger_at": "12:00", "resend_days": 2, "coupon_days": 21}
    scenario = module.build(merge(module.ID, module.DEFAULTS, changes))
    load(runtime, "F5", write(tmp_path / "f5.csv", [customer("slow", email="s@example.com", email_ok="真")]))
    run(runtime, scenario, FIRST_FRIDAY, 19)
    assert timeline(runtime) == [
        ("slow", "06-05", "12:00", "send_a", "email"),
        ("slow", "06-07", "12:00", "send_a2", "email"),
        ("slow", "06-23", "12:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"slow": "finished"}
    assert_no_message_twice(runtime)
