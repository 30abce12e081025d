"""The buttons of scenario messages, end to end: signed webhook events (postbacks with the date-time picker's
params, texts) on real messages sent by the engine through the LINE emulator, the emulator's record of what the
bot answered, and the database (reservations, document requests, quotes, referrals, enrollments, the ledger)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select

from bot.delivery.outbox import dispatch_due
from bot.scenarios.runner import tick
from flows import referral_campaign, visit_reminder
from flows.engine import TOKYO, japan_day
from flows.params import merge
from models import (
    ContractSummary,
    CustomerChannels,
    DataChange,
    Delivery,
    Dialog,
    DocumentRequest,
    Enrollment,
    OutboundEvent,
    Product,
    ProductType,
    Quote,
    Referral,
    Reservation,
    Store,
    TraceEntry,
    utcnow,
)
from tests.integration.chat_helpers import Chat, action_of, emulated_line
from tests.integration.scenario_helpers import load, person, write

REMINDER = {visit_reminder.ID: visit_reminder.SCENARIO}


def today() -> date:
    return japan_day(utcnow())


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), TOKYO)


def picked(day: date, clock: str = "14:30") -> str:
    """What LINE's date-time picker posts: local time, no zone."""
    return f"{day.isoformat()}T{clock}"


def reminded(runtime, tmp_path, chat: Chat, visit: date, code: str = "R-1") -> dict:
    """Import a reservation (F3, the real importer) and run #5 on its trigger day: its reminder A reaches the
    chat with real tokens. Returns that LINE message."""
    row = {
        "reservation_id": code,
        "email_main": "taro@example.jp",  # reachable by #5's email (B, D) and SMS (C, E) steps too
        "email_permitted": "真",
        "sms_phone": "090-1234-5678",
        "sms_permitted": "真",
        "line_user_id": chat.user_id,
        "line_permitted": "真",
        "reserved_on": today().strftime("%Y/%m/%d"),
        "visit_on": visit.strftime("%Y/%m/%d"),
        "cancelled": "偽",
        "store_id": "S001",
        "store_name": "新宿店",
        "family_name": "山田",
        "given_name": "太郎",
    }
    load(runtime, "F3", write(tmp_path / f"{code}.csv", [row]))
    moment = at(visit - timedelta(days=7), "10:00")
    assert tick(runtime.engine, REMINDER, moment).queued == 1
    return send_due(runtime, chat, moment)[-1]


def send_due(runtime, chat: Chat, moment: datetime) -> list[dict]:
    dispatch_due(runtime.engine, runtime.redis, runtime.settings, moment)
    chat.drain()
    return chat.answers()


def rows(runtime, statement) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(statement).all()


def reservations(runtime) -> dict[str, object]:
    return {r.reservation_code: r for r in rows(runtime, select(Reservation))}


def test_booking_a_visit_is_confirmed_before_it_is_stored(runtime, post_webhook, drain):
    """book with a picked time: the customer confirms, then a LINE-… reservation (today, the day picked, the
    default store) is stored, data marked changed, and the answer offers reschedule and cancel pickers."""
    with runtime.engine.begin() as connection:
        connection.execute(insert(Store).values(code="S009", name="名古屋栄店"))
    with emulated_line(runtime) as line:
        runtime.settings = runtime.settings.model_copy(update={"default_store_code": "S009"})
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        visit = today() + timedelta(days=10)
        [question] = chat.tap("a=book", datetime=picked(visit))
        assert f"{visit.month}月{visit.day}日" in question["text"] and "14:30" in question["text"]
        assert "名古屋栄店" in question["text"] and reservations(runtime) == {}
        [done] = chat.tap(action_of(question, "confirm"))
        assert "ご来店予約を承りました" in done["text"] and "名古屋栄店" in done["text"]
        kinds = {i["action"]["data"].split("&")[0]: i["action"]["type"] for i in done["quickReply"]["items"]}
        assert kinds["a=reschedule"] == "datetimepicker" and kinds["a=cancel_reservation"] == "postback"
    [(code, booked)] = reservations(runtime).items()
    assert code.startswith("LINE-") and code in done["text"]
    assert (booked.customer_id, booked.reserved_on, booked.visit_on) == (chat.customer_id(), today(), visit)
    assert booked.visit_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") == f"{visit.isoformat()} 14:30"
    assert booked.store_code == "S009" and not booked.cancelled
    assert rows(runtime, select(DataChange)) and rows(runtime, select(Dialog)) == []


