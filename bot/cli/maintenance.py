"""`flask db upgrade` and `flask events retry-failed`: the schema, and replaying failed events."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select, update

from bot.jobs.queues import enqueue_event
from bot.platform import migrate
from bot.platform.db import session_scope
from bot.platform.runtime import Runtime
from models import EventStatus, WebhookEvent


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate.upgrade(_runtime().settings.effective_database_url)
    click.echo("database is at the latest schema revision")


@click.group("events", cls=AppGroup)
def events_group() -> None:
    """Stored LINE webhook events."""


@events_group.command("retry-failed")
@click.option("--limit", default=1000, show_default=True, help="At most this many events.")
def retry_failed(limit: int) -> None:
    """Put events that failed for good back in the queue (after fixing what made them fail)."""
    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        row_ids = list(
            session.execute(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == EventStatus.FAILED)
                .order_by(WebhookEvent.id)
                .limit(limit)
            ).scalars()
        )
        if row_ids:
            session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(row_ids))
                .values(status=EventStatus.RECEIVED, attempts=0)
            )
    for row_id in row_ids:
        enqueue_event(runtime.redis, runtime.settings, row_id, after_failure=False)
    click.echo(f"re-enqueued {len(row_ids)} failed events")
