"""X-Line-Retry-Key semantics and fault injection (errors, rate limits, timeouts) in the LINE emulator."""

from __future__ import annotations

import json
import uuid

import pytest
from linebot.v3.messaging import (
    ApiException,
    ErrorResponse,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ServiceException
from urllib3.exceptions import ReadTimeoutError

from devtools.line_emulator import LineEmulator
from tests.emulator.conftest import USER, RawCall

PUSH = "/v2/bot/message/push"


def _push(api: MessagingApi, key: str | None = None, text: str = "hello", **kwargs: object) -> object:
    return api.push_message(
        PushMessageRequest(to=USER, messages=[TextMessage(text=text)]), x_line_retry_key=key, **kwargs
    )


def test_same_retry_key_gets_409_with_original(emulator: LineEmulator, api: MessagingApi) -> None:
    """A repeated retry key gets 409, x-line-accepted-request-id and the original sentMessages."""
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(
        PushMessageRequest(to=USER, messages=[TextMessage(text="a")]), x_line_retry_key=key
    )
    with pytest.raises(ApiException) as err:
        _push(api, key)
    assert err.value.status == 409
    assert err.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert err.value.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    error = ErrorResponse.from_json(err.value.body)
    assert error.message == "The retry key is already accepted"
    assert error.sent_messages == first.data.sent_messages
    assert len(emulator.sent_messages()) == 1


def test_different_retry_key_is_a_new_send(emulator: LineEmulator, api: MessagingApi) -> None:
    """A different retry key is a new request and sends again."""
    _push(api, str(uuid.uuid4()))
    _push(api, str(uuid.uuid4()))
    assert len(emulator.sent_messages()) == 2


def test_multicast_409_has_no_sent_messages(api: MessagingApi) -> None:
    """For multicast the 409 body carries only the message (sentMessages is push-only)."""
    key = str(uuid.uuid4())
    request = MulticastRequest(to=[USER], messages=[TextMessage(text="m")])
    api.multicast(request, x_line_retry_key=key)
    with pytest.raises(ApiException) as err:
        api.multicast(request, x_line_retry_key=key)
    assert err.value.status == 409
    assert json.loads(err.value.body) == {"message": "The retry key is already accepted"}


def test_retry_after_injected_500_succeeds(emulator: LineEmulator, api: MessagingApi) -> None:
    """A request that failed with an injected 500 does not accept its key, so the retry gets 200."""
    emulator.inject("push", "server_error")
    key = str(uuid.uuid4())
    with pytest.raises(ServiceException) as err:
        _push(api, key)
    assert err.value.status == 500
    assert _push(api, key).sent_messages
    with pytest.raises(ApiException) as again:
        _push(api, key)
    assert again.value.status == 409


def test_failed_validation_does_not_accept_key(raw: RawCall) -> None:
    """A 400 for an invalid body leaves the retry key unused."""
    key = str(uuid.uuid4())
    bad = raw("POST", PUSH, {"to": USER, "messages": []}, headers={"X-Line-Retry-Key": key})
    good = raw(
        "POST",
        PUSH,
        {"to": USER, "messages": [{"type": "text", "text": "x"}]},
        headers={"X-Line-Retry-Key": key},
    )
    assert (bad.status, good.status) == (400, 200)


def test_retry_key_on_reply_is_400(api: MessagingApi) -> None:
    """X-Line-Retry-Key is rejected on reply, which doesn't support it."""
    with pytest.raises(ApiException) as err:
        api.reply_message(
            ReplyMessageRequest(reply_token="r", messages=[TextMessage(text="x")]),
            _headers={"X-Line-Retry-Key": str(uuid.uuid4())},
        )
    assert err.value.status == 400 and "X-Line-Retry-Key is not supported" in err.value.body


def test_retry_key_must_be_a_uuid(api: MessagingApi) -> None:
    """A retry key that is not a hex UUID is 400."""
    with pytest.raises(ApiException) as err:
        _push(api, "not-a-uuid")
    assert err.value.status == 400 and "X-Line-Retry-Key" in err.value.body


def test_retry_key_expires_after_24_hours(emulator: LineEmulator, api: MessagingApi) -> None:
    """A retry key is remembered for 24 h on the emulator clock and is a new request afterwards."""
    key = str(uuid.uuid4())
    _push(api, key)
    emulator.advance_time(24 * 3600 - 1)
    with pytest.raises(ApiException) as err:
        _push(api, key)
    assert err.value.status == 409
    emulator.advance_time(2)
    assert _push(api, key).sent_messages
    assert len(emulator.sent_messages()) == 2


def test_injected_429_rate_limit_vs_monthly_quota(emulator: LineEmulator, api: MessagingApi) -> None:
    """Injected 429s carry LINE's distinct rate-limit and monthly-quota messages, then clear."""
    emulator.inject(PUSH, "rate_limit")
    emulator.inject(PUSH, "monthly_quota")
    bodies = []
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            _push(api)
        assert err.value.status == 429
        bodies.append(json.loads(err.value.body))
    assert bodies == [{"message": "Too many requests"}, {"message": "You have reached your monthly limit."}]
    assert _push(api).sent_messages


def test_injected_arbitrary_status(emulator: LineEmulator, api: MessagingApi) -> None:
    """An injected `status` fault answers with the given status and body, `times` times."""
    emulator.inject(
        "profile",
        "status",
        times=2,
        status=403,
        body={"message": "Access to this API is not available for your account"},
    )
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            api.get_profile(USER)
        assert err.value.status == 403
    assert api.get_profile(USER).user_id == USER


def test_timeout_raises_read_timeout_and_is_not_processed(emulator: LineEmulator, api: MessagingApi) -> None:
    """An injected timeout makes the SDK raise ReadTimeoutError; nothing is sent, so a retry gets 200."""
    emulator.inject(PUSH, "timeout", delay=1.0)
    key = str(uuid.uuid4())
    with pytest.raises(ReadTimeoutError):
        _push(api, key, _request_timeout=(1, 0.5))
    assert emulator.sent_messages() == []
    assert _push(api, key).sent_messages


def test_accepted_timeout_gives_409_on_retry(emulator: LineEmulator, api: MessagingApi) -> None:
    """With accepted=True LINE processed the push before the response was lost: the retry gets 409."""
    emulator.inject(PUSH, "timeout", delay=1.0, accepted=True)
    key = str(uuid.uuid4())
    with pytest.raises(ReadTimeoutError):
        _push(api, key, _request_timeout=(1, 0.5))
    [delivered] = emulator.sent_messages(to=USER)
    with pytest.raises(ApiException) as err:
        _push(api, key)
    assert err.value.status == 409
    assert ErrorResponse.from_json(err.value.body).sent_messages[0].id == delivered.id
    assert len(emulator.sent_messages()) == 1
