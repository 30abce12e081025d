"""Operator commands for delivery: `flask delivery status | resume CHANNEL | dispatch [--at ISO]`."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from bot.delivery.outbox import dispatch_due, resume_channel, stopped_channels
from bot.staff.ledger import ORIGINS, ledger
from flows.dsl import Channel
from models import utcnow

SENT_HEADING = "sent (the provider took it, whatever its receipt said later), by origin:"


@click.group("delivery", cls=AppGroup)
def delivery_group() -> None:
    """The delivery ledger and its channels."""


@delivery_group.command("status")
def status() -> None:
    """Ledger rows per channel and status; per channel, the messages the provider took (sent) and what wrote
    them: the dashboard's ledger table, by the same function (bot/staff/ledger.py); and stopped channels."""
    runtime = current_app.extensions["runtime"]
    with runtime.engine.connect() as connection:
        figures = ledger(connection)
    for channel, one in figures.items():
        for state, count in sorted(one.statuses.items()):
            click.echo(f"{channel:6} {state:10} {count:>10,}")
    click.echo(SENT_HEADING)
    for channel, one in figures.items():
        origins = ", ".join(f"{origin} {one.sent.get(origin, 0):,}" for origin in ORIGINS)
        click.echo(f"{channel:6} {one.sent_total:>21,}  ({origins})")
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
