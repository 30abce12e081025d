"""SMS end to end on real parts: both adapters against a local gateway, the outbox file, the hourly limit on a real
Redis, and delivery receipts and STOP replies through the web app on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.delivery.channels.result import Outcome
from bot.delivery.channels.sms import HttpGatewaySms, SmsMessage, SmsOutbox, TwilioSms, open_sms_provider
from bot.delivery.channels.sms_billing import Carrier, cost, segments
from bot.delivery.channels.sms_rate import HourlyRateLimit
from bot.platform.config import Settings
from bot.platform.db import session_scope
from bot.platform.redis_conn import connect
from handlers.sms_callbacks import twilio_signature
from models import ConsentEvent, Customer, CustomerChannels, Delivery
from tests.sms_gateway import Answer, SmsGatewayStub, twilio_error

NUMBER = "+819012345678"
RECEIPT_TOKEN = "test-receipt-token"
TWILIO_TOKEN = "test-twilio-token"
TOKYO = ZoneInfo("Asia/Tokyo")


def message(text: str = "保険料のお支払いをご確認ください", reference: str = "delivery:1") -> SmsMessage:
    return SmsMessage(to=NUMBER, text=text, reference=reference)


@pytest.fixture
def gateway():
    with SmsGatewayStub() as stub:
        yield stub


def http_sms(gateway: SmsGatewayStub, **kw) -> HttpGatewaySms:
    return HttpGatewaySms(gateway.gateway_url, gateway.token, "05000000000", **kw)


def twilio_sms(gateway: SmsGatewayStub, token: str | None = None) -> TwilioSms:
    return TwilioSms(
        gateway.twilio_sid, token or gateway.twilio_token, "+815000000000", base_url=gateway.base_url
    )


# ── the JSON gateway ──────────────────────────────────────────────────────────────────────────────────


def test_gateway_posts_json_with_bearer_token_and_idempotency_key(gateway):
    """A send is one JSON POST carrying the token and the ledger reference; a retry gets the same id back."""
    with http_sms(gateway) as sms:
        first = sms.send(message())
        again = sms.send(message())
    assert first.outcome is Outcome.SENT and first.provider_id == "gw-1" and again.provider_id == "gw-1"
    sent = gateway.requests[0]
    assert sent.headers["authorization"] == "Bearer gateway-token"
    assert sent.headers["idempotency-key"] == "delivery:1"
    assert sent.json() == {
        "to": NUMBER,
        "text": message().text,
        "sender": "05000000000",
        "reference": "delivery:1",
    }


@pytest.mark.parametrize(
    ("answer", "outcome", "reason", "retry_after"),
    [
        (
            Answer(429, {"error": {"code": "rate_limited"}}, {"Retry-After": "30"}),
            Outcome.RETRY,
            "429 rate_limited",
            30,
        ),
        (Answer(503, None, {"Retry-After": "5"}), Outcome.RETRY, "503", 5),
        (Answer(500, {"error": "internal"}), Outcome.RETRY, "500 internal", None),
        (Answer(401, {"error": {"code": "unauthorized"}}), Outcome.STOP_CHANNEL, "401 unauthorized", None),
        (
            Answer(402, {"error": {"code": "insufficient_credit"}}),
            Outcome.STOP_CHANNEL,
            "402 insufficient_credit",
            None,
        ),
        (Answer(403, {"code": "suspended"}), Outcome.STOP_CHANNEL, "403 suspended", None),
        (
            Answer(400, {"error": {"code": "invalid_number", "message": f"{NUMBER} is not valid"}}),
            Outcome.FAILED,
            "400 invalid_number",
            None,
        ),
        (Answer(422, {"error": NUMBER}), Outcome.FAILED, "422", None),  # an echoed number is not kept
    ],
)
def test_gateway_answers_map_to_outcomes(gateway, answer, outcome, reason, retry_after):
    """429 and 5xx retry (honouring Retry-After), 401/402/403 stop the channel, other 4xx fail with the code."""
    gateway.answer_next(answer)
    with http_sms(gateway) as sms:
        result = sms.send(message())
    assert (result.outcome, result.reason, result.retry_after) == (outcome, reason, retry_after)
    assert NUMBER not in (result.reason or "")


def test_gateway_wrong_token_stops_the_channel(gateway):
    """The gateway refusing our credentials holds every SMS until an operator fixes them."""
    with HttpGatewaySms(gateway.gateway_url, "wrong", "050") as sms:
        assert sms.send(message()).outcome is Outcome.STOP_CHANNEL


def test_gateway_time_out_and_refused_connection_retry(gateway):
    """A slow gateway (read time-out) and an unreachable one both mean: try again later."""
    gateway.answer_next(Answer(202, {"id": "late"}, delay=1.0))
    with http_sms(gateway, timeout=(1.0, 0.2)) as sms:
        slow = sms.send(message())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with HttpGatewaySms(f"http://127.0.0.1:{closed_port}/v1/sms", "t", "050", timeout=(0.5, 0.5)) as sms:
        refused = sms.send(message())
    assert (slow.outcome, slow.reason) == (Outcome.RETRY, "ReadTimeoutError")
    assert refused.outcome is Outcome.RETRY and refused.reason


# ── Twilio ─────────────────────────────────────────────────────────────────────────────────────────────


def test_twilio_posts_form_with_basic_auth(gateway):
    """Twilio gets To/From/Body (and the status callback) form-encoded with SID:token; its sid is kept."""
    with TwilioSms(
        gateway.twilio_sid,
        gateway.twilio_token,
        "+815000000000",
        base_url=gateway.base_url,
        status_callback="https://bot.example.jp/sms/receipts/twilio",
    ) as sms:
        result = sms.send(message())
    assert result.outcome is Outcome.SENT and result.provider_id.startswith("SM")
    sent = gateway.requests[0]
    assert sent.path == f"/2010-04-01/Accounts/{gateway.twilio_sid}/Messages.json"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.form() == {
        "To": NUMBER,
        "From": "+815000000000",
        "Body": message().text,
        "StatusCallback": "https://bot.example.jp/sms/receipts/twilio",
    }


@pytest.mark.parametrize(
    ("answer", "outcome", "reason"),
    [
        (
            Answer(400, twilio_error(21610, f"Attempt to send to unsubscribed recipient {NUMBER}", 400)),
            Outcome.FAILED,
            "400 21610",
        ),
        (
            Answer(400, twilio_error(21211, f"The 'To' number {NUMBER} is not valid", 400)),
            Outcome.FAILED,
            "400 21211",
        ),
        (
            Answer(429, twilio_error(20429, "Too Many Requests", 429), {"Retry-After": "2"}),
            Outcome.RETRY,
            "429 20429",
        ),
        (Answer(400, twilio_error(21611, "queue full", 400)), Outcome.RETRY, "400 21611"),
        (Answer(503, None), Outcome.RETRY, "503"),
        (Answer(401, twilio_error(20003, "Authenticate", 401)), Outcome.STOP_CHANNEL, "401 20003"),
        (
            Answer(400, twilio_error(21606, "From number cannot send SMS", 400)),
            Outcome.STOP_CHANNEL,
            "400 21606",
        ),
    ],
)
def test_twilio_errors_map_to_outcomes(gateway, answer, outcome, reason):
    """Twilio's error codes: unsubscribed or invalid recipient fails, 20429 retries, auth stops the channel."""
    gateway.answer_next(answer)
    with twilio_sms(gateway) as sms:
        result = sms.send(message())
    assert (result.outcome, result.reason) == (outcome, reason)


