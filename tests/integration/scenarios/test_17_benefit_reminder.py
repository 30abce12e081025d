"""#17 キャンペーン特典利用促進: a week after a benefit was granted and still unused, 19:00, A; A' three days
later to non-openers; B at A+5d to everyone who has still not used it; using it ends the flow."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import select

from flows import benefit_reminder as module
from flows.engine import TOKYO
from models import CampaignBenefit, Enrollment
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exit_times,
    load,
    run,
    set_values,
    timeline,
    write,
)


def benefit(
    code: str, campaign: str = "CP1", granted_on: str = "2026/06/01", used: str = "偽"
) -> dict[str, str]:
    return {
        "customer_campaign_id": f"{code}-{campaign}",
        "sms_phone": f"090{zlib.crc32(code.encode()) % 10**4 + 1000:04d}{len(code):04d}",
        "sms_permitted": "真",
        "customer_id": code,
        "campaign_id": campaign,
        "campaign_name": "新規ご契約キャンペーン",
        "granted_on": granted_on,
        "granted": "真",
        "used": used,
        "family_name": "鈴木",
        "given_name": code,
    }


def test_unused_benefits_are_reminded_and_using_one_ends_the_flow(runtime, tmp_path):
    """The opener and the non-opener both get B on the same day (A+5d); the one who uses the benefit after A'
    gets no B; a benefit already used never enters."""
    rows = [benefit("opens"), benefit("ignores"), benefit("uses"), benefit("used", used="真")]
    load(runtime, "F6", write(tmp_path / "f6.csv", rows))
    start = datetime(2026, 6, 8, 0, 0, tzinfo=TOKYO)
    run(runtime, module.SCENARIO, start, 1)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a", "clicked_at")  # SMS has no open signal: a click shows it
    run(runtime, module.SCENARIO, start + timedelta(days=1), 3)
    set_values(runtime, CampaignBenefit, CampaignBenefit.customer_id == ids["uses"], used=True)
    run(runtime, module.SCENARIO, start + timedelta(days=4), 3)
    assert timeline(runtime) == [
        ("ignores", "06-08", "19:00", "send_a", "sms"),
        ("opens", "06-08", "19:00", "send_a", "sms"),
        ("uses", "06-08", "19:00", "send_a", "sms"),
        ("ignores", "06-11", "19:00", "send_a2", "sms"),
        ("uses", "06-11", "19:00", "send_a2", "sms"),
        ("ignores", "06-13", "19:00", "send_b", "sms"),
        ("opens", "06-13", "19:00", "send_b", "sms"),
    ]
    assert exit_times(runtime) == {
        "opens": ("finished", "06-13 19:00"),
        "ignores": ("finished", "06-13 19:00"),
        "uses": ("converted", "06-13 19:00"),
    }
    assert_no_message_twice(runtime)


def test_each_campaign_benefit_is_its_own_enrollment(runtime, tmp_path):
    """A customer granted two campaigns' benefits on different days enters once for each benefit."""
    rows = [benefit("twice", "CP1", "2026/06/01"), benefit("twice", "CP2", "2026/06/02")]
    load(runtime, "F6", write(tmp_path / "f6.csv", rows))
    run(runtime, module.SCENARIO, datetime(2026, 6, 8, 0, 0, tzinfo=TOKYO), 2)
    with runtime.engine.connect() as connection:
        anchors = connection.execute(select(Enrollment.anchor_key)).scalars().all()
    assert len(set(anchors)) == 2 and all(key.startswith("benefit:") for key in anchors)
    assert [(day, step) for _, day, _, step, _ in timeline(runtime)] == [
        ("06-08", "send_a"),
        ("06-09", "send_a"),
    ]
