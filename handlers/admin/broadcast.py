"""Admin commands that send a broadcast (一斉配信) to a segment: /broadcast prepares a draft and the worker posts
its dry run (recipients per channel, exclusions by reason, LINE messages, SMS cost) with 送信する and やめる;
送信する confirms it (above BROADCAST_APPROVAL_THRESHOLD recipients only an approver other than the preparer
may); /cancel stops one. Counting, sending and the progress reports run in the worker (bot/delivery/broadcast_jobs.py).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from sqlalchemy import event, update
from sqlmodel import Session

from bot.customers.facts import UnknownFact, column_of
from bot.delivery.broadcast_jobs import enqueue, label, moment_label
from bot.delivery.broadcast_plan import channel_policy
from bot.delivery.broadcasts import cancel_broadcast
from bot.delivery.content import Template
from bot.delivery.notices import STAFF_LOCALE
from bot.inbound.context import Ctx
from bot.platform.i18n import template_keys, text
from bot.platform.runtime import current
from bot.staff.admin import Role, StaffMember
from bot.staff.desk import reply_staff
from flows.dsl import Pick, Purpose
from flows.engine import TOKYO
from handlers.admin import AdminListeners, Call, Refused, Usage, say, usage_line
from models import Broadcast, BroadcastStatus

admin = AdminListeners()
BROADCASTS = Broadcast.__table__
DEFAULT_CHANNELS = "first_reachable:line,sms,email"
YES, NO = {"true", "yes", "1", "はい", "有"}, {"false", "no", "0", "いいえ", "無"}
NAMES_ONLY = {"service_name": "-", "family_name": "-", "given_name": "-"}  # a broadcast row's merge fields


class Invalid(Exception):
    """An argument names something that is not there: the answer says what (`problems.<key>`), then usage."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key, self.fields = key, fields


@admin.command("broadcast", "配信", texts="admin_broadcast")
def prepare(call: Call, ctx: Ctx) -> str:
    """/broadcast TEMPLATE [fact=value …] [--channels …] [--purpose …] [--at "YYYY-MM-DD HH:MM"]: a draft,
    counted by the worker, whose dry run comes back with the confirm button."""
    try:
        draft = _draft(call, ctx)
    except Invalid as wrong:
        call.detail = wrong.key
        problem = text(f"messages.admin_broadcast.problems.{wrong.key}", STAFF_LOCALE, **wrong.fields)
        usage = usage_line(ctx.handlers.admin.commands["broadcast"])
        say(call, ctx, "admin_broadcast.invalid", problem=problem, usage=usage)
        return "usage"
    ctx.session.add(draft)
    ctx.session.flush()
    call.detail = f"broadcast {draft.id}: draft"
    say(call, ctx, "admin_broadcast.counting", number=draft.id)
    _after_commit(ctx.session, "count", draft.id)
    return "done"


