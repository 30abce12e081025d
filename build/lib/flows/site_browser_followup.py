"""#9 サイト閲覧者への契約促進シナリオ: the day after someone browsed the website without contracting, 10:00,
present the merits of the insurance they looked at; the merits and the campaign to those who opened it.

Deck flow (P55–59, drawn here): A at view+1d 10:00 → wait A+1d → opened: contract check → B, or leave as
converted; unopened: A' → end. Settings: `trigger_days`, `trigger_at`, `wait_days`.

Choices where the deck is silent:
- F4 has one row per page view and no same-day uniqueness flags: a customer enters once per day of browsing,
  however many pages they viewed (anchor `page_view`, one enrollment per customer and day).
- The deck's contract check sits only before B; a contract also ends the flow before A' (`exit_when`), as the
  deck's notes recommend: nobody is asked to sign up after signing up.
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
from flows.params import Params, require
from flows.segments import F4_PAGE_VIEW

ID = "site_browser_followup"
CONTRACTED = is_true("contract.contracted")
DEFAULTS = Params(trigger_days=1, trigger_at="10:00", wait_days=1)


def build(p: Params) -> Scenario:
    require(p.days("trigger_days") >= 1 and p.days("wait_days") >= 1, ID, "days must be at least 1")
    return Scenario(
        id=ID,
        number=9,
        title="サイト閲覧者への契約促進シナリオ",
        priority=35,
        trigger=RelativeTo("page_view.viewed_at", p.days("trigger_days"), p.text("trigger_at")),
        anchor=Anchor.PAGE_VIEW,
        segment=(is_false("contract.contracted"),),
        exit_when=(CONTRACTED,),
        filters=(*F4_PAGE_VIEW, "page_view.page_url", "page_view.page_title"),
        steps=(
            Send("send_a", f"{ID}.a"),
            Wait("wait_a", after="send_a", days=p.days("wait_days")),
            IfEngaged("opened_a", message="send_a", signal=Signal.OPENED, yes="contracted", no="send_a2"),
            IfSegment("contracted", (CONTRACTED,), yes="converted", no="send_b"),
            Send("send_b", f"{ID}.b", then="finished"),
            Send("send_a2", f"{ID}.a", then="finished"),
            Exit("finished"),
            Exit("converted", Outcome.CONVERTED),
        ),
        params=dict(p),
    )


SCENARIO = build(DEFAULTS)
