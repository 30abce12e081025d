"""App push notifications through Firebase Cloud Messaging (FCM HTTP v1), with the outcome a worker acts on.

A notification goes to one device token of the insurer's app: a title, a body and optionally a link the app
opens. What comes back is sent (FCM's message name), retry later (429, 500, 503, time-out, connection error;
with FCM's Retry-After when given), stop the channel (401/403: our credentials or project are refused) or
failed (the token is unregistered or invalid), with FCM's status as the reason, never the token or the text.

The OAuth access token is configured (FCM_ACCESS_TOKEN) rather than minted from a service account here, and
its refresh (Google tokens live an hour) is left out: a 401 stops the channel until it is replaced. Without a
project (`make run`) notifications are appended to a local outbox file instead.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import urllib3

from bot.delivery.channels.result import Outcome, SendResult, retry_after_seconds
from bot.platform.config import Settings

OUTBOX_FILE = "push-outbox.jsonl"
_RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class PushNotification:
    """One notification to one device of the app."""

    token: str
    title: str
    body: str
    link: str | None = None


def fcm_body(notification: PushNotification) -> dict[str, Any]:
    """The JSON FCM v1 expects; `data` values must be strings, so the link is left out when there is none."""
    message: dict[str, Any] = {
        "token": notification.token,
        "notification": {"title": notification.title, "body": notification.body},
    }
    if notification.link:
        message["data"] = {"link": notification.link}
    return {"message": message}


class FcmSender:
    """One keep-alive connection pool for many notifications (a worker's batch), closed with `close()` or `with`."""

    def __init__(
        self, base_url: str, project_id: str, access_token: str, timeout: tuple[float, float] = (3.05, 10.0)
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/v1/projects/{quote(project_id, safe='')}/messages:send"
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        # No automatic retries: a POST is not idempotent, and the worker owns the retry policy.
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]), retries=False
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.clear()

    def send(self, notification: PushNotification) -> SendResult:
        payload = json.dumps(fcm_body(notification), ensure_ascii=False).encode()
        try:
            response = self._pool.request("POST", self._url, body=payload, headers=self._headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # time-out or connection: FCM may not have it
            return SendResult(Outcome.RETRY, reason=type(exc).__name__)
        if response.status == 200:
            return SendResult(Outcome.SENT, provider_id=_json(response.data).get("name"))
        return _from_error(response.status, _json(response.data), response.headers.get("Retry-After"))


def _from_error(status: int, body: dict[str, Any], retry_after: str | None) -> SendResult:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    rpc_status = str(error.get("status") or "")
    fcm_code = next(
        (
            d.get("errorCode")
            for d in error.get("details") or []
            if isinstance(d, dict) and d.get("errorCode")
        ),
        "",
    )
    reason = f"{status} {fcm_code or rpc_status}".strip()
    if status == 404 or "UNREGISTERED" in (fcm_code, rpc_status):
        return SendResult(Outcome.FAILED, reason="unregistered")
    if fcm_code == "SENDER_ID_MISMATCH":  # a 403 about this token (another project's), not about us
        return SendResult(Outcome.FAILED, reason=reason)
    if status in (401, 403):
        return SendResult(Outcome.STOP_CHANNEL, reason=reason)
    if status in _RETRY_STATUSES:
        return SendResult(Outcome.RETRY, reason=reason, retry_after=retry_after_seconds(retry_after))
    return SendResult(Outcome.FAILED, reason=reason)


def _json(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (TypeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


class PushOutbox:
    """Push for `make run`: one JSON line per notification in DATA_DIR/push-outbox.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing is kept open: each notification is appended and flushed on its own."""

    def send(self, notification: PushNotification) -> SendResult:
        provider_id = f"outbox-{uuid.uuid4().hex}"
        line = {"id": provider_id, "at": datetime.now(UTC).isoformat(), **asdict(notification)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        return SendResult(Outcome.SENT, provider_id=provider_id)


def open_push_sender(
    settings: Settings, timeout: tuple[float, float] = (3.05, 10.0)
) -> FcmSender | PushOutbox:
    """FCM for the configured project, or the local outbox file when FCM_PROJECT_ID is empty."""
    if not settings.fcm_project_id:
        return PushOutbox(settings.data_dir / OUTBOX_FILE)
    if not settings.fcm_access_token:
        raise ValueError("FCM_ACCESS_TOKEN is required when FCM_PROJECT_ID is set")
    return FcmSender(settings.fcm_api_base_url, settings.fcm_project_id, settings.fcm_access_token, timeout)
