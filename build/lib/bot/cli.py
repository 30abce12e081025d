"""Operator commands under `flask ...`: migrations, the periodic tick, replaying failed events."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select, update

from bot.jobs.queues import enqueue_event
from bot.platform import migrate
from bot.platform.db import session_scope
from bot.platform.runtime import Runtime
from models import EventStatus, WebhookEvent


def register(app: Flask) -> None:
    from bot.delivery.delivery_cli import delivery_group
    from bot.imports.cli import import_command
    from bot.offers.coupon_cli import coupons_group
    from bot.privacy.cli import customers_group
    from bot.scenarios.cli import engine_group, scenarios_group, why_command
    from bot.staff.desk_cli import requests_group

    app.cli.add_command(engine_group)
    app.cli.add_command(scenarios_group)
    app.cli.add_command(why_command)
    app.cli.add_command(db_group)
    app.cli.add_command(events_group)
    app.cli.add_command(import_command)
    app.cli.add_command(delivery_group)
    app.cli.add_command(coupons_group)
    app.cli.add_command(requests_group)
    app.cli.add_command(customers_group)


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
