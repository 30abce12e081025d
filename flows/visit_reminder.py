"""#5 来店予約後の来店リマインドシナリオ: remind reservers a week before the visit, confirm by email to those
who opened the notice and by SMS to those who did not, and remind the day before on the channel that worked.

Deck flow (P26–32), all at 10:00: A at visit−7d; at visit−4d B (email) if A was opened, else C (SMS); at
visit−1d D (email) if B was opened, else E (SMS); after C, E (SMS). The deck's three cancellation checks cannot be
placed exactly from the flattened diagram, so, as it recommends, there is one before every send after A; a
customer who cancels, has visited or has contracted leaves at the next wake-up (`exit_when`).
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

CANCELLED = is_true("reservation.cancelled")

SCENARIO = Scenario(
    id="visit_reminder",
    number=5,
    title="来店予約後の来店リマインドシナリオ",
    trigger=RelativeTo("reservation.visit_on", days=-7, at="10:00"),
    anchor=Anchor.RESERVATION,
    segment=(
        is_false("reservation.cancelled"),
        is_false("reservation.visited"),
        is_false("reservation.contracted"),
    ),
    filters=(
        "customer.prefecture",
        "reservation.store_code",
        "reservation.staff_code",
        "customer.gender",
        "customer.age_band",
        "reservation.rebooked",
        "reservation.product_type_code",
        "reservation.product_code",
        "reservation.consultation_trigger",
    ),
    exit_when=(is_true("reservation.visited"),),
    steps=(
        Send("send_a", "visit_reminder.a"),
        Wait("wait_a", after="send_a", days=3),
        IfEngaged(
            "opened_a",
            message="send_a",
            signal=Signal.OPENED,
            yes="cancelled_before_b",
            no="cancelled_before_c",
        ),
        IfSegment("cancelled_before_b", (CANCELLED,), yes="cancelled", no="send_b"),
        Send("send_b", "visit_reminder.b", channels=only(Channel.EMAIL)),
        Wait("wait_b", after="send_b", days=3),
        IfSegment("cancelled_before_d", (CANCELLED,), yes="cancelled", no="opened_b"),
        IfEngaged("opened_b", message="send_b", signal=Signal.OPENED, yes="send_d", no="send_e"),
        Send("send_d", "visit_reminder.d", channels=only(Channel.EMAIL), then="finished"),
        Send("send_e", "visit_reminder.e", channels=only(Channel.SMS), then="finished"),
        IfSegment("cancelled_before_c", (CANCELLED,), yes="cancelled", no="send_c"),
        Send("send_c", "visit_reminder.c", channels=only(Channel.SMS)),
        Wait("wait_c", after="send_c", days=3),
        IfSegment("cancelled_before_e", (CANCELLED,), yes="cancelled", no="send_e_after_c"),
        Send("send_e_after_c", "visit_reminder.e", channels=only(Channel.SMS)),
        Exit("finished"),
        Exit("cancelled", Outcome.CANCELLED),
    ),
    params={"days_before_visit": 7, "wait_days": 3},
)
