"""LINE push through the Messaging API (line-bot-sdk v3), with the outcome a delivery worker acts on.

Every push carries an `X-Line-Retry-Key` derived from its row (a ledger row or a staff notice, each table in
its own key space), so a retry after a crash or a lost response is answered 409 by LINE (already accepted)
instead of delivering the message twice. Time-outs are explicit. What comes back is one of: sent (200, or 409
for a retry LINE had accepted), retry later (429 rate limit, 5xx, time-out, connection error), quota exhausted
(429 monthly limit: stop the channel and alert), or failed with LINE's reason (other 4xx). LINE keeps a retry
key for 24 hours: callers stop retrying after 23 (bot/delivery/windows.py).
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from linebot.v3.messaging import ApiClient, ApiException, Configuration
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.delivery.channels.result import Outcome, SendResult

MONTHLY_LIMIT = "You have reached your monthly limit."


MULTICAST_LIMIT = 500  # recipients per multicast request
PUSH_PATH = "/v2/bot/message/push"
REPLY_PATH = "/v2/bot/message/reply"
MULTICAST_PATH = "/v2/bot/message/multicast"
LOADING_PATH = "/v2/bot/chat/loading/start"
MARK_READ_PATH = "/v2/bot/chat/markAsRead"
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True)
class KeySpace:
    """Where one table's retry keys come from: a UUID namespace and the label of its rows. Fixed forever: a
    row still being retried must get the key its first attempt had."""

    namespace: uuid.UUID
    label: str


DELIVERY_KEYS = KeySpace(uuid.UUID("6f1d4b52-3c8e-4c57-9a3e-2b7f0d9c4e11"), "delivery")  # the ledger's rows
NOTICE_KEYS = KeySpace(uuid.UUID("0b6f2a8e-53d4-4c1e-9f0a-7d2c6b9e8a31"), "staff_notice")  # staff notices


def retry_key(row_id: int, created_at: datetime, space: KeySpace = DELIVERY_KEYS) -> str:
    """The same key for every attempt at one row (its id and creation time), a new one for another row."""
    return str(uuid.uuid5(space.namespace, f"{space.label}:{row_id}:{created_at.isoformat()}"))


def group_retry_key(batch_key: str) -> str:
    """The key of one multicast group (a broadcast's recipients 1–500, 501–1000 …): the same on every retry."""
    return str(uuid.uuid5(DELIVERY_KEYS.namespace, f"multicast:{batch_key}"))


@dataclass(frozen=True)
class LineMessage:
    """One row's messages to one LINE user or group: by reply with `reply_token` when it has one, else by push
    under the row's retry `key`."""

    to: str
    messages: list[dict[str, Any]]
    key: str
    reply_token: str | None = None


class LinePusher:
    """Keep-alive HTTP connections for many pushes (a worker's batch), closed with `close()` or `with`.

    `concurrency` pushes are in flight at once, each on its own pooled connection: a push waits on the network
    most of its time, so a few threads multiply a worker's throughput.
    """

    def __init__(
        self,
        base_url: str,
        access_token: str,
        timeout: tuple[float, float] = (3.05, 10.0),
        concurrency: int = 1,
    ) -> None:
        configuration = Configuration(access_token=access_token, host=base_url)
        configuration.connection_pool_maxsize = concurrency
        self._client = ApiClient(configuration)
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(concurrency, "line-push") if concurrency > 1 else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self._client.close()

    def reply_or_push(self, items: list[LineMessage]) -> list[SendResult]:
        """Each item by reply when it has a token, by push otherwise or when LINE refuses the token (spent,
        expired); results in the same order. A reply to try again (time-out, 5xx, 429) is not pushed now: LINE
        may have it, and the caller's retry goes by push, under the key."""
        results: dict[int, SendResult] = {}
        for index, item in enumerate(items):
            if item.reply_token:
                answer = self.reply(item.reply_token, item.messages)
                if answer.outcome is not Outcome.FAILED:
                    results[index] = answer
        rest = [index for index in range(len(items)) if index not in results]
        pushed = self.push_many([(items[i].to, items[i].messages, items[i].key) for i in rest])
        results.update(zip(rest, pushed, strict=True))
        return [results[index] for index in range(len(items))]

    def push_many(self, pushes: list[tuple[str, list[dict[str, Any]], str]]) -> list[SendResult]:
        """(to, messages, retry key) each; results in the same order."""
        if self._pool is None:
            return [self.push(*one) for one in pushes]
        return list(self._pool.map(lambda one: self.push(*one), pushes))

    def multicast(self, to: list[str], messages: list[dict[str, Any]], key: str) -> SendResult:
        """The same messages to up to 500 users in one request (LINE drops ids that cannot receive)."""
        if not 1 <= len(to) <= MULTICAST_LIMIT:
            raise ValueError(f"a multicast takes 1–{MULTICAST_LIMIT} recipients, not {len(to)}")
        return self._post(MULTICAST_PATH, {"to": to, "messages": messages}, key)

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendResult:
        """An answer to the customer's message: free of the monthly quota, but single-use, valid about a minute,
        and without a retry key (LINE refuses one on replies). An invalid or used token is FAILED 400."""
        return self._post(REPLY_PATH, {"replyToken": reply_token, "messages": messages}, None)

    def push(self, to: str, messages: list[dict[str, Any]], key: str) -> SendResult:
        return self._post(PUSH_PATH, {"to": to, "messages": messages}, key)

    def show_loading(self, chat_id: str, seconds: int) -> SendResult:
        """LINE's loading animation in a 1:1 chat (5–60 seconds, in fives; it stops at our next message)."""
        return self._post(LOADING_PATH, {"chatId": chat_id, "loadingSeconds": seconds}, None)

    def mark_read(self, read_token: str) -> SendResult:
        """Mark the user's messages read up to the one the token came with (the webhook's markAsReadToken)."""
        return self._post(MARK_READ_PATH, {"markAsReadToken": read_token}, None)

    def _post(self, path: str, body: dict[str, Any], key: str | None) -> SendResult:
        # The SDK's own client (auth, host, pooled connections), without building its request and response
        # models: those cost a third of a push's CPU, and the bodies are ours (checked against LINE's spec by
        # the emulator in the tests).
        try:
            response = self._client.call_api(
                path,
                "POST",
                header_params={**_HEADERS, "X-Line-Retry-Key": key} if key else _HEADERS,
                body=body,
                response_types_map={},
                auth_settings=["Bearer"],
                _return_http_data_only=False,
                _request_timeout=self._timeout,
            )
        except ApiException as exc:
            return _from_error(exc)
        except (Urllib3Error, OSError) as exc:  # time-out or connection: LINE may or may not have it; retry
            return SendResult(Outcome.RETRY, reason=type(exc).__name__)
        return SendResult(Outcome.SENT, provider_id=(response.headers or {}).get("x-line-request-id"))


def _from_error(exc: ApiException) -> SendResult:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    message = _message(exc.body)
    if exc.status == 409:
        return SendResult(Outcome.SENT, provider_id=headers.get("x-line-accepted-request-id"), reason="409")
    if exc.status == 429:
        outcome = Outcome.STOP_CHANNEL if message == MONTHLY_LIMIT else Outcome.RETRY
        return SendResult(outcome, reason=message)
    if exc.status is not None and exc.status >= 500:
        return SendResult(Outcome.RETRY, reason=f"{exc.status} {message or ''}".strip())
    return SendResult(Outcome.FAILED, reason=f"{exc.status} {message or ''}".strip())


def _message(body: object) -> str | None:
    try:
        return json.loads(body).get("message") if body else None  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return None
