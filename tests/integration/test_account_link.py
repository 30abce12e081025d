"""ID連携 end to end: the chat offers the link with a link token from LINE, the login page checks the customer and
hands out a single-use nonce, LINE's `accountLink` event binds the LINE user to that customer (#21's goal) and
grants the link coupon; a replayed, unknown or expired nonce and a failed result bind nothing; unlinking."""

from __future__ import annotations

import hashlib
import json
import mailbox
import re
import threading
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert, select, update

from bot.chat.account_link import new_nonce
from bot.cli.customers import customers_group
from bot.delivery.channels.sms import OUTBOX_FILE
from bot.offers.coupons import create_campaign
from models import (
    AdminAudit,
    ConsentEvent,
    Coupon,
    Customer,
    CustomerActivity,
    CustomerChannels,
    LineMembership,
    LinkNonce,
    LinkToken,
    SecurityEvent,
    StaffNotice,
    VerificationCode,
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


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))[1]


def log_in(client, url: str, code: str = CODE, contact: str = "090-1234-5678"):
    """Open the login page from the chat's button and submit 顧客ID and contact (cookies kept by the client):
    the answer is the page asking for the one-time code."""
    parts = urlsplit(url)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.data
    token = parse_qs(parts.query)["linkToken"][0]
    form = {"linkToken": token, "csrf": csrf_of(page), "customer_code": code, "contact": contact}
    return client.post("/link", data=form)


def enter_code(client, url: str, page, code: str):
    """Type the one-time code into the code form `page` showed."""
    token = parse_qs(urlsplit(url).query)["linkToken"][0]
    return client.post("/link/code", data={"linkToken": token, "csrf": csrf_of(page), "code": code})


def sms_codes(runtime) -> list[tuple[str, str]]:
    """(phone, code) of every SMS the send workers wrote to the local SMS outbox."""
    path = runtime.settings.data_dir / OUTBOX_FILE
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [(m["to"], re.search(r"(\d{6})", m["text"])[1]) for m in lines]


def link_with_code(client, runtime, drain, url: str, code: str = CODE, contact: str = "090-1234-5678"):
    """Both steps with the right details: log in, read the code from the phone, type it; the redirect."""
    page = log_in(client, url, code=code, contact=contact)
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    drain()
    return enter_code(client, url, page, sms_codes(runtime)[-1][1])


def refusals(runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(SecurityEvent.kind, SecurityEvent.reason))]


def channels(runtime, customer_id: int):
    with runtime.engine.connect() as connection:
        return connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == customer_id)
        ).one()


