"""#23 アプリ利用促進シナリオ (app usage promotion): on the 1st and 3rd Friday of the month, 10:00, tell customers
who do not use the smartphone app (never installed, or no longer logging in) about the app-only benefit and the
merits of the app; re-send to those who did not open it; remind three days before the benefit's deadline.

Deck flow (PC, flows/shapes.py): A at 10:00 → open check at A+1d → A' to non-openers → both paths meet at
A+(coupon_days − remind_days_before_expiry) = A+4d → using the app: leave as converted; not: B.
Settings: `trigger_weeks` ([1, 3]), `trigger_weekday` (4 = Friday), `trigger_at`, `resend_days`, `coupon_days`, `remind_days_before_expiry`.

Choices where the deck is silent:
- Channels: LINE, then SMS, then email (the first one permitted and addressed). The deck allows all four, but a
  push notification cannot reach someone without the app, so push is left out of the ladder.
- "Not logged in for a while" has no column of its own (the deck's §9.12): it is whatever the insurer's
  スマホアプリ利用フラグ (`activity.app_user`) says; an `app_login` event sets it true.
- The goal (`activity.app_user` = 真) ends the flow at any wake-up (`exit_when`): a customer who logged in after
  A gets neither A' nor B.
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

ID = "app_promotion"
APP_USER = is_true("activity.app_user")
WITHOUT_PUSH = ChannelPolicy(Pick.FIRST_REACHABLE, (Channel.LINE, Channel.SMS, Channel.EMAIL))
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
        number=23,
        title="アプリ利用促進シナリオ",
        priority=65,
        trigger=NthWeekdays(p.weeks("trigger_weeks"), p.days("trigger_weekday"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_false("activity.app_user"),),
        exit_when=(APP_USER,),
        filters=f5_without("activity.app_user"),
        steps=resend_then_remind(
            f"{ID}.a", f"{ID}.b", resend, remind, goal=(APP_USER,), channels=WITHOUT_PUSH
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
