"""RQ jobs. They take ids, never objects, and are safe to run twice."""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from bot.api_events import idempotency
from bot.chat.attachments import requeue_stalled
from bot.chat.richmenus import DEFAULT_LOCALE, line_user_of, switch
from bot.customers.language import customer_locale
from bot.delivery.channels.line_menus import RichMenuApi
from bot.delivery.notices import requeue_stale
from bot.delivery.outbox import dispatch_answers, dispatch_due
from bot.delivery.signal_buffer import apply_pending, apply_spool, spool_for
from bot.inbound.context import Ctx
from bot.inbound.events import parse_event
from bot.jobs.queues import enqueue_event, event_job_id, take_pending_events
from bot.jobs.shutdown import stopping
from bot.offers.coupons import remind_expiring
from bot.offers.referrals import credit_referrals
from bot.platform.db import session_scope
from bot.platform.outbound import send_due as send_outbound
from bot.platform.runtime import current
from bot.privacy.retention import forget_old_texts
from bot.scenarios.runner import tick as engine_tick
from models import EventStatus, WebhookEvent, utcnow

log = logging.getLogger(__name__)

REQUEUE_BATCH = 500


class EventProcessingFailed(Exception):
    """A handler raised. The message names the row and the error class only: no customer data in logs."""


def drain_events() -> dict[str, int]:
    """Take a batch of newly stored events off the pending list and process them."""
    runtime = current()
    return process_events(take_pending_events(runtime.redis, runtime.settings))


def process_events(event_row_ids: list[int]) -> dict[str, int]:
    """A batch of events: each in its own transaction; one that fails is retried alone."""
    runtime = current()
    outcomes: Counter[str] = Counter()
    for row_id in event_row_ids:
        try:
            outcomes[_process(row_id)] += 1
        except Exception as exc:  # noqa: BLE001 -- any handler error is retried, never lost
            final = not runtime.settings.event_retry_intervals
            _note_failure(row_id, exc, final)
            if not final:
                enqueue_event(runtime.redis, runtime.settings, row_id, after_failure=True)
            outcomes["failed" if final else "retrying"] += 1
    return dict(outcomes)


def process_event(event_row_id: int) -> str:
    """One event on its own (a retry, or put back by the tick): RQ retries it with backoff until final."""
    try:
        return _process(event_row_id)
    except Exception as exc:  # noqa: BLE001 -- recorded, then re-raised sanitised
        job = get_current_job()
        final = job is None or not job.retries_left
        _note_failure(event_row_id, exc, final)
        raise EventProcessingFailed(
            f"event row={event_row_id}: {type(exc).__name__}{' (final)' if final else ''}"
        ) from None


def _process(event_row_id: int) -> str:
    """Run the event's handler; its effects and the `processed` mark commit together, or not at all."""
    runtime = current()
    now = utcnow()
    with session_scope(runtime.engine) as session:
        claimed = session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_row_id, WebhookEvent.status == EventStatus.RECEIVED)
            .values(attempts=WebhookEvent.attempts + 1)
        ).rowcount
        if not claimed:
            return "skipped"
        row = session.get(WebhookEvent, event_row_id)
        event = parse_event(json.loads(row.payload))
        ctx = Ctx(
            session,
            now,
            runtime.settings,
            event_row_id,
            row.occurred_at,
            webhook_event_id=row.webhook_event_id,
            handlers=runtime.handlers,
        )
        runtime.handlers.events.resolve(event)(event, ctx)
        row.status = EventStatus.PROCESSED
        row.processed_at = now
        row.last_error = None
    log.info("event row=%s type=%s processed", event_row_id, row.event_type)
    if ctx.answers:  # a customer is waiting in the chat: send the answers now, not at the next tick
        dispatch_answers(runtime.engine, runtime.redis, runtime.settings, ctx.answers, utcnow())
    return "processed"


def _note_failure(event_row_id: int, exc: Exception, final: bool) -> None:
    try:
        _record_failure(event_row_id, exc, final)
    except Exception as record_exc:  # noqa: BLE001 -- the database itself may be what failed
        log.error("event row=%s: could not record failure (%s)", event_row_id, type(record_exc).__name__)


