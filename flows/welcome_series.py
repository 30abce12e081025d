"""#24 友だち追加後のステップ配信 (welcome series): the step messages every LINE marketing tool sends a new friend.
After a friend-add, message A tells them how to use the account (the menu, what the chat can do); `invite_days`
later, message B invites them to link their LINE to their customer account (ID連携), with the chat's link button,
unless they have linked meanwhile, which ends the series as converted.

Not in the insurer's deck (its 23 scenarios are #1–#23): the chat's greeting answers the friend-add at once;
this series follows it. Flow: friend-add (+`delay_minutes`) → A → linked already: finished (nothing to invite
to); not: wait until A+`invite_days` → B. Linking at any wake-up ends it as converted (`exit_when`). Settings: `delay_minutes` (0 = at the next
tick after the friend-add), `invite_days`; `enabled: false` in the settings file switches it off.

Choices:
- LINE only: the friend is reachable there by definition, and a welcome by SMS or email would be a surprise.
- Marketing: the LINE permission (a friend-add grants it to a prospect), quiet hours and the caps apply, so a
  friend added at night is welcomed in the morning.
- Everyone who adds the friend enters, prospects too (a LINE user unknown to the insurer gets a prospect record
  at friend-add, bot/chat/answers.ensure_customer). A friend-add enrols once per day, and not while an earlier
  series of the same friend is still running (a block and unblock in between).
- The goal is `channel.line_linked` (LINE ID連携). When a prospect links, their series moves with the LINE
  address to the customer they linked to (bot/scenarios/journeys.follow_link), whose record is the linked one.
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Channel,
    Event,
    Exit,
    IfSegment,
    OnEvent,
    Outcome,
    Reentry,
    Scenario,
    Send,
    Wait,
    is_true,
    only,
)
from flows.params import Params, require

ID = "welcome_series"
LINKED = is_true("channel.line_linked")
DEFAULTS = Params(delay_minutes=60, invite_days=3)


def build(p: Params) -> Scenario:
    require(p.days("invite_days") >= 1, ID, "invite_days must be at least 1 (the invitation follows A)")
    require(p.minutes("delay_minutes") < 24 * 60, ID, "delay_minutes must be under a day (1440)")
    return Scenario(
        id=ID,
        number=24,
        title="友だち追加後のステップ配信",
        priority=28,
        trigger=OnEvent(Event.FRIEND_ADDED, delay_minutes=p.minutes("delay_minutes")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(),
        exit_when=(LINKED,),
        steps=(
            Send("send_a", f"{ID}.a", only(Channel.LINE)),
            IfSegment("linked_before", (LINKED,), yes="finished", no="wait_b"),
            Wait("wait_b", after="send_a", days=p.days("invite_days")),
            Send("send_b", f"{ID}.b", only(Channel.LINE)),
            Exit("finished", Outcome.FINISHED),
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
