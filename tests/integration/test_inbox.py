"""The staff inbox (/inbox) through the web app: each staff member's own login (limited wrong tries), the open
conversations, one conversation's whole history, a masked customer card revealed on request (audited), a reply
that reaches the customer in LINE, release and close — every opening audited."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from models import AdminAudit, Customer, CustomerChannels, Handover
from tests.integration.chat_helpers import Chat, emulated_line, texts

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
REFERENCE = re.compile(r"H\d{6}-[2-9A-HJ-NP-Z]{4}")
PASSWORD = "correct horse battery"


def add_staff(app, login: str, role: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["staff", "add", login, "--name", "花子", "--role", role, "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output


def log_in(client, login: str, password: str = PASSWORD):
    page = client.get("/inbox")
    token = CSRF.search(page.get_data(as_text=True))[1]
    return client.post("/inbox/login", data={"login": login, "password": password, "csrf": token})


def act(client, reference: str, action: str, **data: str):
    page = client.get(f"/inbox/{reference}").get_data(as_text=True)
    token = CSRF.findall(page)[-1]  # the conversation's forms share one token
    return client.post(f"/inbox/{reference}/{action}", data={"csrf": token, **data})


def audits(runtime) -> list[tuple]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(AdminAudit).where(AdminAudit.place == "inbox").order_by(AdminAudit.id)
        )
        return [(row.actor, row.command, row.result, row.detail, row.personal_data) for row in rows]


def test_staff_log_in_open_reveal_reply_and_release(runtime, app, client, post_webhook, drain):
    """A customer waits for a person; a supervisor logs in, sees the conversation (card masked), reveals it
    (audited), replies (the customer gets it in LINE), releases (the bot answers again)."""
    add_staff(app, "hanako", "supervisor")
    assert "ログイン名" in client.get("/inbox").get_data(as_text=True)
    assert log_in(client, "hanako", "wrong password!").status_code == 403
    assert log_in(client, "nobody", PASSWORD).status_code == 403
    assert log_in(client, "hanako").status_code == 303
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        reference = REFERENCE.search(chat.say("担当者")[0]["text"])[0]
        assert chat.say("保険料が引き落とされていません") == []
        with runtime.engine.begin() as connection:
            connection.execute(update(Customer).values(family_name="雲母坂", given_name="さや"))
            connection.execute(update(CustomerChannels).values(email_main="saya@example.jp"))

        listing = client.get("/inbox").get_data(as_text=True)
        assert reference in listing and "対応待ち" in listing
        page = client.get(f"/inbox/{reference}").get_data(as_text=True)
        assert "保険料が引き落とされていません" in page and "担当者におつなぎします" in page
        assert "%{" not in page  # the bot's answers as the customer read them
        assert "雲＊ ＊＊＊" in page and "s***@example.jp" in page and "雲母坂" not in page
        revealed = act(client, reference, "reveal").get_data(as_text=True)
        assert "雲母坂 さや" in revealed and "saya@example.jp" in revealed

        assert act(client, reference, "reply", body="担当の花子です。確認いたします。").status_code == 303
        drain()
        assert texts(chat.answers()) == ["【担当者より】\n担当の花子です。確認いたします。"]
        page = client.get(f"/inbox/{reference}").get_data(as_text=True)
        assert "担当の花子です。確認いたします。" in page
        assert act(client, reference, "release").status_code == 303
        drain()
        assert "終了しました" in texts(chat.answers())[0]
        assert chat.say("こんにちは") != []  # the bot is back
    [row] = runtime.engine.connect().execute(select(Handover)).all()
    assert (row.status, row.staff) == ("released", "inbox:hanako")
    trail = audits(runtime)
    customer = f"customer {row.customer_id}"
    assert ("inbox:hanako", "reveal", "done", customer, True) in trail
    assert ("inbox:hanako", "reply", "done", customer, False) in trail
    assert ("inbox:hanako", "release", "done", customer, False) in trail
    assert next(entry[1:] for entry in trail if entry[1] == "open") == ("open", "done", customer, True)


def test_an_agent_may_not_close_and_forms_need_their_token(runtime, app, client, post_webhook, drain):
    """An agent's close is refused (and audited), a form without its CSRF token does nothing, and a
    logged-out browser sees only the login form."""
    add_staff(app, "taro", "agent")
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        reference = REFERENCE.search(chat.say("担当者")[0]["text"])[0]
    assert reference not in client.get(f"/inbox/{reference}").get_data(as_text=True)
    log_in(client, "taro")
    assert client.post(f"/inbox/{reference}/release", data={"csrf": "0" * 64}).status_code == 400
    page = act(client, reference, "close").get_data(as_text=True)
    assert "スーパーバイザー" in page
    [row] = runtime.engine.connect().execute(select(Handover)).all()
    assert row.status == "open"
    assert ("inbox:taro", "close", "refused", f"customer {row.customer_id}", False) in audits(runtime)


def test_wrong_passwords_lock_the_login_name(runtime, app, client):
    """Ten wrong passwords for one login name lock it: even the right one is refused with Retry-After."""
    add_staff(app, "jiro", "agent")
    for _ in range(10):
        assert log_in(client, "jiro", "not the password").status_code == 403
    locked = log_in(client, "jiro")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_a_photo_sent_to_staff_opens_from_the_inbox_for_the_signed_in_staff_only(
    runtime, app, client, post_webhook, drain
):
    """During a hand-over a photo is fetched and sealed like a request's; the conversation links it; it opens for
    the staff member signed in (audited by name) and for nobody else."""
    from tests.integration.attachment_helpers import jpeg, send_media
    from tests.integration.test_attachments import KEY

    add_staff(app, "hanako", "supervisor")
    assert log_in(client, "hanako").status_code == 303
    with emulated_line(runtime) as line:
        runtime.settings = runtime.settings.model_copy(update={"attachment_key": KEY})
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        reference = REFERENCE.search(chat.say("担当者")[0]["text"])[0]
        photo = jpeg()
        _, answered = send_media(chat, photo)
        assert answered == []  # the bot stays silent
        drain()  # the worker fetches and seals it
        page = client.get(f"/inbox/{reference}").get_data(as_text=True)
        [link] = re.findall(r'href="(/inbox/attachments/\d+)"', page)
        shown = client.get(link)
        assert shown.status_code == 200 and shown.data == photo and shown.mimetype == "image/jpeg"
        assert app.test_client().get(link).status_code == 403  # not signed in
    assert ("inbox:hanako", "attachment", "shown") in [entry[:3] for entry in audits_anywhere(runtime)]


def audits_anywhere(runtime) -> list[tuple]:
    with runtime.engine.connect() as connection:
        return [(row.actor, row.command, row.result) for row in connection.execute(select(AdminAudit))]
