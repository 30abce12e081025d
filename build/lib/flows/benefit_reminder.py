"""#17 キャンペーン特典利用促進シナリオ: seven days after a campaign benefit was granted and still not used,
19:00, explain the benefit; re-send to those who did not open it; present the merits of using it to those who
still have not, on the same day for both.

Deck flow (PC, flows/shapes.py): A at grant+7d 19:00 → open check at A+3d → A' to non-openers → both paths meet
at A+5d → used: leave as converted; not used: B. Settings: `trigger_days`, `trigger_at`, `resend_days`,
`remind_days` (B's day counted from A).

Choices: F6 has one row per customer and campaign, so a customer with two benefits is in two enrollments, each
about its own campaign (anchor `benefit`). Using the benefit ends the flow at any wake-up (`exit_when`).
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F6_BENEFIT
from flows.shapes import resend_then_remind

ID = "benefit_reminder"
USED = is_true("benefit.used")
DEFAULTS = Params(trigger_days=7, trigger_at="19:00", resend_days=3, remind_days=5)


def build(p: Params) -> Scenario:
    resend, remind = p.days("resend_days"), p.days("remind_days")
    require(1 <= resend < remind, ID, "need 1 ≤ resend_days < remind_days")
    return Scenario(
        id=ID,
        number=17,
        title="キャンペーン特典利用促進シナリオ",
        priority=45,
        trigger=RelativeTo("benefit.granted_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.BENEFIT,
        segment=(is_true("benefit.granted"), is_false("benefit.used")),
        exit_when=(USED,),
        filters=F6_BENEFIT,
        steps=resend_then_remind(f"{ID}.a", f"{ID}.b", resend, remind, goal=(USED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
