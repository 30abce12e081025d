"""The chat simulator (local mode only): acting as a LINE app, its events reach the real webhook over HTTP signed
as LINE signs them, with reply tokens from the LINE emulator; the chat shows what the emulator received; ID連携
completes through its account-link endpoint; the SMS and email panes read the local outbox and maildir."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from sqlalchemy import insert, select
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.delivery.channels.email import EmailMessage, MaildirMailer
from bot.delivery.channels.sms import OUTBOX_FILE, SmsMessage, SmsOutbox
from bot.platform.config import LINE_API_DEFAULT
from devtools.line_emulator import LineEmulator
from models import Customer, CustomerChannels, LineUser, utcnow
from tests.integration.chat_helpers import action_of, emulated_line

CODE, PHONE, EMAIL = "C1001", "+819012345678", "taro.yamada@example.jp"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:  # request lines carry LINE user ids
        return None


@dataclass
class Simulator:
    """The simulator's JSON API through the test client; the app itself also listens on HTTP for /callback."""

    client: Any
    line: LineEmulator
    drain: Any

    def open(self, customer_id: int | None = None, language: str | None = None) -> str:
        body = {} if customer_id is None else {"customer_id": customer_id}
        if language is not None:  # the page's language, as simulator.js sends it
            body["language"] = language
        response = self.client.post("/simulator/api/chats", json=body)
        assert response.status_code == 200, response.data
        return response.json["user_id"]

    def act(self, user_id: str, **action: Any) -> list[dict[str, Any]]:
        """Do something in the LINE app, let the worker run, and return the chat's new bot messages."""
        before = len(self.bot_messages(user_id))
        response = self.client.post(f"/simulator/api/users/{user_id}/events", json=action)
        assert response.status_code == 200, response.data
        self.drain()
        return self.bot_messages(user_id)[before:]

    def chat(self, user_id: str) -> dict[str, Any]:
        response = self.client.get(f"/simulator/api/users/{user_id}/chat")
        assert response.status_code == 200, response.data
        return response.json

    def bot_messages(self, user_id: str) -> list[dict[str, Any]]:
        return [m["message"] for m in self.chat(user_id)["messages"] if m["from"] == "bot"]


@pytest.fixture
def simulator(runtime, drain) -> Iterator[Simulator]:
    """SIMULATOR_ENABLED, a LINE emulator, and the web app served on loopback as PUBLIC_BASE_URL."""
    from app import create_app

    with emulated_line(runtime) as line:
        runtime.settings = runtime.settings.model_copy(update={"simulator_enabled": True})
        app = create_app(runtime=runtime)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        runtime.settings = runtime.settings.model_copy(
            update={"public_base_url": base, "line_account_link_url": f"{base}/simulator/account-link"}
        )
        try:
            yield Simulator(app.test_client(), line, drain)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def customer(runtime, code: str | None = CODE, phone: str | None = PHONE, email: str | None = EMAIL) -> int:
    now = utcnow()
    names = {"family_name": "山田", "given_name": "太郎"} if code else {}
    with runtime.engine.begin() as connection:
        customer_id = connection.execute(
            insert(Customer.__table__)
            .values(customer_code=code, created_at=now, updated_at=now, **names)
            .returning(Customer.__table__.c.id)
        ).scalar_one()
        connection.execute(
            insert(CustomerChannels.__table__).values(
                customer_id=customer_id, sms_phone=phone, email_main=email, updated_at=now
            )
        )
    return customer_id


def test_simulator_is_not_served_unless_enabled(runtime, client):
    """By default (SIMULATOR_ENABLED unset) the page, its API and its account-link endpoint are 404, and so
    they are when enabled while LINE_API_BASE_URL is LINE itself."""
    from app import create_app

    paths = (
        "/simulator",
        "/simulator/api/people",
        "/simulator/account-link?linkToken=abcdefgh&nonce=abcdefghijk",
    )
    assert [client.get(path).status_code for path in paths] == [404, 404, 404]
    assert client.post("/simulator/api/chats", json={}).status_code == 404
    real_line = {"simulator_enabled": True, "line_api_base_url": LINE_API_DEFAULT}
    enabled = create_app(runtime=replace(runtime, settings=runtime.settings.model_copy(update=real_line)))
    assert [enabled.test_client().get(path).status_code for path in paths] == [404, 404, 404]


