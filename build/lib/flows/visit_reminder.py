"""#5 来店予約後の来店リマインドシナリオ: remind reservers a week before the visit, confirm by email to those
who opened the notice and by SMS to those who did not, and remind the day before on the channel that worked.

Deck flow (P26–32), all at 10:00: A at visit−7d; at visit−4d B (email) if A was opened, else C (SMS); at
visit−1d D (email) if B was opened, else E (SMS); after C, E (SMS). Settings: `days_before_visit`,
`trigger_at`, `wait_days` (B/C come `wait_days` after A, D/E `wait_days` after those; both must fall before
the visit).

Choices where the deck is silent: its three cancellation checks cannot be placed exactly from the flattened
diagram, so, as it recommends, there is one before every send after A; a customer who has visited leaves at the
next wake-up (`exit_when`). B and D go by email only and C and E by SMS only, as drawn. A rescheduled visit (a new 来店予定日) is a new reservation record upstream and
starts its own reminders.
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

ID = "visit_reminder"
CANCELLED = is_true("reservation.cancelled")
DEFAULTS = Params(days_before_visit=7, trigger_at="10:00", wait_days=3)


def build(p: Params) -> Scenario:
    before, wait = p.days("days_before_visit"), p.days("wait_days")
    require(wait >= 1 and 2 * wait < before, ID, "need 1 ≤ wait_days and 2 × wait_days < days_before_visit")
    return Scenario(
        id=ID,
        number=5,
        title="来店予約後の来店リマインドシナリオ",
        priority=5,
        trigger=RelativeTo("reservation.visit_on", -before, p.text("trigger_at")),
        anchor=Anchor.RESERVATION,
        segment=(
            is_false("reservation.cancelled"),
            is_false("reservation.visited"),
            is_false("reservation.contracted"),
        ),
        filters=(*F3_RESERVATION, "reservation.rebooked"),
        exit_when=(is_true("reservation.visited"),),
        steps=(
            Send("send_a", f"{ID}.a"),
            Wait("wait_a", after="send_a", days=wait),
            IfEngaged(
                "opened_a",
                message="send_a",
                signal=Signal.OPENED,
                yes="cancelled_before_b",
                no="cancelled_before_c",
            ),
            IfSegment("cancelled_before_b", (CANCELLED,), yes="cancelled", no="send_b"),
            Send("send_b", f"{ID}.b", channels=only(Channel.EMAIL)),
            Wait("wait_b", after="send_b", days=wait),
            IfSegment("cancelled_before_d", (CANCELLED,), yes="cancelled", no="opened_b"),
            IfEngaged("opened_b", message="send_b", signal=Signal.OPENED, yes="send_d", no="send_e"),
            Send("send_d", f"{ID}.d", channels=only(Channel.EMAIL), then="finished"),
            Send("send_e", f"{ID}.e", channels=only(Channel.SMS), then="finished"),
            IfSegment("cancelled_before_c", (CANCELLED,), yes="cancelled", no="send_c"),
            Send("send_c", f"{ID}.c", channels=only(Channel.SMS)),
            Wait("wait_c", after="send_c", days=wait),
            IfSegment("cancelled_before_e", (CANCELLED,), yes="cancelled", no="send_e_after_c"),
            Send("send_e_after_c", f"{ID}.e", channels=only(Channel.SMS)),
            Exit("finished"),
            Exit("cancelled", Outcome.CANCELLED),
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
