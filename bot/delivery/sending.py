"""The send job: a batch of ledger rows on one channel, sent and recorded.

A job takes over the rows it was handed only if they still carry the claim it was given, counts the attempt
and claims them for `SEND_CLAIM_SECONDS` (its RQ time-out too, so it is stopped before another job could get
them); from then on no dispatch hands them out on RQ's word, even if Redis forgets the job. Then, a chunk at a
time, it checks each row again (permission, a blocked LINE friend, quiet hours for marketing), renders and
sends it, and records every outcome in one statement per chunk, so a crash loses at most a chunk's records —
and a LINE push sent but not recorded is answered 409 when it is tried again.

Outcomes: sent; retry later with backoff (never more than 23 hours after the first attempt: LINE keeps a retry
key for 24); channel stopped (the row waits, the channel is held, an operator is alerted); failed with the
reason. Rows over the SMS hourly rate are put back until the rate allows them, without counting an attempt.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, func, update

from bot.customers.language import customer_locales
from bot.delivery.broadcasts import cancelled_broadcasts
from bot.delivery.channels.result import Outcome, SendResult
from bot.delivery.channels.sms_billing import Carrier, SmsTooLong, segments
from bot.delivery.channels.sms_rate import HourlyRateLimit
from bot.delivery.content import Links, Template, load_fields, sms_text
from bot.delivery.outbox import stop_channel
from bot.delivery.rules import HANDOVER_RECHECK, IN_HANDOVER, NOBODY, in_handover, load_reach, refusal
from bot.delivery.senders import Outgoing, Sender, open_sender
from bot.delivery.signal_buffer import OPT_OUTS, apply_pending
from bot.delivery.windows import retry_window_passed
from bot.platform.bulk import among
from bot.platform.config import Settings
from bot.platform.runtime import current
from flows.dsl import Channel, Purpose
from flows.engine import TOKYO
from flows.rules import in_quiet_hours, quiet_end
from models import SENDABLE, Delivery, DeliveryStatus, utcnow

log = logging.getLogger(__name__)
DELIVERIES = Delivery.__table__
CHUNK = 100


def send_deliveries(channel: str, ids: list[int], claim: str) -> dict[str, int]:
    """RQ job: send the ledger rows `ids` on `channel` if they still carry `claim`."""
    runtime = current()
    return send_batch(runtime.engine, runtime.redis, runtime.settings, Channel(channel), ids, claim)


def send_batch(
    engine: Engine,
    redis: Any,
    settings: Settings,
    channel: Channel,
    ids: list[int],
    claim: str,
    clock: Callable[[], datetime] = utcnow,
) -> dict[str, int]:
    """Send the rows; `clock` gives the moment of each chunk (quiet hours, back-off, the 23-hour window)."""
    now = clock()
    # An opt-out taken while the database was down waits in Redis: it holds before this job checks permission.
    apply_pending(engine, redis, utcnow(), lists=(OPT_OUTS,), wait=True)
    counts: Counter[str] = Counter()
    if channel is Channel.SMS:
        ids = _within_sms_rate(engine, redis, settings, ids, claim, now, counts)
    lease = now + timedelta(seconds=settings.send_claim_seconds)
    rows = _take(engine, ids, claim, lease, now)
    with open_sender(channel, settings) as sender:
        chunks = _chunks(rows)
        for index, chunk in enumerate(chunks):
            stopped = _send_chunk(engine, redis, settings, sender, channel, chunk, lease, counts, clock())
            if stopped:
                rest = [row.id for later in chunks[index + 1 :] for row in later]
                _release(engine, rest, lease)
                counts["released"] += len(rest)
                break
    log.info("send job on %s: %s", channel, dict(counts))
    return dict(counts)


def _chunks(rows: list[Any]) -> list[list[Any]]:
    """Rows of one multicast group in one chunk (one request, recorded together); others CHUNK at a time."""
    singles = [row for row in rows if not row.batch_key]
    groups: dict[str, list[Any]] = {}
    for row in rows:
        if row.batch_key:
            groups.setdefault(row.batch_key, []).append(row)
    return [singles[i : i + CHUNK] for i in range(0, len(singles), CHUNK)] + list(groups.values())


def _take(engine: Engine, ids: list[int], claim: str, lease: datetime, now: datetime) -> list[Any]:
    """The rows still carrying `claim`, now claimed until `lease`, with this attempt counted."""
    if not ids:
        return []
    with engine.begin() as connection:
        statement = (
            update(DELIVERIES)
            .where(
                among(connection, DELIVERIES.c.id, ids),
                DELIVERIES.c.claimed_until == datetime.fromisoformat(claim),
                DELIVERIES.c.status.in_(SENDABLE),
            )
            .values(
                claimed_until=lease,
                send_job=None,  # taken over: only the lease protects them now
                attempts=DELIVERIES.c.attempts + 1,
                first_attempt_at=_coalesce(DELIVERIES.c.first_attempt_at, now),
                updated_at=now,
            )
            .returning(*DELIVERIES.c)
        )
        return sorted(connection.execute(statement).all(), key=lambda row: row.id)


def _coalesce(column: Any, value: datetime) -> Any:
    return func.coalesce(column, bindparam("first", value, type_=DELIVERIES.c.first_attempt_at.type))


def _send_chunk(
    engine: Engine,
    redis: Any,
    settings: Settings,
    sender: Sender,
    channel: Channel,
    rows: list[Any],
    lease: datetime,
    counts: Counter[str],
    now: datetime,
) -> bool:
    """Check, send and record one chunk; True when the channel was stopped."""
    rules = settings.delivery_rules()
    with engine.connect() as connection:
        reach = load_reach(connection, (row.customer_id for row in rows))
        # each customer in their own language (the service's default until one is known)
        locales = customer_locales(connection, (row.customer_id for row in rows), settings.default_locale)
        fields = load_fields(connection, rows, locales, settings.scenarios)
        cancelled = cancelled_broadcasts(connection, {row.broadcast_id for row in rows if row.broadcast_id})
        marketed = {row.customer_id for row in rows if row.purpose == Purpose.MARKETING}
        with_person = in_handover(connection, marketed) if marketed else set()
    records: list[dict[str, Any]] = []
    ready: list[Outgoing] = []
    for row in rows:
        who = reach.get(row.customer_id, NOBODY)
        template = Template(row.template, locales[row.customer_id])
        reason = refusal(channel, Purpose(row.purpose), who)
        if row.broadcast_id in cancelled:  # staff stopped the broadcast while this job ran
            records.append(_failed(row, "cancelled", now))
        elif row.first_attempt_at and retry_window_passed(row.first_attempt_at, now):
            records.append(_failed(row, "retry window of 23 h passed", now))
        elif reason:
            records.append(_failed(row, f"not_sent: {reason}", now))
        elif row.purpose == Purpose.MARKETING and row.customer_id in with_person:
            records.append(_in_handover(row, now))
        elif row.purpose == Purpose.MARKETING and in_quiet_hours(now, rules):
            records.append(_waiting(row, quiet_end(now, rules), "quiet_hours", now, attempt=False))
        elif problem := _unrenderable(template, fields[row.id], channel):
            records.append(_failed(row, problem, now))
        else:
            links = Links(settings.public_base_url, row.token)
            ready.append(Outgoing(row, who.addresses[channel], fields[row.id], template, links))
    stopped = False
    for item, result in zip(ready, sender.send(ready) if ready else [], strict=True):
        if result.outcome is Outcome.STOP_CHANNEL and not stopped:
            stopped = True
            stop_channel(redis, channel, result.reason or "stopped", _stop_seconds(channel, now))
        records.append(_record(item, result, settings, now, stopped))
    with engine.begin() as connection:
        _write(connection, records, lease)
    counts.update(record["outcome"] for record in records)
    return stopped


def _unrenderable(template: Template, fields: dict[str, Any], channel: Channel) -> str | None:
    """Why this message cannot go out as written on `channel`: no text in the locale files, or a merge field left
    empty (a customer must never read "%{visit_date}"). Only the text the channel sends is rendered."""
    try:
        bodies = template.body(fields, sms=channel is Channel.SMS)
    except KeyError:
        return f"template {template.key}: no text"
    return f"template {template.key}: a merge field has no value" if "%{" in bodies else None


def _record(item: Outgoing, result: SendResult, settings: Settings, now: datetime, stopped: bool) -> dict:
    row = item.row
    if result.outcome is Outcome.SENT:
        values = _base(row, now) | {
            "outcome": "sent",
            "status": DeliveryStatus.SENT,
            "provider_id": result.provider_id,
            "sent_at": now,
            "error": None,
        }
        if row.channel == Channel.SMS:
            values["segments"] = _sms_segments(item, settings.sms_sender_label)
        return values
    if result.outcome is Outcome.FAILED:
        return _failed(row, result.reason or "failed", now)
    if stopped or result.outcome is Outcome.STOP_CHANNEL:
        return _waiting(row, row.due_at, result.reason or "channel stopped", now, attempt=False)
    return _retry(row, result, settings, now)


def _retry(row: Any, result: SendResult, settings: Settings, now: datetime) -> dict:
    intervals = settings.send_retry_intervals or [60]
    delay = max(intervals[min(row.attempts, len(intervals)) - 1], result.retry_after or 0)
    when = now + timedelta(seconds=delay)
    if retry_window_passed(row.first_attempt_at or now, when):
        return _failed(row, f"gave up after 23 h: {result.reason}", now)
    rules = settings.delivery_rules()
    if row.purpose == Purpose.MARKETING and in_quiet_hours(when, rules):
        when = quiet_end(when, rules)
    return _waiting(row, when, result.reason or "retry", now, attempt=True) | {"outcome": "retry"}


def _sms_segments(item: Outgoing, sender: str) -> int | None:
    try:  # until the receipt names the carrier, bill as the carrier that bills most
        message = sms_text(item.template, item.fields, item.links, item.marketing, sender)
        return segments(message, Carrier.UNKNOWN)
    except (SmsTooLong, ValueError):
        return None


def _base(row: Any, now: datetime) -> dict[str, Any]:
    """A record names the row and the columns its outcome changes, nothing else."""
    return {"b_id": row.id, "updated_at": now}


def _failed(row: Any, reason: str, now: datetime) -> dict[str, Any]:
    return _base(row, now) | {"outcome": "failed", "status": DeliveryStatus.FAILED, "error": reason[:500]}


def _in_handover(row: Any, now: datetime) -> dict[str, Any]:
    """Marketing to a customer a person is talking with waits, held, until the hand-over is released (which
    makes it due at once) or, as a backstop, the next look. However long the hand-over lasts, it is not an
    attempt: LINE's 23-hour retry window starts at the first real one."""
    waiting = _waiting(row, now + HANDOVER_RECHECK, IN_HANDOVER, now, attempt=False)
    return waiting | ({"first_attempt_at": None} if row.attempts <= 1 else {})


