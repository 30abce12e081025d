"""#6 来店キャンセル後の再予約促進シナリオ: the day after a store-visit reservation (来店予約) was cancelled,
19:00, send the reservation form by email; three days later, the campaign with the form to those who opened
it, and the form again by SMS to those who did not. A re-booking (再予約) is the goal.

Deck flow (P33–39, drawn here), all at 19:00: A (email) at cancellation+1d → open check at A+3d → opened: C
(campaign + form, on the usual channel ladder) at A+3d; unopened: re-booking check → B (SMS) at A+3d.
Settings: `trigger_days`, `trigger_at`, `wait_days` (from A to the open check, B and C).

Choices where the deck is silent or ambiguous:
- Re-booking ends the flow before any send: the deck's one 予約/未予約 branch sits before B, and `exit_when`
  also stops C, which the deck leaves unchecked (as its own text recommends): nobody who has just re-booked
  is asked to book.
- A goes by email only, so entry needs the email permission (メルマガ許可フラグ, ● in F3); without it a
  customer would enter, get nothing and count as a non-opener. B goes by SMS only: a non-opener who has no
  SMS permission gets nothing more and the flow finishes.
- The visited and contract flags are offered as optional filters (○ in the deck), beside F3's usual ones.
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Channel,
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
    only,
)
from flows.params import Params, require
from flows.segments import F3_RESERVATION

ID = "rebooking_after_cancel"
REBOOKED = is_true("reservation.rebooked")
DEFAULTS = Params(trigger_days=1, trigger_at="19:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=6,
        title="来店キャンセル後の再予約促進シナリオ",
        priority=8,
        trigger=RelativeTo("reservation.cancelled_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.RESERVATION,
        segment=(
            is_true("reservation.cancelled"),
            is_false("reservation.rebooked"),
            is_true("channel.email_permitted"),
        ),
        exit_when=(REBOOKED,),
        filters=(*F3_RESERVATION, "reservation.visited", "reservation.contracted"),
        steps=(
            Send("send_a", f"{ID}.a", channels=only(Channel.EMAIL)),
            Wait("wait_a", after="send_a", days=p.days("wait_days")),
            IfEngaged(
                "opened_a", message="send_a", signal=Signal.OPENED, yes="send_c", no="rebooked_before_b"
            ),
            Send("send_c", f"{ID}.c", then="finished"),
            IfSegment("rebooked_before_b", (REBOOKED,), yes="rebooked", no="send_b"),
            Send("send_b", f"{ID}.b", channels=only(Channel.SMS), then="finished"),
            Exit("finished"),
            Exit("rebooked", Outcome.CONVERTED),
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
