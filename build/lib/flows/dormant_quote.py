"""#4 見積もり後休眠顧客への契約促進シナリオ: sixty days after a quote (見積) that did not lead to a contract,
19:00, present insurance price comparisons and recommendations; then the gift-card campaign for new contracts
to those still not contracted, and a reminder the day before the campaign ends.

Deck flow (P7, flows/shapes.py; a 7-day campaign that starts with B), all at 19:00: A at quote+60d → open
check at A+3d → opened: contract check, B at A+3d; unopened: A' at A+3d, contract check and B at A+6d → open
check at B+3d → unopened: B' at B+3d → contract check → C at B+6d. Settings: `trigger_days`, `trigger_at`,
`wait_days` (from a message to its open check), `campaign_days` (C goes `campaign_days` − 1 days after B).

Choices where the deck is silent or ambiguous (the same as #2, whose flow the deck copies):
- Two open branches (after A and after B) stand for the diagram's three, whose third cannot be placed; every
  wait label of the slide is kept.
- A contract ends the flow at any wake-up (`exit_when`), not only at the deck's checks before B and C.
- The campaign runs per recipient from their own B; B' is B re-sent, so its text names the campaign's length.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F2_QUOTE
from flows.shapes import campaign_with_reminder

ID = "dormant_quote"
CONTRACTED = is_true("quote.contracted")
DEFAULTS = Params(trigger_days=60, trigger_at="19:00", wait_days=3, campaign_days=7)


def build(p: Params) -> Scenario:
    wait, campaign = p.days("wait_days"), p.days("campaign_days")
    require(wait >= 1 and campaign - 1 > wait, ID, "need 1 ≤ wait_days < campaign_days − 1 (B' before C)")
    return Scenario(
        id=ID,
        number=4,
        title="見積もり後休眠顧客への契約促進シナリオ",
        priority=40,
        trigger=RelativeTo("quote.quoted_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.QUOTE,
        segment=(is_false("quote.contracted"),),
        exit_when=(CONTRACTED,),
        filters=F2_QUOTE,
        steps=campaign_with_reminder(f"{ID}.a", f"{ID}.b", f"{ID}.c", wait, campaign, (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
