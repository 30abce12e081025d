"""The service desk in the chat, end to end: signed webhooks in, what the LINE emulator received (the customer's
answers and the staff's notices), and the database."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, update

from bot.cli.requests import requests_group
from bot.delivery.notices import enqueue_notices, notice_retry_key
from bot.platform.i18n import SUPPORTED, message_document
from flows.engine import TOKYO
from handlers.dialogs import desk_checks, desk_forms
from models import Customer, CustomerChannels, Dialog, OutboundEvent, ServiceRequest, StaffNotice, utcnow
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts

STAFF = "C" + "5" * 32  # the service desk's LINE group
REFERENCE = re.compile(r"R\d{6}-[2-9A-HJ-NP-Z]{4}")
LAST_YEAR = str(utcnow().astimezone(TOKYO).year - 1)

# per kind: how the customer starts it, what they answer, and some details staff then get
SCRIPTS = {
    "address_change": (
        "a=address_change",
        ["1", "ab-1234-5678", "〒100-0001", "東京都千代田区千代田1-1 サンプルハイツ101", "今日"],
        {"target": "address_change", "policy_number": "AB12345678", "postal_code": "100-0001"},
    ),
    "name_change": (
        "氏名変更",
        ["CD98765432", "山田 花子", "結婚のため"],
        {"target": "name_change", "new_name": "山田 花子", "name_reason": "結婚のため"},
    ),
    "accident_report": (
        "a=accident_report",
        [
            "昨日",
            "a=skip",
            "千代田区の交差点",
            "信号待ちで追突された",
            "はい",
            "いいえ",
            "はい",
            "090-1234-5678",
            "a=skip",  # no photos
        ],
        {"accident_time": None, "injuries": "yes", "other_party": "no", "callback_phone": "090-1234-5678"},
    ),
    "policy_reissue": (
        "a=policy_reissue",
        ["EF55556666", "1", "2", "530-0001", "大阪府大阪市北区梅田1-1"],
        {"reissue_reason": "lost", "delivery": "new", "delivery_postal_code": "530-0001"},
    ),
    "deduction_reissue": ("a=deduction_reissue", ["GH11112222", LAST_YEAR], {"tax_year": LAST_YEAR}),
    "complaint": (
        "a=complaint",
        ["窓口で長時間待たされた", "待ち時間を改善してほしい", "3", "Hanako@Example.JP", "スキップ"],
        {"contact_by": "email", "contact_email": "Hanako@example.jp"},
    ),
}


def desk(runtime, line, post_webhook, drain, staff: list[str] | None = None) -> Chat:
    runtime.settings = runtime.settings.model_copy(
        update={"staff_line_targets": [STAFF] if staff is None else staff}
    )
    return Chat(runtime, line, post_webhook, drain)


def link(runtime, chat: Chat) -> None:
    """The chat's customer proved who they are (ID連携), as the link flow leaves them."""
    chat.follow()
    with runtime.engine.begin() as connection:
        connection.execute(
            update(CustomerChannels)
            .where(CustomerChannels.line_user_id == chat.user_id)
            .values(line_linked=True)
        )


def act(chat: Chat, step: str) -> list[dict]:
    return chat.tap(step) if step.startswith("a=") else chat.say(step)


def rows(runtime, table) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(table)).all()


