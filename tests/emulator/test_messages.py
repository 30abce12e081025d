"""Sending messages through the LINE emulator: success paths, recording and LINE-style validation."""

from __future__ import annotations

import json

import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    BroadcastRequest,
    ButtonsTemplate,
    Configuration,
    FlexContainer,
    FlexMessage,
    MessageAction,
    MessagingApi,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    TemplateMessage,
    TextMessage,
    ValidateMessageRequest,
)
from linebot.v3.messaging.exceptions import UnauthorizedException

from devtools.line_emulator import LineEmulator
from tests.emulator.conftest import OTHER_USER, USER, RawCall

TEXT_PUSH = "/v2/bot/message/push"


def _details(exc: ApiException) -> list[dict[str, str]]:
    return json.loads(exc.body)["details"]


def test_push_ok_and_recorded(emulator: LineEmulator, api: MessagingApi) -> None:
    """A push returns a numeric message id and quote token and is recorded as a request and delivery."""
    response = api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="hello")]))
    sent = response.sent_messages[0]
    assert sent.id.isdigit() and sent.quote_token
    [request] = emulator.requests_to(TEXT_PUSH)
    assert (request.method, request.status, request.endpoint) == ("POST", 200, "push")
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.body["messages"] == [{"type": "text", "text": "hello"}]
    [message] = emulator.sent_messages(to=USER)
    assert (message.id, message.message["text"], message.delivered) == (sent.id, "hello", True)
    assert emulator.quota_usage == 1


def test_reply_ok(emulator: LineEmulator, api: MessagingApi) -> None:
    """A reply with a registered reply token succeeds and is attributed to that token's user."""
    token = emulator.issue_reply_token(USER)
    response = api.reply_message(
        ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="a"), TextMessage(text="b")])
    )
    assert len(response.sent_messages) == 2
    assert [m.message["text"] for m in emulator.sent_messages(to=USER)] == ["a", "b"]
    assert emulator.quota_usage == 0


def test_reply_token_is_single_use(api: MessagingApi) -> None:
    """Using a reply token twice gives 400 "Invalid reply token"."""
    request = ReplyMessageRequest(reply_token="token-1", messages=[TextMessage(text="x")])
    api.reply_message(request)
    with pytest.raises(ApiException) as err:
        api.reply_message(request)
    assert err.value.status == 400 and '"Invalid reply token"' in err.value.body


def test_registered_reply_token_expires_after_a_minute(emulator: LineEmulator, api: MessagingApi) -> None:
    """A registered reply token is rejected once the emulator clock passes one minute."""
    token = emulator.issue_reply_token(USER)
    emulator.advance_time(61)
    with pytest.raises(ApiException) as err:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="x")]))
    assert err.value.status == 400


def test_wrong_token_is_401(emulator: LineEmulator) -> None:
    """A wrong channel access token gets LINE's 401 authentication error."""
    config = Configuration(access_token="wrong", host=emulator.base_url)
    with ApiClient(config) as client, pytest.raises(UnauthorizedException) as err:
        MessagingApi(client).push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))
    assert err.value.status == 401
    assert "Authentication failed" in err.value.body
    assert emulator.sent_messages() == []


def test_missing_authorization_is_401(raw: RawCall) -> None:
    """A request without an Authorization header gets 401."""
    response = raw("GET", "/v2/bot/message/quota", token=None)
    assert response.status == 401 and "Authorization header required" in response.body["message"]


def test_six_messages_is_400_with_details(raw: RawCall) -> None:
    """Six message objects in one push are rejected with a size detail on `messages`."""
    body = {"to": USER, "messages": [{"type": "text", "text": str(i)} for i in range(6)]}
    response = raw("POST", TEXT_PUSH, body)
    assert response.status == 400
    assert response.body == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }


def test_501_multicast_recipients_is_400(raw: RawCall) -> None:
    """Multicast to 501 user ids is rejected on `to`."""
    body = {"to": [f"U{i:032x}" for i in range(501)], "messages": [{"type": "text", "text": "x"}]}
    response = raw("POST", "/v2/bot/message/multicast", body)
    assert response.status == 400
    assert response.body["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]


def test_text_over_5000_utf16_units_is_400(api: MessagingApi) -> None:
    """Text is limited to 5000 UTF-16 code units: 2500 emoji pass, 5001 characters fail."""
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="😀" * 2500)]))
    with pytest.raises(ApiException) as err:
        api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="a" * 5001)]))
    assert err.value.status == 400
    assert _details(err.value) == [
        {"message": "Length must be between 1 and 5000", "property": "messages[0].text"}
    ]


def test_invalid_quick_reply_action_type_is_400(raw: RawCall) -> None:
    """An unknown action type inside a quick reply fails the Action discriminator check."""
    message = {
        "type": "text",
        "text": "pick",
        "quickReply": {
            "items": [
                {"type": "action", "action": {"type": "postback", "label": "ok", "data": "a=1"}},
                {"type": "action", "action": {"type": "teleport", "label": "go"}},
            ]
        },
    }
    response = raw("POST", TEXT_PUSH, {"to": USER, "messages": [message]})
    assert response.status == 400
    [detail] = response.body["details"]
    assert detail["property"] == "messages[0].quickReply.items[1].action.type"
    assert detail["message"].startswith("Must be one of the following values: [camera")


def test_unknown_message_type_is_400(raw: RawCall) -> None:
    """An unknown message type is rejected on `messages[0].type`."""
    response = raw("POST", TEXT_PUSH, {"to": USER, "messages": [{"type": "hologram"}]})
    assert response.status == 400 and response.body["details"][0]["property"] == "messages[0].type"


