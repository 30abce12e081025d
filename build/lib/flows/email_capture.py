"""#20 メールアドレス取得シナリオ: on the 1st of every month, 10:00, ask customers whose email address the insurer
does not have to register one, with a gift for doing so; ask again three days later if they have not.

Deck flow (drawn here): A on the 1st 10:00 → wait A+3d → segment branch on メールアドレス取得フラグ: acquired → leave
as converted; not yet → A' → end. Settings: `trigger_day` (day of the month, 1–28), `trigger_at`, `wait_days`.

Channels: LINE, SMS and push only (never email: these customers have none, deck ※2). The deck draws A and A' as
SMS; here they go LINE → SMS → push, the first one permitted and addressed, because on LINE the customer can
give the address in the chat (the `register_email` button) rather than on a web page; SMS stays the way to reach
everyone else. Acquiring the address ends the flow at any wake-up (`exit_when`), and the deck's branch before A'
stays as drawn.
"""

from __future__ import annotations

from flows.dsl import (
    Anchor,
    Channel,
    ChannelPolicy,
    Exit,
    IfSegment,
    MonthlyOn,
    Outcome,
    Pick,
    Reentry,
    Scenario,
    Send,
    Wait,
    is_false,
    is_true,
)
from flows.params import Params, require
from flows.segments import f5_without

ID = "email_capture"
ACQUIRED = is_true("activity.email_acquired")
LINE_SMS_PUSH = ChannelPolicy(Pick.FIRST_REACHABLE, (Channel.LINE, Channel.SMS, Channel.PUSH))
DEFAULTS = Params(trigger_day=1, trigger_at="10:00", wait_days=3)


def build(p: Params) -> Scenario:
    require(1 <= p.days("trigger_day") <= 28, ID, "trigger_day must be a day of the month from 1 to 28")
    require(p.days("wait_days") >= 1, ID, "wait_days must be at least 1")
    return Scenario(
        id=ID,
        number=20,
        title="メールアドレス取得シナリオ",
        priority=55,
        trigger=MonthlyOn(p.days("trigger_day"), p.text("trigger_at")),
        anchor=Anchor.OCCURRENCE,
        reentry=Reentry.ONE_AT_A_TIME,
        segment=(is_false("activity.email_acquired"),),
        exit_when=(ACQUIRED,),
        filters=f5_without("activity.email_acquired"),
        steps=(
            Send("send_a", f"{ID}.a", LINE_SMS_PUSH),
            Wait("wait_a", after="send_a", days=p.days("wait_days")),
            IfSegment("acquired_before_a2", (ACQUIRED,), yes="converted", no="send_a2"),
            Send("send_a2", f"{ID}.a", LINE_SMS_PUSH, then="finished"),
            Exit("finished"),
            Exit("converted", Outcome.CONVERTED),
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
