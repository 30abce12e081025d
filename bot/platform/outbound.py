"""Signed outbound webhooks: what happened here (a request filed, a coupon redeemed …) posted to the insurer's
own systems (OUTBOUND_WEBHOOKS).

`record` writes one row per configured endpoint in the caller's transaction (a transactional outbox): an event
that did not happen is never sent, one that happened is never lost. The worker's tick posts the due rows
(`send_due`), each as JSON signed per the Standard Webhooks spec (standardwebhooks: the `webhook-id`,
`webhook-timestamp` and `webhook-signature` headers, HMAC-SHA256 over id, timestamp and body). `webhook-id` is
the event's id, the same on every attempt, so a receiver that saw it already can ignore a repeat: an endpoint
that took an event but answered too late is sent it again. A 2xx answer delivers it; anything else (an error,
a time-out, a refused connection) is tried again after OUTBOUND_WEBHOOK_RETRY_INTERVALS, and after the last
the row is dead: `flask webhooks list --dead` shows it, `flask webhooks replay` sends it again.

A payload names the customer by 顧客ID and internal number only, never by name or contact details.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import urllib3
from sqlalchemy import Connection, Engine, insert, select, update
from standardwebhooks import Webhook

from bot.platform.config import Settings
from models import Customer, OutboundEvent, OutboundStatus

log = logging.getLogger(__name__)
EVENTS, CUSTOMERS = OutboundEvent.__table__, Customer.__table__
BATCH = 50  # rows taken at once
CLAIM_SECONDS = (
    120  # a row being posted is not due for others meanwhile (a worker that dies leaves it due then)
)
BUDGET_SECONDS = (
    20.0  # a tick posts for at most this long: a slow endpoint cannot hold up the rest of the tick
)
USER_AGENT = "line-insurance-bot-webhooks/1"


def record(
    connection: Connection,
    settings: Settings,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    customer_id: int | None = None,
) -> str | None:
    """Queue the event for every endpoint, in `connection`'s transaction; its id (None with no endpoint)."""
    if not settings.outbound_webhooks:
        return None
    event_id = f"evt_{uuid.uuid4().hex}"
    if customer_id is not None:  # by 顧客ID (a prospect has none) and internal number, nothing more
        code = connection.execute(
            select(CUSTOMERS.c.customer_code).where(CUSTOMERS.c.id == customer_id)
        ).scalar()
        data = {"customer": {"customer_code": code, "internal_id": customer_id}} | data
    payload = {"id": event_id, "type": event_type, "occurred_at": now.isoformat(), "data": data}
    connection.execute(
        insert(EVENTS),
        [
            {
                "event_id": event_id,
                "endpoint": endpoint,
                "event_type": event_type,
                "customer_id": customer_id,
                "payload": payload,
                "status": OutboundStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint in settings.outbound_webhooks
        ],
    )
    return event_id


@dataclass
class Sent:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    unknown_endpoint: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def send_due(
    engine: Engine, settings: Settings, now: datetime, http: urllib3.PoolManager | None = None
) -> Sent:
    """Post the rows due by `now`, a batch at a time, for at most BUDGET_SECONDS."""
    sent = Sent()
    if not settings.outbound_webhooks and not _any_queued(engine):
        return sent
    http = http or urllib3.PoolManager(retries=False)
    signer = Webhook(settings.outbound_webhook_secret) if settings.outbound_webhook_secret else None
    started = time.monotonic()
    while time.monotonic() - started < BUDGET_SECONDS:
        taken = _take(engine, now)
        if not taken:
            break
        for row in taken:
            url = settings.outbound_webhooks.get(row.endpoint)
            if url is None or signer is None:  # an endpoint since removed from the settings: kept, not sent
                outcome: str | None = "endpoint not configured"
                sent.unknown_endpoint += 1
            else:
                outcome = _post(http, signer, url, row, settings.outbound_webhook_timeout)
            _settle(engine, settings, row, outcome, now, sent)
    return sent


def _any_queued(engine: Engine) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            select(EVENTS.c.id).where(EVENTS.c.status == OutboundStatus.QUEUED).limit(1)
        )
        return found.first() is not None


def _take(engine: Engine, now: datetime) -> list[Any]:
    """Claim up to BATCH due rows (others skip them: locked now, not due for CLAIM_SECONDS after)."""
    with engine.begin() as connection:
        due = (
            select(EVENTS)
            .where(EVENTS.c.status == OutboundStatus.QUEUED, EVENTS.c.next_attempt_at <= now)
            .order_by(EVENTS.c.next_attempt_at, EVENTS.c.id)
            .limit(BATCH)
        )
        if connection.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = list(connection.execute(due))
        if rows:
            connection.execute(
                update(EVENTS)
                .where(EVENTS.c.id.in_([row.id for row in rows]))
                .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
            )
    return rows


def _post(http: urllib3.PoolManager, signer: Webhook, url: str, row: Any, timeout: float) -> str | None:
    """None when the endpoint took the event, else why not (no personal data: a status, a kind of failure)."""
    body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
    moment = datetime.now().astimezone()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": row.event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signer.sign(row.event_id, moment, body),
    }
    try:
        answer = http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            redirect=False,
            preload_content=True,
        )
    except urllib3.exceptions.NewConnectionError:  # refused, unreachable (urllib3 files it under time-outs)
        return "connection failed"
    except urllib3.exceptions.TimeoutError:
        return "timeout"
    except urllib3.exceptions.HTTPError as exc:
        return f"connection failed ({type(exc).__name__})"
    return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"


def _settle(
    engine: Engine, settings: Settings, row: Any, outcome: str | None, now: datetime, sent: Sent
) -> None:
    attempts = row.attempts + 1
    values: dict[str, Any] = {"attempts": attempts}  # a delivered row keeps its last failure, if any
    if outcome is None:
        values |= {"status": OutboundStatus.DELIVERED, "delivered_at": now}
        sent.delivered += 1
    else:
        values["last_error"] = outcome
        intervals = settings.outbound_webhook_retry_intervals
        sent.errors[outcome] = sent.errors.get(outcome, 0) + 1
        if attempts > len(intervals):
            values["status"] = OutboundStatus.DEAD
            sent.dead += 1
            log.warning(
                "outbound event row=%s to %s is dead after %s attempts: %s",
                row.id,
                row.endpoint,
                attempts,
                outcome,
            )
        else:
            values["next_attempt_at"] = now + timedelta(seconds=intervals[attempts - 1])
            sent.retried += 1
    with engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(**values))


def replay(connection: Connection, now: datetime, ids: list[int] | None = None) -> int:
    """Send dead rows (those of `ids`, else all) again from their first attempt; how many."""
    chosen = [EVENTS.c.status == OutboundStatus.DEAD] + ([EVENTS.c.id.in_(ids)] if ids else [])
    return connection.execute(
        update(EVENTS).where(*chosen).values(status=OutboundStatus.QUEUED, attempts=0, next_attempt_at=now)
    ).rowcount
