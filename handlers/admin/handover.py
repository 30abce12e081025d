"""Admin hand-over commands: answer a customer waiting for a person (/reply 受付番号 本文), give the conversation
back to the bot (/release 受付番号) and list the hand-overs waiting or in progress (/handovers).

The staff's answer reaches the customer through the delivery ledger, as a push. The audit keeps the 受付番号,
never the answer's text (it may name the customer): the text is in the hand-over's history.
"""

from __future__ import annotations

from bot.chat.richmenus import switch_after_commit
from bot.delivery.notices import STAFF_LOCALE
from bot.platform.i18n import text
from bot.staff.desk import request_reference
from bot.staff.handovers import give_back, handover_line, open_handovers, reply_to_customer
from handlers.admin import AdminListeners, Call, Usage, say

admin = AdminListeners()
LISTED = 20


@admin.command("reply", "返信", texts="admin_handover")
def reply(call: Call, ctx) -> str | None:
    """/reply 受付番号 本文: the text, as typed, pushed to the customer; the staff member now has the
    conversation."""
    words = call.raw.strip().split(maxsplit=2)
    if len(words) < 3 or not words[2].strip():
        raise Usage
    reference, body = request_reference(words[1]), words[2].strip()
    call.args[:] = [reference]  # the audit keeps the number, not what was written
    row, delivery_id = reply_to_customer(
        ctx.session.connection(), ctx.settings, reference, call.staff.actor, body, ctx.now
    )
    return _answer(call, ctx, reference, row, delivery_id, "admin_handover.replied")


@admin.command("release", "終了", texts="admin_handover")
def release(call: Call, ctx) -> str | None:
    """/release 受付番号: the bot answers again, the customer is told, held marketing is sent."""
    if len(call.args) != 1:
        raise Usage
    reference = request_reference(call.args[0])
    row, delivery_id = give_back(ctx.session.connection(), reference, call.staff.actor, ctx.now)
    if delivery_id is not None:
        switch_after_commit(ctx.session, row.customer_id)  # the customer's own rich menu again
    return _answer(call, ctx, reference, row, delivery_id, "admin_handover.released")


def _answer(call: Call, ctx, reference: str, row, delivery_id: int | None, done: str) -> str | None:
    if row is None:
        say(call, ctx, "admin_handover.unknown", reference=reference)
        return "not_found"
    call.detail = f"handover {row.id}"
    if delivery_id is None:
        status = text(f"messages.admin_handover.labels.statuses.{row.status}", STAFF_LOCALE)
        say(call, ctx, "admin_handover.over", reference=row.reference, handover_status=status)
        return "unchanged"
    ctx.answers.append(delivery_id)  # pushed to the customer right after the event commits
    say(call, ctx, done, reference=row.reference)
    return None


@admin.command("handovers", "担当者対応", texts="admin_handover")
def list_handovers(call: Call, ctx) -> str | None:
    """/handovers: the hand-overs waiting or in progress, oldest first."""
    if call.args:
        raise Usage
    connection = ctx.session.connection()
    rows, total = open_handovers(connection, LISTED)
    if not rows:
        say(call, ctx, "admin_handover.none")
        return None
    lines = [handover_line(connection, row) for row in rows]
    if total > len(rows):
        lines.append(text("messages.admin_handover.more.text", STAFF_LOCALE, lookup_count=total - len(rows)))
    say(call, ctx, "admin_handover.list", lookup_count=total, lookup_lines="\n".join(lines))
    return None