def test_twilio_wrong_credentials_stop_the_channel(gateway):
    """Twilio answering 20003 to our credentials stops the SMS channel."""
    with twilio_sms(gateway, token="wrong") as sms:
        result = sms.send(message())
    assert (result.outcome, result.reason) == (Outcome.STOP_CHANNEL, "401 20003")


# ── limits before sending, the outbox, choosing the provider ───────────────────────────────────────────


@pytest.mark.parametrize("adapter", [http_sms, twilio_sms])
def test_texts_over_660_characters_never_reach_the_provider(gateway, adapter):
    """660 characters go out; 661 (or none) fail with a clear reason and the gateway never sees them."""
    with adapter(gateway) as sms:
        fits = sms.send(message("あ" * 660))
        too_long = sms.send(message("あ" * 661, reference="delivery:2"))
        empty = sms.send(message("", reference="delivery:3"))
    assert fits.outcome is Outcome.SENT
    assert (too_long.outcome, too_long.reason) == (Outcome.FAILED, "too_long: 661 characters (max 660)")
    assert empty.outcome is Outcome.FAILED and empty.reason.startswith("empty")
    assert len(gateway.requests) == 1


def test_outbox_appends_one_json_line_per_message(tmp_path):
    """The local outbox writes {to, text, reference, at} lines and answers sent with an outbox id."""
    at = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)
    with SmsOutbox(tmp_path / "sms-outbox.jsonl", clock=lambda: at) as outbox:
        first = outbox.send(message("一通目"))
        second = outbox.send(message("二通目", reference="delivery:2"))
        refused = outbox.send(message("x" * 661, reference="delivery:3"))
    lines = [json.loads(line) for line in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert lines == [
        {"to": NUMBER, "text": "一通目", "reference": "delivery:1", "at": at.isoformat()},
        {"to": NUMBER, "text": "二通目", "reference": "delivery:2", "at": at.isoformat()},
    ]
    assert first.outcome is second.outcome is Outcome.SENT and refused.outcome is Outcome.FAILED
    assert first.provider_id.startswith("outbox-") and first.provider_id != second.provider_id


def test_open_sms_provider_follows_the_settings(gateway, tmp_path):
    """SMS_PROVIDER picks the outbox (default), the JSON gateway or Twilio; missing credentials are refused."""
    base = {"data_dir": tmp_path}
    with open_sms_provider(Settings(**base)) as outbox:
        assert isinstance(outbox, SmsOutbox) and outbox.path == tmp_path / "sms-outbox.jsonl"
    http = {
        "sms_provider": "http",
        "sms_gateway_url": gateway.gateway_url,
        "sms_gateway_token": gateway.token,
    }
    with open_sms_provider(Settings(**base, **http)) as sms:
        assert isinstance(sms, HttpGatewaySms) and sms.send(message()).provider_id == "gw-1"
    twilio = {
        "sms_provider": "twilio",
        "twilio_account_sid": gateway.twilio_sid,
        "sms_sender": "+815000000000",
    }
    with open_sms_provider(
        Settings(
            **base, **twilio, twilio_auth_token=gateway.twilio_token, twilio_api_base_url=gateway.base_url
        )
    ) as sms:
        assert isinstance(sms, TwilioSms) and sms.send(message()).outcome is Outcome.SENT
    assert gateway.requests[-1].form()["StatusCallback"] == "http://127.0.0.1:5000/sms/receipts/twilio"
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        open_sms_provider(Settings(**base, **twilio))


# ── the hourly limit shared through Redis ──────────────────────────────────────────────────────────────


def test_two_workers_never_exceed_the_hourly_limit(redis_url):
    """Two limiters on their own connections, racing in threads, grant exactly the limit and then nothing."""
    limiters = [HourlyRateLimit(connect(redis_url), per_hour=100) for _ in range(2)]
    granted = [0, 0]
    start = threading.Barrier(2)

    def work(index: int) -> None:
        start.wait()
        for _ in range(60):
            granted[index] += limiters[index].take(3, now=1_000.0)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 100  # however the two interleave (one may take all before the other starts)
    assert limiters[0].take(1, now=1_000.0 + 3_599.9) == 0
    assert limiters[1].wait_seconds(now=1_500.0) == pytest.approx(3_100.0)
    assert limiters[0].take(500, now=1_000.0 + 3_600) == 100  # the whole hour has passed


def test_the_window_slides(redis_url):
    """Grants leave the window an hour after they were made, oldest first; wait_seconds says when."""
    limit = HourlyRateLimit(connect(redis_url), per_hour=100)
    assert limit.wait_seconds(now=0.0) == 0.0
    assert limit.take(60, now=0.0) == 60
    assert limit.take(60, now=1_800.0) == 40
    assert limit.take(1, now=3_599.0) == 0
    assert limit.wait_seconds(now=3_000.0) == pytest.approx(600.0)
    assert limit.take(100, now=3_600.0) == 60  # the 40 from 1,800 s are still within the hour
    assert limit.wait_seconds(now=3_600.0) == pytest.approx(1_800.0)
    other_key = HourlyRateLimit(connect(redis_url), per_hour=100, key="sms:rate:other")
    assert other_key.take(5, now=3_600.0) == 5


# ── delivery receipts and replies through the web app ──────────────────────────────────────────────────


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sms_receipt_token": RECEIPT_TOKEN, "twilio_auth_token": TWILIO_TOKEN})


def customer(engine, phone: str = NUMBER) -> int:
    with session_scope(engine) as session:
        person = Customer()
        session.add(person)
        session.flush()
        session.add(CustomerChannels(customer_id=person.id, sms_phone=phone, sms_permitted=True))
    return person.id


def ledger_row(engine, provider_id: str | None, *, status="sent", segments_=2, delivered_at=None) -> int:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        row = Delivery(
            customer_id=customer(engine),
            step="A",
            template="x.a",
            channel="sms",
            purpose="marketing",
            status=status,
            due_at=now,
            created_at=now,
            sent_at=now,
            provider_id=provider_id,
            segments=segments_,
            delivered_at=delivered_at,
        )
        session.add(row)
        session.flush()
        return row.id


def read_row(engine, row_id: int) -> Delivery:
    with session_scope(engine) as session:
        return session.get(Delivery, row_id)


def receipt(client, body, token: str | None = RECEIPT_TOKEN):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/sms/receipts", data=data, headers=headers)


def twilio_post(client, runtime, path: str, form: dict[str, str], signature: str | None = None):
    url = runtime.settings.public_base_url + path
    signed = signature if signature is not None else twilio_signature(TWILIO_TOKEN, url, form.items())
    return client.post(path, data=form, headers={"X-Twilio-Signature": signed})


@pytest.mark.parametrize(
    ("carrier", "characters"), [("docomo", 70), ("docomo", 71), ("au", 133), ("docomo", 133)]
)
def test_delivered_receipt_bills_the_carriers_segments(client, runtime, carrier, characters):
    """Delivered: segments for the reported carrier and their price at the month's tier, as sms_billing says;
    the ledger row keeps the carrier the receipt named (the dashboard groups billed cost by it)."""
    row_id = ledger_row(runtime.engine, "gw-1", segments_=3)
    answer = receipt(
        client, {"id": "gw-1", "status": "delivered", "carrier": carrier, "characters": characters}
    )
    assert answer.status_code == 200 and answer.json["changed"] is True
    row = read_row(runtime.engine, row_id)
    billed = segments("x" * characters, Carrier(carrier))
    assert (row.status, row.segments, row.carrier) == ("delivered", billed, carrier)
    assert row.cost_yen == float(cost(billed, billed).yen_excluding_tax)
    assert row.delivered_at is not None and row.error is None


def test_without_a_count_the_send_estimate_is_billed(client, runtime):
    """A receipt without a character count keeps the send job's estimate; SoftBank is always one segment."""
    docomo = ledger_row(runtime.engine, "gw-1", segments_=3)
    softbank = ledger_row(runtime.engine, "gw-2", segments_=3)
    receipt(client, {"id": "gw-1", "status": "delivered", "carrier": "docomo"})
    receipt(client, {"id": "gw-2", "status": "delivered", "carrier": "softbank"})
    assert (read_row(runtime.engine, docomo).segments, read_row(runtime.engine, docomo).cost_yen) == (3, 30.0)
    assert (read_row(runtime.engine, softbank).segments, read_row(runtime.engine, softbank).cost_yen) == (
        1,
        10.0,
    )


def test_the_months_delivered_volume_sets_the_tier(client, runtime):
    """Only this Japan month's delivered segments count: 4,999 before, 2 now → 5,001 → 9.5 yen a segment."""
    month_start = datetime.now(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # 00:00:01 on the 1st in Japan is still the previous month in UTC: it counts
    ledger_row(
        runtime.engine,
        "old-1",
        status="delivered",
        segments_=4_999,
        delivered_at=month_start + timedelta(seconds=1),
    )
    ledger_row(
        runtime.engine,
        "old-2",
        status="delivered",
        segments_=90_000,
        delivered_at=month_start - timedelta(seconds=1),
    )
    ledger_row(runtime.engine, "old-3", status="failed", segments_=90_000)
    row_id = ledger_row(runtime.engine, "gw-1")
    receipt(client, {"id": "gw-1", "status": "delivered", "carrier": "docomo", "characters": 71})
    assert read_row(runtime.engine, row_id).cost_yen == 19.0


def test_above_100000_a_month_the_negotiated_price_or_no_cost(client, runtime):
    """Above 100,000 segments the cost is the negotiated price, and stays empty when none is configured."""
    ledger_row(runtime.engine, "old-1", status="delivered", segments_=100_000, delivered_at=datetime.now(UTC))
    unpriced, priced = ledger_row(runtime.engine, "gw-1"), ledger_row(runtime.engine, "gw-2")
    receipt(client, {"id": "gw-1", "status": "delivered", "carrier": "softbank"})
    runtime.settings = runtime.settings.model_copy(update={"sms_negotiated_price_yen": 7.25})
    receipt(client, {"id": "gw-2", "status": "delivered", "carrier": "softbank"})
    assert (read_row(runtime.engine, unpriced).segments, read_row(runtime.engine, unpriced).cost_yen) == (
        1,
        None,
    )
    assert read_row(runtime.engine, priced).cost_yen == float(Decimal("7.25"))


def test_failed_receipt_keeps_the_error_code_only(client, runtime):
    """Failed: status failed with the gateway's code; an error text (which may hold the number) is not kept."""
    coded, texted = ledger_row(runtime.engine, "gw-1"), ledger_row(runtime.engine, "gw-2")
    receipt(client, {"id": "gw-1", "status": "failed", "carrier": "au", "error": "absent_subscriber"})
    receipt(client, {"id": "gw-2", "status": "failed", "error": f"{NUMBER} unreachable"})
    assert (read_row(runtime.engine, coded).status, read_row(runtime.engine, coded).error) == (
        "failed",
        "absent_subscriber",
    )
    assert read_row(runtime.engine, texted).error == "failed"
    assert read_row(runtime.engine, coded).cost_yen is None
    assert (read_row(runtime.engine, coded).carrier, read_row(runtime.engine, texted).carrier) == ("au", None)


def test_repeated_and_unknown_receipts_change_nothing(client, runtime):
    """A repeated receipt, a failure after delivery and an unknown id are answered 200 and change nothing."""
    row_id = ledger_row(runtime.engine, "gw-1")
    delivered = {"id": "gw-1", "status": "delivered", "carrier": "docomo", "characters": 10}
    assert receipt(client, delivered).json["changed"] is True
    before = read_row(runtime.engine, row_id)
    for body in (
        delivered,
        {"id": "gw-1", "status": "failed", "error": "x"},
        {"id": "nobody", "status": "delivered"},
    ):
        answer = receipt(client, body)
        assert (answer.status_code, answer.json["changed"]) == (200, False)
    after = read_row(runtime.engine, row_id)
    assert (after.status, after.delivered_at, after.updated_at, after.cost_yen) == (
        before.status,
        before.delivered_at,
        before.updated_at,
        before.cost_yen,
    )


def test_receipts_need_the_bearer_token(client, runtime):
    """No token, a wrong token, or no token configured at all: 401 and nothing changes."""
    row_id = ledger_row(runtime.engine, "gw-1")
    body = {"id": "gw-1", "status": "delivered"}
    assert receipt(client, body, token=None).status_code == 401
    assert receipt(client, body, token="wrong").status_code == 401
    runtime.settings = runtime.settings.model_copy(update={"sms_receipt_token": ""})
    assert receipt(client, body, token="").status_code == 401
    assert read_row(runtime.engine, row_id).status == "sent"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1]", "JSON object"),
        ({"status": "delivered"}, '"id"'),
        ({"id": 5, "status": "delivered"}, '"id"'),
        ({"id": "gw-1", "status": "read"}, '"status"'),
        ({"id": "gw-1", "status": "delivered", "carrier": "vodafone"}, '"carrier"'),
        ({"id": "gw-1", "status": "delivered", "characters": 661}, '"characters"'),
        ({"id": "gw-1", "status": "delivered", "characters": "70"}, '"characters"'),
    ],
)
def test_malformed_receipts_are_answered_400(client, runtime, body, message):
    """A body that breaks the contract gets 400 saying what is wrong, never a 500."""
    answer = receipt(client, body)
    assert answer.status_code == 400 and message in answer.json["error"]


