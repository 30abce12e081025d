"""Hand-over to a person, end to end: signed webhooks in, what the LINE emulator received (the customer's
answers, the staff's notices and admin chat, the loading animation and mark-as-read), and the database."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import insert, select, update

from bot.staff.handovers import when_staff_answer
from models import Delivery, Handover, HandoverMessage, Reservation, StaffNotice, utcnow
from tests import factories
from tests.integration.admin_helpers import ADMIN_GROUP, StaffChat, audit_rows, new_user, staff_settings
from tests.integration.attachment_helpers import KEY, jpeg
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts
from tests.integration.delivery_helpers import add_row, ledger, send_due

DESK = "C" + "5" * 32  # the service desk's LINE group (the default list)
STORE_STAFF = "U" + "7" * 32  # the staff of store S01
REFERENCE = re.compile(r"H\d{6}-[2-9A-HJ-NP-Z]{4}")


def setting_up(runtime, line, post_webhook, drain):
    """A customer, and a staff member in the admin group; notices go to the desk unless a store says else."""
    operator = new_user()
    staff_settings(
        runtime,
        [operator],
        [],
        staff_line_targets=[DESK],
        handover_staff_routes={"S01": [STORE_STAFF]},
    )
    runtime.settings = runtime.settings.model_copy(update={"attachment_key": KEY})  # photos are sealed
    chat = Chat(runtime, line, post_webhook, drain)
    chat.follow()
    staff = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
    return chat, staff


def handovers(runtime) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Handover).order_by(Handover.id)).all()


def history(runtime) -> list[tuple]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(HandoverMessage).order_by(HandoverMessage.id)).all()
    return [(row.author, row.message_type, row.text) for row in rows]


def say_photo(chat: Chat) -> tuple[str, list[dict]]:
    """A photo LINE keeps for the bot (the emulator serves its content); (its message id, the bot's answers)."""
    message_id = chat.line.add_content(chat.user_id, jpeg(), "image/jpeg", "image", None)
    token = chat.line.issue_reply_token(chat.user_id)
    message = {
        "id": message_id,
        "type": "image",
        "contentProvider": {"type": "line"},
        "quoteToken": "q" * 16,
        "markAsReadToken": "read-" + message_id,
    }
    return message_id, chat._send(
        factories.base_event("message", chat.user_id, replyToken=token, message=message)
    )


def say_text(chat: Chat, text: str, read_token: str) -> list[dict]:
    token = chat.line.issue_reply_token(chat.user_id)
    message = {
        "id": factories.ulid()[:18],
        "type": "text",
        "text": text,
        "quoteToken": "q" * 16,
        "markAsReadToken": read_token,
    }
    return chat._send(factories.base_event("message", chat.user_id, replyToken=token, message=message))


def test_asking_by_text_gives_a_reference_and_when_staff_reply(runtime, post_webhook, drain):
    """「担当者」: a 受付番号 and when staff answer (now, or from when); one hand-over however often asked; the
    desk is told once, by 受付番号 and customer id."""
    with emulated_line(runtime) as line:
        chat, _ = setting_up(runtime, line, post_webhook, drain)
        [opened] = chat.say("担当者")
        reference = REFERENCE.search(opened["text"])[0]
        open_now, fields = when_staff_answer(runtime.settings, utcnow())
        expected = fields["business_hours"] if open_now else fields["reply_from"]
        assert expected in opened["text"] and ("受付時間内" if open_now else "受付時間外") in opened["text"]
        [again] = chat.say("担当者")
        assert reference in again["text"] and "承っています" in again["text"]
        [row] = handovers(runtime)
        assert (row.reference, row.status, row.reason, row.customer_id) == (
            reference,
            "open",
            "asked",
            chat.customer_id(),
        )
        [notice] = [m.message["text"] for m in line.sent_messages(to=DESK)]
        assert reference in notice and f"内部ID {chat.customer_id()}" in notice


def test_the_button_hands_over_and_the_store_staff_are_told(runtime, post_webhook, drain):
    """The 「担当者と話す」 quick reply hands over too; a customer whose latest reservation names store S01 is
    announced to that store's staff, not to the desk."""
    with emulated_line(runtime) as line:
        chat, _ = setting_up(runtime, line, post_webhook, drain)
        now = utcnow()
        with runtime.engine.begin() as connection:
            for code, age in (("S09", 5), ("S01", 1)):
                connection.execute(
                    insert(Reservation).values(
                        customer_id=chat.customer_id(),
                        reservation_code=f"RV-{code}",
                        store_code=code,
                        updated_at=now - timedelta(days=age),
                    )
                )
        [menu] = chat.say("メニュー")
        [opened] = chat.tap(action_of(menu, "handoff"))
        reference = REFERENCE.search(opened["text"])[0]
        [row] = handovers(runtime)
        assert row.store_code == "S01" and row.reference == reference
        assert [reference in m.message["text"] for m in line.sent_messages(to=STORE_STAFF)] == [True]
        assert line.sent_messages(to=DESK) == []


def test_while_staff_hold_it_the_bot_is_silent_but_the_menu_works(runtime, post_webhook, drain):
    """After /reply the bot answers no free text or photo (kept for staff, passed on to the staff member, the
    loading animation shown and the message marked read); メニュー still answers; /release gives it back."""
    with emulated_line(runtime) as line:
        chat, staff = setting_up(runtime, line, post_webhook, drain)
        [opened] = chat.say("担当者")
        reference = REFERENCE.search(opened["text"])[0]
        assert chat.say("車をぶつけてしまいました") == []  # waiting for staff: already silent
        [answer] = staff.say(f"/reply {reference} お待たせしました。担当の山田です。")
        assert reference in answer
        assert texts(chat.answers()) == ["【担当者より】\nお待たせしました。担当の山田です。"]
        [row] = handovers(runtime)
        assert row.status == "held" and row.staff == staff.user and row.held_at is not None

        assert say_text(chat, "相手の方は無事です", "read-1") == []
        photo, answered = say_photo(chat)
        assert answered == []
        [menu] = chat.say("メニュー")
        assert menu["text"] == "ご用件をお選びください。"
        assert history(runtime) == [
            ("customer", "text", "車をぶつけてしまいました"),
            ("staff", "text", "お待たせしました。担当の山田です。"),
            ("customer", "text", "相手の方は無事です"),
            ("customer", "image", None),
            ("customer", "text", "メニュー"),
        ]
        passed_on = [m.message["text"] for m in line.sent_messages(to=staff.user)]
        assert any("相手の方は無事です" in t for t in passed_on) and any("（写真）" in t for t in passed_on)
        loading = [r.body for r in line.requests_to("/v2/bot/chat/loading/start")]
        assert {"chatId": chat.user_id, "loadingSeconds": 60} in loading
        read = [r.body["markAsReadToken"] for r in line.requests_to("/v2/bot/chat/markAsRead")]
        assert read == ["read-1", f"read-{photo}"]

        [released] = staff.say(f"/release {reference}")
        assert reference in released
        [bye] = chat.answers()
        assert "終了しました" in bye["text"]
        [answer] = chat.say("こんにちは")
        assert answer["text"] != "" and handovers(runtime)[0].status == "released"
        assert [row[2:] for row in audit_rows(runtime)] == [("reply", "done"), ("release", "done")]


def test_a_marketing_message_is_held_until_release_then_sent_once(runtime, post_webhook, drain):
    """A scenario's or broadcast's message due during a hand-over waits, held as in_handover (not dropped, not
    a failed attempt); released, it is sent once; a transactional message was never held."""
    with emulated_line(runtime) as line:
        chat, staff = setting_up(runtime, line, post_webhook, drain)
        [opened] = chat.say("担当者")
        reference = REFERENCE.search(opened["text"])[0]
        customer = chat.customer_id()
        marketing = add_row(runtime, customer)
        notice = add_row(runtime, customer, purpose="transactional")
        send_due(runtime, drain)
        [held, sent] = ledger(runtime, marketing, notice)
        assert (held.status, held.error, held.first_attempt_at) == ("held", "in_handover", None)
        assert held.due_at > utcnow() and sent.status == "sent"
        assert len(chat.answers()) == 1  # the transactional one only
        send_due(runtime, drain, utcnow() + timedelta(hours=2))  # the backstop look: still held
        assert ledger(runtime, marketing)[0].status == "held" and chat.answers() == []

        staff.say(f"/release {reference}")
        chat.answers()  # the release message
        send_due(runtime, drain)
        [after] = ledger(runtime, marketing)
        assert after.status == "sent" and after.attempts == 1
        assert len(chat.answers()) == 1
        send_due(runtime, drain, utcnow() + timedelta(hours=3))
        assert chat.answers() == []


def test_staff_commands_refuse_unknown_and_ended_hand_overs(runtime, post_webhook, drain):
    """/reply to no such number or to a released one sends the customer nothing; /handovers lists the open
    ones; /reply without a text gets the usage line."""
    with emulated_line(runtime) as line:
        chat, staff = setting_up(runtime, line, post_webhook, drain)
        [opened] = chat.say("担当者")
        reference = REFERENCE.search(opened["text"])[0]
        [listed] = staff.say("/handovers")
        assert reference in listed and "対応待ち" in listed
        [usage] = staff.say(f"/reply {reference}")
        assert "/reply 受付番号 本文" in usage
        [unknown] = staff.say("/reply H000000-AAAA こんにちは")
        assert "見つかりません" in unknown
        staff.say(f"/release {reference.lower()}")
        chat.answers()
        [over] = staff.say(f"/reply {reference} まだいますか")
        assert "すでに終了" in over and chat.answers() == []
        [empty] = staff.say("/handovers")
        assert "ありません" in empty
        with runtime.engine.connect() as connection:
            kept = connection.execute(select(StaffNotice.fields)).scalars().all()
            rows = connection.execute(select(Delivery.template)).scalars().all()
        assert "chat_handover.staff_reply" not in rows
        assert all("まだいますか" not in str(fields) for fields in kept)


def test_offers_of_a_person_open_a_hand_over_with_their_reason(runtime, post_webhook, drain):
    """An accident notice's confirmation carries 「担当者と話す」 whose tap hands over for that reason."""
    with emulated_line(runtime) as line:
        chat, _ = setting_up(runtime, line, post_webhook, drain)
        with runtime.engine.begin() as connection:
            connection.execute(update(Handover).values(status="closed"))  # none yet; harmless
        chat.tap("a=accident_report")
        for step in ["昨日", "a=skip", "千代田区の交差点", "信号待ちで追突された", "はい", "いいえ", "はい"]:
            chat.tap(step) if step.startswith("a=") else chat.say(step)
        chat.say("090-1234-5678")
        [confirm] = chat.tap("a=skip")  # no photos
        [done] = chat.tap(action_of(confirm, "confirm"))
        assert "a=handoff" in str(done["quickReply"]) and "v=accident" in action_of(done, "handoff")
        chat.tap(action_of(done, "handoff"))
        [row] = handovers(runtime)
        assert row.reason == "accident"
