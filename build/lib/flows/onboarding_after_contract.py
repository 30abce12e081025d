"""#13 契約後のフォローシナリオ (post-contract follow-up): from the day after a customer's first contract starts,
five notices three days apart (契約書類, 保障内容と注意事項, よくある疑問, 契約中の保険の体験談, 未契約の保険の体験談) so
that the new policyholder understands the cover, feels reassured and keeps the contract.

Deck flow (drawn here; a linear drip with no branch): A at first contract start+1d 10:00 → B at A+3d → C at
B+3d → D at C+3d → E at D+3d, all at 10:00 (days 0, 3, 6, 9, 12). Settings: `trigger_days`, `trigger_at`,
`gap_days` (the wait between two messages). With the default caps (3 marketing messages in 7 days), a gap under
3 days holds the fourth message until the week allows it.

Choices where the deck is silent:
- The drip has no goal to reach: nothing here ends as `converted`.
- A contract cancelled during the drip (契約フラグ = 偽, e.g. a cooling-off cancellation) ends it before the next
  message, with outcome `cancelled` (the anchor went away). That is an `exit_when` with
  `exit_outcome=CANCELLED`: it is checked at every wake-up, and every wake-up of this drip comes just before a
  send. `exit_when` is not checked on entry, so one segment check stands before A: a contract already cancelled
  on its first day gets no 契約書類 notice. Only an explicit 偽 counts; a blank 契約フラグ (the column is optional
  (○) in this file) leaves the drip running.
- Permission is not drawn (the deck's §9.16): the runner re-checks it at every send, so a customer who withdrew
  it on every channel gets nothing more and leaves as `opted_out`.
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Exit,
    IfSegment,
    Outcome,
    RelativeTo,
    Scenario,
    Send,
    Step,
    Wait,
    equals,
)
from flows.params import Params, require
from flows.segments import F5_CUSTOMER

ID = "onboarding_after_contract"
MESSAGES = ("a", "b", "c", "d", "e")
CANCELLED = equals("contract.contracted", False)  # explicitly 偽: unknown is not a cancellation
DEFAULTS = Params(trigger_days=1, trigger_at="10:00", gap_days=3)


def drip(gap_days: int) -> tuple[Step, ...]:
    """The entry check, then A–E, each send but the last followed by its wait."""
    steps: list[Step] = [IfSegment("cancelled_before_a", (CANCELLED,), yes="cancelled", no="send_a")]
    for name in MESSAGES[:-1]:
        steps.append(Send(f"send_{name}", f"{ID}.{name}"))
        steps.append(Wait(f"wait_{name}", after=f"send_{name}", days=gap_days))
    last = MESSAGES[-1]
    return (
        *steps,
        Send(f"send_{last}", f"{ID}.{last}", then="finished"),
        Exit("finished"),
        Exit("cancelled", Outcome.CANCELLED),
    )


def build(p: Params) -> Scenario:
    require(p.days("gap_days") >= 1, ID, "gap_days must be at least 1")
    return Scenario(
        id=ID,
        number=13,
        title="契約後のフォローシナリオ",
        priority=12,
        trigger=RelativeTo("contract.first_start_on", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.CONTRACT_START,
        segment=(),
        exit_when=(CANCELLED,),
        exit_outcome=Outcome.CANCELLED,
        filters=F5_CUSTOMER,
        steps=drip(p.days("gap_days")),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
