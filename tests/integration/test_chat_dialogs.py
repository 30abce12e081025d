"""The chat's front door and email capture, end to end: signed webhooks in, the LINE emulator's record of what
the bot answered, and the database."""

from __future__ import annotations

from sqlalchemy import select

from models import ConsentEvent, CustomerActivity, CustomerChannels, Delivery, Dialog, WebhookEvent, utcnow
from tests import factories
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts


def test_a_new_friend_is_greeted_with_the_menu_and_becomes_a_prospect(runtime, post_webhook, drain):
    """Follow: a Japanese greeting by reply with the menu as quick replies; the user is a prospect permitted on
    LINE (friend-add is the consent) and marked a LINE friend (#22's goal)."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        [greeting] = chat.follow()
        assert "友だち追加ありがとうございます" in greeting["text"]
        assert action_of(greeting, "register_email").startswith("a=register_email&t=")
        assert [r.path for r in line.requests_to("/v2/bot/message")] == ["/v2/bot/message/reply"]
    customer = chat.customer_id()
    with runtime.engine.connect() as connection:
        channels = connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == customer)
        ).one()
        friend = connection.execute(
            select(CustomerActivity.line_friend).where(CustomerActivity.customer_id == customer)
        ).scalar_one()
        consent = connection.execute(
            select(ConsentEvent.source).where(ConsentEvent.customer_id == customer)
        ).all()
        [status] = connection.execute(
            select(Delivery.status).where(Delivery.customer_id == customer)
        ).scalars()
    assert channels.line_permitted is True and friend is True and consent == [("line:friend_add",)]
    assert status == "sent"


def test_email_capture_with_a_wrong_then_a_right_address(runtime, post_webhook, drain):
    """「メール登録」 asks; a wrong address gets a helpful reply; the right one is confirmed with はい, stored with
    permission and the acquired flag (#20's goal); the dialog is gone."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        assert "メールアドレスを入力してください" in texts(chat.say("メール登録"))[0]
        [wrong] = chat.say("taro at example")
        assert "形式が正しくない" in wrong["text"] and "あと2回" in wrong["text"]
        [confirm] = chat.say("Taro.Yamada@Example.JP")
        assert confirm["text"] == "Taro.Yamada@example.jp でよろしいですか？"
        [done] = chat.tap(action_of(confirm, "confirm"))
        assert "登録しました" in done["text"]
    customer = chat.customer_id()
    with runtime.engine.connect() as connection:
        channels = connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == customer)
        ).one()
        acquired = connection.execute(
            select(CustomerActivity.email_acquired).where(CustomerActivity.customer_id == customer)
        ).scalar_one()
        dialogs = connection.execute(select(Dialog)).all()
        consent = connection.execute(
            select(ConsentEvent.source, ConsentEvent.evidence_ref).where(ConsentEvent.channel == "email")
        ).one()
        confirmed = connection.execute(  # the tap on はい: the last event of the chat
            select(WebhookEvent.webhook_event_id).order_by(WebhookEvent.id.desc()).limit(1)
        ).scalar_one()
    assert channels.email_main == "Taro.Yamada@example.jp" and channels.email_permitted is True
    assert acquired is True and dialogs == []
    assert tuple(consent) == ("line:email_capture", f"webhook:{confirmed}")  # the consent's evidence


def test_unknown_text_gets_the_menu_and_a_new_command_interrupts_a_dialog(runtime, post_webhook, drain):
    """Free text the bot does not understand offers the menu and a hand-off; 「メニュー」 in the middle of email
    capture ends it, so the next text is not taken for an address."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        [lost] = chat.say("あしたの天気は？")
        assert "理解できませんでした" in lost["text"] and action_of(lost, "handoff")
        chat.say("メール登録")
        assert "ご用件をお選びください" in chat.say("メニュー")[0]["text"]
        assert "理解できませんでした" in chat.say("hanako@example.jp")[0]["text"]


def test_an_idle_dialog_times_out(runtime, post_webhook, drain):
    """After DIALOG_IDLE_MINUTES the open step is forgotten: an address typed then is not captured."""
    from datetime import timedelta

    from sqlalchemy import update

    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.say("メール登録")
        with runtime.engine.begin() as connection:
            connection.execute(update(Dialog).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert "理解できませんでした" in chat.say("hanako@example.jp")[0]["text"]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(CustomerChannels.email_main)).scalar() is None


def test_a_chat_answer_goes_ahead_of_a_broadcast_in_progress(runtime, post_webhook):
    """With a broadcast's send jobs waiting, a customer's message is answered after two jobs (the event, then
    the answer on its own queue), by reply, while the broadcast still waits."""
    from rq import Queue, SimpleWorker

    from bot.delivery.outbox import dispatch_due
    from bot.jobs.queues import SENDS, WORKER_QUEUES
    from tests.integration.delivery_helpers import add_customer, new_broadcast, queue

    with emulated_line(runtime) as line:
        for _ in range(3):
            add_customer(runtime, email=f"{factories.ulid()}@example.com", email_ok=True)
        queue(runtime, new_broadcast(runtime, channels="first_reachable:email"))
        runtime.settings = runtime.settings.model_copy(update={"send_batch_size": 1})
        assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, utcnow()) == 3
        backlog = Queue(SENDS, connection=runtime.redis)
        assert backlog.count == 3
        chat = Chat(runtime, line, post_webhook, drain=lambda: None)
        chat.say("メニュー")
        worker = SimpleWorker(list(WORKER_QUEUES), connection=runtime.redis)
        worker.work(burst=True, with_scheduler=False, max_jobs=2)
        [menu] = chat.answers()
        assert "ご用件をお選びください" in menu["text"] and backlog.count == 3
        assert [r.path for r in line.requests_to("/v2/bot/message")] == ["/v2/bot/message/reply"]
