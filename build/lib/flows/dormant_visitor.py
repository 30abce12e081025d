"""#8 来店後休眠顧客への契約促進シナリオ: 60 days after a store visit (来店) that led to no contract, 19:00,
win the customer back with a price comparison and the insurance we recommend; to those still not contracted,
present the campaign for new contract holders and remind them the day before it ends.

Deck flow (P7, flows/shapes.py `campaign_with_reminder`), all at 19:00: A at visit+60d → open check at A+3d →
opened: contract check, B at A+3d; unopened: A' at A+3d, contract check at A'+3d, B at A+6d → open check at
B+3d → unopened: B' at B+3d → contract check, C at B+6d (the day before a 7-day campaign that starts with B
ends). Settings: `trigger_days`, `trigger_at`, `wait_days` (A→A'/B and B→B'), `campaign_days` (C goes
`campaign_days − 1` days after B).

Choices where the deck is silent or ambiguous (as #7, whose flow this is):
- The visit is the reservation's 来店日 (`visited_on`); without one the record never enters.
- "Not contracted" is the reservation's own 契約フラグ (the deck's segment), not the customer's F5 flag.
- A contract ends the flow at any wake-up (`exit_when`), not only at the deck's checks before B and C.
- The deck's table marks 来店予約からの経過日数 CONTENT for #8 yet offers it as a filter; day counts are not
  offered as filters here anyway (flows/segments.py). Filters: F3's, plus 来店キャンセルフラグ and
  来店再予約フラグ (真/偽).
- The deck's segment looks at this reservation only: a customer who has visited again since, on another
  reservation, still gets #8 for this one (F3 does not tie the two together), as the deck draws it.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F3_RESERVATION
from flows.shapes import campaign_with_reminder

ID = "dormant_visitor"
CONTRACTED = is_true("reservation.contracted")
DEFAULTS = Params(trigger_days=60, trigger_at="19:00", wait_days=3, campaign_days=7)


def build(p: Params) -> Scenario:
    wait, campaign = p.days("wait_days"), p.days("campaign_days")
    require(wait >= 1, ID, "wait_days must be at least 1")
    require(
        campaign >= wait + 2, ID, "campaign_days must be at least wait_days + 2 (B' before the reminder C)"
    )
    return Scenario(
        id=ID,
        number=8,
        title="来店後休眠顧客への契約促進シナリオ",
        priority=40,
        trigger=RelativeTo("reservation.visited_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.RESERVATION,
        segment=(is_true("reservation.visited"), is_false("reservation.contracted")),
        exit_when=(CONTRACTED,),
        filters=(*F3_RESERVATION, "reservation.cancelled", "reservation.rebooked"),
        steps=campaign_with_reminder(f"{ID}.a", f"{ID}.b", f"{ID}.c", wait, campaign, (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
