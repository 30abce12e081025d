"""ID連携 end to end: the chat offers the link with a link token from LINE, the login page checks the customer and
hands out a single-use nonce, LINE's `accountLink` event binds the LINE user to that customer (#21's goal) and
grants the link coupon; a replayed, unknown or expired nonce and a failed result bind nothing; unlinking."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert, select

from bot.account_link import new_nonce
from bot.coupons import create_campaign
from models import (
    ConsentEvent,
    Coupon,
    Customer,
    CustomerActivity,
    CustomerChannels,
    LineMembership,
    LinkNonce,
    utcnow,
)
from tests import factories
from tests.integration.chat_helpers import Chat, action_of, emulated_line, texts

CODE, PHONE, EMAIL = "C1001", "+819012345678", "Taro.Yamada@example.jp"


def customer(runtime, code: str = CODE, phone: str | None = PHONE, email: str | None = EMAIL) -> int:
    """A policyholder as the importer stores them: 顧客ID, name, E.164 mobile, normalised email."""
    now = utcnow()
    with runtime.engine.begin() as connection:
        customer_id = connection.execute(
            insert(Customer.__table__)
            .values(customer_code=code, family_name="山田", given_name="太郎", created_at=now, updated_at=now)
            .returning(Customer.__table__.c.id)
        ).scalar_one()
        connection.execute(
            insert(CustomerChannels.__table__).values(
                customer_id=customer_id, sms_phone=phone, email_main=email, updated_at=now
            )
        )
    return customer_id


def campaign(runtime, code: str, **values) -> None:
    defaults = {"title": "LINE連携特典", "benefit": "ギフト券1,000円分", "valid_days": 7}
    with runtime.engine.begin() as connection:
        assert create_campaign(connection, code, utcnow(), **(defaults | values))


def account_link(chat: Chat, nonce: str, result: str = "ok") -> list[dict]:
    """LINE's accountLink event: `ok` from the user with a reply token; `failed` without source or token."""
    if result == "ok":
        token = chat.line.issue_reply_token(chat.user_id)
        link = {"result": "ok", "nonce": nonce}
        return chat._send(factories.base_event("accountLink", chat.user_id, replyToken=token, link=link))
    return chat._send(factories.base_event("accountLink", None, link={"result": "failed", "nonce": nonce}))


def login_url(message: dict) -> str:
    [item] = [i for i in message["quickReply"]["items"] if i["action"]["type"] == "uri"]
    return item["action"]["uri"]


def log_in(client, url: str, code: str = CODE, contact: str = "090-1234-5678"):
    """Open the login page from the chat's button and submit the form (cookies kept by the test client)."""
    parts = urlsplit(url)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.data
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))[1]
    token = parse_qs(parts.query)["linkToken"][0]
    form = {"linkToken": token, "csrf": csrf, "customer_code": code, "contact": contact}
    return client.post("/link", data=form)


def channels(runtime, customer_id: int):
    with runtime.engine.connect() as connection:
        return connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == customer_id)
        ).one()


def test_link_flow_binds_the_customer_and_grants_the_coupon_once(runtime, client, post_webhook, drain):
    """link_account → LINE link token → login page (wrong, then full-width 顧客ID and the mobile number) →
    redirect to LINE with a nonce → accountLink ok: the LINE address and permission move from the prospect to
    the customer, linked (customer_channels and line_memberships), answered by name with the coupon once;
    the same nonce again is refused and binds nothing."""
    policyholder = customer(runtime)
    campaign(runtime, "WELCOME_LINK")
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        prospect = chat.customer_id()
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(LineMembership.__table__).values(
                    line_user_id=chat.user_id, customer_id=policyholder, linked=False, updated_at=utcnow()
                )
            )
        [offer] = chat.tap("a=link_account")
        assert "いつでも" in offer["text"] and "解除" in offer["text"]  # LINE requires the unlink notice
        assert [r.path for r in line.requests_to("/v2/bot/user/")] == [
            f"/v2/bot/user/{chat.user_id}/linkToken"
        ]
        url = login_url(offer)
        token = parse_qs(urlsplit(url).query)["linkToken"][0]
        assert url.startswith(f"{runtime.settings.public_base_url}/link?") and line.link_token_owner(token)

        wrong = log_in(client, url, contact="090-9999-9999")
        assert wrong.status_code == 401 and "ログインできませんでした" in wrong.get_data(as_text=True)
        done = log_in(client, url, code="Ｃ１００１")
        assert done.status_code == 302 and done.headers["Cache-Control"] == "no-store"
        target = urlsplit(done.headers["Location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == runtime.settings.line_account_link_url
        query = parse_qs(target.query)
        nonce = query["nonce"][0]
        assert query["linkToken"] == [token] and len(nonce) >= 22  # ≥ 128 bits of URL-safe Base64

        assert line.link_token_owner(token, consume=True) == chat.user_id  # LINE verifies the visitor
        linked = account_link(chat, nonce)
        assert "山田様、LINE連携が完了しました" in linked[0]["text"]
        assert "クーポン「LINE連携特典」をお届けします" in linked[1]["text"] and linked[2]["type"] == "flex"
        assert len(linked) == 3

        replay = account_link(chat, nonce)
        assert len(replay) == 1 and "完了できませんでした" in replay[0]["text"]
    mine, theirs = channels(runtime, policyholder), channels(runtime, prospect)
    assert (mine.line_user_id, mine.line_linked, mine.line_permitted) == (chat.user_id, True, True)
    assert theirs.line_user_id is None and theirs.line_linked is False
    with runtime.engine.connect() as connection:
        member = connection.execute(select(LineMembership.linked)).scalar_one()
        friend = connection.execute(
            select(CustomerActivity.line_friend).where(CustomerActivity.customer_id == policyholder)
        ).scalar_one()
        coupons = connection.execute(select(Coupon.customer_id, Coupon.campaign_code)).all()
        stored = connection.execute(select(LinkNonce.nonce_hash, LinkNonce.used_at)).all()
        consent = connection.execute(
            select(ConsentEvent.source).where(ConsentEvent.customer_id == policyholder)
        ).scalars()
        assert list(consent) == ["line:account_link"]
    assert member is True and friend is True and coupons == [(policyholder, "WELCOME_LINK")]
    [(digest, used_at)] = stored
    assert digest == hashlib.sha256(nonce.encode()).hexdigest() and used_at is not None  # never the nonce


def test_failed_unknown_and_expired_nonces_bind_nothing(runtime, post_webhook, drain):
    """accountLink failed (no source, no reply token) is only recorded; an unknown nonce and one past its ten
    minutes get a clear refusal; the LINE address stays with the prospect."""
    policyholder = customer(runtime)
    with runtime.engine.begin() as connection:
        stale = new_nonce(connection, policyholder, utcnow() - timedelta(minutes=11))
        fresh = new_nonce(connection, policyholder, utcnow())
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        assert account_link(chat, fresh, result="failed") == []
        assert "完了できませんでした" in account_link(chat, "x" * 32)[0]["text"]
        assert "完了できませんでした" in account_link(chat, stale)[0]["text"]
    assert channels(runtime, policyholder).line_user_id is None
    assert channels(runtime, chat.customer_id()).line_linked is None
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkNonce.used_at).where(LinkNonce.used_at.is_not(None))).all() == []


