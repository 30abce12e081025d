"""#7 来店後の契約促進シナリオ: the day after a store visit (来店), 19:00, thank the customer for coming; to those
who have still not contracted, present the campaign for new contract holders and remind them the day before it
ends.

Deck flow (P7, flows/shapes.py `campaign_with_reminder`), all at 19:00: A at visit+1d → open check at A+3d →
opened: contract check, B at A+3d; unopened: A' at A+3d, contract check at A'+3d, B at A+6d → open check at
B+3d → unopened: B' at B+3d → contract check, C at B+6d (the day before a 7-day campaign that starts with B
ends), for openers and non-openers alike. Settings: `trigger_days`, `trigger_at`, `wait_days` (A→A'/B and
B→B'), `campaign_days` (C goes `campaign_days − 1` days after B).

Choices where the deck is silent or ambiguous:
- The visit is the reservation's 来店日 (`visited_on`), not its 来店予定日: a customer who came on another day
  than the one booked is thanked the day after the actual visit. A record marked 来店フラグ=真 without a 来店日
  has no day to count from and never enters.
- "Not contracted" is the reservation's own 契約フラグ, as the deck's segment says, not the customer's F5
  contract flag: a customer who already holds another policy still came to talk about this one.
- The deck checks for a contract only before B and C; as in #1, a contract ends the flow at any wake-up
  (`exit_when`), so nobody who has just signed is asked again.
- The deck's third open branch cannot be placed from the flattened diagram: the shape's timing fits every wait
  label. B' is B re-sent, so B names no campaign length (it would be wrong three days later) and C says the
  campaign ends tomorrow.
- Optional filters: F3's, plus 来店キャンセルフラグ and 来店再予約フラグ (真/偽), which the deck's table offers.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F3_RESERVATION
from flows.shapes import campaign_with_reminder

ID = "visit_followup"
CONTRACTED = is_true("reservation.contracted")
DEFAULTS = Params(trigger_days=1, trigger_at="19:00", wait_days=3, campaign_days=7)


def build(p: Params) -> Scenario:
    wait, campaign = p.days("wait_days"), p.days("campaign_days")
    require(wait >= 1, ID, "wait_days must be at least 1")
    require(
        campaign >= wait + 2, ID, "campaign_days must be at least wait_days + 2 (B' before the reminder C)"
    )
    return Scenario(
        id=ID,
        number=7,
        title="来店後の契約促進シナリオ",
        priority=30,
        trigger=RelativeTo("reservation.visited_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.RESERVATION,
        segment=(is_true("reservation.visited"), is_false("reservation.contracted")),
        exit_when=(CONTRACTED,),
        filters=(*F3_RESERVATION, "reservation.cancelled", "reservation.rebooked"),
        steps=campaign_with_reminder(f"{ID}.a", f"{ID}.b", f"{ID}.c", wait, campaign, (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
