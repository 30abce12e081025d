"""The SMS service's throughput limit (40,000 messages an hour, seed 001), shared by every worker through Redis.

A sliding window: every grant is logged in a Redis sorted set with its time, and a grant is made only while the
grants of the last hour leave room, so no hour — whichever minute it starts at — carries more than the limit.
Checking and granting is one Lua script, atomic across workers and hosts. Time comes from the Redis server
(one clock for every worker) unless a test passes `now`.
"""

from __future__ import annotations

from redis import Redis

WINDOW_SECONDS = 3600.0

# KEYS: grants log (score = time, member = "seq:count"), running total, sequence.
# ARGV: now (negative = the server's clock), window, limit, wanted (0 = only report the wait).
# Returns {granted, seconds until one more may go} as strings (Lua numbers would be cut to integers).
_SCRIPT = """
local log, total_key, seq_key = KEYS[1], KEYS[2], KEYS[3]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, wanted = tonumber(ARGV[3]), tonumber(ARGV[4])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local total = tonumber(redis.call('GET', total_key) or '0')
local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
if #expired > 0 then
  for _, member in ipairs(expired) do
    total = total - tonumber(string.match(member, ':(%d+)$'))
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
end
if redis.call('ZCARD', log) == 0 then total = 0 end
local granted = math.max(0, math.min(wanted, limit - total))
if granted > 0 then
  local seq = redis.call('INCR', seq_key)
  redis.call('ZADD', log, now, seq .. ':' .. granted)
  total = total + granted
end
local ttl = math.ceil(window * 1000) + 60000
redis.call('SET', total_key, total, 'PX', ttl)
redis.call('PEXPIRE', log, ttl)
redis.call('PEXPIRE', seq_key, ttl)
local wait = 0
if total >= limit then
  -- when the oldest grants leave the window and free at least one place
  local excess = total - limit + 1
  local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    excess = excess - tonumber(string.match(entries[i], ':(%d+)$'))
    if excess <= 0 then
      wait = tonumber(entries[i + 1]) + window - now
      break
    end
  end
end
return {tostring(granted), tostring(wait)}
"""


class HourlyRateLimit:
    """At most `per_hour` SMS in any hour, for every process that uses the same Redis and key."""

    def __init__(
        self, redis: Redis, per_hour: int, key: str = "sms:rate", window_seconds: float = WINDOW_SECONDS
    ) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour, self.window = per_hour, window_seconds
        self._keys = [key, f"{key}:total", f"{key}:seq"]
        self._script = redis.register_script(_SCRIPT)

    def take(self, n: int, now: float | None = None) -> int:
        """How many of `n` messages may go now (0 … n); those are counted as sent."""
        if n < 0:
            raise ValueError("n must not be negative")
        granted, _ = self._run(n, now)
        return int(granted)

    def wait_seconds(self, now: float | None = None) -> float:
        """Seconds until one more message may go (0.0 when one may go now)."""
        _, wait = self._run(0, now)
        return max(0.0, wait)

    def _run(self, wanted: int, now: float | None) -> tuple[float, float]:
        moment = -1.0 if now is None else float(now)
        if now is not None and moment < 0:
            raise ValueError("now must not be negative")
        granted, wait = self._script(
            keys=self._keys, args=[repr(moment), repr(self.window), self.per_hour, wanted]
        )
        return float(granted), float(wait)
