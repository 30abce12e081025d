"""SMS to a customer's mobile number (SMS送信), through a JSON gateway, Twilio, or a local outbox file.

Every provider answers with the outcome the delivery worker acts on (bot/delivery/channels/result.py). A text the
carriers cannot carry (empty, or over 660 characters) is refused here, before any provider is contacted, so it
is never billed and never half-sent. Reasons hold status codes and the provider's error code only, never the
number or the text (gateways echo the number in their messages, so those are not kept).

- `HttpGatewaySms`: a carrier SMS gateway taking JSON; the ledger row's reference is its `Idempotency-Key`,
  so a retry after a lost answer is not sent twice.
- `TwilioSms`: Twilio's REST API. Twilio has no idempotency key: a read time-out is still reported as retry
  (the reason names the time-out, so a caller may choose to treat it as sent).
- `SmsOutbox`: appends to `DATA_DIR/sms-outbox.jsonl` for `make run` (no network, no cost).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import quote

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.delivery.channels.result import Outcome, SendResult, retry_after_seconds
from bot.delivery.channels.sms_billing import MAX_CHARACTERS, characters
from bot.platform.config import Settings

OUTBOX_FILE = "sms-outbox.jsonl"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A provider's error code is kept only in this shape: a word or a short number, never a phone number.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}|[0-9]{1,6}")

# Twilio error codes (https://www.twilio.com/docs/api/errors)
TWILIO_RETRY_CODES = frozenset({20429, 21611, 30001})  # too many requests, queue full, queue overflow
TWILIO_STOP_CODES = frozenset(
    {
        10001,  # account not active
        20003,  # authentication failed
        20005,  # account not active
        20404,  # no such account (wrong SID)
        21212,  # invalid From number
        21408,  # sending to this region not enabled
        21606,  # From number cannot send SMS
        21659,  # From is not a Twilio number
    }
)
STOP_STATUSES = frozenset({401, 402, 403})


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    text: str
    reference: str  # stable per ledger row: the same on every attempt


class SmsProvider(Protocol):
    def send(self, message: SmsMessage) -> SendResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def refusal(message: SmsMessage) -> SendResult | None:
    """FAILED for a message no carrier can take (checked before any provider is contacted), else None."""
    count = characters(message.text)
    if count == 0:
        return SendResult(Outcome.FAILED, reason="empty: 0 characters")
    if count > MAX_CHARACTERS:
        return SendResult(Outcome.FAILED, reason=f"too_long: {count} characters (max {MAX_CHARACTERS})")
    if not _E164.fullmatch(message.to):
        return SendResult(Outcome.FAILED, reason="invalid_number: not E.164")
    return None


class _Provider:
    """The check before sending, and `with` support; subclasses carry the message in `_send`."""

    def send(self, message: SmsMessage) -> SendResult:
        return refusal(message) or self._send(message)

    def _send(self, message: SmsMessage) -> SendResult:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _HttpProvider(_Provider):
    """One keep-alive connection pool with explicit time-outs; urllib3 neither retries nor follows redirects."""

    def __init__(self, timeout: tuple[float, float], concurrency: int) -> None:
        self._timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self._http = urllib3.PoolManager(num_pools=2, maxsize=concurrency, block=False)

    def close(self) -> None:
        self._http.clear()

    def _post(self, url: str, headers: dict[str, str], **body: Any) -> urllib3.BaseHTTPResponse | SendResult:
        try:
            return self._http.request(
                "POST", url, headers=headers, timeout=self._timeout, retries=False, redirect=False, **body
            )
        except (Urllib3Error, OSError) as exc:  # time-out or connection: the provider may not have it
            return SendResult(Outcome.RETRY, reason=type(exc).__name__)


class HttpGatewaySms(_HttpProvider):
    """A JSON SMS gateway: POST {to, text, sender, reference} with a bearer token and an Idempotency-Key."""

    def __init__(
        self,
        url: str,
        token: str,
        sender: str,
        timeout: tuple[float, float] = (3.05, 10.0),
        concurrency: int = 4,
    ) -> None:
        super().__init__(timeout, concurrency)
        self._url, self._token, self._sender = url, token, sender

    def _send(self, message: SmsMessage) -> SendResult:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.reference,
        }
        body = {
            "to": message.to,
            "text": message.text,
            "sender": self._sender,
            "reference": message.reference,
        }
        answer = self._post(self._url, headers, body=json.dumps(body, ensure_ascii=False).encode())
        if isinstance(answer, SendResult):
            return answer
        data = _json(answer.data)
        status = answer.status
        if 200 <= status < 300:
            provider_id = data.get("id")
            return SendResult(Outcome.SENT, provider_id=str(provider_id) if provider_id else None)
        reason = f"{status} {_gateway_code(data) or ''}".strip()
        if status == 429 or status >= 500:
            return SendResult(Outcome.RETRY, reason=reason, retry_after=retry_after(answer.headers))
        if status in STOP_STATUSES:
            return SendResult(Outcome.STOP_CHANNEL, reason=reason)
        return SendResult(Outcome.FAILED, reason=reason)


class TwilioSms(_HttpProvider):
    """Twilio's Messages resource: form-encoded To/From/Body with basic auth (account SID : auth token)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
        status_callback: str | None = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        concurrency: int = 4,
    ) -> None:
        super().__init__(timeout, concurrency)
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
        self._auth = urllib3.util.make_headers(basic_auth=f"{account_sid}:{auth_token}")
        self._sender, self._status_callback = sender, status_callback

    def _send(self, message: SmsMessage) -> SendResult:
        fields = {"To": message.to, "From": self._sender, "Body": message.text}
        if self._status_callback:
            fields["StatusCallback"] = self._status_callback
        answer = self._post(self._url, dict(self._auth), fields=fields, encode_multipart=False)
        if isinstance(answer, SendResult):
            return answer
        data = _json(answer.data)
        status = answer.status
        if 200 <= status < 300:
            return SendResult(Outcome.SENT, provider_id=data.get("sid"))
        code = data.get("code")
        reason = f"{status} {error_code(code) or ''}".strip()
        if status == 429 or status >= 500 or code in TWILIO_RETRY_CODES:
            return SendResult(Outcome.RETRY, reason=reason, retry_after=retry_after(answer.headers))
        if status in STOP_STATUSES or code in TWILIO_STOP_CODES:
            return SendResult(Outcome.STOP_CHANNEL, reason=reason)
        return SendResult(Outcome.FAILED, reason=reason)  # e.g. 21610: the recipient replied STOP to us


