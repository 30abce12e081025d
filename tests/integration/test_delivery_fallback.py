"""Down the ladder, through the send jobs, to real parts: a broadcast reaches a linked friend on LINE, a customer who
blocked us by SMS (the HTTP gateway stub), an unlinked customer by email (a real SMTP server on loopback), and no
one without consent; the email's opt-out link works without login and stops every later send."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from devtools.line_emulator import LineEmulator
from models import ConsentEvent, DeliveryStatus, FriendStatus
from tests.conftest import ACCESS_TOKEN
from tests.integration.delivery_helpers import (
    add_customer,
    add_row,
    ledger,
    line_id,
    new_broadcast,
    queue,
    send_due,
)
from tests.integration.test_email_channel import Recorder, parts, start
from tests.sms_gateway import SmsGatewayStub


@pytest.fixture
def parts_running(runtime):
    recorder = Recorder()
    smtp = start(recorder)
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as line, SmsGatewayStub() as gateway:
        runtime.settings = runtime.settings.model_copy(
            update={
                "line_api_base_url": line.base_url,
                "quiet_hours": "",
                "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
                "sms_provider": "http",
                "sms_gateway_url": gateway.gateway_url,
                "sms_gateway_token": gateway.token,
                "public_base_url": "https://bot.example.jp",
            }
        )
        yield line, gateway, recorder
    smtp.stop()


def test_each_customer_gets_the_message_on_the_first_channel_that_may_carry_it(
    runtime, parts_running, drain, client
):
    """Linked → LINE; blocked with a phone → SMS; unlinked with an email → email; no consent → nothing."""
    line, gateway, smtp = parts_running
    friend = line_id()
    add_customer(runtime, line=friend, phone="+819011112222", sms_ok=True)
    blocked = add_customer(
        runtime, line=line_id(), friend=FriendStatus.BLOCKED, phone="+819033334444", sms_ok=True
    )
    unlinked = add_customer(runtime, email="hanako@example.com", email_ok=True)
    add_customer(runtime, email="taro@example.com", email_ok=False, phone="+819055556666", sms_ok=False)
    assert queue(runtime, new_broadcast(runtime)) == 3
    send_due(runtime, drain)
    rows = {row.customer_id: row for row in ledger(runtime)}
    assert {row.status for row in rows.values()} == {DeliveryStatus.SENT}
    assert [m.to for m in line.sent_messages()] == [friend]
    [sms] = gateway.requests
    assert sms.json()["to"] == "+819033334444" and rows[blocked].channel == "sms"
    assert f"https://bot.example.jp/u/{rows[blocked].token}" in sms.json()["text"]  # 配信停止 link
    assert rows[blocked].segments is not None and rows[blocked].provider_id
    [mail] = smtp.messages()
    assert mail["To"] == "hanako@example.com" and rows[unlinked].channel == "email"
    opt_out_url = f"https://bot.example.jp/u/{rows[unlinked].token}"
    assert mail["List-Unsubscribe"] == f"<{opt_out_url}>"
    text, html = parts(mail)
    assert opt_out_url in text and f"/o/{rows[unlinked].token}.gif" in html
    # the customer follows the link: no login, and every later marketing email is refused
    path = re.sub(r"^https://bot.example.jp", "", opt_out_url)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    later = add_row(runtime, unlinked, channel="email")
    send_due(runtime, drain)
    assert ledger(runtime, later)[0].error == "not_sent: no_consent"
    assert len(smtp.messages()) == 1
    with Session(runtime.engine) as session:
        events = session.exec(select(ConsentEvent).where(ConsentEvent.customer_id == unlinked)).all()
    assert [(e.channel, e.granted, e.source) for e in events] == [("email", False, "link:email")]


def test_an_sms_over_660_characters_fails_with_a_clear_reason(runtime, parts_running, drain):
    """The provider is never asked to carry an SMS beyond 660 characters; the ledger says why."""
    _, gateway, _ = parts_running
    from bot.delivery.channels.sms import SmsMessage, refusal

    assert refusal(SmsMessage("+819033334444", "あ" * 660, "r")) is None
    assert "too_long: 661" in refusal(SmsMessage("+819033334444", "あ" * 661, "r")).reason
    assert gateway.requests == []
