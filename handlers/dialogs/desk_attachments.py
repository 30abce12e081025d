"""Photos, videos and files in the service desk's requests (事故の写真など): a question of a form (desk_forms.py,
the `attachments` check) takes as many as the customer sends, up to ATTACHMENT_MAX_PER_REQUEST, until 「完了」.
Each is recorded at once and fetched from LINE by the worker (bot/chat/attachments.py), which tells the customer
if one is refused; the request takes them when it is filed. A photo sent anywhere else gets a question back
(「事故のご連絡ですか？」) rather than the menu.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.chat.answers import Turn, answer
from bot.chat.attachments import discard, fetch_after_commit, kept, record
from bot.chat.dialog_state import DialogState
from bot.chat.media_types import largest, megabytes
from bot.inbound.context import Ctx
from bot.platform.i18n import text
from handlers.conversation import move
from handlers.dialogs.desk_checks import Attachments
from handlers.dialogs.desk_forms import Form, Question
from models import Dialog

DIALOGS = Dialog.__table__
COLLECTED = "attachments"  # the dialog's list of attachment ids sent at the current question


def takes_attachments(question: Question) -> bool:
    return isinstance(question.check, Attachments)


def collected(state: DialogState) -> list[int]:
    return [int(i) for i in state.data.get(COLLECTED) or []]


def take(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """One photo, video or file at an attachments question: recorded and queued for fetching, the customer told
    how many are in (once per set of photos sent together)."""
    media = turn.media
    assert media is not None
    state = _locked(turn, state, ctx)
    ids = collected(state)
    settings = ctx.settings
    if len(ids) >= settings.attachment_max_per_request:
        move(turn, ctx, state, state.step)
        answer(ctx, turn, "chat_attach.too_many", limit=settings.attachment_max_per_request)
        return
    if media.size is not None and media.size > largest(settings, media.kind):  # LINE told the file's size
        move(turn, ctx, state, state.step)
        answer(ctx, turn, "chat_attach.refused_too_large", limit=megabytes(largest(settings, media.kind)))
        return
    attachment_id = record(ctx.session.connection(), turn.customer_id, media, ctx.now)
    fetch_after_commit(ctx.session, [attachment_id])
    move(turn, ctx, state, state.step, **{COLLECTED: [*ids, attachment_id]})
    if media.last_of_set:
        answer(ctx, turn, "chat_attach.received", count=len(ids) + 1)


def _locked(turn: Turn, state: DialogState, ctx: Ctx) -> DialogState:
    """The dialog as it is now, locked until this event commits (PostgreSQL): photos sent together arrive as
    separate events that two workers may take at once, and each must add to the list the other wrote."""
    connection = ctx.session.connection()
    if connection.dialect.name != "postgresql":  # SQLite: one writer at a time already
        return state
    data = connection.execute(
        select(DIALOGS.c.data).where(DIALOGS.c.line_user_id == turn.user_id).with_for_update()
    ).scalar()
    return DialogState(state.name, state.step, dict(data or state.data))


def finished(state: DialogState, ctx: Ctx) -> list[int] | None:
    """The answer kept when the customer is done (「完了」, or スキップ): the ids sent and not refused so far, or
    None for none."""
    return kept(ctx.session.connection(), collected(state)) or None


def filed_ids(form: Form, answers: dict[str, Any]) -> list[int]:
    """Every attachment id the answers hold (a form may ask for them more than once)."""
    return [int(i) for q in form.questions if takes_attachments(q) for i in (answers.get(q.key) or [])]


def give_up(turn: Turn, state: DialogState, ctx: Ctx, form: Form | None) -> None:
    """The request is stopped or started again: what was sent for it goes too."""
    answers = dict(state.data.get("answers") or {})
    ids = collected(state) + (filed_ids(form, answers) if form is not None else [])
    discard(ctx.session.connection(), ctx.settings, ids, turn.customer_id)


def shown(value: Any, locale: str) -> str:
    return text("messages.chat_attach.labels.count", locale, count=len(value or []))


def elsewhere(turn: Turn, state: DialogState | None, ctx: Ctx, form: Form | None) -> None:
    """A photo, video or file where no question takes one: in a request that asks for them later, "after these
    questions"; anywhere else, "is this an accident?" with the way in."""
    later = form is not None and any(
        takes_attachments(q) and q.key not in (state.data.get("answers") or {}) for q in form.questions
    )
    if later and state is not None:
        move(turn, ctx, state, state.step)  # still waiting at the question (and not idle)
        answer(ctx, turn, "chat_attach.later")
        return
    answer(ctx, turn, "chat_attach.stray", accident_phone=ctx.settings.accident_phone)
