"""#2 資料請求後休眠顧客への契約促進シナリオ: sixty days after a document request (資料請求) that did not
lead to a contract, 19:00, present the merits of enrolling again; then the new-contract campaign
(新規ご契約キャンペーン) to those still not contracted, and a reminder the day before the campaign ends.

Deck flow (P7, flows/shapes.py; a 7-day campaign that starts with B), all at 19:00: A at request+60d → open
check at A+3d → opened: contract check, B at A+3d; unopened: A' at A+3d, contract check and B at A+6d → open
check at B+3d → unopened: B' at B+3d → contract check → C at B+6d. Settings: `trigger_days`, `trigger_at`,
`wait_days` (from a message to its open check), `campaign_days` (C goes `campaign_days` − 1 days after B).

Choices where the deck is silent or ambiguous:
- The flattened diagram shows a third open branch whose wiring cannot be recovered; the flow has the two the
  timeline needs (after A and after B), which match every wait label of the slide.
- The deck checks for a contract before B and before C only; a contract also ends the flow at any other
  wake-up (`exit_when`), so nobody who has just signed gets A' or B' asking them to sign.
- The campaign runs per recipient from their own B (the data holds no campaign end date); B' is B re-sent, so
  its text names the campaign's length, not its first day.
"""

from __future__ import annotations

from flows.dsl import Anchor, RelativeTo, Scenario, is_false, is_true
from flows.params import Params, require
from flows.segments import F1_DOCUMENT_REQUEST
from flows.shapes import campaign_with_reminder

ID = "dormant_doc_request"
CONTRACTED = is_true("document_request.contracted")
DEFAULTS = Params(trigger_days=60, trigger_at="19:00", wait_days=3, campaign_days=7)


def build(p: Params) -> Scenario:
    wait, campaign = p.days("wait_days"), p.days("campaign_days")
    require(wait >= 1 and campaign - 1 > wait, ID, "need 1 ≤ wait_days < campaign_days − 1 (B' before C)")
    return Scenario(
        id=ID,
        number=2,
        title="資料請求後休眠顧客への契約促進シナリオ",
        priority=40,
        trigger=RelativeTo("document_request.requested_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.DOCUMENT_REQUEST,
        segment=(is_false("document_request.contracted"),),
        exit_when=(CONTRACTED,),
        filters=F1_DOCUMENT_REQUEST,
        steps=campaign_with_reminder(f"{ID}.a", f"{ID}.b", f"{ID}.c", wait, campaign, (CONTRACTED,)),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