def test_a_time_that_cannot_be_booked_is_answered_with_the_reason_and_the_picker(
    runtime, post_webhook, drain
):
    """A past slot, a time outside store hours, a day beyond the horizon and a tap without a time each get their
    reason and a new picker; nothing is stored and no dialog is left open."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        [past] = chat.tap("a=book", datetime=picked(today() - timedelta(days=1)))
        [late] = chat.tap("a=book", datetime=picked(today() + timedelta(days=3), "19:30"))
        [far] = chat.tap("a=book", datetime=picked(today() + timedelta(days=61)))
        [none] = chat.tap("a=book")
    assert "すでに過ぎている" in past["text"] and "営業時間（10:00〜18:00）" in late["text"]
    assert "60日先まで" in far["text"] and "確認できませんでした" in none["text"]
    assert all(action_of(m, "book") for m in (past, late, far, none))
    assert reservations(runtime) == {} and rows(runtime, select(Dialog)) == []


def test_rescheduling_a_reminded_visit_stops_the_old_reminders_and_reminds_for_the_new_day(
    runtime, post_webhook, drain, tmp_path
):
    """reschedule on #5's reminder: confirmed, the old record cancelled and re-booked, a new record for the new
    day; #5 sends nothing more for the old day (the enrollment ends as cancelled) and reminds a week before the
    new day."""
    old_day, new_day = today() + timedelta(days=7), today() + timedelta(days=20)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        reminder = reminded(runtime, tmp_path, chat, old_day)
        assert "新宿店" in reminder["text"]
        [wrong] = chat.tap(action_of(reminder, "reschedule"), datetime=picked(new_day, "09:00"))
        assert "営業時間外" in wrong["text"] and len(reservations(runtime)) == 1
        [question] = chat.tap(action_of(wrong, "reschedule"), datetime=picked(new_day, "11:00"))
        assert "11:00" in question["text"] and "変更します" in question["text"]
        [done] = chat.tap(action_of(question, "confirm"))
        assert "ご来店日時を変更しました" in done["text"] and "新宿店" in done["text"]
        old, new = (
            reservations(runtime)["R-1"],
            next(r for c, r in reservations(runtime).items() if c != "R-1"),
        )
        assert (old.cancelled, old.cancelled_on, old.rebooked, old.rebooked_on) == (
            True,
            today(),
            True,
            today(),
        )
        assert (new.visit_on, new.store_code, new.reserved_on, new.cancelled) == (
            new_day,
            "S001",
            today(),
            None,
        )
        moment = at(today() + timedelta(days=1), "10:00")
        while moment <= at(new_day - timedelta(days=7), "10:00"):
            tick(runtime.engine, REMINDER, moment)
            moment += timedelta(days=1)
        [new_reminder] = send_due(runtime, chat, moment)
    assert f"{new_day.month}月{new_day.day}日" in new_reminder["text"]
    enrollments = {e.anchor_key: e for e in rows(runtime, select(Enrollment))}
    assert enrollments["reservation:R-1"].outcome == "cancelled"
    assert enrollments[f"reservation:{new.reservation_code}"].status == "active"
    sent = rows(
        runtime, select(Delivery.enrollment_id, Delivery.step).where(Delivery.enrollment_id.is_not(None))
    )
    assert sorted(sent) == sorted(
        [
            (enrollments["reservation:R-1"].id, "send_a"),
            (enrollments[f"reservation:{new.reservation_code}"].id, "send_a"),
        ]
    )


def test_cancelling_a_reminded_visit_stops_its_reminders_and_booking_again_is_a_rebooking(
    runtime, post_webhook, drain, tmp_path
):
    """cancel_reservation: 「やめる」 keeps it; 「はい」 cancels it today and #5 stops; the answer's book button books
    again at the same store and marks the cancelled reservation re-booked (#6's goal)."""
    visit = today() + timedelta(days=7)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        reminder = reminded(runtime, tmp_path, chat, visit)
        [question] = chat.tap(action_of(reminder, "cancel_reservation"))
        assert f"{visit.month}月{visit.day}日のご来店予約をキャンセルします" in question["text"]
        [kept] = chat.tap(action_of(question, "cancel_dialog"))
        assert "取りやめました" in kept["text"] and not reservations(runtime)["R-1"].cancelled
        [question] = chat.tap(action_of(reminder, "cancel_reservation"))
        [cancelled] = chat.tap(action_of(question, "confirm"))
        assert "キャンセルしました" in cancelled["text"]
        assert (reservations(runtime)["R-1"].cancelled, reservations(runtime)["R-1"].cancelled_on) == (
            True,
            today(),
        )
        tick(runtime.engine, REMINDER, at(visit - timedelta(days=4), "10:00"))
        assert send_due(runtime, chat, at(visit - timedelta(days=4), "10:00")) == []
        again = today() + timedelta(days=14)
        [question] = chat.tap(action_of(cancelled, "book"), datetime=picked(again, "10:00"))
        assert "新宿店" in question["text"]
        [booked] = chat.tap(action_of(question, "confirm"))
        assert "ご来店予約を承りました" in booked["text"]
    [enrollment] = rows(runtime, select(Enrollment))
    assert enrollment.outcome == "cancelled"
    found = reservations(runtime)
    assert (found["R-1"].rebooked, found["R-1"].rebooked_on) == (True, today())
    [new] = [r for code, r in found.items() if code != "R-1"]
    assert (new.visit_on, new.store_code) == (again, "S001")


def test_a_changed_reservation_cannot_be_changed_again_from_the_old_message(
    runtime, post_webhook, drain, tmp_path
):
    """Tapping the old reminder's buttons after a reschedule says it was changed; 「入力し直す」 offers the picker."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        reminder = reminded(runtime, tmp_path, chat, today() + timedelta(days=7))
        [question] = chat.tap(action_of(reminder, "reschedule"), datetime=picked(today() + timedelta(days=9)))
        [again] = chat.tap(action_of(question, "change"))
        assert action_of(again, "reschedule") and "変更後のご希望日時" in again["text"]
        [question] = chat.tap(action_of(again, "reschedule"), datetime=picked(today() + timedelta(days=9)))
        chat.tap(action_of(question, "confirm"))
        [closed] = chat.tap(action_of(reminder, "cancel_reservation"))
        assert "すでに日程変更またはキャンセル" in closed["text"]
    assert len(reservations(runtime)) == 2


def catalogue(runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(ProductType), [{"code": "T01", "name": "医療保険"}, {"code": "T02", "name": "火災保険"}]
        )
        connection.execute(
            insert(Product),
            [
                {"code": "P004", "name": "ネット医療保険", "product_type_code": "T01"},
                {"code": "P008", "name": "住まいの火災保険", "product_type_code": "T02"},
            ],
        )


def test_requesting_documents_asks_the_product_and_an_address_then_records_the_request(
    runtime, post_webhook, drain
):
    """request_documents: a numbered product list (a wrong number is answered), an address asked for when none
    is on file, a confirmation; then a LINE-… document request for today, the address kept without marketing
    permission, data marked changed for #1."""
    catalogue(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        [choices] = chat.tap("a=request_documents")
        assert "1. ネット医療保険" in choices["text"] and "2. 住まいの火災保険" in choices["text"]
        assert "番号を確認できませんでした" in chat.say("7")[0]["text"]
        [ask] = chat.say("２")
        assert "メールアドレスを入力してください" in ask["text"]
        assert "形式が正しくない" in chat.say("hanako at example")[0]["text"]
        [question] = chat.say("hanako@example.jp")
        assert "住まいの火災保険の資料を hanako@example.jp 宛にお送りします" in question["text"]
        [done] = chat.tap(action_of(question, "confirm"))
    [request] = rows(runtime, select(DocumentRequest))
    assert request.request_code.startswith("LINE-") and request.request_code in done["text"]
    assert (request.requested_on, request.product_code, request.product_type_code) == (today(), "P008", "T02")
    [channels] = rows(runtime, select(CustomerChannels))
    assert channels.email_main == "hanako@example.jp" and not channels.email_permitted
    assert rows(runtime, select(DataChange)) and rows(runtime, select(Dialog)) == []


def test_a_quote_is_recorded_for_a_named_product_and_handed_to_staff_without_one(
    runtime, post_webhook, drain
):
    """request_quote: a product named in words becomes a LINE-… quote for today; スキップ (not decided) records
    nothing and tells the customer staff will ask."""
    catalogue(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.tap("a=request_quote")
        [question] = chat.say("医療保険")
        assert "ネット医療保険のお見積もりを依頼します" in question["text"]
        [done] = chat.tap(action_of(question, "confirm"))
        assert "お見積もりをお送りします" in done["text"]
        [choices] = chat.tap("a=request_quote")
        [question] = chat.tap(action_of(choices, "skip"))
        [handed] = chat.tap(action_of(question, "confirm"))
        assert "担当者よりこのトークで" in handed["text"]
    [quote] = rows(runtime, select(Quote))
    assert quote.quote_code in done["text"] and (quote.quoted_on, quote.product_code) == (today(), "P004")


def test_offer_answers_with_the_offer_of_the_scenario_that_sent_the_message(
    runtime, post_webhook, drain, tmp_path
):
    """offer on #18's message answers #18's own offer (its page linked); an offer tap from anywhere else gets the
    general campaign offer."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        row = person("m1", line=chat.user_id, line_ok="真", contracted="真")
        load(runtime, "F5", write(tmp_path / "f5.csv", [row]))
        moment = at(today().replace(day=1), "10:00")
        tick(runtime.engine, {"member_service": runtime.settings.scenarios["member_service"]}, moment)
        [message] = send_due(runtime, chat, moment)
        [offer] = chat.tap(action_of(message, "offer"))
        [general] = chat.tap("a=offer")
    assert "ご契約者さま限定サービスのご案内" in offer["text"] and "/members" in offer["text"]
    assert "期間限定のキャンペーン" in general["text"] and "/campaign" in general["text"]


CODE = re.compile(r"「([A-Z2-9]{6})」")


def test_a_referral_code_is_shared_and_entered_by_a_friend_once(runtime, post_webhook, drain, tmp_path):
    """refer gives a policyholder one code and a message to forward; a friend's 「紹介コード …」 is recorded and
    ends the referrer's #19 as converted; an unknown code, one's own code and a second code are refused."""
    with emulated_line(runtime) as line:
        referrer = Chat(runtime, line, post_webhook, drain)
        load(
            runtime,
            "F5",
            write(tmp_path / "f5.csv", [person("p1", line=referrer.user_id, line_ok="真", contracted="真")]),
        )
        campaign = referral_campaign.build(
            merge(
                referral_campaign.ID, referral_campaign.DEFAULTS, {"campaign_start_on": today().isoformat()}
            )
        )
        moment = at(today(), "10:00")
        tick(runtime.engine, {campaign.id: campaign}, moment)
        send_due(runtime, referrer, moment)
        first, share = referrer.tap("a=refer")
        code = CODE.search(first["text"]).group(1)
        assert f"紹介コード {code}" in share["text"] and "/line_friend" in share["text"]
        assert CODE.search(referrer.tap("a=refer")[0]["text"]).group(1) == code
        assert "ご自身の紹介コード" in referrer.say(f"紹介コード {code}")[0]["text"]
        assert "見つかりませんでした" not in referrer.say("紹介コードを教えて")[0]["text"]
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        [ask] = friend.tap("a=enter_code")
        assert "紹介コード" in ask["text"]
        assert "あと2回" in friend.say("ZZZZZZ")[0]["text"]
        [accepted] = friend.say(code.lower())
        assert "紹介コードを登録しました" in accepted["text"]
        assert "すでに登録されています" in friend.say(f"紹介コード：{code}")[0]["text"]
    [referral] = rows(runtime, select(Referral))
    assert (referral.referrer_id, referral.referee_id) == (referrer.customer_id(), friend.customer_id())
    [enrollment] = rows(runtime, select(Enrollment).where(Enrollment.scenario_id == campaign.id))
    assert (enrollment.status, enrollment.outcome) == ("done", "converted")
    ours = select(TraceEntry).where(TraceEntry.scenario_id == campaign.id).order_by(TraceEntry.id)
    assert [t.code for t in rows(runtime, ours)][-2:] == ["goal_reached", "exited"]


def test_a_referrer_is_credited_once_when_the_friend_contracts(runtime, post_webhook, drain):
    """The periodic tick credits a referral when the friend becomes a policyholder, pushes the referrer a thank-you
    through the ledger, and never credits or tells twice."""
    from bot.jobs.tasks import tick as periodic_tick

    with emulated_line(runtime) as line:
        referrer = Chat(runtime, line, post_webhook, drain)
        referrer.follow()
        code = CODE.search(referrer.tap("a=refer")[0]["text"]).group(1)
        referrer.answers()
        friend = Chat(runtime, line, post_webhook, drain)
        friend.say(f"紹介コード {code}")
        assert periodic_tick()["referrals_credited"] == 0
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(ContractSummary).values(
                    customer_id=friend.customer_id(), contracted=True, updated_at=utcnow()
                )
            )
        assert periodic_tick()["referrals_credited"] == 1
        drain()
        [thanks] = referrer.answers()
        assert periodic_tick()["referrals_credited"] == 0
        drain()
        assert referrer.answers() == []
        assert line.requests_to("/v2/bot/message/push")
    assert "お友だちがご契約されました" in thanks["text"]
    [referral] = rows(runtime, select(Referral))
    assert referral.credited_at is not None


def test_a_referral_follows_the_friend_through_id_link_and_is_credited_by_the_customers_contract(
    runtime, post_webhook, drain, tmp_path
):
    """A friend refers as a prospect, then links LINE to their insured record (ID連携 moves the address): with
    follow_link the referral is the customer's, and the customer's contract credits it."""
    from bot.chat.account_link import bind
    from bot.offers.referrals import credit_referrals, follow_link
    from tests.integration.scenario_helpers import customer_ids, set_values

    load(runtime, "F5", write(tmp_path / "f5.csv", [person("c1")]))
    with emulated_line(runtime) as line:
        referrer = Chat(runtime, line, post_webhook, drain)
        code = CODE.search(referrer.tap("a=refer")[0]["text"]).group(1)
        friend = Chat(runtime, line, post_webhook, drain)
        friend.say(f"紹介コード {code}")
        prospect, insured = friend.customer_id(), customer_ids(runtime)["c1"]
        with runtime.engine.begin() as connection:
            bind(connection, friend.user_id, insured, utcnow(), utcnow())
            follow_link(connection, prospect, insured)
        assert friend.customer_id() == insured
        set_values(runtime, ContractSummary, ContractSummary.customer_id == insured, contracted=True)
        with runtime.engine.begin() as connection:
            assert credit_referrals(connection, utcnow()) == 1
    [referral] = rows(runtime, select(Referral))
    assert referral.referee_id == insured and referral.credited_at is not None


def test_the_insurers_systems_are_told_of_each_booking_made_changed_and_cancelled(
    runtime, post_webhook, drain, tmp_path
):
    """With an outbound webhook endpoint: cancelling R-1, booking again, then moving the new booking queue
    booking.cancelled, booking.made and booking.changed (naming what it replaces), in that order."""
    runtime.settings = runtime.settings.model_copy(
        update={
            "outbound_webhooks": {"crm": "https://crm.example.jp/h"},
            "outbound_webhook_secret": "whsec_" + "B" * 40,
        }
    )
    visit = today() + timedelta(days=7)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        reminder = reminded(runtime, tmp_path, chat, visit)
        [question] = chat.tap(action_of(reminder, "cancel_reservation"))
        [cancelled] = chat.tap(action_of(question, "confirm"))
        [question] = chat.tap(
            action_of(cancelled, "book"), datetime=picked(today() + timedelta(days=14), "10:00")
        )
        [booked] = chat.tap(action_of(question, "confirm"))
        [question] = chat.tap(action_of(booked, "reschedule"), datetime=picked(today() + timedelta(days=15)))
        chat.tap(action_of(question, "confirm"))
    events = [
        (e.event_type, e.payload["data"])
        for e in rows(runtime, select(OutboundEvent).order_by(OutboundEvent.id))
    ]
    assert [kind for kind, _ in events] == ["booking.cancelled", "booking.made", "booking.changed"]
    (_, gone), (_, made), (_, moved) = events
    assert gone["reservation_code"] == "R-1" and gone["cancelled"] is True
    assert made["store_code"] == "S001" and made["replaces"] is None and not made["cancelled"]
    assert (
        moved["replaces"] == made["reservation_code"]
        and moved["reservation_code"] != made["reservation_code"]
    )
    assert moved["visit_at"].startswith(str(today() + timedelta(days=15)))
