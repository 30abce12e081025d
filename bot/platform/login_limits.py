"""Limits on guessing a secret (a staff token, a password): tries counted in Redis under several limits at once
(per client address, across all clients …), each in a fixed window that starts with its first try.

Increment first, then compare: a try takes its place in every count before the secret is checked, so however many
tries arrive in parallel, at most `most` of them are checked per limit and window. A try that turns out right gives
its places back (`give_back`), so only wrong and refused tries are left counted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis

# Decrement only keys that still exist: a window that lapsed meanwhile must not come back as a key without expiry.
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    """At most `most` tries counted under `key` per window (its own `seconds`, else the call's)."""

    key: str
    most: int
    seconds: int | None = None


@dataclass(frozen=True)
class Attempt:
    """One try: allowed to be checked, or refused until `retry_after` seconds from now."""

    allowed: bool
    retry_after: int = 0
    refused_by: str | None = None  # the key of the limit that refused it
    taken: tuple[str, ...] = ()  # the counts this try is in, to give back when it was right


def subject_key(secret: str, subject: str) -> str:
    """What a limit counts under, for a subject that must not be stored as it is (a client address, a phone
    number, a 顧客ID): a keyed digest, so that Redis holds nothing hashing every candidate could give back."""
    return hmac.new(secret.encode(), subject.encode(), hashlib.sha256).hexdigest()[:32]


def take(redis: Redis, limits: Sequence[Limit], window_seconds: int | None = None) -> Attempt:
    """Count one try under each limit in turn; refused at the first limit it exceeds.

    The refusing count keeps the try (it is over its limit anyway, and a fixed window is not prolonged by it);
    the counts taken before it give theirs back, so a client locked by its own limit does not use up the global
    one, nor a global lock-out the clients' own.
    """
    taken: list[str] = []
    for limit in limits:
        with redis.pipeline(transaction=True) as pipe:  # the window starts with the first try, atomically
            seconds = limit.seconds or window_seconds
            if not seconds:
                raise ValueError(f"limit {limit.key} has no window")
            pipe.set(limit.key, 0, ex=seconds, nx=True).incr(limit.key).ttl(limit.key)
            _, count, ttl = pipe.execute()
        if int(count) > limit.most:
            give_back(redis, Attempt(True, taken=tuple(taken)))
            return Attempt(False, retry_after=max(int(ttl), 1), refused_by=limit.key)
        taken.append(limit.key)
    return Attempt(True, taken=tuple(taken))


def give_back(redis: Redis, attempt: Attempt) -> None:
    """Take a try that was right out of the counts again."""
    if attempt.taken:
        redis.eval(_GIVE_BACK, len(attempt.taken), *attempt.taken)
