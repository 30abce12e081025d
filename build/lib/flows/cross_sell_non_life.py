"""#12 損害保険契約者へのクロスセル促進シナリオ: on the 1st of every month, 10:00, show non-life (P&C) insurance
holders the life insurance they do not hold yet, and the merits of contracting both together.

Deck flow (P1, flows/shapes.py `next_day_follow_up`), all at 10:00: A on the 1st → open check at A+1d →
opened: goal check, B at A+1d; unopened: A' at A+1d, goal check at A'+1d, B at A+2d. Settings: `trigger_day`,
`trigger_at`, `wait_days`. A calendar trigger: anchor `occurrence`, one enrollment at a time.

Choices where the deck is silent or ambiguous (spec §9.5), the mirror of #11:
- The goal is the cross-sold product: 生命保険契約フラグ (`contract.life`) turning true ends the flow as
  `converted`, at the deck's branch before B and at any wake-up; the generic 契約フラグ is not the goal.
- The entry segment also requires 生命保険契約フラグ = 偽 (nothing to cross-sell to a holder of both), so it is
  not among the optional filters.
- #11, #12, #18 and #20 all fire on the 1st at 10:00; the daily cap and `priority` decide which goes first.
"""

from __future__ import annotations

from flows.dsl import Anchor, MonthlyOn, Reentry, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import f5_without
from flows.shapes import next_day_follow_up

ID = "cross_sell_non_life"
HOLDS = "contract.non_life"
CROSS_SOLD = "contract.life"
GOAL = is_true(CROSS_SOLD)
DEFAULTS = Params(trigger_day=1, trigger_at="10:00", wait_days=1)


def build(p: Params) -> Scenario:
    day = p.days("trigger_day")
    require(1 <= day <= 28, ID, "trigger_day must be 1–28 so that every month has it")
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=12,
        title="損害保険契約者へのクロスセル促進シナリオ",
        priority=70,
        trigger=MonthlyOn(day, p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_true(HOLDS), is_false(CROSS_SOLD)),
        exit_when=(GOAL,),
        filters=f5_without(HOLDS, CROSS_SOLD),
        steps=next_day_follow_up(f"{ID}.a", f"{ID}.b", p.days("wait_days"), (GOAL,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
