"""#22 LINE利用促進シナリオ (LINE friend-add promotion): on the 1st and 3rd Friday of the month, 10:00, tell
customers who are not yet friends of the insurer's LINE account about the friends-only coupon and the merits of
LINE; re-send to those who did not open it; remind three days before the coupon expires.

Deck flow (PC, flows/shapes.py): A at 10:00 → open check at A+1d → A' to non-openers → both paths meet at
A+(coupon_days − remind_days_before_expiry) = A+4d → registered as a friend: leave as converted; not: B.
Settings: `trigger_weeks` ([1, 3]), `trigger_weekday` (4 = Friday), `trigger_at`, `resend_days`, `coupon_days`, `remind_days_before_expiry`.

Choices where the deck is silent:
- Channels: SMS, then email, then push (the first one permitted and addressed). The deck allows all four, but
  LINE cannot reach someone who is not a friend, so LINE is left out of the ladder.
- The goal (LINEID 利用フラグ = 真, `activity.line_friend`) ends the flow at any wake-up (`exit_when`): a
  customer who added the friend after A gets neither A' nor B.
- A calendar trigger: one enrollment per Friday (anchor occurrence), and none while the previous one is still
  running (`Reentry.ONE_AT_A_TIME`).
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Channel,
    ChannelPolicy,
    NthWeekdays,
    Pick,
    Reentry,
    Scenario,
    is_false,
    is_true,
)
from flows.params import Params, require
from flows.segments import f5_without
from flows.shapes import resend_then_remind

ID = "line_friend_promotion"
FRIEND = is_true("activity.line_friend")
NOT_ON_LINE = ChannelPolicy(Pick.FIRST_REACHABLE, (Channel.SMS, Channel.EMAIL, Channel.PUSH))
DEFAULTS = Params(
    trigger_weeks=(1, 3),
    trigger_weekday=4,
    trigger_at="10:00",
    resend_days=1,
    coupon_days=7,
    remind_days_before_expiry=3,
)


def build(p: Params) -> Scenario:
    resend = p.days("resend_days")
    remind = p.days("coupon_days") - p.days("remind_days_before_expiry")
    require(
        1 <= resend < remind,
        ID,
        "the reminder (coupon_days − remind_days_before_expiry) must come after the re-send",
    )
    return Scenario(
        id=ID,
        number=22,
        title="LINE利用促進シナリオ",
        priority=60,
        trigger=NthWeekdays(p.weeks("trigger_weeks"), p.days("trigger_weekday"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_false("activity.line_friend"),),
        exit_when=(FRIEND,),
        filters=f5_without("activity.line_friend"),
        steps=resend_then_remind(f"{ID}.a", f"{ID}.b", resend, remind, goal=(FRIEND,), channels=NOT_ON_LINE),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