@pytest.mark.parametrize("kind", SCRIPTS)
def test_each_request_is_taken_with_a_reference_and_staff_are_told_once(kind, runtime, post_webhook, drain):
    """Each kind: questions, a summary confirmed with はい, a 受付済み request with its reference number, and one
    notice on the staff's LINE naming the customer by id only — even when the send job runs twice."""
    start, steps, expected = SCRIPTS[kind]
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        link(runtime, chat)
        [first] = act(chat, start)
        with runtime.engine.begin() as connection:  # a named customer: the name must not reach staff
            connection.execute(update(Customer).values(family_name="勅使河原", customer_code="C-0042"))
        for step in steps:
            [reply] = act(chat, step)
            assert "cancel_dialog" in str(reply.get("quickReply")), reply["text"]
        assert "よろしければ「はい」を押してください" in reply["text"]
        [done] = chat.tap(action_of(reply, "confirm"))
        reference = REFERENCE.search(done["text"])[0]
        [notice] = [m.message for m in line.sent_messages(to=STAFF)]
        [request] = rows(runtime, ServiceRequest)
        assert request.reference == reference and request.status == "received"
        assert request.customer_id == chat.customer_id() and expected.items() <= request.details.items()
        assert reference in notice["text"] and "顧客ID C-0042" in notice["text"]
        assert request.verified is True and "本人確認：済" in notice["text"]
        assert "勅使河原" not in notice["text"] and rows(runtime, Dialog) == []
        ids = [row.id for row in rows(runtime, StaffNotice)]
        enqueue_notices(runtime.redis, ids)  # the job again: nothing is queued any more
        drain()
        with runtime.engine.begin() as connection:  # as if a worker died after the push, before recording it
            connection.execute(update(StaffNotice).values(status="queued"))
        enqueue_notices(runtime.redis, ids)
        drain()
        assert len(line.sent_messages(to=STAFF)) == 1  # LINE answered the repeated push 409
        pushes = line.requests_to("/v2/bot/message/push")
        [notice_row] = rows(runtime, StaffNotice)
        assert [p.status for p in pushes] == [200, 409] and notice_row.status == "sent"
        assert {p.headers.get("x-line-retry-key") for p in pushes} == {
            notice_retry_key(notice_row.id, notice_row.created_at)
        }
    if kind == "accident_report":
        assert "至急" in done["text"] and "0120-000-000" in done["text"] and "0120-000-000" in first["text"]


def test_wrong_postal_code_and_date_are_explained_and_asked_again(runtime, post_webhook, drain):
    """A postal code without 7 digits, an impossible date and an accident date in the future each get a reply
    saying what is expected; the right answers then go through."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        link(runtime, chat)
        chat.say("住所変更")
        chat.say("AB12345678")
        assert "7桁の数字" in texts(chat.say("12345"))[0]
        assert "新しいご住所を" in texts(chat.say("１２３ー４５６７"))[0]
        chat.say("東京都千代田区千代田1-1")
        assert "日付を読み取れませんでした" in texts(chat.say("2月30日"))[0]
        [summary] = chat.say("12/1")
        assert "新しい郵便番号：123-4567" in summary["text"]
        chat.say("事故")
        [future] = chat.say("2099-01-01")
        assert "未来の日付は入力できません" in future["text"]
        assert "時刻を入力してください" in texts(chat.say("今日"))[0]
    [dialog] = rows(runtime, Dialog)
    assert dialog.step == "accident_time" and dialog.data["answers"]["accident_date"] == str(
        utcnow().astimezone(TOKYO).date()
    )


def test_personal_data_changes_need_a_verified_customer(runtime, app, post_webhook, drain):
    """Someone not linked who asks for an address or name change (tapped or typed) is asked to link first (the
    one-time code proves them) and nothing is taken; their accident notice is taken, marked unverified for
    staff, in the notice and in `flask requests list`."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        for start in ("a=address_change", "住所変更", "氏名変更"):
            [asked] = act(chat, start)
            assert "お済みの方のみ" in asked["text"] and "link_account" in str(asked["quickReply"])
        assert rows(runtime, Dialog) == [] and rows(runtime, ServiceRequest) == []
        _, steps, _ = SCRIPTS["accident_report"]
        act(chat, "a=accident_report")
        for step in steps:
            [reply] = act(chat, step)
        chat.tap(action_of(reply, "confirm"))
        [notice] = [m.message for m in line.sent_messages(to=STAFF)]
    [request] = rows(runtime, ServiceRequest)
    assert request.verified is False and "本人確認：未確認" in notice["text"]
    listed = app.test_cli_runner().invoke(requests_group, ["list"])
    assert request.reference in listed.output and "NOT verified" in listed.output