def _record_failure(event_row_id: int, exc: Exception, final: bool) -> None:
    """Count the attempt and keep the error's class and place (not its message, which may hold data)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    values = {"attempts": WebhookEvent.attempts + 1, "last_error": f"{type(exc).__qualname__}{where}"[:500]}
    if final:
        values["status"] = EventStatus.FAILED
    with session_scope(current().engine) as session:
        session.execute(update(WebhookEvent).where(WebhookEvent.id == event_row_id).values(**values))
    log.warning("event row=%s failed (%s)%s", event_row_id, type(exc).__name__, " for good" if final else "")


def tick(at: str | None = None) -> dict[str, object]:
    """The periodic tick: record the clicks, opens and opt-outs the tracking links kept, re-enqueue events
    whose job was lost, forget expired API idempotency keys, run the scenario engine (triggers due by now,
    then every enrollment whose wake-up has come), let old chat texts go (retention), and hand every ledger
    row that is due to the send workers."""
    now = datetime.fromisoformat(at) if at else utcnow()
    # First: an opt-out kept while the database was down holds for everything this tick sends.
    tracked = apply_tracking_signals()
    with session_scope(current().engine) as session:
        forgotten = idempotency.forget_expired(session.connection(), now)
    requeued = requeue_stalled_events(now)
    settings = current().settings
    report = engine_tick(
        current().engine,
        settings.scenarios,
        now,
        filters=settings.scenario_filters,
        rules=settings.delivery_rules(),
        stopping=stopping,
    )
    scenarios = report.as_dict()
    reminders = remind_expiring(current().engine, settings, now)  # coupons expiring soon (#21–#23)
    with current().engine.begin() as connection:  # friends referred (#19) who have since contracted
        credited = credit_referrals(connection, now)
    notices = requeue_stale(current().engine, current().redis, now)  # staff notices whose enqueue was lost
    fetches = requeue_stalled(current().engine, current().redis, settings, now)  # photos whose fetch was lost
    # APPI retention: chat texts and webhook payloads older than RETENTION_DAYS lose their text, a batch a tick
    forgotten_texts = forget_old_texts(current().engine, settings.retention_days, now)
    dispatched = dispatch_due(current().engine, current().redis, settings, now)
    webhooks = send_outbound(current().engine, settings, now)  # events for the insurer's systems
    return {
        "tracking_signals": tracked,
        "events_requeued": requeued,
        "idempotency_keys_forgotten": forgotten,
        "scenarios": scenarios,
        "coupon_reminders_queued": reminders,
        "referrals_credited": credited,
        "staff_notices_requeued": notices,
        "attachment_fetches_requeued": fetches,
        "texts_forgotten": forgotten_texts,
        "deliveries_dispatched": dispatched,
        "webhooks": asdict(webhooks),
    }


def apply_tracking_signals() -> dict[str, int]:
    """Clicks, opens and opt-outs the tracking links kept (a spool of this machine's DATA_DIR first)."""
    runtime = current()
    apply_spool(spool_for(runtime.settings.data_dir), runtime.redis)
    return dict(apply_pending(runtime.engine, runtime.redis, utcnow()))


def requeue_stalled_events(now: datetime) -> int:
    """Events still `received` well after arrival with no live job of their own (Redis was down or lost it).

    An event whose batch job is merely still queued may be enqueued twice; claiming makes that harmless.
    """
    runtime = current()
    cutoff = now - timedelta(seconds=runtime.settings.event_requeue_after_seconds)
    with session_scope(runtime.engine) as session:
        row_ids = (
            session.execute(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == EventStatus.RECEIVED, WebhookEvent.received_at < cutoff)
                .order_by(WebhookEvent.id)
                .limit(REQUEUE_BATCH)
            )
            .scalars()
            .all()
        )
    lost = [row_id for row_id in row_ids if not _job_alive(row_id)]
    try:
        for row_id in lost:
            enqueue_event(runtime.redis, runtime.settings, row_id, after_failure=False)
    except RedisError:
        log.warning("re-enqueue of stalled events failed; the next tick tries again")
        return 0
    if lost:
        log.info("re-enqueued %s stalled events", len(lost))
    return len(lost)


_ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def _job_alive(event_row_id: int) -> bool:
    try:
        job = Job.fetch(event_job_id(event_row_id), connection=current().redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _ALIVE


def switch_rich_menus(customer_ids: list[int]) -> dict[str, int]:
    """RQ job: link each customer's LINE user to the rich menu of their state now (safe to run twice: it reads
    the state)."""
    runtime = current()
    api = RichMenuApi(runtime.settings)
    states: Counter[str] = Counter()
    try:
        with runtime.engine.connect() as connection:
            for customer_id in customer_ids:
                user_id = line_user_of(connection, customer_id)
                if user_id is None:  # no longer on LINE
                    states["not on LINE"] += 1
                    continue
                locale = customer_locale(connection, customer_id, DEFAULT_LOCALE)
                states[str(switch(connection, api, user_id, locale) or "no menus synced")] += 1
    finally:
        api.close()
    log.info("rich menus switched: %s", dict(states))
    return dict(states)
