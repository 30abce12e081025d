"""A language per customer, end to end through signed webhooks and the LINE emulator: LINE's profile language
(GET /v2/bot/profile) sets it at friend-add when the customer has none, 「English」/「日本語」 and the menu's
button change it, and every message to the customer follows it: the chat's answers, the scenarios' messages and
the notices about their requests."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery.outbox import dispatch_answers
from bot.staff.desk import change_request
from models import Customer, RequestStatus, ServiceRequest, utcnow
from tests import factories
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts
from tests.integration.test_event_journeys import enrollments, tick_at


def language_of(runtime, customer_id: int) -> str | None:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Customer.language).where(Customer.id == customer_id)).scalar_one()


def test_an_english_line_user_is_greeted_answered_and_messaged_in_english(runtime, post_webhook, drain):
    """A LINE user whose app is in English: the greeting, the answers and the welcome series' message A are in
    English; 「日本語」 switches the chat, and the next answers are Japanese."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain, language="en")
        [greeting] = chat.follow()
        assert greeting["text"].startswith("Thank you for adding us as a friend!")
        labels = [item["action"]["label"] for item in greeting["quickReply"]["items"]]
        assert "Talk to staff" in labels and "日本語 / Language" in labels
        assert line.requests_to("/v2/bot/profile/" + chat.user_id)  # the language came from LINE's profile
        assert language_of(runtime, chat.customer_id()) == "en"
        assert texts(chat.say("menu")) == ["How can we help you?"]
        [series] = enrollments(runtime)
        tick_at(series.wake_at, drain)
        [welcome] = chat.answers()
        assert welcome["text"].startswith("Here is how to use the")
        [switched] = chat.say("日本語")
        assert switched["text"].startswith("これからは日本語でご案内します")
        assert texts(chat.say("menu")) == ["ご用件をお選びください。"]
    assert language_of(runtime, chat.customer_id()) == "ja"


def test_the_language_button_offers_both_and_the_choice_outlasts_the_profile(runtime, post_webhook, drain):
    """A Japanese LINE user taps the menu's language button and picks English; a block and unblock later, LINE's
    profile (Japanese) does not undo their choice: they are welcomed back in English."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain, language="ja")
        [greeting] = chat.follow()
        assert greeting["text"].startswith("友だち追加ありがとうございます")
        [choose] = chat.tap(action_of(greeting, "language"))
        assert [i["action"]["label"] for i in choose["quickReply"]["items"]] == ["日本語", "English"]
        [changed] = chat.tap(action_of(choose, "use_english"))
        assert changed["text"].startswith("From now on we will write to you in English.")
        chat._send(factories.unfollow(chat.user_id))
        [welcome_back] = chat.follow(unblocked=True)
    assert welcome_back["text"].startswith("Welcome back!")
    assert language_of(runtime, chat.customer_id()) == "en"


def test_a_profile_without_a_language_leaves_the_default(runtime, post_webhook, drain):
    """LINE leaves `language` out for a user who has not agreed to its privacy policy, and a LINE the service
    does not speak (Thai) is no choice either: Japanese, and nothing recorded."""
    with emulated_line(runtime) as line:
        silent = Chat(runtime, line, post_webhook, drain, language=None)
        thai = Chat(runtime, line, post_webhook, drain, language="th")
        for chat in (silent, thai):
            [greeting] = chat.follow()
            assert greeting["text"].startswith("友だち追加ありがとうございます")
    assert (
        language_of(runtime, silent.customer_id()) is None
        and language_of(runtime, thai.customer_id()) is None
    )


def test_a_request_notice_reaches_the_customer_in_their_language(runtime, post_webhook, drain):
    """Staff move an English-speaking customer's request along: the notice names the kind and status in English."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain, language="en")
        chat.follow()
        now = utcnow()
        with runtime.engine.begin() as connection:
            connection.execute(
                ServiceRequest.__table__.insert().values(
                    reference="R-TEST-0001",
                    customer_id=chat.customer_id(),
                    kind="policy_reissue",
                    details={},
                    status="received",
                    created_at=now,
                    updated_at=now,
                )
            )
            _, delivery_id = change_request(
                connection, runtime.settings, "r-test-0001", RequestStatus.IN_PROGRESS, now
            )
        dispatch_answers(runtime.engine, runtime.redis, runtime.settings, [delivery_id], now)
        drain()
        [notice] = chat.answers()
    assert "R-TEST-0001" in notice["text"] and "Policy reissue" in notice["text"]
