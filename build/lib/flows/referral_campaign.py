"""#19 友だち紹介キャンペーンシナリオ (referral): on the day the friend-referral campaign starts, 10:00, tell
policyholders about the campaign and how to refer a friend; re-send the next day to those who did not open it;
remind those who have not followed the link the day before the campaign ends.

Deck flow (PC, flows/shapes.py, goal = a click): A on `campaign_start_on` at `trigger_at` → open check at
A+`resend_days` → A' to non-openers → both paths meet at A+(`campaign_days` − 1) = A+6d → clicked A or A': leave
as converted; otherwise B (キャンペーン終了1日前). Settings: `campaign_start_on` (none by default: the scenario
does not run until the operator sets the campaign's first day), `trigger_at`, `resend_days`, `campaign_days`.

Choices where the deck is ambiguous: its goal and journey speak to policyholders (契約しているユーザー) but its
segment requires only the permission (deck §9.11). Referrals come from policyholders, so the segment requires
`contract.contracted` (契約フラグ = 真). The anchor is the trigger day (occurrence): a second campaign, on another
start date, is a run of its own once the first has ended (`Reentry.ONE_AT_A_TIME`). The messages carry a
「友だちに紹介する」 button: a friend who registers with the customer's referral code also ends the run as
converted (handlers/dialogs/campaign.py, bot/offers/referrals.py).
"""

from __future__ import annotations

from flows.dsl import Anchor, OnDate, Reentry, Scenario, is_true
from flows.params import Params, require
from flows.segments import f5_without
from flows.shapes import resend_then_remind

ID = "referral_campaign"
DEFAULTS = Params(campaign_start_on=None, trigger_at="10:00", resend_days=1, campaign_days=7)


def build(p: Params) -> Scenario:
    resend, remind = p.days("resend_days"), p.days("campaign_days") - 1
    require(
        1 <= resend < remind,
        ID,
        "the reminder on the day before the end (campaign_days − 1) must come after the re-send (resend_days)",
    )
    return Scenario(
        id=ID,
        number=19,
        title="友だち紹介キャンペーンシナリオ",
        priority=90,
        trigger=OnDate(p.optional_text("campaign_start_on"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_true("contract.contracted"),),
        filters=f5_without("contract.contracted"),
        steps=resend_then_remind(f"{ID}.a", f"{ID}.b", resend, remind, goal=None),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
