"""Limits on public forms that hold under concurrency: every attempt is counted first (one INCR, atomic in
Redis), then compared, so twenty parallel tries against a limit of five let five through, never more.

A limit is a small value (`Limit("contact", 5, 3600)`): at most `most` attempts per key in a fixed window of
`seconds` that starts with the first attempt. Keys are digests: Redis never holds a phone number or 顧客ID.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from redis import Redis


@dataclass(frozen=True)
class Limit:
    """At most `most` attempts per key within `seconds`."""

    name: str
    most: int
    seconds: int


def digest(secret: str, value: str) -> str:
    """A keyed digest of a value that must not be stored as it is (a phone number, a client address)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def hit(redis: Redis, scope: str, checks: Iterable[tuple[Limit, str]]) -> Limit | None:
    """Count one attempt against each (limit, key) and return the first limit now exceeded, or None.

    Every counter is incremented even when an earlier one is over: an attacker spreading attempts over keys
    still spends them all."""
    checks = list(checks)
    pipe = redis.pipeline()
    for limit, key in checks:
        name = f"{scope}:{limit.name}:{key}"
        pipe.incr(name)
        pipe.expire(name, limit.seconds, nx=True)  # the window starts with the first attempt
    counts = pipe.execute()[::2]
    for (limit, _), count in zip(checks, counts, strict=True):
        if int(count) > limit.most:
            return limit
    return None


def over(redis: Redis, scope: str, limit: Limit, key: str) -> bool:
    """Whether `key` has used up `limit` already (a look, not an attempt)."""
    return int(redis.get(f"{scope}:{limit.name}:{key}") or 0) >= limit.most