def _waiting(row: Any, until: datetime, reason: str, now: datetime, *, attempt: bool) -> dict[str, Any]:
    """Back in the queue until `until`; an attempt not made (quiet hours, channel stopped) is not counted."""
    held = reason in ("quiet_hours", IN_HANDOVER)
    return (
        _base(row, now)
        | {
            "outcome": "held" if held else "waiting",
            "status": DeliveryStatus.HELD if held else row.status,  # held stays held until it is sent
            "due_at": until,
            "attempts": row.attempts if attempt else row.attempts - 1,
            "error": reason[:500],
        }
    )


_NOT_COLUMNS = ("b_id", "outcome", "provider_id")


def _write(connection: Connection, records: list[dict[str, Any]], lease: datetime) -> None:
    """Every outcome of a chunk, only for rows this job still holds: one UPDATE per kind of outcome (all sent,
    say), each row's provider id by a CASE on its id, instead of a statement a row."""
    alike: dict[tuple, list[dict[str, Any]]] = {}
    for record in records:
        changes = tuple(sorted((k, v) for k, v in record.items() if k not in _NOT_COLUMNS))
        alike.setdefault(changes, []).append(record)
    for changes, members in alike.items():
        values: dict[str, Any] = dict(changes) | {"claimed_until": None}
        providers = {m["b_id"]: m["provider_id"] for m in members if "provider_id" in m}
        if len(set(providers.values())) > 1:
            values["provider_id"] = case(providers, value=DELIVERIES.c.id)
        elif providers:
            values["provider_id"] = next(iter(providers.values()))
        ids = [m["b_id"] for m in members]
        connection.execute(
            update(DELIVERIES)
            .where(among(connection, DELIVERIES.c.id, ids), DELIVERIES.c.claimed_until == lease)
            .values(values)
        )


