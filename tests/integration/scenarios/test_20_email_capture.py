"""#20 メールアドレス取得: customers without a known email address get A on the 1st of every month at 10:00 by LINE,
SMS or push (never email), and A' three days later unless they have registered an address by then."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import email_capture as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerActivity, CustomerChannels
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    exits,
    load,
    person,
    run,
    set_values,
    timeline,
    write,
)

JULY_1 = datetime(2026, 7, 1, 0, 0, tzinfo=TOKYO)


def customer(
    code: str, n: int, *, acquired: str = "偽", push: bool = False, **channels: str
) -> dict[str, str]:
    """An F5 row with the columns this scenario reads: メールアドレス取得フラグ and the push token."""
    line = {"line": f"U{n:032x}"} if channels.pop("line", None) else {}
    return {
        **person(code, **line, **channels),
        "fcm_token": f"fcm-token-{code}" if push else "",
        "push_permitted": "真" if push else "偽",
        "email_acquired": acquired,
    }


def test_a_goes_by_line_sms_or_push_and_a2_only_to_those_still_without_an_address(runtime, tmp_path):
    """LINE first, then SMS, then push; email-only customers and those whose address is known never enter; an
    address registered before A' converts; LINE withdrawn moves A' to SMS, or ends the run as opted out when
    nothing is left; on 1 August those still without an address enter again."""
    rows = [
        customer("line", 1, line="y", line_ok="真", sms="090-1000-0001", sms_ok="真"),
        customer("sms", 2, sms="090-1000-0002", sms_ok="真"),
        customer("push", 3, push=True),
        customer("registers", 4, sms="090-1000-0004", sms_ok="真"),
        customer("switches", 5, line="y", line_ok="真", sms="090-1000-0005", sms_ok="真"),
        customer("leaves", 6, line="y", line_ok="真"),
        customer("email_only", 7, email="eo@example.com", email_ok="真"),
        customer("known", 8, sms="090-1000-0008", sms_ok="真", acquired="真"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, JULY_1, 1)
    set_values(
        runtime, CustomerActivity, CustomerActivity.customer_id == ids["registers"], email_acquired=True
    )
    for code in ("switches", "leaves"):
        set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids[code], line_permitted=False)
    run(runtime, module.SCENARIO, JULY_1 + timedelta(days=1), 4)
    assert exits(runtime) == {
        "line": "finished",
        "sms": "finished",
        "push": "finished",
        "registers": "converted",
        "switches": "finished",
        "leaves": "opted_out",
    }
    run(runtime, module.SCENARIO, JULY_1 + timedelta(days=31), 1)
    assert timeline(runtime) == [
        ("leaves", "07-01", "10:00", "send_a", "line"),
        ("line", "07-01", "10:00", "send_a", "line"),
        ("push", "07-01", "10:00", "send_a", "push"),
        ("registers", "07-01", "10:00", "send_a", "sms"),
        ("sms", "07-01", "10:00", "send_a", "sms"),
        ("switches", "07-01", "10:00", "send_a", "line"),
        ("line", "07-04", "10:00", "send_a2", "line"),
        ("push", "07-04", "10:00", "send_a2", "push"),
        ("sms", "07-04", "10:00", "send_a2", "sms"),
        ("switches", "07-04", "10:00", "send_a2", "sms"),
        ("line", "08-01", "10:00", "send_a", "line"),
        ("push", "08-01", "10:00", "send_a", "push"),
        ("sms", "08-01", "10:00", "send_a", "sms"),
        ("switches", "08-01", "10:00", "send_a", "sms"),
    ]
    assert_no_message_twice(runtime)


def test_operators_can_move_the_day_the_hour_and_the_wait(runtime, tmp_path):
    """With trigger_day 10, trigger_at 12:00 and wait_days 5: A on 10 July 12:00, A' on 15 July 12:00."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [customer("x", 1, sms="090-1000-0001", sms_ok="真")]))
    changes = {"trigger_day": 10, "trigger_at": "12:00", "wait_days": 5}
    scenario = module.build(merge(module.ID, module.DEFAULTS, changes))
    run(runtime, scenario, JULY_1 + timedelta(days=9), 6)
    assert timeline(runtime) == [
        ("x", "07-10", "12:00", "send_a", "sms"),
        ("x", "07-15", "12:00", "send_a2", "sms"),
    ]