def test_page_is_japanese_by_default_and_lists_customers_and_prospects(runtime, simulator):
    """The page is in Japanese (English with ?lang=en) with its own script only; the picker finds customers by
    顧客ID or name and shows prospects by their LINE user."""
    policyholder = customer(runtime)
    prospect = customer(runtime, code=None, phone=None, email=None)
    with runtime.engine.begin() as connection:
        connection.execute(
            CustomerChannels.__table__.update()
            .where(CustomerChannels.__table__.c.customer_id == prospect)
            .values(line_user_id="U" + "a" * 32)
        )
    page = simulator.client.get("/simulator")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "チャットシミュレーター" in html and "友だち追加" in html
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self': no inline code
    assert "Chat simulator" in simulator.client.get("/simulator?lang=en").get_data(as_text=True)
    assert simulator.client.get("/simulator/static/simulator.js").status_code == 200
    found = simulator.client.get("/simulator/api/people").json["people"]
    assert [(p["id"], p["code"], p["name"]) for p in found] == [
        (prospect, None, ""),
        (policyholder, CODE, "山田 太郎"),
    ]
    assert found[0]["line_user_id"] == "U" + "a" * 32
    for query in ("c100", "山田", "太郎"):
        assert [p["id"] for p in simulator.client.get(f"/simulator/api/people?q={query}").json["people"]] == [
            policyholder
        ]


def test_adding_the_friend_brings_the_greeting_as_a_real_reply(runtime, simulator):
    """A new LINE user adds the friend: a signed follow event reaches /callback, the bot replies with the reply
    token the emulator issued, and the chat shows the follow and the greeting with its quick replies."""
    user_id = simulator.open()
    assert simulator.chat(user_id)["status"] == "none"
    [greeting] = simulator.act(user_id, type="follow")
    assert "友だち追加ありがとうございます" in greeting["text"] and greeting["quickReply"]["items"]
    assert [m.endpoint for m in simulator.line.sent_messages(to=user_id)] == ["reply"]
    chat = simulator.chat(user_id)
    assert chat["status"] == "friend" and chat["customer"]["code"] is None  # a prospect record
    assert [(m["from"], m.get("note")) for m in chat["messages"]] == [("user", "follow"), ("bot", None)]
    with runtime.engine.connect() as connection:
        status = connection.execute(
            select(LineUser.friend_status).where(LineUser.line_user_id == user_id)
        ).scalar_one()
    assert status == "following"


def test_the_english_page_makes_an_english_speaking_line_user(runtime, simulator):
    """/simulator?lang=en opens chats as a LINE user whose app is in English (LINE's profile says `en`): the
    greeting and the answers come in English; a language the service does not know is refused."""
    user_id = simulator.open(language="en")
    [greeting] = simulator.act(user_id, type="follow")
    assert greeting["text"].startswith("Thank you for adding us as a friend!")
    [menu] = simulator.act(user_id, type="text", text="menu")
    assert menu["text"] == "How can we help you?"
    assert simulator.client.post("/simulator/api/chats", json={"language": "xx"}).status_code == 400


def test_text_and_a_quick_reply_tap_get_answers(simulator):
    """A typed text is a message event; tapping a quick reply posts its postback data, and the chat shows
    the tapped label as the customer's message."""
    user_id = simulator.open()
    [greeting] = simulator.act(user_id, type="follow")
    [menu] = simulator.act(user_id, type="text", text="メニュー")
    assert menu["text"] == "ご用件をお選びください。"
    tapped = action_of(greeting, "handoff")
    [handoff] = simulator.act(user_id, type="postback", data=tapped, display="担当者と話す")
    assert "担当者におつなぎします" in handoff["text"]
    own = [m for m in simulator.chat(user_id)["messages"] if m["from"] == "user"]
    assert [(m["kind"], m.get("text")) for m in own] == [
        ("note", None),
        ("text", "メニュー"),
        ("tap", "担当者と話す"),
    ]