def _release(engine: Engine, ids: list[int], lease: datetime) -> None:
    """Rows a stopped channel did not reach: back in the queue, the attempt not counted."""
    if not ids:
        return
    with engine.begin() as connection:
        connection.execute(
            update(DELIVERIES)
            .where(among(connection, DELIVERIES.c.id, ids), DELIVERIES.c.claimed_until == lease)
            .values(claimed_until=None, attempts=DELIVERIES.c.attempts - 1)
        )


def _within_sms_rate(
    engine: Engine, redis: Any, settings: Settings, ids: list[int], claim: str, now: datetime, counts: Counter
) -> list[int]:
    """The ids the shared hourly SMS rate lets go now; the rest wait, unclaimed, until it allows them."""
    limit = HourlyRateLimit(redis, settings.sms_rate_per_hour)
    allowed = limit.take(len(ids))
    later = ids[allowed:]
    if later:
        until = now + timedelta(seconds=max(1.0, limit.wait_seconds()))
        with engine.begin() as connection:
            connection.execute(
                update(DELIVERIES)
                .where(
                    among(connection, DELIVERIES.c.id, later),
                    DELIVERIES.c.claimed_until == datetime.fromisoformat(claim),
                )
                .values(claimed_until=None, send_job=None, due_at=until)
            )
        counts["rate_limited"] += len(later)
    return ids[:allowed]


def _stop_seconds(channel: Channel, now: datetime) -> int | None:
    """LINE's monthly quota comes back on the 1st (Japan time); other stops last until an operator resumes."""
    if channel is not Channel.LINE:
        return None
    local = now.astimezone(TOKYO)
    first = (local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(
        day=1
    )
    return max(60, int((first.astimezone(UTC) - now).total_seconds()))
