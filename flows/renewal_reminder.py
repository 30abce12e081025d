"""#14 契約更新リマインドシナリオ: 30 days before the next renewal, 19:00, present the merits of renewing, and
re-send three days later to those who did not open it.

The deck labels the branch セグメント分岐 but its outputs are 開封/未開封: it is an open branch. #16 shares the
trigger and segment; `priority` decides which one sends first when both would reach a customer on one day.
"""

from __future__ import annotations

from flows.dsl import Anchor, Exit, IfEngaged, RelativeTo, Scenario, Send, Signal, Wait

SCENARIO = Scenario(
    id="renewal_reminder",
    number=14,
    title="契約更新リマインドシナリオ",
    trigger=RelativeTo("contract.next_renewal_on", days=-30, at="19:00"),
    anchor=Anchor.CONTRACT_YEAR,
    segment=(),
    filters=(
        "contract.contracted",
        "contract.status",
        "contract.current_product_type_code",
        "contract.current_product_code",
        "customer.gender",
        "customer.age_band",
        "customer.prefecture",
    ),
    priority=10,
    steps=(
        Send("send_a", "renewal_reminder.a"),
        Wait("wait_a", after="send_a", days=3),
        IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="finished", no="send_a2"),
        Send("send_a2", "renewal_reminder.a"),
        Exit("finished"),
    ),
    params={"days_before_renewal": 30, "wait_days": 3},
)
