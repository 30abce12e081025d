"""#16 契約更新時のプランアップ促進シナリオ: 30 days before the next renewal, 19:00, present the merits of renewing
with an upgraded plan (wider cover), and re-send three days later to those who did not open it.

Deck flow (P3, flows/shapes.py): A at renewal−30d 19:00 → open check at A+3d → A' to non-openers. Settings:
`days_before_renewal`, `trigger_at`, `wait_days`.

Choices where the deck is silent: #14 (renewal_reminder) has the same trigger and segment, so both would write to
a customer on the same evening (deck §9.13). The plain renewal reminder comes first: this scenario's `priority`
(20) is below #14's (10), and the daily cap holds this A to the next day at the same hour. F5 has no plan-up
data, so there is no goal check; the flow ends after A'.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario
from flows.params import Params, require
from flows.segments import F5_CUSTOMER
from flows.shapes import resend_once

ID = "plan_up_at_renewal"
PRIORITY = 20  # after #14 renewal_reminder (10): the renewal itself matters more than the upgrade
DEFAULTS = Params(days_before_renewal=30, trigger_at="19:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=16,
        title="契約更新時のプランアップ促進シナリオ",
        trigger=RelativeTo("contract.next_renewal_on", -p.days("days_before_renewal"), p.text("trigger_at")),
        anchor=Anchor.CONTRACT_YEAR,
        segment=(),
        filters=F5_CUSTOMER,
        priority=PRIORITY,
        steps=resend_once(f"{ID}.a", p.days("wait_days")),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
