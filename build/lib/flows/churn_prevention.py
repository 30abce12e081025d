"""#10 解約手続きページ閲覧者への解約防止シナリオ: the day after a policyholder viewed the cancellation-procedure
page, 10:00, share other policyholders' experiences, re-send to those who did not open it, and present the
policyholder-only campaign to those still under contract.

Deck flow (P1, flows/shapes.py, #1's diagram reused): A at view+1d 10:00 → open check at A+1d → B then for
openers, A' then and B a day later for the rest. Settings: `trigger_days`, `trigger_at`, `wait_days`,
`cancellation_page_url` (the text the viewed page's URL contains; the insurer's own page).

Choices where the deck is ambiguous (§9.4): the deck copies #1's 契約/未契約 branch. For churn prevention B goes
to customers still under contract. A customer whose contract ends meanwhile leaves at the next wake-up (outcome
`cancelled`) and gets neither A' nor the campaign. Like #9, one entry per customer and day of viewing.
"""

from __future__ import annotations

from flows.dsl import Anchor, Outcome, RelativeTo, Scenario, contains, is_false, is_true
from flows.params import Params, require
from flows.segments import F4_PAGE_VIEW
from flows.shapes import next_day_follow_up

ID = "churn_prevention"
ENDED = is_false("contract.contracted")
DEFAULTS = Params(trigger_days=1, trigger_at="10:00", wait_days=1, cancellation_page_url="/mypage/cancel")


def build(p: Params) -> Scenario:
    require(p.days("trigger_days") >= 1 and p.days("wait_days") >= 1, ID, "days must be at least 1")
    return Scenario(
        id=ID,
        number=10,
        title="解約手続きページ閲覧者への解約防止シナリオ",
        priority=15,
        trigger=RelativeTo("page_view.viewed_at", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.PAGE_VIEW,
        segment=(
            contains("page_view.page_url", p.text("cancellation_page_url")),
            is_true("contract.contracted"),
        ),
        exit_when=(ENDED,),
        exit_outcome=Outcome.CANCELLED,
        filters=(*F4_PAGE_VIEW, "page_view.page_title"),
        steps=next_day_follow_up(
            f"{ID}.a",
            f"{ID}.b",
            p.days("wait_days"),
            stop_when=(ENDED,),
            stop=Outcome.CANCELLED,
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
