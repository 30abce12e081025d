"""Checking a staff token (DASHBOARD_TOKEN) someone presents, under limits on wrong tries (bot/platform/login_limits.py):
per client address and across all addresses, so guessing stays hopeless from one address or a botnet of them.

Wrong tokens: 10 per client address and 100 across all addresses per window. The window is fixed: it starts with
the first wrong try and lapses FAILURE_SECONDS later whatever happens meanwhile, so Retry-After is exact and tries
refused while locked do not prolong it. That bounds guessing to 9,600 tries a day at most, hopeless against a
random token. Over either limit even the right token is refused: the lock must not tell a guesser when they hit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from redis import Redis

from bot.platform import login_limits

MAX_FAILURES = 10
MAX_FAILURES_ALL = 100
FAILURE_SECONDS = 900
ALL_FAILURES_KEY = "dashboard:fails:all"


class Outcome(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    retry_after: int = 0  # seconds, when locked


def check_token(redis: Redis, token: str, given: str, address: str) -> Verdict:
    """Count the try first, then compare `given` with `token` (in constant time) if the limits allow it.

    Raises RedisError when the counts cannot be kept: the caller refuses then (closed rather than unlimited).
    """
    attempt = login_limits.take(redis, _limits(token, address), FAILURE_SECONDS)
    if not attempt.allowed:
        return Verdict(Outcome.LOCKED, attempt.retry_after)
    if not secrets.compare_digest(given.encode(), token.encode()):
        return Verdict(Outcome.WRONG)
    login_limits.give_back(redis, attempt)
    return Verdict(Outcome.RIGHT)


def _limits(token: str, address: str) -> tuple[login_limits.Limit, ...]:
    client = login_limits.subject_key(token, address)  # keyed with the token
    return (
        login_limits.Limit(f"dashboard:fails:client:{client}", MAX_FAILURES),
        login_limits.Limit(ALL_FAILURES_KEY, MAX_FAILURES_ALL),
    )
