"""Coupons end to end: issued once per customer however often granted, the total cap held under concurrency,
shown in LINE as a bubble (or LINE's own coupon), redeemed once by tap + confirm, staff command or API, the
#17 benefit marked used, and the expiry reminder sent once."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from bot.jobs.tasks import tick
from bot.offers.coupons import IssueOutcome, issue, normalise_code
from bot.scenarios.controls import set_paused
from models import CampaignBenefit, Coupon, Delivery, utcnow
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts
from tests.integration.conftest import API_TOKEN
from tests.integration.test_account_link import campaign, customer

TOKYO = ZoneInfo("Asia/Tokyo")


def register_email(chat: Chat, address: str = "hanako@example.jp") -> list[dict]:
    chat.say("メール登録")
    [confirm] = chat.say(address)
    return chat.tap(action_of(confirm, "confirm"))


def use_button(bubble: dict) -> str:
    """The postback data of the bubble's 「クーポンを使う」 button."""
    [button] = bubble["contents"]["footer"]["contents"]
    return button["action"]["data"]


def coupons(runtime) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Coupon).order_by(Coupon.id)).all()


def test_registration_benefit_is_issued_once_and_redeemed_once_by_tap(runtime, post_webhook, drain):
    """Email registered twice: one coupon, shown once as a bubble with the code; 「クーポンを使う」 asks at the
    counter, はい redeems it (via chat) and marks the #17 benefit of that campaign used; a second use is
    refused; 「クーポン」 then shows none."""
    campaign(runtime, "WELCOME_EMAIL", title="メール登録特典", benefit="QUOカード500円分")
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        done, issued, bubble = register_email(chat)
        assert "登録しました" in done["text"] and "メール登録特典" in issued["text"]
        assert bubble["type"] == "flex" and "QUOカード500円分" in str(bubble["contents"])
        assert len(register_email(chat, "hanako2@example.jp")) == 1  # granted again: no second coupon
        [coupon] = coupons(runtime)
        assert use_button(bubble).endswith(f"&v={coupon.code}")
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(CampaignBenefit.__table__).values(
                    customer_id=coupon.customer_id,
                    campaign_code="WELCOME_EMAIL",
                    granted=True,
                    used=False,
                    updated_at=utcnow(),
                )
            )
        [question] = chat.tap(use_button(bubble))
        assert "窓口の担当者にこの画面をお見せ" in question["text"]
        assert f"{coupon.code[:5]}-{coupon.code[5:]}" in question["text"]
        [redeemed] = chat.tap(action_of(question, "confirm"))
        assert "使用済みにしました" in redeemed["text"]
        assert "すでに使用済み" in chat.tap(use_button(bubble))[0]["text"]
        assert "ありません" in chat.say("クーポン")[0]["text"]
    [coupon] = coupons(runtime)
    assert (coupon.status, coupon.redeemed_via) == ("redeemed", "chat")
    with runtime.engine.connect() as connection:
        used = connection.execute(select(CampaignBenefit.used, CampaignBenefit.used_on)).one()
    assert used == (True, utcnow().astimezone(TOKYO).date())


def test_my_coupons_shows_valid_ones_and_line_coupons(runtime, post_webhook, drain):
    """「クーポンを見る」 shows each usable coupon (soonest expiry first); a campaign with a LINE coupon id is
    sent as LINE's coupon message; someone else's code is not found; a cancelled use changes nothing."""
    campaign(runtime, "A", title="来店特典", valid_days=3)
    with emulated_line(runtime) as line:
        created = line.state.data.coupons  # LINE's coupon, as made with the coupon API
        created["C1"] = {"couponId": "C1", "status": "RUNNING", "title": "LINE限定"}
        campaign(runtime, "B", title="LINE限定", valid_days=30, line_coupon_id="C1")
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        with runtime.engine.begin() as connection:
            for code in ("B", "A"):
                assert issue(connection, code, chat.customer_id(), utcnow()).outcome is IssueOutcome.ISSUED
        shown = chat.tap("a=my_coupons")
        assert [m["type"] for m in shown] == ["text", "flex", "text", "coupon"]
        assert shown[3]["couponId"] == "C1" and "来店特典" in shown[1]["altText"]
        assert "見つかりませんでした" in chat.tap("a=use_coupon&v=0000000000")[0]["text"]
        [question] = chat.tap(use_button(shown[1]))
        assert "取りやめました" in chat.tap(action_of(question, "cancel_dialog"))[0]["text"]
    assert {c.status for c in coupons(runtime)} == {"issued"}


def test_cap_and_per_customer_limit(runtime):
    """A customer gets a second coupon only when the campaign allows two; the total cap stops issuing; a
    revoked coupon frees its place; a missing campaign issues nothing."""
    campaign(runtime, "CAP", per_customer_limit=2, total_cap=3)
    first, second = customer(runtime, "C1", None, None), customer(runtime, "C2", None, None)
    now = utcnow()
    with runtime.engine.begin() as connection:
        outcomes = [issue(connection, "CAP", who, now).outcome for who in (first, first, first, second)]
        capped = issue(connection, "CAP", second, now)
        missing = issue(connection, "NONE", first, now)
    assert outcomes == ["issued", "issued", "already", "issued"]
    assert capped.outcome is IssueOutcome.CAP_REACHED and missing.outcome is IssueOutcome.NO_CAMPAIGN
    codes = [c.code for c in coupons(runtime)]
    assert len(set(codes)) == 3 and all(normalise_code(c) == c for c in codes)


