"""Operator commands for delivery: `flask delivery status | resume CHANNEL | dispatch [--at ISO]`."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from bot.delivery.outbox import dispatch_due, resume_channel, stopped_channels
from flows.dsl import Channel
from models import Delivery, utcnow

DELIVERIES = Delivery.__table__


@click.group("delivery", cls=AppGroup)
def delivery_group() -> None:
    """The delivery ledger and its channels."""


@delivery_group.command("status")
def status() -> None:
    """Ledger rows per channel and status, and the channels that are stopped."""
    runtime = current_app.extensions["runtime"]
    statement = (
        select(DELIVERIES.c.channel, DELIVERIES.c.status, func.count())
        .group_by(DELIVERIES.c.channel, DELIVERIES.c.status)
        .order_by(DELIVERIES.c.channel, DELIVERIES.c.status)
    )
    with runtime.engine.connect() as connection:
        for channel, state, count in connection.execute(statement):
            click.echo(f"{channel:6} {state:10} {count:>10,}")
    stopped = stopped_channels(runtime.redis)
    click.echo("stopped: " + (", ".join(sorted(stopped)) if stopped else "none"))


@delivery_group.command("resume")
@click.argument("channel", type=click.Choice([c.value for c in Channel]))
def resume(channel: str) -> None:
    """Send on CHANNEL again after it was stopped (LINE's monthly quota raised, an SMS account restored)."""
    runtime = current_app.extensions["runtime"]
    was = resume_channel(runtime.redis, channel)
    click.echo(f"{channel}: resumed" if was else f"{channel}: was not stopped")


@delivery_group.command("dispatch")
@click.option("--at", "at", default=None, help="ISO time with zone (default: now)")
def dispatch(at: str | None) -> None:
    """Hand every due ledger row to the send workers now (the tick does this every minute)."""
    runtime = current_app.extensions["runtime"]
    moment = datetime.fromisoformat(at) if at else utcnow()
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-07-01T10:00:00+09:00", param_hint="--at")
    handed = dispatch_due(runtime.engine, runtime.redis, runtime.settings, moment)
    click.echo(f"{handed:,} deliveries handed to the send workers")
