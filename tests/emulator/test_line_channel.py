"""The LINE channel against the emulator: each outcome a worker acts on, and exactly one delivery per ledger row
however often it is retried."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.channels.line import LinePusher, retry_key
from bot.delivery.channels.result import Outcome
from devtools.line_emulator import LineEmulator
from tests.emulator.conftest import TOKEN, USER

PUSH = "/v2/bot/message/push"
HELLO = [{"type": "text", "text": "こんにちは"}]
CREATED = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def pusher(emulator: LineEmulator):
    with LinePusher(emulator.base_url, TOKEN, timeout=(1.0, 0.5)) as line:
        yield line


def test_retry_keys_are_stable_per_ledger_row():
    """Every attempt at one row uses one key; another row gets another."""
    assert retry_key(7, CREATED) == retry_key(7, CREATED) != retry_key(8, CREATED)


def test_sent_then_a_retry_of_the_same_row_is_not_a_second_message(emulator, pusher):
    """200, then 409 for the same key: both 'sent', one message in the user's chat."""
    key = retry_key(1, CREATED)
    first = pusher.push(USER, HELLO, key)
    again = pusher.push(USER, HELLO, key)
    assert first.outcome is again.outcome is Outcome.SENT
    assert again.provider_id == first.provider_id  # LINE's accepted request id
    assert len(emulator.sent_messages(to=USER)) == 1


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("rate_limit", Outcome.RETRY),
        ("monthly_quota", Outcome.STOP_CHANNEL),
        ("server_error", Outcome.RETRY),
    ],
)
def test_429_and_5xx(emulator, pusher, fault, outcome):
    """429 rate limit and 5xx: retry later; 429 monthly quota: stop the channel. Nothing was delivered."""
    emulator.inject(PUSH, fault)
    result = pusher.push(USER, HELLO, retry_key(2, CREATED))
    assert result.outcome is outcome
    assert emulator.sent_messages() == []
    assert pusher.push(USER, HELLO, retry_key(2, CREATED)).outcome is Outcome.SENT


def test_a_lost_response_then_a_retry_delivers_once(emulator, pusher):
    """LINE accepted the push but the response timed out: the retry is answered 409, one message in the chat."""
    emulator.inject(PUSH, "timeout", delay=1.0, accepted=True)
    key = retry_key(3, CREATED)
    assert pusher.push(USER, HELLO, key).outcome is Outcome.RETRY
    assert pusher.push(USER, HELLO, key).outcome is Outcome.SENT
    assert len(emulator.sent_messages(to=USER)) == 1


def test_a_bad_request_fails_with_lines_reason(emulator, pusher):
    """Other 4xx are final: failed, with LINE's message and no user id or text in the reason."""
    result = pusher.push(USER, [{"type": "text", "text": ""}], retry_key(4, CREATED))
    assert result.outcome is Outcome.FAILED
    assert result.reason.startswith("400") and USER not in result.reason
    assert emulator.sent_messages() == []
