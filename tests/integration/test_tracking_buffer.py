"""The tracking links' buffer on real Redis and real databases: signals spooled while Redis was down move to
Redis with the next request that reaches it (a web dyno's disk is not the worker's), a full list lets clicks
go but never an opt-out, and a send job applies a kept opt-out before it checks permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery import signal_buffer
from bot.delivery.engagement import CLICK, OPEN, OPT_OUT, Signal
from bot.delivery.signal_buffer import OPT_OUTS, SIGNALS, SignalBuffer, apply_pending, spool_for
from bot.platform.redis_conn import connect
from models import ConsentEvent, utcnow
from tests.integration.delivery_helpers import add_customer, add_row, ledger, send_due


def dead_redis():
    return connect("redis://127.0.0.1:9/0", timeout=0.5)  # nothing listens on the discard port


def token_of(runtime, row_id: int) -> str:
    return ledger(runtime, row_id)[0].token


def consents(runtime) -> list[tuple[int, str, bool, str]]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(ConsentEvent.__table__).order_by(ConsentEvent.__table__.c.id))
        return [(r.customer_id, r.channel, r.granted, r.source) for r in rows]


def test_spooled_signals_move_to_redis_with_the_next_request_that_reaches_it(runtime, tmp_path):
    """A web process that spooled while Redis was down moves its spool to Redis with its next signal; the
    worker (on another machine, no access to that disk) then records each signal once."""
    customer = add_customer(runtime, email="hanako@example.com", email_ok=True)
    token = token_of(
        runtime, add_row(runtime, customer, channel="email", due_at=utcnow() + timedelta(days=9))
    )
    spool = spool_for(tmp_path / "web")
    now = utcnow()
    assert SignalBuffer(dead_redis(), spool).keep(Signal(OPEN, token, now))
    assert SignalBuffer(dead_redis(), spool).keep(Signal(OPT_OUT, token, now + timedelta(seconds=1)))
    assert spool.has_lines() and runtime.redis.llen(SIGNALS) == 0
    assert SignalBuffer(runtime.redis, spool).keep(Signal(CLICK, token, now + timedelta(seconds=2)))
    assert not spool.has_lines()
    assert (runtime.redis.llen(SIGNALS), runtime.redis.llen(OPT_OUTS)) == (2, 1)
    assert apply_pending(runtime.engine, runtime.redis, utcnow()) == {"open": 1, "click": 1, "opt_out": 1}
    [row] = ledger(runtime)
    assert row.opened_at < row.clicked_at
    assert consents(runtime) == [(customer, "email", False, "link:email")]
    assert apply_pending(runtime.engine, runtime.redis, utcnow()) == {}


def test_a_full_list_lets_clicks_go_but_keeps_opt_outs_in_the_spool(runtime, tmp_path, monkeypatch):
    """A flood of made-up links must not fill Redis: past the cap a click is let go (the redirect still
    happens), an opt-out goes to the spool and is recorded all the same."""
    monkeypatch.setattr(signal_buffer, "MAX_PENDING", {SIGNALS: 1, OPT_OUTS: 1})
    customer = add_customer(runtime, email="hanako@example.com", email_ok=True)
    tokens = [
        token_of(runtime, add_row(runtime, customer, channel=c, due_at=utcnow() + timedelta(days=9)))
        for c in ("email", "sms")
    ]
    buffer = SignalBuffer(runtime.redis, spool_for(tmp_path))
    now = utcnow()
    assert buffer.keep(Signal(CLICK, tokens[0], now))
    assert not buffer.keep(Signal(CLICK, tokens[1], now))
    assert buffer.keep(Signal(OPT_OUT, tokens[0], now))
    assert buffer.keep(Signal(OPT_OUT, tokens[1], now))
    assert runtime.redis.llen(OPT_OUTS) == 1 and spool_for(tmp_path).has_lines()
    from bot.jobs.tasks import apply_tracking_signals

    assert apply_tracking_signals() == {"click": 1, "opt_out": 2}
    assert sorted(c[1] for c in consents(runtime)) == ["email", "sms"]


@pytest.fixture
def by_email(runtime):
    """Emails go to the local maildir at any hour."""
    runtime.settings = runtime.settings.model_copy(update={"quiet_hours": "", "smtp_url": ""})
    return runtime


def test_a_send_job_applies_a_kept_opt_out_before_it_checks_permission(by_email, drain):
    """An opt-out kept while the database was down (not yet recorded by a tick) stops the next marketing
    email to that customer: the send job records it first, then refuses the email for want of consent."""
    runtime = by_email
    customer = add_customer(runtime, email="hanako@example.com", email_ok=True)
    earlier = add_row(runtime, customer, channel="email", due_at=utcnow() + timedelta(days=9))
    SignalBuffer(runtime.redis, spool_for(runtime.settings.data_dir)).keep(
        Signal(OPT_OUT, token_of(runtime, earlier), utcnow())
    )
    later = add_row(runtime, customer, channel="email")
    assert send_due(runtime, drain) == 1
    assert ledger(runtime, later)[0].error == "not_sent: no_consent"
    assert consents(runtime) == [(customer, "email", False, "link:email")]
    assert runtime.redis.llen(OPT_OUTS) == 0
