"""Signed outbound webhooks against a local receiver that fails, times out and answers late: each redeemed coupon
reaches the receiver's handler exactly once (it ignores an event id it has seen, as the spec asks receivers to),
every request carries a Standard Webhooks signature the receiver verifies with the shared secret, an endpoint that
never answers ends in the dead letters, and `flask webhooks replay` sends those once it is back. On SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import insert, select
from standardwebhooks import Webhook, WebhookVerificationError

from bot.cli.webhooks import webhooks_group
from bot.offers.coupons import redeem
from bot.platform.outbound import send_due
from models import Coupon, CouponCampaign, Customer, OutboundEvent, OutboundStatus, utcnow

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
TIMEOUT = 0.5


class Receiver:
    """The insurer's endpoint: verifies each request's signature, handles each event id once per path; the n-th
    request (from 1) of `script` answers with that status, after that delay."""

    def __init__(self, script: dict[int, tuple[int, float]]) -> None:
        self.script, self.requests, self.bad_signatures = script, 0, 0
        self.handled: dict[str, list[dict]] = {}  # path → payloads handled (each event id once)
        self.seen: dict[str, list[str]] = {}  # path → every event id that arrived, repeats included
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    status, delay = receiver.script.get(receiver.requests, (200, 0.0))
                try:
                    payload = Webhook(SECRET).verify(body, dict(self.headers))
                except WebhookVerificationError:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    status = 401
                else:
                    with receiver.lock:
                        receiver.seen.setdefault(self.path, []).append(self.headers["webhook-id"])
                        handled = receiver.handled.setdefault(self.path, [])
                        if status == 200 and all(p["id"] != payload["id"] for p in handled):
                            handled.append(payload)  # processed even when the answer comes too late
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver():
    # 1st: 503; 2nd: handled, but the answer comes after the sender's time-out; 3rd: late yet in time
    built = Receiver({1: (503, 0.0), 2: (200, TIMEOUT * 3), 3: (200, TIMEOUT / 3)})
    yield built
    built.close()


def coupons_redeemed(runtime, count: int) -> list[str]:
    now = utcnow()
    with runtime.engine.begin() as connection:
        customer = connection.execute(
            insert(Customer.__table__)
            .values(customer_code="C77", family_name="山田", created_at=now, updated_at=now)
            .returning(Customer.__table__.c.id)
        ).scalar_one()
        connection.execute(
            insert(CouponCampaign.__table__).values(
                code="VISIT", title="来店特典", benefit="ギフト券", per_customer_limit=count, created_at=now
            )
        )
        codes = [f"7KQ2MX{n:04d}" for n in range(count)]
        connection.execute(
            insert(Coupon.__table__),
            [
                {
                    "campaign_code": "VISIT",
                    "customer_id": customer,
                    "seq": n + 1,
                    "code": code,
                    "status": "issued",
                    "issued_at": now,
                    "expires_at": now + timedelta(days=7),
                }
                for n, code in enumerate(codes)
            ],
        )
        for code in codes:
            assert redeem(connection, code, "staff", now).outcome.value == "redeemed"
    return codes


def rows(runtime, endpoint: str) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(
            select(OutboundEvent).where(OutboundEvent.endpoint == endpoint).order_by(OutboundEvent.id)
        ).all()


def send_until_settled(runtime, rounds: int = 12) -> None:
    now = utcnow()
    for _ in range(rounds):
        send_due(runtime.engine, runtime.settings, now)
        now += timedelta(seconds=5)  # past every retry interval of these settings


def test_each_event_reaches_a_flaky_receiver_once_and_a_dead_endpoint_is_replayed(app, runtime, receiver):
    runtime.settings = runtime.settings.model_copy(
        update={
            "outbound_webhooks": {
                "crm": f"{receiver.url}/crm",
                "agency": f"http://127.0.0.1:{closed_port()}/a",
            },
            "outbound_webhook_secret": SECRET,
            "outbound_webhook_timeout": TIMEOUT,
            "outbound_webhook_retry_intervals": [1, 2, 4],
        }
    )
    codes = coupons_redeemed(runtime, 6)
    assert len(rows(runtime, "crm")) == len(rows(runtime, "agency")) == 6  # written with the redemptions

    send_until_settled(runtime)
    crm = rows(runtime, "crm")
    assert [row.status for row in crm] == [OutboundStatus.DELIVERED] * 6
    assert receiver.bad_signatures == 0
    handled = receiver.handled["/crm"]
    assert sorted(p["data"]["coupon_code"] for p in handled) == codes  # each once
    assert {p["id"] for p in handled} == {row.event_id for row in crm}
    repeats = len(receiver.seen["/crm"]) - len(set(receiver.seen["/crm"]))
    assert repeats == 2  # the 503'd one came again, and the one answered too late, under the same id: ignored
    assert sorted(row.last_error or "" for row in crm if row.attempts > 1) == ["HTTP 503", "timeout"]
    first = handled[0]
    assert first["type"] == "coupon.redeemed"
    assert first["data"]["customer"] == {"customer_code": "C77", "internal_id": crm[0].customer_id}
    assert "山田" not in json.dumps(handled, ensure_ascii=False)

    agency = rows(runtime, "agency")
    assert {(row.status, row.attempts) for row in agency} == {(OutboundStatus.DEAD, 4)}  # 1 + 3 retries
    assert {row.last_error for row in agency} == {"connection failed"}
    listed = app.test_cli_runner().invoke(webhooks_group, ["list", "--dead"])
    assert listed.exit_code == 0 and "agency: 6 dead" in listed.output and "crm: 6 delivered" in listed.output

    runtime.settings = runtime.settings.model_copy(
        update={
            "outbound_webhooks": runtime.settings.outbound_webhooks | {"agency": f"{receiver.url}/agency"}
        }
    )
    replayed = app.test_cli_runner().invoke(webhooks_group, ["replay", "--by", "staff-3"])
    assert replayed.exit_code == 0 and "6 events queued again" in replayed.output
    send_until_settled(runtime, rounds=2)
    assert {row.status for row in rows(runtime, "agency")} == {OutboundStatus.DELIVERED}
    assert sorted(p["data"]["coupon_code"] for p in receiver.handled["/agency"]) == codes
    assert receiver.bad_signatures == 0


def test_no_endpoint_configured_records_nothing(runtime):
    coupons_redeemed(runtime, 2)
    with runtime.engine.connect() as connection:
        assert connection.execute(select(OutboundEvent)).all() == []


def test_a_secret_too_short_or_missing_is_refused_at_start_up(settings):
    from pydantic import ValidationError

    for secret in ("", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValidationError, match="OUTBOUND_WEBHOOK_SECRET"):
            settings.model_validate(
                settings.model_dump()
                | {
                    "outbound_webhooks": {"crm": "https://crm.example.jp/h"},
                    "outbound_webhook_secret": secret,
                }
            )
    with pytest.raises(ValidationError, match="not http"):
        settings.model_validate(
            settings.model_dump() | {"outbound_webhooks": "crm=ftp://x", "outbound_webhook_secret": SECRET}
        )
