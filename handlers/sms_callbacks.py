"""What SMS providers tell us afterwards: delivery results (到達結果) and customers' replies (配信停止).

- `POST /sms/receipts` (a JSON gateway, bearer token) and `POST /sms/receipts/twilio` (Twilio's status
  callback, `X-Twilio-Signature`) mark the ledger row delivered or failed. Only delivered messages are billed
  (成功課金): a delivered row gets the billable segments for the carrier the receipt names and its price at
  this month's tier (tax excluded). The month's volume is the segments of SMS delivered this month in Japan
  time, this one included, read from the ledger; above 100,000 the negotiated price is used, and without one
  the cost stays empty rather than guessed.
  Segments depend on the text, which the ledger does not keep: the receipt's optional `characters` count is
  used when given; otherwise the row keeps the send job's estimate (for a carrier not yet known, the carrier
  that bills most), except on SoftBank, which bills one segment for any length.
- `POST /sms/inbound` (JSON, bearer token) and `POST /sms/inbound/twilio` (form, signed): a reply 停止,
  ていし, 配信停止, STOP, UNSUBSCRIBE or ストップ withdraws SMS marketing permission for every customer with
  that number, with the reply's provider id (JSON `id`, Twilio's `MessageSid`) as the consent history's
  evidence. Other replies change nothing here.

Providers resend anything not answered 2xx, so a receipt for an unknown id, or one already applied, is
answered 200 and changes nothing; a malformed body is answered 400 with what is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from bot.api_events.auth import authenticate
from bot.delivery.channels.sms import error_code
from bot.delivery.channels.sms_billing import MAX_CHARACTERS, Carrier
from bot.delivery.sms_receipts import Receipt, apply_receipt, opt_out_number
from bot.imports.values import phone
from bot.platform.json_input import read_json
from bot.platform.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)

blueprint = Blueprint("sms_callbacks", __name__)

STOP_WORDS = frozenset({"停止", "ていし", "配信停止", "stop", "unsubscribe", "ストップ"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
TWILIO_FAILED = frozenset({"failed", "undelivered"})
_MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
REPORTED_CARRIERS = {c.value: c for c in (Carrier.DOCOMO, Carrier.AU, Carrier.RAKUTEN, Carrier.SOFTBANK)}


class Malformed(ValueError):
    """The body is not what the provider's contract says; the message says what is wrong (no personal data)."""


# ── HTTP ──────────────────────────────────────────────────────────────────────────────────────────────


@blueprint.post("/sms/receipts")
def gateway_receipt() -> Response:
    runtime = _runtime()
    if not _bearer_ok(runtime):
        return _unauthorised()
    return _record(runtime, parse_receipt(_json_body()))


@blueprint.post("/sms/receipts/twilio")
def twilio_receipt() -> Response:
    runtime = _runtime()
    if not _twilio_signed(runtime):
        return _refuse("invalid or missing X-Twilio-Signature", 403)
    receipt = parse_twilio_receipt(request.form.to_dict())
    if receipt is None:  # queued, sending, sent …: not a result yet
        return jsonify(status="ok", changed=False)
    return _record(runtime, receipt)


@blueprint.post("/sms/inbound")
def gateway_inbound() -> Response:
    runtime = _runtime()
    if not _bearer_ok(runtime):
        return _unauthorised()
    data = _json_body()
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise Malformed('"from" and "text" must be strings')
    try:
        number = phone(sender)
    except ValueError:
        raise Malformed('"from" is not a phone number') from None
    _reply(runtime, number, text, _message_id(data.get("id")))
    return jsonify(status="ok")


@blueprint.post("/sms/inbound/twilio")
def twilio_inbound() -> Response:
    runtime = _runtime()
    if not _twilio_signed(runtime):
        return _refuse("invalid or missing X-Twilio-Signature", 403)
    sender, text = request.form.get("From"), request.form.get("Body")
    if sender is None or text is None:
        raise Malformed("From and Body are required")
    try:
        number = phone(sender)
    except ValueError:  # a short code or a sender name: nobody of ours
        number = None
    if number:
        _reply(runtime, number, text, _message_id(request.form.get("MessageSid")))
    return Response(EMPTY_TWIML, mimetype="text/xml")


def _record(runtime: Runtime, receipt: Receipt) -> Response:
    price = runtime.settings.sms_negotiated_price_yen
    negotiated = Decimal(str(price)) if price is not None else None
    with runtime.engine.begin() as connection:
        changed = apply_receipt(connection, receipt, utcnow(), negotiated)
    log.info("sms receipt: %s, changed=%s", "delivered" if receipt.delivered else "failed", changed)
    return jsonify(status="ok", changed=changed)