def test_a_datetime_pick_reaches_the_booking_dialog(simulator):
    """The date-time picker posts the postback with params.datetime: the booking dialog asks to confirm that
    day and time; a malformed pick is refused before it reaches the webhook."""
    user_id = simulator.open()
    simulator.act(user_id, type="follow")
    visit = date.today() + timedelta(days=10)
    [question] = simulator.act(
        user_id, type="postback", data="a=book", params={"datetime": f"{visit.isoformat()}T14:30"}
    )
    assert f"{visit.month}月{visit.day}日" in question["text"] and "14:30" in question["text"]
    bad = simulator.client.post(
        f"/simulator/api/users/{user_id}/events",
        json={"type": "postback", "data": "a=book", "params": {"datetime": "tomorrow"}},
    )
    assert bad.status_code == 400


def test_block_and_unblock_reach_the_service(runtime, simulator):
    """Blocking sends unfollow (no reply token); unblocking sends follow with isUnblocked and gets the welcome
    back; messages LINE did not deliver while blocked are not in the chat."""
    user_id = simulator.open()
    simulator.act(user_id, type="follow")
    assert simulator.act(user_id, type="block") == []
    assert simulator.chat(user_id)["status"] == "blocked"
    [back] = simulator.act(user_id, type="unblock")
    assert "おかえりなさい" in back["text"]
    assert [m.get("note") for m in simulator.chat(user_id)["messages"] if m["from"] == "user"] == [
        "follow",
        "block",
        "unblock",
    ]


def test_account_link_completes_through_the_simulator(runtime, simulator):
    """A customer picked by 顧客ID gets a LINE user of their own; after the login page (顧客ID and phone, then
    the one-time code from the SMS pane) the redirect to /simulator/account-link sends LINE's accountLink event and the LINE user is bound, linked."""
    policyholder = customer(runtime)
    user_id = simulator.open(policyholder)
    assert simulator.open(policyholder) == user_id  # the same LINE user each time
    [greeting] = simulator.act(user_id, type="follow")
    [offer] = simulator.act(user_id, type="postback", data=action_of(greeting, "link_account"))
    [login] = [i["action"]["uri"] for i in offer["quickReply"]["items"] if i["action"]["type"] == "uri"]
    parts = urlsplit(login)
    form = simulator.client.get(f"{parts.path}?{parts.query}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.get_data(as_text=True))[1]
    token = parse_qs(parts.query)["linkToken"][0]
    asked = simulator.client.post(
        "/link", data={"linkToken": token, "csrf": csrf, "customer_code": CODE, "contact": "090-1234-5678"}
    )
    simulator.drain()  # the one-time code goes by SMS: the simulator's SMS pane shows it
    lines = (runtime.settings.data_dir / OUTBOX_FILE).read_text().splitlines()
    code = re.search(r"(\d{6})", json.loads(lines[-1])["text"])[1]
    csrf = re.search(r'name="csrf" value="([^"]+)"', asked.get_data(as_text=True))[1]
    done = simulator.client.post("/link/code", data={"linkToken": token, "csrf": csrf, "code": code})
    target = urlsplit(done.headers["Location"])
    assert done.status_code == 302 and target.path == "/simulator/account-link"
    result = simulator.client.get(f"{target.path}?{target.query}")
    assert result.status_code == 200 and "ID連携が完了しました" in result.get_data(as_text=True)
    simulator.drain()
    with runtime.engine.connect() as connection:
        bound = connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == policyholder)
        ).one()
    assert bound.line_user_id == user_id and bound.line_linked
    chat = simulator.chat(user_id)
    assert chat["customer"] == {"id": policyholder, "code": CODE, "name": "山田 太郎", "linked": True}
    assert chat["messages"][-1]["from"] == "bot" and "山田" in chat["messages"][-1]["message"]["text"]
    assert simulator.open(policyholder) == user_id
    wrong = simulator.client.get("/simulator/account-link?linkToken=notissued123&nonce=abcdefghijkl")
    assert wrong.status_code == 400 and "ID連携できませんでした" in wrong.get_data(as_text=True)