class SmsOutbox(_Provider):
    """Appends one JSON line per message to a file (for `make run`, shown in the local side pane)."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path, self._clock = path, clock

    def _send(self, message: SmsMessage) -> SendResult:
        line = {"to": message.to, "text": message.text, "reference": message.reference}
        line["at"] = self._clock().isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as outbox:
            fcntl.flock(outbox, fcntl.LOCK_EX)  # workers append whole lines, never interleaved
            outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        digest = hashlib.sha256(message.reference.encode()).hexdigest()[:20]
        return SendResult(Outcome.SENT, provider_id=f"outbox-{digest}")


def open_sms_provider(settings: Settings) -> SmsProvider:
    """The provider SMS_PROVIDER names, configured from the settings (close it, or use `with`)."""
    if settings.sms_provider == "http":
        if not (settings.sms_gateway_url and settings.sms_gateway_token):
            raise ValueError("SMS_PROVIDER=http needs SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN")
        return HttpGatewaySms(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_sender)
    if settings.sms_provider == "twilio":
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.sms_sender):
            raise ValueError("SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and SMS_SENDER")
        return TwilioSms(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.sms_sender,
            base_url=settings.twilio_api_base_url,
            status_callback=f"{settings.public_base_url}/sms/receipts/twilio",
        )
    return SmsOutbox(settings.data_dir / OUTBOX_FILE)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date), None when absent or unreadable."""
    return retry_after_seconds(headers.get("Retry-After"))


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _gateway_code(data: dict[str, Any]) -> str | None:
    """The gateway's error code from `{"error": {"code": …}}`, `{"error": "…"}` or `{"code": …}`."""
    error = data.get("error")
    if isinstance(error, dict):
        return error_code(error.get("code"))
    return error_code(error) or error_code(data.get("code"))


def error_code(value: object) -> str | None:
    """A provider's error code as text when it has the shape of one (a word or a short number), else None."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if _CODE.fullmatch(text) else None
