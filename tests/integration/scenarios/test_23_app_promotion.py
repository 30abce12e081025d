"""#23 アプリ利用促進シナリオ over imported F5 data: on the 1st and 3rd Friday at 10:00, customers who do not use the
app get A by LINE, SMS or email (never push); A' a day later if unopened; B at A+4d unless they started using it."""

from __future__ import annotations

from datetime import datetime

from flows import app_promotion as module
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


def customer(code: str, app: str = "偽", push: str = "", **channels: str) -> dict:
    """An F5 row with スマホアプリ利用フラグ and an optional app push token (permitted)."""
    return person(code, **channels) | {
        "app_user": app,
        "fcm_token": push,
        "push_permitted": "真" if push else "偽",
    }


def test_non_users_get_a_a2_and_b_without_push_and_app_users_leave(runtime, tmp_path):
    """A Fri 10:00 on LINE first, A' Sat to non-openers, B Tue; logging in to the app after A ends it."""
    rows = [
        customer("ignores", line="U" + "a" * 32, line_ok="真", email="i@example.com", email_ok="真"),
        customer("taps", line="U" + "b" * 32, line_ok="真"),
        customer("logs_in", sms="090-1111-2222", sms_ok="真"),
        customer("stops", email="s@example.com", email_ok="真"),
        customer("lapsed", push="fcm-token-1", email="l@example.com", email_ok="真"),  # token left, no use
        customer("push_only", push="fcm-token-2"),  # push is not one of its channels
        customer("app_user", app="真", email="a@example.com", email_ok="真"),
        customer("no_consent", email="n@example.com", email_ok="偽"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)

    run(runtime, module.SCENARIO, FIRST_FRIDAY, 1)
    engage(runtime, ids["taps"], "send_a", "tapped_at")  # LINE reports no reads: a tap counts as opened
    set_values(runtime, CustomerActivity, CustomerActivity.customer_id == ids["logs_in"], app_user=True)
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["stops"], email_permitted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 6, tzinfo=TOKYO), 5)

    assert timeline(runtime) == [
        ("ignores", "06-05", "10:00", "send_a", "line"),
        ("lapsed", "06-05", "10:00", "send_a", "email"),
        ("logs_in", "06-05", "10:00", "send_a", "sms"),
        ("stops", "06-05", "10:00", "send_a", "email"),
        ("taps", "06-05", "10:00", "send_a", "line"),
        ("ignores", "06-06", "10:00", "send_a2", "line"),
        ("lapsed", "06-06", "10:00", "send_a2", "email"),
        ("ignores", "06-09", "10:00", "send_b", "line"),
        ("lapsed", "06-09", "10:00", "send_b", "email"),
        ("taps", "06-09", "10:00", "send_b", "line"),
    ]
    assert exits(runtime) == {
        "ignores": "finished",
        "lapsed": "finished",
        "taps": "finished",
        "logs_in": "converted",
        "stops": "opted_out",
    }
    assert_no_message_twice(runtime)


def test_changed_settings_move_the_resend_and_the_reminder(runtime, tmp_path):
    """Trigger 18:00, A' after 2 days, a 10-day benefit reminded 4 days before its end: B at A+6d."""
    changes = {"trigger_at": "18:00", "resend_days": 2, "coupon_days": 10, "remind_days_before_expiry": 4}
    scenario = module.build(merge(module.ID, module.DEFAULTS, changes))
    load(runtime, "F5", write(tmp_path / "f5.csv", [customer("slow", email="s@example.com", email_ok="真")]))
    run(runtime, scenario, FIRST_FRIDAY, 7)
    assert timeline(runtime) == [
        ("slow", "06-05", "18:00", "send_a", "email"),
        ("slow", "06-07", "18:00", "send_a2", "email"),
        ("slow", "06-11", "18:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"slow": "finished"}
    assert_no_message_twice(runtime)