def _draft(call: Call, ctx: Ctx) -> Broadcast:
    channels = call.option("channels") or DEFAULT_CHANNELS
    purpose = call.option("purpose") or Purpose.MARKETING
    at = call.option("at")
    if not call.args:
        raise Usage
    template = _template(call.args[0])
    filters: dict[str, object] = {}
    for word in call.args[1:]:
        fact, value = parse_filter(word)
        if fact in filters:
            raise Invalid("twice", field=fact)
        filters[fact] = value
    try:
        ladder = channel_policy(channels)
    except ValueError:
        raise Invalid("channels", spec=channels) from None
    if ladder.pick is Pick.ALL_PERMITTED:  # a broadcast writes one row per customer
        raise Invalid("channels", spec=channels)
    if purpose not in set(Purpose):
        raise Invalid("purpose", purpose=purpose)
    return Broadcast(
        name=f"admin:{template}"[:128],
        template=template,
        purpose=str(purpose),
        channels=channels,
        status=BroadcastStatus.DRAFT,
        send_at=_moment(at, ctx.now) if at else None,
        created_by=call.staff.actor,
        prepared_in=call.staff.reply_to,
        filters=filters,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def _template(name: str) -> str:
    key = name if "." in name else f"broadcast.{name}"
    if key not in broadcastable():
        raise Invalid("unknown_template", name=name)
    return key


@cache
def broadcastable() -> frozenset[str]:
    """The templates a broadcast may send: customer messages whose text needs no more than the customer's name
    (a broadcast has no reservation or contract to take a date from) and no coupon."""
    keys = set()
    for key in template_keys("ja"):
        template = Template(key, "ja")
        if key.startswith(("chat", "admin")) or template.part("flex"):
            continue
        if "%{" not in template.body(NAMES_ONLY) + template.body(NAMES_ONLY, sms=True):
            keys.add(key)
    return frozenset(keys)


def parse_filter(word: str) -> tuple[str, object]:
    """`customer.prefecture=東京都` → (fact, value typed as its column: true/false, a number, a date, text)."""
    fact, sep, raw = (part.strip() for part in word.partition("="))
    if not sep or not fact or not raw:
        raise Invalid("filter_form", word=word)
    try:
        column = column_of(fact)
    except UnknownFact:
        raise Invalid("unknown_field", field=fact) from None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        raise Invalid("unsupported_field", field=fact) from None
    try:
        if kind is bool and raw.lower() in YES | NO:
            return fact, raw.lower() in YES
        if kind is int:
            return fact, int(raw)
        if kind is date:
            return fact, date.fromisoformat(raw).isoformat()
        if kind is str:
            return fact, raw
    except ValueError:
        pass
    if kind not in (bool, int, date, str):
        raise Invalid("unsupported_field", field=fact)
    raise Invalid("bad_value", field=fact, value=raw, expected=label(f"kinds.{kind.__name__}"))


def _moment(at: str, now: datetime) -> datetime:
    """ "2026-12-24 10:00", Japan time; it must lie ahead."""
    try:
        moment = datetime.strptime(at.replace("T", " "), "%Y-%m-%d %H:%M").replace(tzinfo=TOKYO)
    except ValueError:
        raise Invalid("at_form", at=at) from None
    if moment <= now:
        raise Invalid("past", at=at)
    return moment


@admin.postback("admin_broadcast_confirm")
def confirm(staff: StaffMember, value: str, reply_token: str | None, ctx: Ctx) -> str:
    """送信する: queue the counted draft (once); above the threshold only an approver who did not prepare it."""
    broadcast = _find(ctx, value)
    if broadcast is None:
        return _answer(ctx, staff, reply_token, "not_found", "unknown", number=value)
    fields = {"number": broadcast.id}
    if broadcast.status != BroadcastStatus.DRAFT:  # tapped again, or set aside
        result = "refused" if broadcast.status == BroadcastStatus.CANCELLED else "duplicate"
        return _answer(ctx, staff, reply_token, "not_draft", result, state=_state(broadcast), **fields)
    if broadcast.counts is None:
        return _answer(ctx, staff, reply_token, "still_counting", "refused", **fields)
    recipients = broadcast.counts["recipients"]
    threshold = ctx.settings.broadcast_approval_threshold
    fields |= {"recipients": recipients, "threshold": threshold, "send_time": moment_label(broadcast.send_at)}
    if not recipients:
        return _answer(ctx, staff, reply_token, "nobody", "refused", **fields)
    if recipients > threshold and staff.actor == broadcast.created_by:
        return _answer(ctx, staff, reply_token, "needs_another", "refused", **fields)
    if recipients > threshold and not staff.may(Role.APPROVER):
        return _answer(ctx, staff, reply_token, "needs_approver", "refused", **fields)
    moved = _move(ctx, broadcast.id, BroadcastStatus.QUEUED, confirmed_by=staff.actor)
    if not moved:  # a second tap, at the same moment as the first
        return _answer(
            ctx, staff, reply_token, "not_draft", "duplicate", state=label("states.queued"), **fields
        )
    _after_commit(ctx.session, "start", broadcast.id)
    return _answer(
        ctx, staff, reply_token, "scheduled" if broadcast.send_at else "confirmed", "done", **fields
    )


@admin.postback("admin_broadcast_drop")
def drop(staff: StaffMember, value: str, reply_token: str | None, ctx: Ctx) -> str:
    """やめる: the draft is set aside (nothing was written to the ledger)."""
    broadcast = _find(ctx, value)
    if broadcast is None:
        return _answer(ctx, staff, reply_token, "not_found", "unknown", number=value)
    if not _move(ctx, broadcast.id, BroadcastStatus.CANCELLED):
        return _answer(
            ctx, staff, reply_token, "not_draft", "refused", number=broadcast.id, state=_state(broadcast)
        )
    return _answer(ctx, staff, reply_token, "dropped", "done", number=broadcast.id)


@admin.command("cancel", "配信中止", texts="admin_broadcast")
def cancel(call: Call, ctx: Ctx) -> None:
    """/cancel ID: every row not yet sent fails as cancelled; a send job running now stops at its next chunk."""
    if len(call.args) != 1:
        raise Usage
    broadcast = _find(ctx, call.args[0].lstrip("#"))
    if broadcast is None:
        raise Refused("admin_broadcast.not_found", number=call.args[0])
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        raise Refused("admin_broadcast.not_running", number=broadcast.id, state=_state(broadcast))
    stopped = cancel_broadcast(ctx.session.connection(), broadcast.id, ctx.now)
    call.detail = f"broadcast {broadcast.id}: {stopped} stopped"
    say(call, ctx, "admin_broadcast.cancelled", number=broadcast.id, stopped=stopped)


def _find(ctx: Ctx, value: str) -> Broadcast | None:
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        return None
    return ctx.session.get(Broadcast, int(value))


def _move(ctx: Ctx, broadcast_id: int, status: BroadcastStatus, **values: object) -> bool:
    """Draft → `status`, only from draft: of two taps at once, one moves it."""
    moved = ctx.session.connection().execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == BroadcastStatus.DRAFT)
        .values(status=status, updated_at=ctx.now, **values)
    )
    return moved.rowcount == 1


def _state(broadcast: Broadcast) -> str:
    return label(f"states.{broadcast.status}")


def _answer(
    ctx: Ctx, staff: StaffMember, reply_token: str | None, key: str, result: str, **fields: object
) -> str:
    reply_staff(ctx, staff.reply_to, reply_token, f"admin_broadcast.{key}", **fields)
    return result


def _after_commit(session: Session, job: str, broadcast_id: int) -> None:
    """Queue the worker's job once the draft (or its confirmation) is committed, never if it rolls back."""
    event.listen(session, "after_commit", lambda _: enqueue(current().redis, job, broadcast_id), once=True)