def test_stopping_midway_writes_nothing(runtime, post_webhook, drain):
    """「やめる」 (tapped, or typed) in the middle of a request ends it: no request, no staff notice, no dialog."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        chat.tap("a=policy_reissue")
        [asked] = chat.say("AB12345678")
        assert "中止しました" in chat.tap(action_of(asked, "cancel_dialog"))[0]["text"]
        chat.tap("a=complaint")
        assert "中止しました" in chat.say("やめる")[0]["text"]
        assert line.sent_messages(to=STAFF) == []
    assert (
        rows(runtime, ServiceRequest) == []
        and rows(runtime, StaffNotice) == []
        and rows(runtime, Dialog) == []
    )


def test_staff_move_a_request_along_and_the_customer_is_told(runtime, app, post_webhook, drain):
    """`flask requests start|close REF` changes the status; each change is pushed to the customer, and 「受付状況」
    shows it; closing twice changes nothing."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        assert "受付中のお手続きはありません" in chat.tap("a=my_requests")[0]["text"]
        chat.tap("a=deduction_reissue")
        chat.say("GH11112222")
        chat.say(LAST_YEAR)
        reference = REFERENCE.search(chat.say("はい")[0]["text"])[0]
        runner = app.test_cli_runner()
        listed = runner.invoke(requests_group, ["list"])
        assert reference in listed.output and "受付済み" in listed.output
        assert runner.invoke(requests_group, ["start", reference.lower()]).exit_code == 0
        drain()
        [started] = chat.answers()
        assert reference in started["text"] and "「対応中」" in started["text"]
        runner.invoke(requests_group, ["close", reference, "--by", "staff-7"])
        drain()
        [closed] = chat.answers()
        assert "「完了」" in closed["text"]
        assert "already" in runner.invoke(requests_group, ["close", reference]).output
        assert reference in runner.invoke(requests_group, ["list", "--status", "closed"]).output
        assert reference not in runner.invoke(requests_group, ["list", "--status", "received"]).output
        [mine] = chat.tap("a=my_requests")
        assert f"{reference}｜控除証明書の再発行｜完了" in mine["text"]
        assert [r.path for r in line.requests_to("/v2/bot/message/push") if r.body["to"] == chat.user_id] == [
            "/v2/bot/message/push"
        ] * 2
    [request] = rows(runtime, ServiceRequest)
    assert request.status == "closed" and request.closed_at is not None


def test_the_insurers_systems_are_told_of_each_request_and_each_move(runtime, app, post_webhook, drain):
    """With an outbound webhook endpoint configured, the filed request and each status change are queued for it
    in their own transactions (bot/platform/outbound.py; their delivery: test_outbound_webhooks.py)."""
    runtime.settings = runtime.settings.model_copy(
        update={
            "outbound_webhooks": {"crm": "https://crm.example.jp/hooks"},
            "outbound_webhook_secret": "whsec_" + "A" * 40,
        }
    )
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        chat.tap("a=deduction_reissue")
        chat.say("GH11112222")
        chat.say(LAST_YEAR)
        reference = REFERENCE.search(chat.say("はい")[0]["text"])[0]
        runner = app.test_cli_runner()
        assert runner.invoke(requests_group, ["start", reference]).exit_code == 0
        assert runner.invoke(requests_group, ["close", reference, "--by", "staff-7"]).exit_code == 0
        runner.invoke(requests_group, ["close", reference])  # already closed: no event
    events = rows(runtime, OutboundEvent)
    assert [(e.event_type, e.payload["data"]["status"], e.endpoint) for e in events] == [
        ("request.created", "received", "crm"),
        ("request.updated", "in_progress", "crm"),
        ("request.updated", "closed", "crm"),
    ]
    assert {e.payload["data"]["reference"] for e in events} == {reference}
    assert events[0].payload["data"]["details"]  # what the customer gave for it
    assert events[-1].payload["data"]["closed_at"] is not None
    assert len({e.event_id for e in events}) == 3


def test_faq_answers_a_matching_question_and_lists_topics(runtime, post_webhook, drain):
    """A question with an entry's keywords gets its answer; `faq` lists topics by number and a number picks one;
    a tap naming a topic opens it; a text no entry matches gets the menu and a hand-off."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        assert "口座振替" in chat.say("保険料の支払い方法を教えてください")[0]["text"]
        [lost] = chat.say("あしたの天気は？")
        assert "理解できませんでした" in lost["text"] and action_of(lost, "handoff")
        [topics] = chat.tap("a=faq")
        assert "1. 保険料のお支払い方法" in topics["text"] and "6. 営業時間" in topics["text"]
        [hours] = chat.say("6")
        assert "平日9:00〜18:00" in hours["text"] and "0120-000-000" in hours["text"]
        assert "保険金・給付金のご請求は" in chat.tap("a=faq&v=claim")[0]["text"]
        assert "理解できませんでした" in chat.say("あしたの天気は？")[0]["text"]
    assert rows(runtime, Dialog) == []


def test_a_hand_off_notifies_staff_once(runtime, post_webhook, drain):
    """「担当者」 tells the customer when staff answer and pushes one notice to staff, however often it is asked
    (tests/integration/test_handover.py follows the hand-over further)."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        assert "担当者におつなぎします" in chat.say("担当者")[0]["text"]
        chat.tap("a=handoff")
        [notice] = [m.message for m in line.sent_messages(to=STAFF)]
    assert f"内部ID {chat.customer_id()}" in notice["text"] and "担当者対応の依頼" in notice["text"]