def test_quick_reply_label_and_postback_data_limits(raw: RawCall) -> None:
    """Quick reply labels are limited to 20 characters and postback data to 300."""
    action = {"type": "postback", "label": "x" * 21, "data": "d" * 301}
    message = {"type": "text", "text": "hi", "quickReply": {"items": [{"type": "action", "action": action}]}}
    response = raw("POST", TEXT_PUSH, {"to": USER, "messages": [message]})
    assert response.status == 400 and response.body["message"] == "The request body has 2 error(s)"
    props = {d["property"]: d["message"] for d in response.body["details"]}
    assert props == {
        "messages[0].quickReply.items[0].action.data": "Length must be between 0 and 300",
        "messages[0].quickReply.items[0].action.label": "Length must be between 0 and 20",
    }


def test_buttons_template_with_five_actions_is_400(api: MessagingApi) -> None:
    """A buttons template allows at most 4 actions and altText of at most 400 characters."""
    template = ButtonsTemplate(
        text="choose", actions=[MessageAction(label=f"b{i}", text="t") for i in range(5)]
    )
    with pytest.raises(ApiException) as err:
        api.push_message(
            PushMessageRequest(to=USER, messages=[TemplateMessage(alt_text="a" * 401, template=template)])
        )
    props = {d["property"]: d["message"] for d in _details(err.value)}
    assert props == {
        "messages[0].altText": "Length must be between 1 and 400",
        "messages[0].template.actions": "Size must be between 1 and 4",
    }


def test_flex_message_ok_and_button_label_limit(api: MessagingApi) -> None:
    """A Flex bubble is accepted; a Flex button label over 40 characters is rejected."""

    def bubble(label: str) -> FlexContainer:
        return FlexContainer.from_dict(
            {
                "type": "bubble",
                "body": {
                    "type": "box",
                    "layout": "vertical",
                    "contents": [
                        {"type": "text", "text": "Policy renewal"},
                        {
                            "type": "button",
                            "action": {"type": "uri", "label": label, "uri": "https://example.com"},
                        },
                    ],
                },
            }
        )

    api.push_message(
        PushMessageRequest(to=USER, messages=[FlexMessage(alt_text="alt", contents=bubble("y" * 40))])
    )
    with pytest.raises(ApiException) as err:
        api.push_message(
            PushMessageRequest(to=USER, messages=[FlexMessage(alt_text="a", contents=bubble("y" * 41))])
        )
    assert _details(err.value) == [
        {
            "message": "Length must be between 0 and 40",
            "property": "messages[0].contents.body.contents[1].action.label",
        }
    ]


def test_push_to_unknown_id_is_failed_to_send(emulator: LineEmulator, api: MessagingApi) -> None:
    """Push to a malformed id or a user marked unknown gives 400 "Failed to send messages"."""
    emulator.mark_unknown(OTHER_USER)
    for to in ("not-a-user", OTHER_USER):
        with pytest.raises(ApiException) as err:
            api.push_message(PushMessageRequest(to=to, messages=[TextMessage(text="x")]))
        assert err.value.status == 400 and err.value.body == '{"message": "Failed to send messages"}'
    assert emulator.sent_messages() == []


def test_push_to_blocked_user_is_200_but_not_delivered(emulator: LineEmulator, api: MessagingApi) -> None:
    """Push to a user who blocked the account succeeds but is recorded as undelivered and free."""
    emulator.block(USER)
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))
    [message] = emulator.sent_messages(to=USER)
    assert message.delivered is False
    assert emulator.sent_messages(delivered=True) == [] and emulator.quota_usage == 0


def test_multicast_skips_invalid_ids_and_counts_quota(emulator: LineEmulator, api: MessagingApi) -> None:
    """Multicast returns {} , skips malformed/unknown ids and counts one message per delivered user."""
    emulator.block(OTHER_USER)
    api.multicast(
        MulticastRequest(to=[USER, OTHER_USER, "bogus", "C" + "0" * 32], messages=[TextMessage(text="m")])
    )
    assert [m.to for m in emulator.sent_messages()] == [USER, OTHER_USER]
    assert emulator.quota_usage == 1
    assert api.get_message_quota_consumption().total_usage == 1


def test_broadcast_and_narrowcast(emulator: LineEmulator, api: MessagingApi) -> None:
    """Broadcast answers 200 {} and narrowcast 202 {} with a pollable progress request id."""
    api.broadcast(BroadcastRequest(messages=[TextMessage(text="all")]))
    info = api.narrowcast_with_http_info(NarrowcastRequest(messages=[TextMessage(text="some")]))
    assert info.status_code == 202
    progress = api.get_narrowcast_progress(info.headers["x-line-request-id"])
    assert progress.phase == "succeeded"
    assert [m.endpoint for m in emulator.sent_messages()] == ["broadcast", "narrowcast"]


def test_monthly_quota_limit(emulator: LineEmulator, api: MessagingApi) -> None:
    """With a monthly limit of 1 the second push gets 429 "You have reached your monthly limit."."""
    emulator.set_monthly_quota(1)
    quota = api.get_message_quota()
    assert (quota.type.value, quota.value) == ("limited", 1)
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="1")]))
    with pytest.raises(ApiException) as err:
        api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="2")]))
    assert err.value.status == 429 and "monthly limit" in err.value.body


def test_validate_endpoints(api: MessagingApi) -> None:
    """validate/push accepts a valid message and rejects an empty text with details."""
    assert api.validate_push(ValidateMessageRequest(messages=[TextMessage(text="ok")])) is None
    with pytest.raises(ApiException) as err:
        api.validate_reply(ValidateMessageRequest(messages=[TextMessage(text="")]))
    assert _details(err.value) == [{"message": "May not be empty", "property": "messages[0].text"}]
