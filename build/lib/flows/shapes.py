"""The flow shapes the deck draws more than once (its P1, P7, P3 and PC), as step lists a scenario module fills
in with its own messages, goal and timings. Each scenario module still says which shape it uses and how it
differs, so that it can be checked against its own slide.

Step ids are the same in every scenario of a shape (send_a, send_a2, send_b …): the ledger, the explain trace
and the tests speak of them.
"""

from __future__ import annotations

from flows.dsl import (
    LADDER,
    ChannelPolicy,
    Condition,
    Exit,
    IfEngaged,
    IfSegment,
    Outcome,
    Send,
    Signal,
    Step,
    Wait,
)


def next_day_follow_up(
    a: str,
    b: str,
    wait_days: int,
    stop_when: tuple[Condition, ...],
    stop: Outcome = Outcome.CONVERTED,
    channels: ChannelPolicy = LADDER,
) -> tuple[Step, ...]:
    """P1 (#1, #3, #10, #11, #12): A; open check at A+1d; openers get B then, if the goal check lets them;
    non-openers get A' then and B a day later, after the same check. `stop_when` holding ends the flow."""
    return (
        Send("send_a", a, channels),
        Wait("wait_a", after="send_a", days=wait_days),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="check_before_b", no="send_a2"),
        Send("send_a2", a, channels),
        Wait("wait_a2", after="send_a2", days=wait_days),
        IfSegment("check_before_b", stop_when, yes="stopped", no="send_b"),
        Send("send_b", b, channels, then="finished"),
        Exit("finished"),
        Exit("stopped", stop),
    )


def campaign_with_reminder(
    a: str,
    b: str,
    c: str,
    open_days: int,
    campaign_days: int,
    stop_when: tuple[Condition, ...],
    channels: ChannelPolicy = LADDER,
) -> tuple[Step, ...]:
    """P7 (#2, #4, #7, #8): A; open check at A+3d (A' for non-openers, +3d); goal check; B starts the campaign;
    open check at B+3d (B' for non-openers); goal check; C the day before the campaign ends (B+campaign−1)."""
    remind = campaign_days - 1
    return (
        Send("send_a", a, channels),
        Wait("wait_a", after="send_a", days=open_days),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="check_before_b", no="send_a2"),
        Send("send_a2", a, channels),
        Wait("wait_a2", after="send_a2", days=open_days),
        IfSegment("check_before_b", stop_when, yes="converted", no="send_b"),
        Send("send_b", b, channels),
        Wait("wait_b", after="send_b", days=open_days),
        IfEngaged("opened_b", message="send_b", signal=Signal.OPENED, yes="wait_campaign_end", no="send_b2"),
        Wait("wait_campaign_end", after="send_b", days=remind, then="check_before_c"),
        Send("send_b2", b, channels),
        Wait("wait_b2", after="send_b2", days=remind - open_days),
        IfSegment("check_before_c", stop_when, yes="converted", no="send_c"),
        Send("send_c", c, channels, then="finished"),
        Exit("finished"),
        Exit("converted", Outcome.CONVERTED),
    )


def resend_once(a: str, wait_days: int, channels: ChannelPolicy = LADDER) -> tuple[Step, ...]:
    """P3 (#14, #15, #16, #18): A; A' to those who have not opened it `wait_days` later. The deck labels the
    branch セグメント分岐, but its outputs are 開封/未開封: it is an open branch."""
    return (
        Send("send_a", a, channels),
        Wait("wait_a", after="send_a", days=wait_days),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="finished", no="send_a2"),
        Send("send_a2", a, channels),
        Exit("finished"),
    )


def resend_then_remind(
    a: str,
    b: str,
    resend_days: int,
    remind_days: int,
    goal: tuple[Condition, ...] | None,
    channels: ChannelPolicy = LADDER,
) -> tuple[Step, ...]:
    """PC (#17, #19, #21, #22, #23): A; A' at A+`resend_days` to non-openers; openers wait; both paths meet at
    A+`remind_days` for the goal check, and B goes to those who have not reached it. `goal` None means the
    goal is a click on A or A' (#19's クリック分岐)."""
    if goal is None:
        checks: tuple[Step, ...] = (
            IfEngaged("clicked_a", message="send_a", signal=Signal.CLICKED, yes="converted", no="clicked_a2"),
            IfEngaged("clicked_a2", message="send_a2", signal=Signal.CLICKED, yes="converted", no="send_b"),
        )
        first_check = "clicked_a"
    else:
        checks = (IfSegment("check_before_b", goal, yes="converted", no="send_b"),)
        first_check = "check_before_b"
    return (
        Send("send_a", a, channels),
        Wait("wait_a", after="send_a", days=resend_days),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="wait_for_b", no="send_a2"),
        Wait("wait_for_b", after="send_a", days=remind_days, then=first_check),
        Send("send_a2", a, channels),
        Wait("wait_a2", after="send_a2", days=remind_days - resend_days),
        *checks,
        Send("send_b", b, channels, then="finished"),
        Exit("finished"),
        Exit("converted", Outcome.CONVERTED),
    )
