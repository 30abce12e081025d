"""#3 見積もり者への契約促進シナリオ: the day after a quote (見積), 19:00, thank the customer for asking;
re-send to those who did not open it; the gift-card campaign for new contract holders to those still not
contracted.

Deck flow (P1, flows/shapes.py), all at 19:00: A at quote+1d → open check at A+1d → opened: contract check,
then B at A+1d; unopened: A' at A+1d → contract check at A'+1d → B at A+2d. Settings: `trigger_days`,
`trigger_at`, `wait_days`.

Choice where the deck is silent: the deck checks for a contract only before B; a contract also ends the flow
before A' (`exit_when`), so nobody who signed the day after the quote is thanked for it again as a prospect.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F2_QUOTE
from flows.shapes import next_day_follow_up

ID = "quote_followup"
CONTRACTED = is_true("quote.contracted")
DEFAULTS = Params(trigger_days=1, trigger_at="19:00", wait_days=1)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=3,
        title="見積もり者への契約促進シナリオ",
        priority=30,
        trigger=RelativeTo("quote.quoted_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.QUOTE,
        segment=(is_false("quote.contracted"),),
        exit_when=(CONTRACTED,),
        filters=F2_QUOTE,
        steps=next_day_follow_up(f"{ID}.a", f"{ID}.b", p.days("wait_days"), (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