def test_without_staff_targets_notices_are_recorded_not_sent(runtime, post_webhook, drain):
    """With no STAFF_LINE_TARGETS a request is still taken; its notice is recorded for staff, nothing pushed."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain, staff=[])
        chat.tap("a=deduction_reissue")
        chat.say("GH11112222")
        chat.say(LAST_YEAR)
        assert REFERENCE.search(chat.say("はい")[0]["text"])
        assert line.requests_to("/v2/bot/message/push") == []
    [notice] = rows(runtime, StaffNotice)
    assert notice.status == "unaddressed" and notice.target is None and notice.kind == "deduction_reissue"


def test_answers_are_read_the_way_customers_type_them():
    """Postal codes, phones, dates, times, years and choices in full-width, Japanese or English forms."""
    today = date(2026, 1, 3)
    assert desk_checks.postal_code("〒１２３－４５６７", today) == "123-4567"
    assert desk_checks.phone("+81 90-1234-5678", today) == "090-1234-5678"
    assert (
        desk_checks.phone("０９０ー１２３４ー５６７８", today) == "090-1234-5678"
    )  # as a Japanese IME types it
    assert desk_checks.email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", today) == "taro@example.com"
    assert desk_checks.Day(past_days=365)("12/28", today) == "2025-12-28"  # last year's, not the future
    assert desk_checks.time_of_day("午後3時半", today) == "15:30"
    assert desk_checks.tax_year("令和7年分", today) == "2025"
    assert (
        desk_forms.YES_NO("ありません", today) == "no" and desk_forms.YES_NO("はい、います", today) == "yes"
    )
    for check, wrong in ((desk_checks.tax_year, "2030"), (desk_checks.policy_number, "ABCDEFGH")):
        with pytest.raises(desk_checks.Invalid):
            check(wrong, today)
    assert REFERENCE.fullmatch(desk_forms.reference_number(today, 2**20 - 1))


def test_every_question_request_and_choice_has_its_texts():
    """Each question has its prompt and label, each kind its answer and name, each choice and each wrong-input
    reason its text, in both languages: adding a form without its texts fails here."""
    needed = {f"ask_{key}" for key in desk_forms.QUESTIONS} | {f"done_{kind}" for kind in desk_forms.KINDS}
    needed |= {f"invalid_{reason}" for reason in ("empty", "too_long", "postal_code", "date", "date_future")}
    needed |= {
        f"invalid_{reason}" for reason in ("date_range", "time", "phone", "year", "email", "policy_number")
    }
    needed |= {
        f"invalid_choice_{q.check.reason}"
        for f in desk_forms.FORMS.values()
        for q in f.questions
        if isinstance(q.check, desk_checks.Choice)
    }
    for locale in SUPPORTED:
        texts = message_document(locale)["messages"]["chat_desk"]
        assert needed <= texts.keys(), needed - texts.keys()
        assert (
            set(desk_forms.QUESTIONS) <= texts["labels"].keys()
            and set(desk_forms.KINDS) <= texts["kinds"].keys()
        )
        assert set(desk_forms.CHOICE_VALUES) <= texts["choices"].keys()


def test_the_tick_queues_again_a_notice_whose_enqueue_was_lost(runtime):
    """A notice still waiting untried two minutes after it was written is queued again by the tick; a fresh
    one or one already tried is left alone."""
    from datetime import timedelta

    from rq import Queue

    from bot.delivery.notices import requeue_stale
    from bot.jobs.queues import ANSWERS
    from models import StaffNotice, utcnow
    from tests.integration.delivery_helpers import add_customer

    customer = add_customer(runtime)
    now = utcnow()
    rows = [
        {"created_at": now - timedelta(minutes=5), "attempts": 0},
        {"created_at": now - timedelta(seconds=30), "attempts": 0},
        {"created_at": now - timedelta(minutes=5), "attempts": 1},
    ]
    with runtime.engine.begin() as connection:
        for row in rows:
            connection.execute(
                StaffNotice.__table__.insert().values(
                    kind="handoff",
                    customer_id=customer,
                    target="C" + "0" * 32,
                    template="chat_desk.staff_handoff",
                    status="queued",
                    **row,
                )
            )
    assert requeue_stale(runtime.engine, runtime.redis, now) == 1
    assert Queue(ANSWERS, connection=runtime.redis).count == 1
