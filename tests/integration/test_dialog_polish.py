"""What the chat walk-through found, end to end through signed webhooks and the LINE emulator: はい／いいえ and
numbered questions offer their answers as quick replies, addresses and phones are read as a Japanese IME types
them (and echoed the usual way), taro@example is told what is missing, and what a prospect did in the chat moves
to the customer on ID link (one merge), so 「受付状況を見る」 still lists the requests filed before."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select

from bot.chat.account_link import new_nonce
from bot.chat.merge import merge_customers
from bot.offers.coupons import issue
from models import Coupon, Customer, Delivery, Reservation, ServiceRequest, utcnow
from tests.integration.chat_helpers import Chat, emulated_line
from tests.integration.test_account_link import account_link, campaign
from tests.integration.test_account_link import customer as policyholder
from tests.integration.test_service_desk import REFERENCE, desk


def chips(message: dict) -> list[dict]:
    """The quick replies' actions."""
    return [item["action"] for item in message.get("quickReply", {}).get("items", [])]


def typed(message: dict) -> list[tuple[str, str]]:
    """(label, text typed) of the quick replies that type an answer."""
    return [(a["label"], a["text"]) for a in chips(message) if a["type"] == "message"]


def test_yes_no_and_numbered_questions_offer_their_answers(runtime, post_webhook, drain):
    """An accident notice's はい／いいえ questions carry はい and いいえ chips that answer them; a reissue's numbered
    question carries "1. 紛失" … chips that type the number; an English speaker gets Yes/No."""
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        chat.follow()
        chat.tap("a=accident_report")
        chat.say("昨日")
        chat.tap("a=skip")
        chat.say("千代田区の交差点")
        [injuries] = chat.say("信号待ちで追突された")
        assert "おけがをされた方はいますか" in injuries["text"]
        assert typed(injuries) == [("はい", "はい"), ("いいえ", "いいえ")]
        [other_party] = chat.say(typed(injuries)[1][1])  # the いいえ chip, as LINE sends its text
        assert "相手方" in other_party["text"] and typed(other_party) == [
            ("はい", "はい"),
            ("いいえ", "いいえ"),
        ]
        chat.say("はい")
        [phone] = chat.say("はい")
        assert "電話番号" in phone["text"]
        [photos] = chat.say("０９０ー１２３４ー５６７８")  # full-width, with the IME's long-vowel dash
        assert "写真" in photos["text"]  # photos of the accident come last; none here
        [confirm] = chat.tap("a=skip")
        assert "090-1234-5678" in confirm["text"]
        chat.tap("a=cancel_dialog")
        chat.tap("a=policy_reissue")
        [reason] = chat.say("EF55556666")
        assert typed(reason) == [("1. 紛失", "1"), ("2. 破損・汚損", "2"), ("3. その他", "3")]
        [delivery] = chat.say("1")
        assert typed(delivery) == [("1. ご登録の住所", "1"), ("2. 新しい住所", "2")]
        english = Chat(runtime, line, post_webhook, drain, language="en")
        english.follow()
        english.tap("a=accident_report")
        english.say("yesterday")
        english.tap("a=skip")
        english.say("Near the station")
        [asked] = english.say("Hit from behind")
        assert typed(asked) == [("Yes", "Yes"), ("No", "No")]
        assert "Was another party involved?" in english.say("Yes")[0]["text"]


def test_a_full_width_email_is_accepted_and_a_missing_suffix_is_named(runtime, post_webhook, drain):
    """ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ (as a Japanese IME types it) is confirmed as taro@example.com; 「taro@example」
    is told that the .jp or .com is missing, not that the address is malformed."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        chat.say("メール登録")
        [short] = chat.say("taro@example")
        assert "「.jp」「.com」などまで入力してください" in short["text"] and "あと2回" in short["text"]
        [confirm] = chat.say("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ")
        assert confirm["text"] == "taro@example.com でよろしいですか？"


def test_requests_bookings_and_coupons_of_a_prospect_move_to_the_customer_on_link(
    runtime, post_webhook, drain
):
    """A LINE friend the insurer does not know yet files a request, has a booking and a coupon, and chose
    English; after ID連携 the customer holds all of it: 「受付状況を見る」 lists the request filed before the link,
    in English, and the prospect's record keeps nothing of it."""
    insured = policyholder(runtime)
    campaign(runtime, "WELCOME_FRIEND")
    with emulated_line(runtime) as line:
        chat = desk(runtime, line, post_webhook, drain)
        chat.follow()
        prospect = chat.customer_id()
        chat.tap("a=deduction_reissue")
        chat.say("GH11112222")
        chat.say(str(date.today().year - 1))
        reference = REFERENCE.search(chat.say("はい")[0]["text"])[0]
        now = utcnow()
        with runtime.engine.begin() as connection:
            assert issue(connection, "WELCOME_FRIEND", prospect, now).coupon is not None
            connection.execute(
                insert(Reservation.__table__).values(
                    reservation_code="RV-PROSPECT-1",
                    customer_id=prospect,
                    visit_on=date(2027, 1, 5),
                    updated_at=now,
                )
            )
        chat.say("English")
        with runtime.engine.begin() as connection:
            nonce = new_nonce(connection, insured, chat.user_id, utcnow())
        account_link(chat, nonce)
        assert chat.customer_id() == insured
        [mine] = chat.tap("a=my_requests")
        assert reference in mine["text"] and "Deduction certificate reissue" in mine["text"]
    with runtime.engine.connect() as connection:
        owner = {
            table.name: set(connection.execute(select(table.c.customer_id)).scalars())
            for table in (ServiceRequest.__table__, Reservation.__table__, Coupon.__table__)
        }
        language = connection.execute(select(Customer.language).where(Customer.id == insured)).scalar_one()
        answers = connection.execute(
            select(Delivery.customer_id).where(Delivery.template.like("chat_desk.%"))
        ).scalars()
        assert set(answers) == {insured}  # the conversation's history is the customer's
    assert owner == {"service_requests": {insured}, "reservations": {insured}, "coupons": {insured}}
    assert language == "en"


def test_the_merge_leaves_what_the_customer_holds_already(runtime):
    """A coupon of a campaign the customer holds already stays with the prospect; the customer's own language is
    kept; merging a record into itself changes nothing."""
    insured = policyholder(runtime)
    campaign(runtime, "ONE_EACH")
    now = utcnow()
    with runtime.engine.begin() as connection:
        prospect = connection.execute(
            insert(Customer.__table__)
            .values(language="en", created_at=now, updated_at=now)
            .returning(Customer.__table__.c.id)
        ).scalar_one()
        connection.execute(Customer.__table__.update().where(Customer.id == insured).values(language="ja"))
        theirs = issue(connection, "ONE_EACH", prospect, now).coupon
        mine = issue(connection, "ONE_EACH", insured, now).coupon
        assert merge_customers(connection, insured, insured, now) == {}
        moved = merge_customers(connection, prospect, insured, now)
        holders = dict(connection.execute(select(Coupon.id, Coupon.customer_id)).all())
        language = connection.execute(select(Customer.language).where(Customer.id == insured)).scalar_one()
    assert moved["coupons"] == 0 and holders == {theirs.id: prospect, mine.id: insured}
    assert language == "ja"