def test_side_panes_show_the_customers_sms_and_email_only(runtime, simulator):
    """The SMS pane reads the outbox file and the email pane the maildir, each filtered to the customer's
    number and address; with SMTP_URL set the email pane says mail goes to the server (null)."""
    policyholder = customer(runtime)
    settings = runtime.settings
    outbox = SmsOutbox(settings.data_dir / OUTBOX_FILE)
    outbox.send(SmsMessage(to=PHONE, text="ご来店予約の確認です", reference="delivery:1"))
    outbox.send(SmsMessage(to="+819087654321", text="ほかの方へ", reference="delivery:2"))
    with MaildirMailer(settings) as mailer:
        for to, subject in ((EMAIL, "ご予約の確認"), ("someone@example.jp", "ほかの方へ")):
            mailer.send(
                EmailMessage(
                    to=to,
                    subject=subject,
                    text="本文です",
                    html="<p>本文です</p>",
                    marketing=False,
                    unsubscribe_url=None,
                    open_pixel_url=None,
                    message_key=f"k-{len(subject)}",
                )
            )
    user_id = simulator.open(policyholder)
    panes = simulator.client.get(f"/simulator/api/users/{user_id}/inbox?customer={policyholder}").json
    assert [(s["to"], s["text"]) for s in panes["sms"]] == [(PHONE, "ご来店予約の確認です")]
    assert [(m["subject"], m["text"].splitlines()[0]) for m in panes["emails"]] == [
        ("ご予約の確認", "本文です")
    ]
    assert simulator.client.get(f"/simulator/api/users/{user_id}/inbox").json == {"sms": [], "emails": []}
    runtime.settings = runtime.settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})
    assert simulator.client.get(f"/simulator/api/users/{user_id}/inbox").json["emails"] is None


def test_a_line_coupon_message_shows_the_coupon(simulator):
    """A LINE coupon message (type coupon) comes with the coupon's title and end from LINE's coupon API."""
    user_id = simulator.open()
    simulator.act(user_id, type="follow")
    api = urllib3.PoolManager()
    headers = {
        "Authorization": f"Bearer {simulator.line.channel_access_token}",
        "Content-Type": "application/json",
    }
    coupon = {
        "title": "来店特典",
        "description": "窓口でご提示ください",
        "acquisitionCondition": {"type": "normal"},
        "reward": {"type": "discount", "priceInfo": {"type": "fixed", "fixedAmount": 500}},
        "startTimestamp": 0,
        "endTimestamp": 1924959599,
        "timezone": "ASIA_TOKYO",
        "visibility": "UNLISTED",
        "maxUseCountPerTicket": 1,
    }
    created = api.request("POST", f"{simulator.line.base_url}/v2/bot/coupon", json=coupon, headers=headers)
    coupon_id = created.json()["couponId"]
    push = {"to": user_id, "messages": [{"type": "coupon", "couponId": coupon_id}]}
    assert (
        api.request(
            "POST", f"{simulator.line.base_url}/v2/bot/message/push", json=push, headers=headers
        ).status
        == 200
    )
    shown = simulator.bot_messages(user_id)[-1]
    assert shown["couponId"] == coupon_id
    assert shown["coupon"] == {
        "title": "来店特典",
        "description": "窓口でご提示ください",
        "endTimestamp": 1924959599,
        "status": "RUNNING",
    }