def test_unlink_returns_the_line_address_to_a_new_prospect(runtime, client, post_webhook, drain):
    """「クーポンを受け取る」 before linking offers the link; unlink_account asks first; はい unlinks: the customer
    keeps their record without the LINE address, a new prospect holds it with the same permission; a second
    unlink says it is not linked."""
    policyholder = customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        [offer] = chat.tap("a=coupon")  # 「クーポンを受け取る」 (#21): the coupon comes with linking
        assert login_url(offer).startswith(f"{runtime.settings.public_base_url}/link?")
        nonce = parse_qs(urlsplit(log_in(client, login_url(chat.say("ID連携")[0])).headers["Location"]).query)
        [done] = account_link(chat, nonce["nonce"][0])  # no WELCOME_LINK campaign: no coupon, no error
        assert "連携が完了しました" in done["text"]
        assert "ありません" in chat.tap("a=coupon")[0]["text"]
        assert "すでにお客さま番号と連携済み" in chat.tap("a=link_account")[0]["text"]
        [question] = chat.tap("a=unlink_account")
        assert "解除しますか" in question["text"]
        assert "取りやめました" in chat.tap(action_of(question, "cancel_dialog"))[0]["text"]
        [question] = chat.say("連携解除")
        [unlinked] = chat.tap(action_of(question, "confirm"))
        assert "解除しました" in unlinked["text"]
        assert "まだお客さま番号と連携されていません" in chat.tap("a=unlink_account")[0]["text"]
    mine = channels(runtime, policyholder)
    assert mine.line_user_id is None and mine.line_linked is False
    fresh = chat.customer_id()
    assert fresh != policyholder and channels(runtime, fresh).line_permitted is True


def test_login_page_refuses_bad_input_and_locks_after_five_tries(runtime, client, post_webhook, drain):
    """A page without a link token is refused; a form without its CSRF cookie is shown again; five wrong tries
    lock the link token, after which even the right answer gets no nonce; output is escaped."""
    customer(runtime)
    assert client.get("/link").status_code == 400
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        url = login_url(chat.tap("a=link_account")[0])
    token = parse_qs(urlsplit(url).query)["linkToken"][0]
    forged = client.post(
        "/link", data={"linkToken": token, "csrf": "x", "customer_code": CODE, "contact": EMAIL}
    )
    assert forged.status_code == 400 and 'name="csrf"' in forged.get_data(as_text=True)
    for attempt in range(1, 6):
        answer = log_in(client, url, code="<script>", contact="taro@example.jp")
        assert "<script>" not in answer.get_data(as_text=True)
        assert answer.status_code == (401 if attempt < 5 else 429)
    assert client.get(urlsplit(url).path + "?" + urlsplit(url).query).status_code == 429
    form = {"linkToken": token, "csrf": "x", "customer_code": CODE, "contact": "taro.yamada@EXAMPLE.jp"}
    client.set_cookie("link_csrf", "x", path="/link")
    assert client.post("/link", data=form).status_code == 429
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkNonce)).all() == []


def test_line_error_on_the_link_token_gets_a_polite_answer(runtime, post_webhook, drain):
    """When LINE does not issue a link token (a 500), the customer is asked to try later, nothing else."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        line.inject("link_token", "server_error")
        assert "しばらくしてから" in texts(chat.tap("a=link_account"))[0]


def test_ten_wrong_tries_for_one_customer_code_stop_guessing_across_link_tokens(
    runtime, client, post_webhook, drain
):
    """Link tokens are cheap to get, so a 顧客ID gets ten wrong tries an hour whatever the link token (full-width
    or not); after that even the right answer with a fresh link token gets no nonce."""
    customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        urls = [login_url(chat.tap("a=link_account")[0]) for _ in range(4)]
    for url, tries in zip(urls, (4, 4, 2), strict=False):
        for n in range(tries):
            wrong = log_in(client, url, code="Ｃ１００１" if n % 2 else CODE, contact="090-0000-0000")
            assert wrong.status_code == 401
    assert log_in(client, urls[3]).status_code == 401
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkNonce)).all() == []
