"""The service desk in the chat (各種お手続き): address or name change, first notice of an accident, policy
reissue, deduction-certificate reissue and complaints, taken as requests staff can act on.

One generic runner for the forms of desk_forms.py: ask each question in turn (wrong input gets a reply that
says what is expected, and the question again), show a summary to confirm, then record the request with a
reference number (受付番号) the customer can read out on the phone, tell them what happens next, and notify
staff in the same transaction. 「やめる」 at any point writes nothing. `my_requests` shows the customer where
their requests stand; staff move them along with `flask requests` (bot/staff/desk.py).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select

from bot.chat.account_link import is_linked
from bot.chat.answers import Turn, answer, chat_locale
from bot.chat.attachments import attach
from bot.chat.dialog_state import DialogState
from bot.delivery.notices import STAFF_LOCALE
from bot.inbound.context import Ctx
from bot.platform.i18n import text
from bot.staff.desk import notify_staff, request_event
from flows.engine import TOKYO
from handlers.conversation import ChatListeners, Handler, begin, end, move, normalise
from handlers.dialogs import desk_attachments
from handlers.dialogs.desk_checks import DONE_WORDS, Choice, Day, Invalid
from handlers.dialogs.desk_forms import FORMS, QUESTIONS, Form, Question, reference_number
from models import RequestStatus, ServiceRequest

CONFIRM = "confirm"
chat = ChatListeners()
NAME = chat.dialog("service_desk", *QUESTIONS, CONFIRM)
REQUESTS = ServiceRequest.__table__
SHOWN_REQUESTS = 10
YES = frozenset({"はい", "yes", "ok", "お願いします", "おねがいします"})
STOP = frozenset({"やめる", "やめます", "キャンセル", "中止", "cancel"})
SKIP = frozenset({"スキップ", "skip", "不明", "わからない", "分からない"})  # an optional question only
# what a customer may type to start a request; some already answer its first question
COMMANDS: tuple[tuple[tuple[str, ...], str, dict[str, str]], ...] = (
    (
        ("住所変更", "住所の変更", "住所・氏名の変更", "引っ越し", "転居"),
        "address_change",
        {"target": "address_change"},
    ),
    (
        ("氏名変更", "氏名の変更", "名前の変更", "名前変更", "改姓"),
        "address_change",
        {"target": "name_change"},
    ),
    (("事故", "事故連絡", "事故の連絡", "事故のご連絡", "事故受付", "事故報告"), "accident_report", {}),
    (("証券再発行", "証券の再発行", "保険証券の再発行"), "policy_reissue", {}),
    (("控除証明書", "控除証明書の再発行", "控除証明書再発行", "保険料控除証明書"), "deduction_reissue", {}),
    (("苦情", "ご意見", "ご意見・苦情", "クレーム"), "complaint", {}),
)


# requests whose confirmation offers a person (「担当者と話す」), and the hand-over's reason
HANDOVER_OFFERS = {"accident_report": "accident", "complaint": "complaint"}


def say(ctx: Ctx, turn: Turn, name: str, **fields: Any) -> None:
    """Answer `chat_desk.<name>`; every desk text may name the 24-hour accident line."""
    answer(ctx, turn, f"chat_desk.{name}", accident_phone=ctx.settings.accident_phone, **fields)


@chat.command("手続き", "各種手続き", "各種お手続き", "お手続き")
@chat.action("service_menu")
def show_service_menu(turn: Turn, ctx: Ctx) -> None:
    """The requests the desk takes, as quick replies (and the FAQ, the customer's requests, a person)."""
    end(turn, ctx)
    say(ctx, turn, "menu")


def _starter(form: Form, preset: dict[str, str]) -> Handler:
    def start(turn: Turn, ctx: Ctx) -> None:
        if unverified(turn, ctx, form):
            return
        go_on(turn, ctx, form, preset, dict(preset))

    start.__doc__ = f"Start the {form.name} request."
    return start


def go_on(turn: Turn, ctx: Ctx, form: Form, preset: dict[str, str], answers: dict[str, Any]) -> None:
    """Wait for the answer to the next question, or, when all are in, for the summary to be confirmed."""
    following = form.next_question(answers)
    step = following.key if following is not None else CONFIRM
    begin(turn, ctx, NAME, step, form=form.name, preset=preset, answers=answers)
    if following is not None:
        ask(turn, ctx, following)
    else:
        say(ctx, turn, "confirm", **_summary_fields(form, answers, chat_locale(ctx, turn)))


for _form in FORMS.values():
    chat.action(_form.name)(_starter(_form, {}))
for _words, _name, _preset in COMMANDS:
    chat.command(*_words)(_starter(FORMS[_name], _preset))


def ask(turn: Turn, ctx: Ctx, question: Question) -> None:
    say(ctx, turn, f"ask_{question.key}")


def read_answer(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """The customer's answer to the question their request waits at (or to the summary)."""
    form = FORMS.get(str(state.data.get("form")))
    typed = normalise(turn.text) if turn.text is not None else None
    if form is None or (state.step != CONFIRM and state.step not in form.keys):  # a form changed since
        end(turn, ctx)
        answer(ctx, turn, "chat.dialog_expired")
        return
    if turn.action == "cancel_dialog" or typed in STOP:
        desk_attachments.give_up(turn, state, ctx, form)
        end(turn, ctx)
        say(ctx, turn, "cancelled")
        return
    preset = dict(state.data.get("preset") or {})
    if turn.action == "change":  # start again, from what the customer said when starting
        desk_attachments.give_up(turn, state, ctx, form)
        return go_on(turn, ctx, form, preset, dict(preset))
    answers = dict(state.data.get("answers") or {})
    if state.step == CONFIRM:
        if turn.action == "confirm" or typed in YES:
            return submit(turn, ctx, form, answers)
        say(ctx, turn, "confirm", **_summary_fields(form, answers, chat_locale(ctx, turn)))
        return
    question = form.question(state.step)
    if desk_attachments.takes_attachments(question):
        if turn.media is not None:
            return desk_attachments.take(turn, state, ctx)
        if turn.action in ("skip", "attachments_done") or typed in SKIP or typed in DONE_WORDS:
            answers[question.key] = desk_attachments.finished(state, ctx)
            return go_on(turn, ctx, form, preset, answers)
    if turn.action == "skip" or (question.optional and typed in SKIP):
        if not question.optional:
            return ask(turn, ctx, question)
        answers[question.key] = None
    elif turn.text is None:  # a tap that answers nothing here: ask again
        return ask(turn, ctx, question)
    else:
        try:
            answers[question.key] = question.check(turn.text, today(ctx))
        except Invalid as wrong:
            move(turn, ctx, state, state.step)  # still waiting here (and not idle)
            say(ctx, turn, f"invalid_{wrong.reason}", **wrong.fields)
            return
    go_on(turn, ctx, form, preset, answers)


for _step in NAME.steps:
    _media = any(
        desk_attachments.takes_attachments(q) for f in FORMS.values() for q in f.questions if q.key == _step
    )
    chat.step(NAME, _step, media=_media)(read_answer)


@chat.media_fallback
def answer_media_elsewhere(turn: Turn, state: DialogState | None, ctx: Ctx) -> bool:
    """A photo, video or file outside the questions that take them: never the menu without a word about it."""
    form = FORMS.get(str(state.data.get("form"))) if state is not None and state.name == NAME.name else None
    desk_attachments.elsewhere(turn, state, ctx, form)
    return True


def unverified(turn: Turn, ctx: Ctx, form: Form) -> bool:
    """A request that changes personal data from someone who has not proved who they are (not linked): they
    are asked to link first (the one-time code proves them), and nothing is taken."""
    if not form.personal or is_linked(ctx.session.connection(), turn.user_id):
        return False
    end(turn, ctx)
    say(ctx, turn, "verify_first")
    return True


def submit(turn: Turn, ctx: Ctx, form: Form, answers: dict[str, Any]) -> None:
    """Record the request (受付済み), tell the customer its reference and what happens next, notify staff
    (whether the customer's identity was verified: linked, or not)."""
    if unverified(turn, ctx, form):  # unlinked while the form was open
        return
    connection = ctx.session.connection()
    verified = is_linked(connection, turn.user_id)
    kind = form.kind(answers)
    reference = new_reference(connection, ctx.now)
    request_id = connection.execute(
        insert(REQUESTS)
        .values(
            reference=reference,
            customer_id=turn.customer_id,
            kind=kind,
            details=answers,
            verified=verified,
            status=RequestStatus.RECEIVED,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        .returning(REQUESTS.c.id)
    ).scalar_one()
    attach(connection, desk_attachments.filed_ids(form, answers), turn.customer_id, request_id)
    request_event(connection, ctx.settings, request_id, "request.created", ctx.now)
    end(turn, ctx)
    say(ctx, turn, f"done_{kind}", reference=reference, handoff_value=HANDOVER_OFFERS.get(kind))
    staff = _summary_fields(form, answers, STAFF_LOCALE)
    identity = text(f"messages.chat_desk.labels.{'verified' if verified else 'unverified'}", STAFF_LOCALE)
    notify_staff(
        ctx,
        kind,
        turn.customer_id,
        "chat_desk.staff_request",
        reference=reference,
        identity=identity,
        **staff,
    )


def new_reference(connection: Connection, now: Any) -> str:
    """A reference not used yet. Two requests drawing the same one at the same moment (one in a million a
    day) collide on the unique key; that event fails, is retried, and draws again."""
    day = now.astimezone(TOKYO).date()
    for _ in range(8):
        reference = reference_number(day, secrets.randbits(20))
        if connection.execute(select(REQUESTS.c.id).where(REQUESTS.c.reference == reference)).first() is None:
            return reference
    raise RuntimeError("no free reference number for today")


def today(ctx: Ctx) -> date:
    return ctx.effective_time.astimezone(TOKYO).date()


def _summary_fields(form: Form, answers: dict[str, Any], locale: str) -> dict[str, str]:
    """The request's kind and its answers, one line each, in `locale`: what the customer confirms and staff
    read."""
    lines = [
        text(
            "messages.chat_desk.labels.line",
            locale,
            label=text(f"messages.chat_desk.labels.{q.key}", locale),
            value=shown(q, answers[q.key], locale),
        )
        for q in form.questions
        if q.key in answers and form.asks(q, answers)
    ]
    return {"request_kind": kind_name(form.kind(answers), locale), "details": "\n".join(lines)}


def shown(question: Question, value: Any, locale: str) -> str:
    """An answer as the customer and staff read it: a choice by its name, a date written out."""
    if value is None:
        return text("messages.chat_desk.labels.skipped", locale)
    if desk_attachments.takes_attachments(question):
        return desk_attachments.shown(value, locale)
    if isinstance(question.check, Choice):
        return text(f"messages.chat_desk.choices.{value}", locale)
    if isinstance(question.check, Day):
        return long_date(date.fromisoformat(value), locale)
    return str(value)


def long_date(day: date, locale: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if locale == "ja" else f"{day:%B} {day.day}, {day.year}"


def kind_name(kind: str, locale: str) -> str:
    return text(f"messages.chat_desk.kinds.{kind}", locale)


@chat.command("受付状況", "手続き状況", "お手続き状況", "申込状況")
@chat.action("my_requests")
def show_my_requests(turn: Turn, ctx: Ctx) -> None:
    """The customer's latest requests: reference, kind, status and date."""
    locale = chat_locale(ctx, turn)
    rows = ctx.session.execute(
        select(REQUESTS.c.reference, REQUESTS.c.kind, REQUESTS.c.status, REQUESTS.c.created_at)
        .where(REQUESTS.c.customer_id == turn.customer_id)
        .order_by(REQUESTS.c.created_at.desc(), REQUESTS.c.id.desc())
        .limit(SHOWN_REQUESTS)
    ).all()
    if not rows:
        say(ctx, turn, "no_requests")
        return
    lines = [
        text(
            "messages.chat_desk.labels.request_line",
            locale,
            reference=row.reference,
            kind=kind_name(row.kind, locale),
            status=text(f"messages.chat_desk.statuses.{row.status}", locale),
            date=long_date(row.created_at.astimezone(TOKYO).date(), locale),
        )
        for row in rows
    ]
    say(ctx, turn, "my_requests", details="\n".join(lines))
