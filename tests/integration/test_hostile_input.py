"""Hostile input at the edges: control characters are refused with a clear answer and nothing written; JSON
nested past the parser's limits is a 400, never a 500."""

from __future__ import annotations

import json

import pytest
from flask import request
from sqlalchemy import select, update
from werkzeug.exceptions import BadRequest

from bot.api_events.examples import EXAMPLES
from bot.platform.json_input import MAX_DEPTH
from bot.platform.runtime import Runtime
from models import Customer, CustomerChannels, Dialog, ServiceRequest, WebhookEvent
from tests import factories
from tests.integration.chat_helpers import Chat, emulated_line, texts
from tests.integration.test_imports import f5_row, run, snapshot, write_csv

REFUSED = ["\x00", "\x1b", "\x7f", "\x85", "\u202e", "\u2066"]  # C0, DEL, C1, a bidi override and an isolate
DEEP = b"[" * 100_000 + b"]" * 100_000  # RecursionError in json.loads
JUST_PAST_LIMIT = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)


def rows(runtime: Runtime, table) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(table)).all()


def _code_point(character: str) -> str:
    return f"U+{ord(character):04X}"


@pytest.mark.parametrize("character", REFUSED)
def test_api_refuses_a_control_character_naming_the_field_not_the_value(push, runtime, character):
    """422 naming the field and the code point, without echoing the value; no customer is written."""
    event = EXAMPLES["document_requested"]
    name = f"山田{character}太郎"
    bad = event | {"customer": event["customer"] | {"family_name": name}}
    response = push({"events": [EXAMPLES["quote_made"], bad]})
    assert response.status_code == 422, response.json
    [error] = response.json["fields"]
    assert error["path"] == "events[1].customer.family_name"
    assert _code_point(character) in error["message"] and name not in response.get_data(as_text=True)
    assert rows(runtime, Customer) == []


def test_api_refuses_a_control_character_in_a_field_name_and_a_lone_surrogate(push, runtime):
    """A field name with a control character is reported at its parent, not echoed; a `\\ud800` escape too."""
    event = EXAMPLES["document_requested"]
    body = event | {"data": event["data"] | {"memo\x00": "x"}, "customer": {"email": "a@example.jp\ud800"}}
    response = push(json.dumps(body).encode())
    assert response.status_code == 422
    assert response.json["fields"] == [
        {"path": "customer.email", "message": "must not contain U+D800 (a lone surrogate)"},
        {"path": "data", "message": "a field name contains U+0000 (a control character)"},
    ]
    assert rows(runtime, Customer) == []


def test_api_accepts_tabs_newlines_and_direction_marks(push, runtime):
    """Tab, line feed, carriage return and the plain right-to-left mark are text, not controls."""
    event = EXAMPLES["reservation_made"]
    data = event["data"] | {"consultation": "車の\t買い替え\r\nについて\u200f"}
    assert push(event | {"data": data}).status_code == 200


@pytest.mark.parametrize("character", ["\x00", "\u202e"])
def test_import_refuses_the_file_naming_line_and_column(runtime, tmp_path, character):
    """A cell with a control character is a row error naming its line and column; the file writes nothing."""
    rows_ = [f5_row(), f5_row(顧客ID="C0002", 名=f"花{character}子")]
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", rows_))
    assert not report.committed and report.imported == 0
    assert report.errors == [(3, [f"名: must not contain {_code_point(character)} ({_kind(character)})"])]
    assert all(table == [] for table in snapshot(runtime).values())


def _kind(character: str) -> str:
    return "a control character" if ord(character) < 0x2000 else "a bidirectional control"


@pytest.mark.parametrize("character", REFUSED)
def test_chat_text_with_a_control_character_is_asked_again_and_not_stored(
    runtime, post_webhook, drain, character
):
    """LINE gets its 200; the customer is asked to type it again; the dialog waits at the same step with
    nothing of that text, and the clean answer then goes on."""
    with emulated_line(runtime) as line:
        runtime.settings = runtime.settings.model_copy(update={"staff_line_targets": ["C" + "5" * 32]})
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        with runtime.engine.begin() as connection:  # a name change needs a verified (linked) customer
            connection.execute(update(CustomerChannels).values(line_linked=True))
        chat.say("氏名変更")
        chat.say("CD98765432")
        [before] = rows(runtime, Dialog)
        [again] = chat.say(f"山田{character}花子")  # Chat.say asserts the webhook answered 200
        assert "もう一度入力してください" in again["text"]
        [after] = rows(runtime, Dialog)
        assert (after.step, after.data) == (before.step, before.data)
        assert character not in json.dumps(after.data, ensure_ascii=False)
        assert "理由" in texts(chat.say("山田 花子"))[0]  # the next question: the name was taken
    assert rows(runtime, ServiceRequest) == []
    assert {row.status for row in rows(runtime, WebhookEvent)} == {"processed"}


def test_chat_refusal_is_in_english_for_an_english_speaker():
    """The message exists in both languages."""
    from bot.platform.i18n import text

    assert "type it again" in text("messages.chat.retype.text", "en")
    assert "もう一度入力" in text("messages.chat.retype.text", "ja")


@pytest.mark.parametrize("body", [DEEP, JUST_PAST_LIMIT, b'{"events": ' + DEEP + b"}"])
def test_webhook_answers_400_to_a_correctly_signed_deeply_nested_body(post_webhook, runtime, body):
    """Signed as LINE signs: a 400 (not stored, not a 500)."""
    response = post_webhook(body)
    assert response.status_code == 400 and "nested deeper" in response.json["error"]
    assert rows(runtime, WebhookEvent) == []


def test_webhook_keeps_a_normal_event(post_webhook, runtime):
    """The depth limit leaves every LINE event alone."""
    body = factories.body(*factories.every_event_type(factories.user_id()).values())
    assert post_webhook(body).status_code == 200
    assert len(rows(runtime, WebhookEvent)) == 20


@pytest.mark.parametrize("body", [DEEP, JUST_PAST_LIMIT])
def test_ingest_api_answers_400_to_a_deeply_nested_body(push, body):
    """The events API: 400 malformed JSON."""
    response = push(body)
    assert response.status_code == 400 and response.json["error"] == "malformed JSON"


def test_sms_callbacks_answer_400_to_a_deeply_nested_body(app, runtime):
    """The SMS gateway's receipts and replies: 400."""
    runtime.settings = runtime.settings.model_copy(update={"sms_receipt_token": "sms-token"})
    client = app.test_client()
    headers = {"Authorization": "Bearer sms-token", "Content-Type": "application/json"}
    for path in ("/sms/receipts", "/sms/inbound"):
        assert client.post(path, data=DEEP, headers=headers).status_code == 400


def test_request_get_json_refuses_a_deeply_nested_body(app):
    """Every endpoint reading `request.get_json()` (the simulator's): None when silent, else a 400."""
    for body in (DEEP, JUST_PAST_LIMIT):
        with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
            assert request.get_json(silent=True) is None
            with pytest.raises(BadRequest):
                request.get_json()
