"""#21 LINE連携促進シナリオ: the day after someone registered as a LINE member without linking their LINE ID to
their customer account, 10:00, announce the link-only coupon and the merits of linking; re-send to those who
did not open it; remind three days before the coupon expires.

Deck flow (PC, flows/shapes.py): A at registration+1d 10:00 → open check at A+1d → A' to non-openers → both
paths meet at A+(coupon_days − remind_days_before_expiry) = A+4d → linked: leave as converted; not linked: B.
Settings: `trigger_days`, `trigger_at`, `resend_days`, `coupon_days`, `remind_days_before_expiry`.

Channels: LINE and email only, as the deck says (the member is a LINE friend; email where they gave one).
The goal is `line_member.linked` (LINE ID連携フラグ), which the insurer's F7 file reports and the account-link
webhook sets; linking ends the flow at any wake-up (`exit_when`).
"""

from __future__ import annotations

from flows.dsl import Anchor, Channel, ChannelPolicy, Pick, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F7_LINE_MEMBER
from flows.shapes import resend_then_remind

ID = "line_link_promotion"
LINKED = is_true("line_member.linked")
LINE_THEN_EMAIL = ChannelPolicy(Pick.FIRST_REACHABLE, (Channel.LINE, Channel.EMAIL))
DEFAULTS = Params(
    trigger_days=1, trigger_at="10:00", resend_days=1, coupon_days=7, remind_days_before_expiry=3
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
        number=21,
        title="LINE連携促進シナリオ",
        priority=50,
        trigger=RelativeTo("line_member.registered_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.LINE_MEMBER,
        segment=(is_false("line_member.linked"),),
        exit_when=(LINKED,),
        filters=F7_LINE_MEMBER,
        steps=resend_then_remind(
            f"{ID}.a", f"{ID}.b", resend, remind, goal=(LINKED,), channels=LINE_THEN_EMAIL
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
