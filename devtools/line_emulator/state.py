"""In-memory state of the LINE emulator: recorded requests, deliveries, users, tokens, resources.

Everything is guarded by one re-entrant lock so the threaded server and test code can use it
concurrently.  Time comes from an injectable ``Clock`` so tests can expire retry keys (24 h),
link tokens (10 min) and registered reply tokens (1 min) without sleeping.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from devtools.line_emulator.faults import FaultRegistry

USER_ID = re.compile(r"^U[0-9a-f]{32}$")
GROUP_OR_ROOM_ID = re.compile(r"^[CR][0-9a-f]{32}$")
USER_STATUSES = ("friend", "blocked", "unknown")
RETRY_KEY_TTL = 24 * 3600.0
LINK_TOKEN_TTL = 600.0
REPLY_TOKEN_TTL = 60.0
DUMMY_REPLY_TOKENS = frozenset({"0" * 32, "f" * 32})
MAX_RECORDS = 10_000  # per list; the oldest entries are dropped in long dev sessions


class Clock:
    """Wall clock (or ``source``) plus an offset that tests can ``advance``."""

    def __init__(self, source: Callable[[], float] | None = None) -> None:
        self._source = source or time.time
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class RecordedRequest:
    """One API request as the emulator saw it (``status`` is filled in once answered)."""

    request_id: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    time: float
    endpoint: str | None = None
    status: int | None = None
    response: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SentMessage:
    """One message object LINE accepted for one recipient (``to`` is None for broadcasts)."""

    id: str
    message: dict[str, Any]
    endpoint: str
    request_id: str
    time: float
    to: str | None = None
    reply_token: str | None = None
    delivered: bool = True
    quote_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UserRecord:
    """A user as LINE knows it: ``friend``, ``blocked`` (blocked the OA) or ``unknown``."""

    user_id: str
    status: str = "friend"
    display_name: str | None = None
    picture_url: str | None = None
    status_message: str | None = None
    language: str | None = "ja"

    def profile(self) -> dict[str, Any]:
        body = {
            "displayName": self.display_name or f"User {self.user_id[-6:]}",
            "userId": self.user_id,
            "pictureUrl": self.picture_url,
            "statusMessage": self.status_message,
            "language": self.language,
        }
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class AcceptedKey:
    request_id: str
    accepted_at: float
    sent_messages: list[dict[str, Any]] | None = None


@dataclass
class LinkToken:
    user_id: str
    issued_at: float
    used: bool = False


TRANSCODING = ("processing", "succeeded", "failed")
CONTENT_KINDS = ("image", "video", "audio", "file")


@dataclass
class UploadedContent:
    """What a user sent in a message (a photo, a video, a file) as LINE keeps it for the bot to fetch. Videos and
    audio are prepared (transcoded) first: `processing` until `succeeded` or `failed`."""

    user_id: str | None
    kind: str
    data: bytes
    content_type: str
    transcoding: str = "succeeded"


@dataclass
class Resources:
    """Mutable per-reset collections (kept together so ``reset`` is one assignment)."""

    requests: list[RecordedRequest] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    users: dict[str, UserRecord] = field(default_factory=dict)
    retry_keys: dict[str, AcceptedKey] = field(default_factory=dict)
    link_tokens: dict[str, LinkToken] = field(default_factory=dict)
    reply_tokens: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)
    used_reply_tokens: set[str] = field(default_factory=set)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_rich_menus: dict[str, str] = field(default_factory=dict)
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    narrowcasts: dict[str, float] = field(default_factory=dict)
    contents: dict[str, UploadedContent] = field(default_factory=dict)
    usage: int = 0


class EmulatorState:
    """All emulator state; route handlers and ``LineEmulator`` work through this object."""

    def __init__(
        self,
        channel_access_token: str,
        clock: Clock | None = None,
        monthly_quota: int | None = None,
        max_records: int = MAX_RECORDS,
        validate_every: int = 1,
    ) -> None:
        self.max_records = max_records
        # 1 = every request body is checked against messaging-api.yml; N = one in N (benchmarks, where the
        # check would cost the emulator more than the client under test spends on the request)
        self.validate_every = validate_every
        self._bodies = itertools.count()
        self.channel_access_token = channel_access_token
        self.clock = clock or Clock()
        self.monthly_quota = monthly_quota
        self.lock = threading.RLock()
        self.send_lock = threading.Lock()  # serialises retry-key check -> send -> accept
        self.faults = FaultRegistry()
        self.data = Resources()
        self._ids = itertools.count(600_000_000_000_000_001)

    def reset(self) -> None:
        with self.lock:
            self.data = Resources()
            self.faults.clear()

    # ids -----------------------------------------------------------------------------------
    def next_message_id(self) -> str:
        with self.lock:
            return str(next(self._ids))

    # message content ------------------------------------------------------------------------
    def add_content(
        self, user_id: str | None, kind: str, data: bytes, content_type: str, transcoding: str | None = None
    ) -> str:
        """A message a user sent with content (issued a message id here, as LINE does); its id."""
        if kind not in CONTENT_KINDS:
            raise ValueError(f"type must be one of {CONTENT_KINDS}")
        status = transcoding or "succeeded"
        if status not in TRANSCODING or (kind not in ("video", "audio") and status != "succeeded"):
            raise ValueError(f"transcoding must be one of {TRANSCODING}, and only videos and audio have one")
        message_id = self.next_message_id()
        with self.lock:
            self.data.contents[message_id] = UploadedContent(user_id, kind, data, content_type, status)
        return message_id

    def set_transcoding(self, message_id: str, status: str) -> None:
        if status not in TRANSCODING:
            raise ValueError(f"transcoding must be one of {TRANSCODING}")
        with self.lock:
            self.data.contents[message_id].transcoding = status

    def content(self, message_id: str) -> UploadedContent | None:
        with self.lock:
            return self.data.contents.get(message_id)

    def sample_validation(self) -> bool:
        with self.lock:
            return next(self._bodies) % self.validate_every == 0

    # recording -----------------------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.data.requests.append(request)
            del self.data.requests[: -self.max_records]

    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self.data.requests)

    def add_sent(self, messages: list[SentMessage]) -> None:
        with self.lock:
            self.data.sent.extend(messages)
            del self.data.sent[: -self.max_records]

    def sent(self) -> list[SentMessage]:
        with self.lock:
            return list(self.data.sent)

    # users ---------------------------------------------------------------------------------
    def set_user(self, user_id: str, status: str = "friend", **profile: Any) -> UserRecord:
        if status not in USER_STATUSES:
            raise ValueError(f"status must be one of {USER_STATUSES}")
        record = UserRecord(user_id=user_id, status=status, **profile)
        with self.lock:
            self.data.users[user_id] = record
        return record

    def user_status(self, chat_id: str) -> str:
        """``friend``/``blocked``/``unknown``; valid-looking unregistered ids are friends."""
        with self.lock:
            if chat_id in self.data.users:
                return self.data.users[chat_id].status
        return "friend" if USER_ID.match(chat_id) or GROUP_OR_ROOM_ID.match(chat_id) else "unknown"

    def user(self, user_id: str) -> UserRecord:
        with self.lock:
            return self.data.users.get(user_id) or UserRecord(user_id=user_id)

    def friends(self) -> list[str]:
        with self.lock:
            return [u.user_id for u in self.data.users.values() if u.status == "friend"]

    # retry keys ----------------------------------------------------------------------------
    def accepted_key(self, key: str) -> AcceptedKey | None:
        with self.lock:
            accepted = self.data.retry_keys.get(key)
            if accepted and self.clock.now() - accepted.accepted_at >= RETRY_KEY_TTL:
                del self.data.retry_keys[key]
                return None
            return accepted

    def accept_key(self, key: str, request_id: str, sent_messages: list[dict[str, Any]] | None) -> None:
        with self.lock:
            self.data.retry_keys[key] = AcceptedKey(request_id, self.clock.now(), sent_messages)

    # quota ---------------------------------------------------------------------------------
    def quota_allows(self, count: int) -> bool:
        with self.lock:
            return self.monthly_quota is None or self.data.usage + count <= self.monthly_quota

    def consume_quota(self, count: int) -> None:
        with self.lock:
            self.data.usage += count

    @property
    def usage(self) -> int:
        with self.lock:
            return self.data.usage

    # link tokens ---------------------------------------------------------------------------
    def issue_link_token(self, user_id: str) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.data.link_tokens[token] = LinkToken(user_id, self.clock.now())
        return token

    def link_token_owner(self, token: str, consume: bool = False) -> str | None:
        """User a valid (unexpired, unused) link token was issued for; ``consume`` marks it used."""
        with self.lock:
            link = self.data.link_tokens.get(token)
            if link is None or link.used or self.clock.now() - link.issued_at >= LINK_TOKEN_TTL:
                return None
            link.used = link.used or consume
            return link.user_id

    # reply tokens --------------------------------------------------------------------------
    def register_reply_token(self, user_id: str | None, token: str | None = None) -> str:
        token = token or secrets.token_hex(16)
        with self.lock:
            self.data.reply_tokens[token] = (user_id, self.clock.now())
        return token

    def use_reply_token(self, token: str) -> tuple[bool, str | None]:
        """Spend a reply token: (valid, user it belongs to if registered).  Tokens are single-use."""
        with self.lock:
            if not token or token in DUMMY_REPLY_TOKENS or token in self.data.used_reply_tokens:
                return False, None
            user_id, issued_at = self.data.reply_tokens.get(token, (None, None))
            if issued_at is not None and self.clock.now() - issued_at > REPLY_TOKEN_TTL:
                return False, None
            self.data.used_reply_tokens.add(token)
            return True, user_id
