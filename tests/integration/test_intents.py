"""What customers type, understood end to end: a free text through a signed webhook reaches where its intent leads
(a request form, booking, coupons, ID連携, the FAQ, a person …), as the LINE emulator and the ledger show; the
walk-through's texts get their answers; `flask chat intent` prints what the chat reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from flows.engine import japan_day
from handlers.dialogs.intents import ROUTES
from models import CustomerChannels, Delivery, Dialog, Reservation, StaffNotice, utcnow
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts

STAFF = "C" + "6" * 32  # the service desk's LINE group

# intent: (one phrasing a customer types, the answers' templates, the dialog it opens: (form, target) or None)
JOURNEYS = {
    "address_change": (
        "引っ越したので住所を変えたいです",
        ["chat_desk.ask_policy_number"],
        ("address_change", "address_change"),
    ),
    "name_change": (
        "結婚して苗字が変わったんですが",
        ["chat_desk.ask_policy_number"],
        ("address_change", "name_change"),
    ),
    "accident": ("さっき追突されちゃった", ["chat_desk.ask_accident_date"], ("accident_report", None)),
    "policy_reissue": (
        "保険証券を失くしてしまいました",
        ["chat_desk.ask_policy_number"],
        ("policy_reissue", None),
    ),
    "deduction_certificate": (
        "控除証明書の再発行をお願いします",
        ["chat_desk.ask_policy_number"],
        ("deduction_reissue", None),
    ),
    "complaint": ("担当者の対応に不満があります", ["chat_desk.ask_complaint_what"], ("complaint", None)),
    "cancel_contract": (
        "I'd like to cancel my insurance policy",
        [
            "chat_intents.cancel_contract",
            "chat_campaign.offer_churn_prevention",
            "chat_handover.offer.cancel_contract",
        ],
        None,
    ),
    "booking": ("店舗で相談したいので予約したい", ["chat_campaign.book_pick"], None),
    "reschedule": ("予約の日を変えたい", ["chat_intents.reschedule_which"], None),
    "cancel_booking": ("来店予約のキャンセルをお願いします", ["chat_intents.cancel_which"], None),
    "payment_method": ("クレジットカード払いはできますか", ["chat_faq.payment"], None),
    "payment_trouble": (
        "今月払えそうにないです",
        ["chat_intents.payment_trouble", "chat_handover.offer.payment_trouble"],
        None,
    ),
    "coupon": ("クーポンを確認したい", ["chat_coupon.none"], None),
    "link_account": ("LINEと契約を連携したい", ["chat_link.already_linked"], None),
    "unlink_account": ("れんけいかいじょ", ["chat_link.unlink_confirm"], None),
    "email_register": ("メアドを登録したい", ["chat.email_ask"], None),
    # a hand-over at once: its answer says staff reply now or from when (business hours)
    "human": ("オペレーターと話したい", ["chat_handover.opened"], None),
    "stop_messages": ("お知らせを止めてください", ["chat.opted_out"], None),
    "thanks": ("本当に助かりました", ["chat_intents.thanks"], None),
    "greeting": ("こんにちわ", ["chat_intents.greeting"], None),
    "faq_accident": ("事故の時はまず何をすればいい？", ["chat_faq.accident"], None),
    "faq_claim": ("入院したので保険金を請求したい", ["chat_faq.claim"], None),
    "faq_bank_account": ("引き落とし口座を変えたい", ["chat_faq.bank_account"], None),
    "faq_contract_status": ("自分の保障内容を確認したい", ["chat_faq.contract_status"], None),
    "faq_customer_id": ("顧客番号を忘れてしまった", ["chat_faq.customer_id"], None),
    "faq_hours": ("土日は営業してますか", ["chat_faq.hours"], None),
    "faq_procedures": ("LINEでどんな手続きができますか", ["chat_faq.procedures"], None),
    "my_requests": ("申し込んだ手続きの状況を知りたい", ["chat_desk.no_requests"], None),
    "menu": ("メニュー見せて", ["chat.menu"], None),
}


def linked_chat(runtime, line, post_webhook, drain) -> Chat:
    """A customer who proved who they are (ID連携), with a store visit booked for next week; staff in a group."""
    runtime.settings = runtime.settings.model_copy(update={"staff_line_targets": [STAFF]})
    chat = Chat(runtime, line, post_webhook, drain)
    chat.follow()
    with runtime.engine.begin() as connection:
        connection.execute(
            update(CustomerChannels)
            .where(CustomerChannels.line_user_id == chat.user_id)
            .values(line_linked=True)
        )
        connection.execute(
            insert(Reservation).values(
                reservation_code="R-NEXT-1",
                customer_id=chat.customer_id(),
                reserved_on=japan_day(utcnow()),
                visit_on=japan_day(utcnow()) + timedelta(days=7),
                updated_at=utcnow(),
            )
        )
    return chat


def templates_since(runtime, customer_id: int, after: int) -> list[str]:
    with runtime.engine.connect() as connection:
        return list(
            connection.execute(
                select(Delivery.template)
                .where(Delivery.customer_id == customer_id, Delivery.id > after)
                .order_by(Delivery.id)
            ).scalars()
        )


def last_delivery(runtime) -> int:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Delivery.id).order_by(Delivery.id.desc()).limit(1)).scalar() or 0


def test_every_intent_has_a_journey_here():
    """The end-to-end test below walks every intent the chat knows."""
    assert set(JOURNEYS) == set(ROUTES)


@pytest.mark.parametrize("intent", sorted(JOURNEYS))
def test_each_intent_typed_leads_where_it_should(intent, runtime, post_webhook, drain):
    """A text of each intent, through a signed webhook, is answered with what that intent leads to (and opens
    the request form it names); nothing answers 「うまく理解できませんでした」."""
    phrasing, expected, dialog = JOURNEYS[intent]
    with emulated_line(runtime) as line:
        chat = linked_chat(runtime, line, post_webhook, drain)
        before = last_delivery(runtime)
        answered = chat.say(phrasing)
    sent = templates_since(runtime, chat.customer_id(), before)
    assert [t.removesuffix("_after_hours") for t in sent] == expected
    assert answered and not any("理解できませんでした" in t for t in texts(answered))
    with runtime.engine.connect() as connection:
        state = connection.execute(select(Dialog.data).where(Dialog.line_user_id == chat.user_id)).scalar()
    if dialog is not None:
        form, target = dialog
        assert state["form"] == form and state["answers"].get("target") == target


def test_the_walk_through_texts_get_their_answers(runtime, post_webhook, drain):
    """「解約したい」: what cancelling means, the policyholders' offer and a person (staff told); 「来店予約したい」 and
    「予約」: the booking picker; 「名義を変えたい」: the name change; 「ありがとう」: a kind answer; 「保険料を払えない」:
    the ways to keep paying and a person, not the payment methods."""
    with emulated_line(runtime) as line:
        chat = linked_chat(runtime, line, post_webhook, drain)
        cancelling, *pushed = texts(chat.say("解約したい"))  # the reply, then two pushes (in either order)
        assert "保障（補償）はなくなります" in cancelling and "減額" in cancelling
        assert sorted("担当者" in text for text in pushed) == [False, True]
        assert any("ご契約者さま限定キャンペーン" in text for text in pushed)
        for text in ("来店予約したい", "予約"):
            [picker] = chat.say(text)
            assert "ご来店のご希望日時" in picker["text"] and action_of(picker, "book")
        [thanks] = chat.say("ありがとう")
        assert thanks["text"].startswith("どういたしまして")
        paying, person = texts(chat.say("保険料を払えない"))
        assert "払込猶予期間" in paying and "口座振替・クレジットカード" not in paying
        assert "「担当者と話す」を押してください" in person  # a person a tap away: a hand-over when tapped
        [lost] = chat.say("あしたの天気は？")
        assert "理解できませんでした" in lost["text"] and action_of(lost, "handoff")
        [name] = chat.say("名義を変えたい")
        assert "証券番号を入力してください" in name["text"]
    with runtime.engine.connect() as connection:
        notices = connection.execute(select(StaffNotice.kind)).scalars().all()
        dialog = connection.execute(select(Dialog.data).where(Dialog.line_user_id == chat.user_id)).scalar()
    assert "handoff" not in notices and "handover" not in notices  # offered, not forced on the customer
    assert dialog["form"] == "address_change" and dialog["answers"] == {"target": "name_change"}


def test_a_visit_to_change_or_cancel_typed_out_offers_the_next_booking_and_its_buttons_work(
    runtime, post_webhook, drain
):
    """「予約を変更したい」 names the customer's next visit with its 日程変更 button, which goes on to the usual
    confirmation; 「予約をキャンセルしたい」 leads to the cancellation's confirmation; without a booking, the
    customer is offered to book one."""
    with emulated_line(runtime) as line:
        chat = linked_chat(runtime, line, post_webhook, drain)
        [which] = chat.say("予約の日にちを変更できますか")
        assert "予約番号：R-NEXT-1" in which["text"]
        moment = (japan_day(utcnow()) + timedelta(days=10)).isoformat() + "T11:00"
        [confirm] = chat.tap(action_of(which, "reschedule"), datetime=moment)
        assert confirm["text"].startswith("ご来店日時を") and "変更します" in confirm["text"]
        chat.tap("a=cancel_dialog")
        [cancel] = chat.say("予約をとりけしたい")
        [sure] = chat.tap(action_of(cancel, "cancel_reservation"))
        assert "キャンセルします" in sure["text"]
        chat.tap("a=cancel_dialog")
        with runtime.engine.begin() as connection:
            connection.execute(update(Reservation).values(cancelled=True))
        [none] = chat.say("予約を変えたい")
        assert "見つかりませんでした" in none["text"] and action_of(none, "book")


def test_stop_messages_typed_out_opts_out_of_marketing_on_line(runtime, post_webhook, drain):
    """「配信を停止してほしい」 withdraws LINE marketing permission like the 配信停止 button, and says so."""
    with emulated_line(runtime) as line:
        chat = linked_chat(runtime, line, post_webhook, drain)
        [stopped] = chat.say("配信を停止してほしいです")
        assert "ご案内を停止しました" in stopped["text"]
    with runtime.engine.connect() as connection:
        permitted = connection.execute(
            select(CustomerChannels.line_permitted).where(CustomerChannels.line_user_id == chat.user_id)
        ).scalar_one()
    assert permitted is False


def test_flask_chat_intent_prints_the_intent_its_score_and_the_runner_up(app):
    """`flask chat intent "解約したい"` names cancel_contract with its score and the runner-up; a text the chat
    does not understand says so."""
    cli = app.test_cli_runner()
    result = cli.invoke(args=["chat", "intent", "かいやくしたいんだけど"])
    assert result.exit_code == 0, result.output
    first, second, threshold = result.output.splitlines()
    assert first.startswith("意図: cancel_contract  スコア: 0.") and second.startswith("次点: ")
    assert threshold.startswith("しきい値: ")
    assert cli.invoke(args=["chat", "intent", "あしたの天気は？"]).output.startswith("意図: unknown")