def test_total_cap_holds_under_concurrent_issuers(runtime):
    """Eight customers asking at once for a campaign capped at three: exactly three coupons."""
    campaign(runtime, "RUSH", total_cap=3)
    people = [customer(runtime, f"R{n}", None, None) for n in range(8)]
    start = threading.Barrier(len(people))
    outcomes: list[str] = []

    def ask(customer_id: int) -> None:
        start.wait()
        with runtime.engine.begin() as connection:
            outcomes.append(issue(connection, "RUSH", customer_id, utcnow()).outcome)

    threads = [threading.Thread(target=ask, args=(who,)) for who in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["cap_reached"] * 5 + ["issued"] * 3
    assert len(coupons(runtime)) == 3


@pytest.fixture
def cli(api_app):
    return api_app.test_cli_runner()


def test_staff_cli_and_api_redeem_once_with_reasons(runtime, api_app, cli):
    """`flask coupons create/issue/redeem/revoke/list` and POST /api/v1/coupons/<code>/redeem: each coupon is
    redeemed once; used, expired, revoked and unknown codes are refused with their reason; no token, 401."""
    for code in ("C1", "C2", "C3", "C4"):
        customer(runtime, code, None, None)
    created = cli.invoke(
        args=["coupons", "create", "SHOP", "--title", "来店特典", "--benefit", "粗品", "--cap", "5"]
    )
    assert created.exit_code == 0, created.output
    assert cli.invoke(args=["coupons", "create", "SHOP", "--title", "x", "--benefit", "y"]).exit_code == 1
    at = (utcnow() + timedelta(minutes=5)).isoformat()
    codes = {}
    for who in ("C1", "C2", "C3", "C4"):
        issued = cli.invoke(args=["coupons", "issue", "SHOP", who, "--at", at])
        assert issued.exit_code == 0 and " issued" in issued.output, issued.output
        codes[who] = issued.output.split()[0]
    again = cli.invoke(args=["coupons", "issue", "SHOP", "C1"])
    assert again.output.split()[0] == codes["C1"] and "already held" in again.output
    assert cli.invoke(args=["coupons", "issue", "NOPE", "C1"]).exit_code == 1

    web = api_app.test_client()
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert web.post(f"/api/v1/coupons/{codes['C1']}/redeem").status_code == 401
    first = web.post(f"/api/v1/coupons/{codes['C1'].lower()}/redeem", headers=auth)
    assert first.status_code == 200 and first.json["redeemed_via"] == "api"
    again = web.post(f"/api/v1/coupons/{codes['C1']}/redeem", headers=auth)
    assert again.status_code == 409 and again.json["reason"] == "used"
    assert web.post("/api/v1/coupons/ZZZZZ-ZZZZZ/redeem", headers=auth).status_code == 404
    staff = cli.invoke(args=["coupons", "redeem", codes["C1"]])
    assert staff.exit_code == 1 and "already used" in staff.output

    assert cli.invoke(args=["coupons", "redeem", codes["C2"]]).exit_code == 0
    assert cli.invoke(args=["coupons", "revoke", codes["C3"]]).exit_code == 0
    assert web.post(f"/api/v1/coupons/{codes['C3']}/redeem", headers=auth).json["reason"] == "revoked"
    with runtime.engine.begin() as connection:
        connection.execute(update(Coupon).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert web.post(f"/api/v1/coupons/{codes['C4']}/redeem", headers=auth).json["reason"] == "expired"
    listed = cli.invoke(args=["coupons", "list"]).output
    assert "SHOP" in listed and "issued 4, redeemed 2, revoked 1" in listed
    assert [(c.status, c.redeemed_via) for c in coupons(runtime)] == [
        ("redeemed", "api"),
        ("redeemed", "staff"),
        ("revoked", None),
        ("issued", None),
    ]


def test_expiry_reminder_is_sent_once_three_days_before(runtime, post_webhook, drain):
    """The tick queues 「有効期限は…まで」 with the coupon for a LINE customer once, three days before expiry:
    not earlier, not twice, and not for a coupon already used."""
    campaign(runtime, "WELCOME_EMAIL")
    # the new friend's welcome series (#24) would fall due meanwhile
    with runtime.engine.begin() as connection:
        set_paused(connection, "welcome_series", True)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        register_email(chat)
        [coupon] = coupons(runtime)
        early = coupon.expires_at - timedelta(days=3, hours=1)
        assert tick(early.isoformat())["coupon_reminders_queued"] == 0
        due = coupon.expires_at - timedelta(days=2)
        assert tick(due.isoformat())["coupon_reminders_queued"] == 1
        assert tick((due + timedelta(hours=1)).isoformat())["coupon_reminders_queued"] == 0
        drain()
        reminder = chat.answers()
        assert "有効期限は" in texts(reminder)[0] and reminder[1]["type"] == "flex"
        assert "配信停止" in str(reminder[-1]["quickReply"])  # a campaign message: the way out is offered
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Delivery.template, Delivery.status).where(Delivery.template == "chat_coupon.expiring")
        ).all()
    assert rows == [("chat_coupon.expiring", "sent")] and coupons(runtime)[0].reminded_at is not None


def test_coupon_expiry_is_the_end_of_a_japanese_day():
    """A coupon valid 7 days, issued 1 June 23:30 in Japan, is valid until the end of 8 June in Japan."""
    from datetime import datetime

    from bot.offers.coupons import expiry, last_day

    issued = datetime(2026, 6, 1, 23, 30, tzinfo=TOKYO)
    assert last_day(expiry(issued, 7)).date() == date(2026, 6, 8)