def test_twilio_status_callbacks_are_verified_and_applied(client, runtime):
    """Signed callbacks mark delivered / undelivered rows; interim statuses change nothing."""
    delivered, undelivered = ledger_row(runtime.engine, "SM1", segments_=2), ledger_row(runtime.engine, "SM2")
    path = "/sms/receipts/twilio"
    sent = twilio_post(client, runtime, path, {"MessageSid": "SM1", "MessageStatus": "sent"})
    assert sent.status_code == 200 and read_row(runtime.engine, delivered).status == "sent"
    twilio_post(
        client, runtime, path, {"MessageSid": "SM1", "MessageStatus": "delivered", "AccountSid": "AC1"}
    )
    twilio_post(
        client, runtime, path, {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    row = read_row(runtime.engine, delivered)
    assert (row.status, row.segments, row.cost_yen) == ("delivered", 2, 20.0)
    assert (read_row(runtime.engine, undelivered).status, read_row(runtime.engine, undelivered).error) == (
        "failed",
        "30003",
    )
    assert twilio_post(client, runtime, path, {"MessageStatus": "delivered"}).status_code == 400


def test_twilio_callbacks_with_a_wrong_signature_are_refused(client, runtime):
    """A missing or wrong X-Twilio-Signature (or no auth token configured) is refused 403."""
    row_id = ledger_row(runtime.engine, "SM1")
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    forged = twilio_signature(
        "not-the-token", runtime.settings.public_base_url + "/sms/receipts/twilio", form.items()
    )
    assert twilio_post(client, runtime, "/sms/receipts/twilio", form, signature=forged).status_code == 403
    assert twilio_post(client, runtime, "/sms/receipts/twilio", form, signature="").status_code == 403
    runtime.settings = runtime.settings.model_copy(update={"twilio_auth_token": ""})
    assert twilio_post(client, runtime, "/sms/receipts/twilio", form).status_code == 403
    assert read_row(runtime.engine, row_id).status == "sent"


def test_twilio_signature_matches_twilios_reference_values():
    """The signature is Twilio's: the reference values from twilio-python's own tests."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212"}
    params["Caller"] = "+14158675309"
    assert twilio_signature("12345", url, params.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def consent_of(engine, customer_id: int) -> tuple[bool | None, list[tuple[str, bool, str]]]:
    with session_scope(engine) as session:
        permitted = session.get(CustomerChannels, customer_id).sms_permitted
        events = session.execute(
            select(ConsentEvent.channel, ConsentEvent.granted, ConsentEvent.source).where(
                ConsentEvent.customer_id == customer_id
            )
        ).all()
    return permitted, [tuple(event) for event in events]


def inbound(client, body, token: str | None = RECEIPT_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/sms/inbound", json=body, headers=headers)


@pytest.mark.parametrize("text", [" ＳＴＯＰ ", "停止", "ていし", "配信停止", "unsubscribe", "ｽﾄｯﾌﾟ"])
def test_a_stop_reply_opts_out_everyone_with_that_number(client, runtime, text):
    """A stop keyword withdraws SMS permission for each customer with the number, recorded as sms:reply."""
    first, second, other = (
        customer(runtime.engine),
        customer(runtime.engine),
        customer(runtime.engine, "+819011112222"),
    )
    assert inbound(client, {"from": "090-1234-5678", "text": text}).status_code == 200
    for opted_out in (first, second):
        assert consent_of(runtime.engine, opted_out) == (False, [("sms", False, "sms:reply")])
    assert consent_of(runtime.engine, other) == (True, [])


def test_other_replies_and_bad_requests_change_nothing(client, runtime):
    """Other texts are 200 and change nothing; no token is 401; a body without a number is 400."""
    person = customer(runtime.engine)
    assert inbound(client, {"from": NUMBER, "text": "停止しないでください"}).status_code == 200
    assert inbound(client, {"from": NUMBER, "text": "STOP"}, token=None).status_code == 401
    assert inbound(client, {"from": "not a number", "text": "STOP"}).status_code == 400
    assert inbound(client, {"text": "STOP"}).status_code == 400
    assert (
        client.post(
            "/sms/inbound", data=b"{", headers={"Authorization": f"Bearer {RECEIPT_TOKEN}"}
        ).status_code
        == 400
    )
    assert consent_of(runtime.engine, person) == (True, [])


def test_twilio_stop_reply_is_verified_and_answered_with_empty_twiml(client, runtime):
    """A signed Twilio reply STOP opts the customer out and gets an empty TwiML answer; a forged one is 403."""
    person = customer(runtime.engine)
    forged = twilio_post(
        client, runtime, "/sms/inbound/twilio", {"From": NUMBER, "Body": "STOP"}, signature="AAAA"
    )
    assert forged.status_code == 403 and consent_of(runtime.engine, person)[0] is True
    answer = twilio_post(
        client, runtime, "/sms/inbound/twilio", {"From": NUMBER, "Body": "STOP", "To": "+815000000000"}
    )
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert answer.get_data(as_text=True).endswith("<Response/>")
    assert consent_of(runtime.engine, person) == (False, [("sms", False, "sms:reply")])


def test_a_stop_reply_keeps_the_providers_message_id_as_evidence(client, runtime):
    """The consent change of a stop reply names the reply by the provider's id (JSON `id`, Twilio's MessageSid);
    an id that is a bare number (it might be a phone number) is not kept."""
    sid = "SM" + "0123456789abcdef" * 2
    people = [customer(runtime.engine, number) for number in ("+819011110001", "+819011110002", NUMBER)]
    assert inbound(client, {"from": "+819011110001", "text": "STOP", "id": "in-42"}).status_code == 200
    assert inbound(client, {"from": "+819011110002", "text": "STOP", "id": "819011110002"}).status_code == 200
    form = {"From": NUMBER, "Body": "STOP", "MessageSid": sid}
    assert twilio_post(client, runtime, "/sms/inbound/twilio", form).status_code == 200
    with session_scope(runtime.engine) as session:
        refs = [
            session.execute(
                select(ConsentEvent.evidence_ref).where(ConsentEvent.customer_id == person)
            ).scalar_one()
            for person in people
        ]
    assert refs == ["sms:in-42", None, f"sms:{sid}"]
