"""#18 契約者限定サービス利用促進シナリオ: on the 1st of every month, 10:00, present the services only
policyholders may use (契約者限定サービス) and their merits; re-send three days later to those who did not open it.

Deck flow (P3, flows/shapes.py): A on the 1st 10:00 → open check at A+3d → A' to non-openers. Settings:
`trigger_day` (day of the month, 1–28), `trigger_at`, `wait_days`.

Choices where the deck is silent: F5 has no service-usage data, so customers already using the service are not
left out and nobody leaves as converted; the flow ends after A'. A customer is entered again next month only if
the previous run has ended (`Reentry.ONE_AT_A_TIME`).
"""

from __future__ import annotations

from flows.dsl import Anchor, MonthlyOn, Reentry, Scenario, is_true
from flows.params import Params, require
from flows.segments import f5_without
from flows.shapes import resend_once

ID = "member_service"
DEFAULTS = Params(trigger_day=1, trigger_at="10:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(1 <= p.days("trigger_day") <= 28, ID, "trigger_day must be a day of the month from 1 to 28")
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=18,
        title="契約者限定サービス利用促進シナリオ",
        priority=85,
        trigger=MonthlyOn(p.days("trigger_day"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_true("contract.contracted"),),
        filters=f5_without("contract.contracted"),
        steps=resend_once(f"{ID}.a", p.days("wait_days")),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
