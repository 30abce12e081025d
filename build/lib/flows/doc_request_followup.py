"""#1 資料請求者への契約促進シナリオ: the day after a document request, 19:00, present the merits of enrolling;
re-send to those who did not open it; the campaign for new contract holders to those still not contracted.

Deck flow (P1, flows/shapes.py): A at request+1d 19:00 → open check at A+1d → opened: contract check, then B
at A+1d; unopened: A' at A+1d → contract check at A'+1d → B at A+2d. Settings: `trigger_days`, `trigger_at`,
`wait_days`.

Choice where the deck is silent: the deck checks for a contract only before B, so a customer who signed the day
after A would still get A'. An insurer would not ask a new policyholder to sign up again: a contract ends the
flow at any wake-up (`exit_when`), and the deck's contract branch before B stays as drawn.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F1_DOCUMENT_REQUEST
from flows.shapes import next_day_follow_up

ID = "doc_request_followup"
CONTRACTED = is_true("document_request.contracted")
DEFAULTS = Params(trigger_days=1, trigger_at="19:00", wait_days=1)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=1,
        title="資料請求者への契約促進シナリオ",
        priority=30,
        trigger=RelativeTo("document_request.requested_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.DOCUMENT_REQUEST,
        segment=(is_false("document_request.contracted"),),
        exit_when=(CONTRACTED,),
        filters=F1_DOCUMENT_REQUEST,
        steps=next_day_follow_up(f"{ID}.a", f"{ID}.b", p.days("wait_days"), (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