def _message_id(value: object) -> str | None:
    """The provider's id of a reply (the opt-out's evidence), when it has the shape of one: a bare number might
    be a phone number, which the consent history does not keep."""
    if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) and not value.isdigit():
        return value
    return None


def _reply(runtime: Runtime, number: str, text: str, message_id: str | None) -> None:
    if not is_stop_word(text):
        return  # a later issue routes other replies to the service desk
    with runtime.engine.begin() as connection:
        count = opt_out_number(connection, number, utcnow(), message_id)
    log.info("sms inbound: stop keyword, %s customers opted out", count)


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _bearer_ok(runtime: Runtime) -> bool:
    token = runtime.settings.sms_receipt_token
    return authenticate(request.headers.get("Authorization", ""), [token]) is not None


def _twilio_signed(runtime: Runtime) -> bool:
    """Twilio signs the URL it called: the public one we gave it, or (direct access) the one requested."""
    token = runtime.settings.twilio_auth_token
    presented = request.headers.get("X-Twilio-Signature", "")
    if not token or not presented:
        return False
    params = list(request.form.items(multi=True))
    urls = {runtime.settings.public_base_url + request.full_path.rstrip("?"), request.url}
    expected = [twilio_signature(token, url, params).encode() for url in urls]
    return any(hmac.compare_digest(one, presented.encode("ascii", "replace")) for one in expected)


def _json_body() -> dict:
    try:
        data = read_json(request.get_data(cache=False))
    except ValueError:  # includes bad UTF-8 and nesting too deep
        raise Malformed("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Malformed("body must be a JSON object")
    return data


@blueprint.errorhandler(Malformed)
def _malformed(exc: Malformed) -> Response:
    return _refuse(str(exc), 400)


@blueprint.errorhandler(SQLAlchemyError)
def _database_unavailable(exc: SQLAlchemyError) -> Response:
    # not acknowledged, so the provider sends it again later
    log.error("sms callback: not recorded (%s)", type(exc).__name__)
    return _refuse("temporarily unable to record it", 503)


def _refuse(message: str, status: int) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _unauthorised() -> Response:
    response = _refuse("missing or invalid bearer token", 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="sms"'
    return response


# ── reading the providers' bodies ───────────────────────────────────────────────────────────────────────


def parse_receipt(data: dict) -> Receipt:
    """A gateway receipt: {"id", "status": "delivered"|"failed", "carrier"?, "characters"?, "error"?}."""
    provider_id, status = data.get("id"), data.get("status")
    if not isinstance(provider_id, str) or not 0 < len(provider_id) <= 128:
        raise Malformed('"id" must be the provider\'s message id (a string of 1–128 characters)')
    if status not in ("delivered", "failed"):
        raise Malformed('"status" must be "delivered" or "failed"')
    carrier = data.get("carrier")
    if carrier is not None and carrier not in REPORTED_CARRIERS:
        raise Malformed(f'"carrier" must be one of {", ".join(REPORTED_CARRIERS)}')
    count = data.get("characters")
    if count is not None and (type(count) is not int or not 0 < count <= MAX_CHARACTERS):
        raise Malformed(f'"characters" must be a whole number from 1 to {MAX_CHARACTERS}')
    return Receipt(
        provider_id,
        delivered=status == "delivered",
        carrier=REPORTED_CARRIERS.get(carrier, Carrier.UNKNOWN),
        characters=count,
        error=error_code(data.get("error")),
    )


def parse_twilio_receipt(form: dict[str, str]) -> Receipt | None:
    """Twilio's status callback; None for statuses that are not a final result."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise Malformed("MessageSid and MessageStatus are required")
    if status == "delivered":
        return Receipt(sid, delivered=True)
    if status in TWILIO_FAILED:
        return Receipt(sid, delivered=False, error=error_code(form.get("ErrorCode")) or status)
    return None


def is_stop_word(text: str) -> bool:
    """停止, ていし, 配信停止, STOP, UNSUBSCRIBE, ストップ in any width or case, surrounding space ignored."""
    return unicodedata.normalize("NFKC", text).strip().casefold() in STOP_WORDS


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's scheme: base64(HMAC-SHA1(auth token, URL + each name+value, sorted by name then value))."""
    values: defaultdict[str, set[str]] = defaultdict(set)
    for name, value in params:
        values[name].add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