def test_link_flow_binds_the_customer_and_grants_the_coupon_once(runtime, client, post_webhook, drain):
    """link_account → LINE link token (stored) → login page: a wrong contact and the right one (full-width
    顧客ID) both get the code form, only the right one sends a code, by SMS to the phone on file → a wrong code
    is refused, the right one redirects to LINE with a nonce → accountLink ok: the LINE address and permission
    move from the prospect to the customer, linked, answered by name with the coupon once; the same nonce again
    is refused and binds nothing."""
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
        assert wrong.status_code == 200 and "認証コード" in wrong.get_data(as_text=True)
        drain()
        assert sms_codes(runtime) == []  # a miss sends nothing, and the page does not say so
        page = log_in(client, url, code="Ｃ１００１")
        assert page.get_data(as_text=True) == wrong.get_data(as_text=True).replace(
            csrf_of(wrong), csrf_of(page)
        )
        drain()
        [(phone, code)] = sms_codes(runtime)
        assert phone == PHONE
        bad = enter_code(client, url, page, f"{(int(code) + 1) % 1000000:06d}")
        assert bad.status_code == 401 and "正しくありません" in bad.get_data(as_text=True)
        done = enter_code(client, url, bad, code)
        assert done.status_code == 302 and done.headers["Cache-Control"] == "no-store"
        target = urlsplit(done.headers["Location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == runtime.settings.line_account_link_url
        query = parse_qs(target.query)
        nonce = query["nonce"][0]
        assert query["linkToken"] == [token] and len(nonce) >= 22  # ≥ 128 bits of URL-safe Base64
        assert enter_code(client, url, bad, code).status_code == 400  # the link token is used up

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
        tokens = connection.execute(select(LinkToken.token_hash, LinkToken.used_at)).all()
        codes = connection.execute(select(VerificationCode.code_hash)).scalars().all()
        consent = connection.execute(
            select(ConsentEvent.source).where(ConsentEvent.customer_id == policyholder)
        ).scalars()
        assert list(consent) == ["line:account_link"]
    assert member is True and friend is True and coupons == [(policyholder, "WELCOME_LINK")]
    [(digest, used_at)] = stored
    assert digest == hashlib.sha256(nonce.encode()).hexdigest() and used_at is not None  # never the nonce
    assert tokens == [(hashlib.sha256(token.encode()).hexdigest(), tokens[0][1])] and tokens[0][1] is not None
    assert code not in codes and all(len(c) == 64 for c in codes)  # codes are kept as keyed digests only
    assert ("link_code", "wrong_code") in refusals(runtime) and ("link_login", "no_match") in refusals(
        runtime
    )


def test_code_by_email_and_single_use(runtime, client, post_webhook, drain):
    """An email address as the contact sends the code by email to the address on file; a code typed after its
    five minutes, or a sixth time, is dead and the login starts again; a new login kills the earlier code."""
    customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        url = login_url(chat.tap("a=link_account")[0])
        page = log_in(client, url, contact="ＴＡＲＯ.yamada@example.jp")
        drain()
    [mail] = list(mailbox.Maildir(runtime.settings.data_dir / "mail"))
    assert mail["To"] == EMAIL and "認証コード" in str(make_header(decode_header(mail["Subject"])))
    code = re.search(r"(\d{6})", mail.get_payload(0).get_payload(decode=True).decode())[1]
    with runtime.engine.begin() as connection:
        connection.execute(update(VerificationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = enter_code(client, url, page, code)
    assert late.status_code == 400 and "有効期限" in late.get_data(as_text=True)
    page = log_in(client, url, contact=EMAIL)
    for _ in range(5):
        page = enter_code(client, url, page, "000000")
        assert page.status_code == 401
    drain()
    with runtime.engine.connect() as connection:
        [tries] = connection.execute(
            select(VerificationCode.tries).where(VerificationCode.used_at.is_(None))
        ).scalars()
    assert tries == 5
    assert enter_code(client, url, page, "000000").status_code == 400  # a sixth try: dead, start again
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkNonce)).all() == []


def test_made_up_link_tokens_are_refused_and_audited(runtime, client):
    """A well-formed link token the service never asked LINE for gets no form, and posting to it does nothing;
    each refusal is in the security log with no trace of what was typed."""
    customer(runtime)
    made_up = "A" * 32
    assert client.get(f"/link?linkToken={made_up}").status_code == 400
    client.set_cookie("link_csrf", "x", path="/link")
    form = {"linkToken": made_up, "csrf": "x", "customer_code": CODE, "contact": "090-1234-5678"}
    assert client.post("/link", data=form).status_code == 400
    assert client.post("/link/code", data={**form, "code": "123456"}).status_code == 400
    assert refusals(runtime) == [("link_login", "unknown_token")] * 3
    with runtime.engine.connect() as connection:
        assert connection.execute(select(VerificationCode)).all() == []
        kept = [
            str(v)
            for row in connection.execute(select(SecurityEvent))
            for v in row
            if not isinstance(v, datetime)
        ]  # (a time's digits may hold anything)
    typed = (CODE, "090-1234-5678", "09012345678", "+819012345678", "123456")  # the 顧客ID, phone and code
    assert not any(text in v for v in kept for text in typed)


def test_spraying_one_phone_over_many_customer_ids_is_stopped(runtime, client, post_webhook, drain):
    """One known phone number tried against many 顧客IDs (with fresh link tokens, as LINE gives them freely):
    after five attempts the contact is locked, so the victim's 顧客ID tried later gets no code; nothing binds."""
    for n in range(12):
        customer(runtime, code=f"C2{n:03d}", phone=None, email=None)
    victim = customer(runtime, code="C9999")
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        urls = [login_url(chat.tap("a=link_account")[0]) for _ in range(3)]
    statuses = [
        log_in(client, urls[n // 5], code=f"C2{n:03d}", contact="090-1234-5678").status_code
        for n in range(12)
    ]
    statuses.append(log_in(client, urls[2], code="C9999", contact="090-1234-5678").status_code)
    drain()
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    assert sms_codes(runtime) == []  # the victim's phone got nothing: the lock came first
    assert ("link_login", "limit:contact") in refusals(runtime)
    assert channels(runtime, victim).line_user_id is None


def test_parallel_wrong_tries_never_exceed_the_limits(runtime, app, post_webhook, drain):
    """Twenty logins at once on one link token let five through (count first, then compare); twenty code
    guesses at once on one code count at most five tries against it; none links."""
    customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        url = login_url(chat.tap("a=link_account")[0])
    token = parse_qs(urlsplit(url).query)["linkToken"][0]

    def post(path: str, form: dict, out: list) -> None:
        client = app.test_client()
        client.set_cookie("link_csrf", "x", path="/link")
        out.append(client.post(path, data={"linkToken": token, "csrf": "x", **form}).status_code)

    logins: list[int] = []
    form = {"customer_code": CODE, "contact": "090-1234-5678"}
    threads = [threading.Thread(target=post, args=("/link", form, logins)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(logins) == [200] * 5 + [429] * 15
    guesses: list[int] = []
    threads = [
        threading.Thread(target=post, args=("/link/code", {"code": f"{n:06d}"}, guesses)) for n in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.engine.connect() as connection:
        tries = connection.execute(select(VerificationCode.tries)).scalars().all()
        nonces = connection.execute(select(LinkNonce)).all()
    assert max(tries) == 5 and sum(tries) == 5 and not nonces  # one code took every guess, five counted
    assert len(guesses) == 20 and guesses.count(401) == 5 and set(guesses) <= {400, 401, 429}


def test_limits_per_line_user_client_and_overall(runtime, client, post_webhook, drain):
    """A LINE user gets ten logins an hour across link tokens; a client address twenty across LINE users; and
    everyone together the configured ceiling."""
    customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        urls = [login_url(chat.tap("a=link_account")[0]) for _ in range(3)]
        codes = [f"C3{n:03d}" for n in range(11)]
        statuses = [
            log_in(client, urls[n // 5], code=c, contact=f"090-0000-{n:04d}").status_code
            for n, c in enumerate(codes)
        ]
        assert statuses == [200] * 10 + [429]
        assert ("link_login", "limit:line_user") in refusals(runtime)

        others = [Chat(runtime, line, post_webhook, drain) for _ in range(3)]
        more = [login_url(o.tap("a=link_account")[0]) for o in others]
        statuses = [
            log_in(client, more[n // 5], code=f"C4{n:03d}", contact=f"080-0000-{n:04d}").status_code
            for n in range(11)
        ]
        assert statuses == [200] * 10 + [
            429
        ]  # 20 counted from this address (a refused try gives its places back)
        assert ("link_login", "limit:client") in refusals(runtime)

        runtime.settings = runtime.settings.model_copy(update={"link_login_global_limit": 1})
        elsewhere = app_client_from(client, "203.0.113.9")
        fresh = login_url(Chat(runtime, line, post_webhook, drain).tap("a=link_account")[0])
        assert log_in(elsewhere, fresh, code="C5000", contact="070-0000-0000").status_code == 429
        assert ("link_login", "limit:global") in refusals(runtime)


def app_client_from(client, address: str):
    """A test client of the same app whose requests come from `address`."""
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = address
    return other


def test_a_linked_customer_is_never_re_bound(runtime, app, client, post_webhook, drain):
    """A customer linked to LINE user A: LINE user B who has the customer's phone passes the code, but the
    accountLink is refused, B is told how to go on, staff are notified, A keeps the link; a nonce issued for
    A's link token is refused when it comes from B; once staff take A off (`flask customers unlink`, audited),
    B links."""
    policyholder = customer(runtime)
    with emulated_line(runtime) as line:
        owner = Chat(runtime, line, post_webhook, drain)
        owner.follow()
        url = login_url(owner.tap("a=link_account")[0])
        nonce = parse_qs(urlsplit(link_with_code(client, runtime, drain, url).headers["Location"]).query)
        assert "連携が完了しました" in account_link(owner, nonce["nonce"][0])[0]["text"]

        intruder = Chat(runtime, line, post_webhook, drain)
        intruder.follow()
        url = login_url(intruder.tap("a=link_account")[0])
        nonce = parse_qs(urlsplit(link_with_code(client, runtime, drain, url).headers["Location"]).query)
        [refused] = account_link(intruder, nonce["nonce"][0])
        assert "別のLINEアカウントと連携されている" in refused["text"]

        with runtime.engine.begin() as connection:
            stolen = new_nonce(connection, policyholder, owner.user_id, utcnow())
        assert "完了できませんでした" in account_link(intruder, stolen)[0]["text"]
        mine = channels(runtime, policyholder)
        assert (mine.line_user_id, mine.line_linked) == (owner.user_id, True)

        # the customer lost the old phone: staff check by phone, take the old LINE off, the new one links
        done = app.test_cli_runner().invoke(customers_group, ["unlink", CODE, "--by", "staff-7", "--yes"])
        assert done.exit_code == 0 and "外しました" in done.output
        url = login_url(intruder.tap("a=link_account")[0])
        nonce = parse_qs(urlsplit(link_with_code(client, runtime, drain, url).headers["Location"]).query)
        assert "連携が完了しました" in account_link(intruder, nonce["nonce"][0])[0]["text"]
    mine = channels(runtime, policyholder)
    assert (mine.line_user_id, mine.line_linked) == (intruder.user_id, True)
    with runtime.engine.connect() as connection:
        notices = connection.execute(
            select(StaffNotice.kind, StaffNotice.customer_id, StaffNotice.template)
        ).all()
    assert ("link_conflict", policyholder, "chat_link.staff_customer_has_other_line_user") in notices
    assert ("link_bind", "customer_has_other_line_user") in refusals(runtime)
    assert ("link_bind", "nonce") in refusals(runtime)
    with runtime.engine.connect() as connection:
        audited = connection.execute(select(AdminAudit.actor, AdminAudit.command, AdminAudit.result)).all()
    assert ("staff-7", "unlink", "done") in audited


def test_failed_unknown_and_expired_nonces_bind_nothing(runtime, post_webhook, drain):
    """accountLink failed (no source, no reply token) is only recorded; an unknown nonce and one past its ten
    minutes get a clear refusal; the LINE address stays with the prospect."""
    policyholder = customer(runtime)
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        with runtime.engine.begin() as connection:
            stale = new_nonce(connection, policyholder, chat.user_id, utcnow() - timedelta(minutes=11))
            fresh = new_nonce(connection, policyholder, chat.user_id, utcnow())
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
        done = link_with_code(client, runtime, drain, login_url(chat.say("ID連携")[0]))
        nonce = parse_qs(urlsplit(done.headers["Location"]).query)
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
    """A page without a link token is refused; a form without its CSRF cookie is shown again; five logins
    lock the link token, after which even the right answer sends no code; output is escaped."""
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
    for attempt in range(1, 7):
        client.set_cookie("link_csrf", "x", path="/link")
        answer = client.post(
            "/link", data={"linkToken": token, "csrf": "x", "customer_code": "<script>", "contact": "a@b.jp"}
        )
        assert "<script>" not in answer.get_data(as_text=True)
        assert answer.status_code == (200 if attempt <= 5 else 429)
    client.set_cookie("link_csrf", "x", path="/link")
    form = {"linkToken": token, "csrf": "x", "customer_code": CODE, "contact": "taro.yamada@EXAMPLE.jp"}
    locked = client.post("/link", data=form)
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 600
    drain()
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkNonce)).all() == []
    assert not (runtime.settings.data_dir / "mail").exists() or not list(
        mailbox.Maildir(runtime.settings.data_dir / "mail")
    )


def test_line_error_on_the_link_token_gets_a_polite_answer(runtime, post_webhook, drain):
    """When LINE does not issue a link token (a 500), the customer is asked to try later, nothing else."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        line.inject("link_token", "server_error")
        assert "しばらくしてから" in texts(chat.tap("a=link_account"))[0]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(LinkToken)).all() == []
