"""``LineEmulator``: runs the emulated LINE Messaging API on loopback in a background thread.

    with LineEmulator(channel_access_token="test-token") as line:
        conf = Configuration(access_token="test-token", host=line.base_url)
        ...
        assert line.sent_messages(to=user_id)[0].message["text"] == "hello"

The werkzeug request log is silenced (it would print paths containing user ids); the app logs
only method, endpoint template and status on the ``devtools.line_emulator`` logger.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devtools.line_emulator.app import EmulatorApp
from devtools.line_emulator.faults import Fault
from devtools.line_emulator.state import Clock, EmulatorState, RecordedRequest, SentMessage, UserRecord


class _QuietHandler(WSGIRequestHandler):
    """Request handler that neither logs request lines nor complains about dropped clients."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


class LineEmulator:
    """A local stand-in for ``https://api.line.me`` (see the package docstring)."""

    def __init__(
        self,
        channel_access_token: str = "test-token",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] | None = None,
        monthly_quota: int | None = None,
        max_records: int = 10_000,
        validate_every: int = 1,
    ) -> None:
        self.state = EmulatorState(
            channel_access_token, Clock(clock), monthly_quota, max_records, validate_every
        )
        self.app = EmulatorApp(self.state)
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind (port 0 = any free port) and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"line-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port`` without a trailing slash; pass it as ``Configuration(host=...)``."""
        if self._server is None and self.port == 0:
            raise RuntimeError("LineEmulator is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def channel_access_token(self) -> str:
        return self.state.channel_access_token

    # inspection --------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every recorded API request (control calls excluded), oldest first."""
        return self.state.requests()

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path starts with ``path_prefix`` (optionally one method)."""
        return [
            r
            for r in self.state.requests()
            if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
        ]

    def sent_messages(self, to: str | None = None, delivered: bool | None = None) -> list[SentMessage]:
        """Message objects LINE accepted, optionally for one recipient / only (un)delivered ones."""
        return [
            m
            for m in self.state.sent()
            if (to is None or m.to == to) and (delivered is None or m.delivered == delivered)
        ]

    @property
    def quota_usage(self) -> int:
        return self.state.usage

    def link_token_owner(self, token: str, consume: bool = False) -> str | None:
        """User id a still-valid link token was issued for (None if unknown/expired/used)."""
        return self.state.link_token_owner(token, consume=consume)

    # control -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget requests, deliveries, users, tokens, resources, faults and quota usage."""
        self.state.reset()

    def inject(
        self,
        target: str,
        kind: str,
        times: int | None = 1,
        *,
        delay: float = 1.0,
        accepted: bool = False,
        status: int | None = None,
        body: dict[str, Any] | None = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Make the next ``times`` matching requests fail (see ``faults.py`` for the kinds)."""
        return self.state.faults.add(
            Fault(
                target=target,
                kind=kind,
                remaining=times,
                delay=delay,
                accepted=accepted,
                status=status,
                body=body,
                method=method,
                headers=dict(headers or {}),
            )
        )

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def set_user(
        self,
        user_id: str,
        status: str = "friend",
        *,
        display_name: str | None = None,
        picture_url: str | None = None,
        status_message: str | None = None,
        language: str | None = "ja",
    ) -> UserRecord:
        """Register a user as ``friend``, ``blocked`` or ``unknown`` (with an optional profile)."""
        return self.state.set_user(
            user_id,
            status,
            display_name=display_name,
            picture_url=picture_url,
            status_message=status_message,
            language=language,
        )

    def add_friend(self, user_id: str, **profile: Any) -> UserRecord:
        return self.set_user(user_id, "friend", **profile)

    def block(self, user_id: str) -> UserRecord:
        return self.set_user(user_id, "blocked")

    def mark_unknown(self, user_id: str) -> UserRecord:
        return self.set_user(user_id, "unknown")

    def add_content(
        self,
        user_id: str | None,
        data: bytes,
        content_type: str,
        kind: str = "image",
        transcoding: str | None = None,
    ) -> str:
        """What ``user_id`` sent in a message (a photo, a video still ``processing`` …): the message id LINE
        issued, to put in the webhook event; the content API serves the bytes under it."""
        return self.state.add_content(user_id, kind, data, content_type, transcoding)

    def set_transcoding(self, message_id: str, status: str) -> None:
        """A video's preparation moves on: ``succeeded`` (fetchable) or ``failed``."""
        self.state.set_transcoding(message_id, status)

    def issue_reply_token(self, user_id: str | None = None) -> str:
        """A reply token tied to ``user_id`` that expires after 1 minute (emulator clock)."""
        return self.state.register_reply_token(user_id)

    def set_monthly_quota(self, limit: int | None) -> None:
        """``None`` = no target limit (quota type ``none``); otherwise pushes beyond it get 429."""
        self.state.monthly_quota = limit

    def advance_time(self, seconds: float) -> None:
        """Move the emulator clock forward (expires retry keys, link and reply tokens)."""
        self.state.clock.advance(seconds)

    def now(self) -> float:
        return self.state.clock.now()
