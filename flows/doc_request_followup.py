"""#1 資料請求者への契約促進シナリオ: the day after a document request, 19:00, present the merits of enrolling;
re-send to those who did not open it; the campaign for new contract holders to those still not contracted.

Deck flow (P1): A at request+1d 19:00 → open check at A+1d → opened: contract check, then B at A+1d;
unopened: A' at A+1d → contract check at A'+1d → B at A+2d.

Choice where the deck is silent: the deck checks for a contract only before B, so a customer who signed the day
after A would still get A'. An insurer would not ask a new policyholder to sign up again: a contract ends the
flow at any wake-up (`exit_when`), and the deck's contract branch before B stays as drawn.
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Exit,
    IfEngaged,
    IfSegment,
    Outcome,
    RelativeTo,
    Scenario,
    Send,
    Signal,
    Wait,
    is_false,
    is_true,
)

CONTRACTED = is_true("document_request.contracted")

SCENARIO = Scenario(
    id="doc_request_followup",
    number=1,
    title="資料請求者への契約促進シナリオ",
    trigger=RelativeTo("document_request.requested_on", days=1, at="19:00"),
    anchor=Anchor.DOCUMENT_REQUEST,
    segment=(is_false("document_request.contracted"),),
    exit_when=(CONTRACTED,),
    filters=(
        "document_request.document_code",
        "document_request.product_type_code",
        "document_request.product_code",
        "customer.gender",
        "customer.age_band",
        "customer.prefecture",
    ),
    steps=(
        Send("send_a", "doc_request_followup.a"),
        Wait("wait_a", after="send_a", days=1),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="contracted", no="send_a2"),
        Send("send_a2", "doc_request_followup.a"),
        Wait("wait_a2", after="send_a2", days=1),
        IfSegment("contracted", (CONTRACTED,), yes="converted", no="send_b"),
        Send("send_b", "doc_request_followup.b"),
        Exit("finished"),
        Exit("converted", Outcome.CONVERTED),
    ),
    params={"wait_days": 1},
)
