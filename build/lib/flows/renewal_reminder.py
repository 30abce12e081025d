"""#14 契約更新リマインドシナリオ: 30 days before the next renewal, 19:00, present the merits of renewing, and
re-send three days later to those who did not open it.

Deck flow (P3, flows/shapes.py): A at renewal−30d 19:00 → open check at A+3d → A' to non-openers. Settings:
`days_before_renewal`, `trigger_at`, `wait_days`. #16 shares the trigger and segment; `priority` decides which
one sends first when both would reach a customer on one day (the daily cap holds the other to the next day).
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario
from flows.params import Params, require
from flows.segments import F5_CUSTOMER
from flows.shapes import resend_once

ID = "renewal_reminder"
DEFAULTS = Params(days_before_renewal=30, trigger_at="19:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=14,
        title="契約更新リマインドシナリオ",
        trigger=RelativeTo("contract.next_renewal_on", -p.days("days_before_renewal"), p.text("trigger_at")),
        anchor=Anchor.CONTRACT_YEAR,
        segment=(),
        filters=F5_CUSTOMER,
        priority=10,
        steps=resend_once(f"{ID}.a", p.days("wait_days")),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
