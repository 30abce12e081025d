"""From a scenario to the customer's chat: #14's renewal reminder, enrolled by the engine from an imported F5
file, is sent by the send job as a personalised LINE push with the customer's name and renewal date, and a
配信停止 quick reply carrying its row's token, which the postback handler understands."""

from __future__ import annotations

from datetime import datetime

from bot.delivery.outbox import DISPATCH_CLAIM, _claim, claim_token
from bot.delivery.sending import send_batch
from bot.scenarios.runner import tick
from devtools.line_emulator import LineEmulator
from flows.catalog import SCENARIOS
from flows.dsl import Channel
from flows.engine import TOKYO
from models import DeliveryStatus
from tests.conftest import ACCESS_TOKEN
from tests.integration.delivery_helpers import ledger
from tests.integration.scenario_helpers import load as load_file
from tests.integration.scenario_helpers import person, write

LINE_ID = "U" + "d" * 32


def test_a_renewal_reminder_reaches_the_chat_personalised_and_tracked(runtime, tmp_path):
    """山田様 and 7月31日 in the text, no merge field left unfilled, the tracked link, the template's button and
    a last quick reply posting a=optout&t=<token>."""
    runtime.settings = runtime.settings.model_copy(update={"public_base_url": "https://bot.example.jp"})
    rows = [person("r1", line=LINE_ID, line_ok="真", renewal="2026/07/31")]
    load_file(runtime, "F5", write(tmp_path / "f5.csv", rows))
    moment = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)
    assert tick(runtime.engine, {"renewal_reminder": SCENARIOS["renewal_reminder"]}, moment).queued == 1
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as line:
        settings = runtime.settings.model_copy(update={"line_api_base_url": line.base_url})
        until = moment + DISPATCH_CLAIM
        ids = [row[0] for row in _claim(runtime.engine, moment, until, set())]
        send_batch(
            runtime.engine, runtime.redis, settings, Channel.LINE, ids, claim_token(until), lambda: moment
        )
        [message] = [m.message for m in line.sent_messages(to=LINE_ID)]
    [row] = ledger(runtime)
    assert row.status == DeliveryStatus.SENT and row.template == "renewal_reminder.a"
    assert "山田様" in message["text"] and "7月31日" in message["text"]
    assert "%{" not in message["text"]
    assert f"https://bot.example.jp/r/{row.token}/renewal" in message["text"]
    contact, stop = message["quickReply"]["items"]
    assert contact["action"] == {
        "type": "postback",
        "label": "問い合わせる",
        "data": f"a=contact&t={row.token}",
        "displayText": "問い合わせる",
    }
    assert stop["action"] == {
        "type": "postback",
        "label": "配信停止",
        "data": f"a=optout&t={row.token}",
        "displayText": "配信停止",
    }


def test_the_open_pixel_in_the_sent_email_steers_scenario_1(runtime, tmp_path, client):
    """#1's A goes out by email; the customer whose mail client loads the pixel gets B next day, the other A'."""
    import email
    import email.policy
    import mailbox
    import re
    from datetime import timedelta

    from bot.jobs.tasks import apply_tracking_signals
    from tests.integration.scenario_helpers import customer_ids

    runtime.settings = runtime.settings.model_copy(
        update={"public_base_url": "https://bot.example.jp", "smtp_url": "", "quiet_hours": ""}
    )
    people = [person(code, email=f"{code}@example.com", email_ok="真") for code in ("opens", "ignores")]
    load_file(runtime, "F5", write(tmp_path / "f5.csv", people))
    requests = [
        {
            "document_request_id": f"DR-{code}",
            "email_main": f"{code}@example.com",
            "email_permitted": "",
            "requested_on": "2026/06/10",
        }
        for code in ("opens", "ignores")
    ]
    load_file(runtime, "F1", write(tmp_path / "f1.csv", requests))
    only = {"doc_request_followup": SCENARIOS["doc_request_followup"]}
    moment = datetime(2026, 6, 11, 19, 0, tzinfo=TOKYO)
    assert tick(runtime.engine, only, moment).queued == 2
    until = moment + DISPATCH_CLAIM
    ids = [row[0] for row in _claim(runtime.engine, moment, until, set())]
    send_batch(runtime.engine, runtime.redis, runtime.settings, Channel.EMAIL, ids, claim_token(until))
    box = mailbox.Maildir(tmp_path / "mail", factory=None, create=False)
    parsed = [
        email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in box.iterkeys()
    ]
    mails = {m["To"]: m for m in parsed}
    html = mails["opens@example.com"].get_body(("html",)).get_content()
    pixel = re.search(r'src="https://bot\.example\.jp(/o/[^"]+\.gif)"', html).group(1)
    assert client.get(pixel).status_code == 200  # the customer's mail client shows the email
    assert apply_tracking_signals() == {"open": 1}  # what the worker's tick does first
    tick(runtime.engine, only, moment + timedelta(days=1))
    who = customer_ids(runtime)
    sent_next = {(row.customer_id, row.step) for row in ledger(runtime) if row.step != "send_a"}
    assert sent_next == {(who["opens"], "send_b"), (who["ignores"], "send_a2")}


def test_merge_fields_come_from_the_reservation_and_an_empty_topic_leaves_no_gap(runtime, tmp_path):
    """#5's B quotes the visit date, the store's name and the consultation topic (相談内容) when the booking
    has one; without one the sentence is left out rather than printed empty."""
    from sqlalchemy import select

    from bot.delivery.content import Template, load_fields
    from models import Delivery

    people = [person(code, email=f"{code}@example.com", email_ok="真") for code in ("topic", "blank")]
    load_file(runtime, "F5", write(tmp_path / "f5.csv", people))
    rows = [
        {
            "reservation_id": f"R-{code}",
            "email_main": f"{code}@example.com",
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "store_id": "S01",
            "store_name": "新宿西口店",
            "consultation": topic,
        }
        for code, topic in (("topic", "学資保険の見直し"), ("blank", ""))
    ]
    load_file(runtime, "F3", write(tmp_path / "f3.csv", rows))
    scenarios = {"visit_reminder": SCENARIOS["visit_reminder"]}
    tick(runtime.engine, scenarios, datetime(2026, 6, 13, 10, 0, tzinfo=TOKYO))
    with runtime.engine.connect() as connection:
        ledger_rows = connection.execute(select(Delivery).order_by(Delivery.id)).all()
        fields = load_fields(connection, ledger_rows, "ja", SCENARIOS)
    texts = sorted(Template("visit_reminder.b", "ja").body(fields[row.id]) for row in ledger_rows)
    confirm = "山田様、ご予約内容（6月20日、新宿西口店）をご確認ください。"
    change = "日程の変更やキャンセルはこちらから承ります。"
    assert texts == [
        confirm + "ご相談内容：学資保険の見直し。" + change,
        "山田様、ご予約内容（6月20日、新宿西口店）をご確認ください。日程の変更やキャンセルはこちらから承ります。",
    ]
