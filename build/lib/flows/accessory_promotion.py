"""#15 付属商品購入促進シナリオ: on the first and third Friday of every month, 10:00, introduce policyholders to
the accessory products (付属商品: health goods, medical goods) sold alongside their insurance; re-send three days
later to those who did not open it.

Deck flow (P3, flows/shapes.py): A on the 1st and 3rd Friday 10:00 → open check at A+3d → A' to non-openers.
Settings: `trigger_weeks` ([1, 3]), `trigger_weekday` (4 = Friday), `trigger_at`, `wait_days`.

Choices where the deck is silent: F5 has no purchase data, so there is no goal check and nobody leaves as
converted; the flow ends after A'. A customer is entered again two weeks later only if the previous run has
ended (`Reentry.ONE_AT_A_TIME`), so a longer `wait_days` never overlaps two runs.
"""

from __future__ import annotations

from flows.dsl import Anchor, NthWeekdays, Reentry, Scenario, is_true
from flows.params import Params, require
from flows.segments import f5_without
from flows.shapes import resend_once

ID = "accessory_promotion"
DEFAULTS = Params(trigger_weeks=(1, 3), trigger_weekday=4, trigger_at="10:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=15,
        title="付属商品購入促進シナリオ",
        priority=80,
        trigger=NthWeekdays(p.weeks("trigger_weeks"), p.days("trigger_weekday"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_true("contract.contracted"),),
        filters=f5_without("contract.contracted"),
        steps=resend_once(f"{ID}.a", p.days("wait_days")),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
