"""What a channel answers for one message, the same for LINE, SMS, email and push, so that the delivery worker
handles every channel with one rule: sent → record it; retry → try again later (with backoff, within the time
the channel allows); stop channel → hold everything on that channel and alert an operator (LINE's monthly
quota, an SMS account suspended); failed → final, with a reason that never holds the text or the address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    STOP_CHANNEL = "stop_channel"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None  # the provider's id of the message (LINE request id, SMS id, Message-ID)
    reason: str | None = None  # the provider's status or error class; never the message text or the address
    retry_after: float | None = None  # seconds, when the provider said how long to wait


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds (it is a number of seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
