"""`flask webhooks list|replay`: the events for the insurer's systems (bot/platform/outbound.py) that could not be
delivered, and sending them again once the endpoint is fixed. A replay is audited in `admin_audit` (place "cli")."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from bot.platform.outbound import EVENTS, replay
from bot.staff.admin import CLI, audit, operator
from models import OutboundStatus, utcnow

SHOWN = 50


@click.group("webhooks", cls=AppGroup)
def webhooks_group() -> None:
    """Signed outbound webhooks to the insurer's systems (OUTBOUND_WEBHOOKS)."""


@webhooks_group.command("list")
@click.option("--dead", is_flag=True, help="Only the dead letters: every attempt failed.")
def list_command(dead: bool) -> None:
    """Counts per endpoint and status, then the rows not delivered (the last error, never the payload)."""
    engine = current_app.extensions["runtime"].engine
    with engine.connect() as connection:
        counts = connection.execute(
            select(EVENTS.c.endpoint, EVENTS.c.status, func.count())
            .group_by(EVENTS.c.endpoint, EVENTS.c.status)
            .order_by(EVENTS.c.endpoint, EVENTS.c.status)
        ).all()
        statuses = [OutboundStatus.DEAD] if dead else [OutboundStatus.DEAD, OutboundStatus.QUEUED]
        rows = connection.execute(
            select(EVENTS).where(EVENTS.c.status.in_(statuses)).order_by(EVENTS.c.id).limit(SHOWN)
        ).all()
    for endpoint, status, count in counts:
        click.echo(f"{endpoint}: {count} {status}")
    for row in rows:
        click.echo(
            f"  #{row.id} {row.event_type} {row.event_id} to {row.endpoint}: {row.status},"
            f" {row.attempts} attempts, last {row.last_error or '-'}"
        )


@webhooks_group.command("replay")
@click.option(
    "--id", "ids", type=int, multiple=True, help="Only this row (repeatable); default: every dead one."
)
@click.option("--by", help="Who runs it, for the audit (default: the shell's login).")
def replay_command(ids: tuple[int, ...], by: str | None) -> None:
    """Send dead events again from their first attempt (same event id: a receiver that has one ignores it)."""
    engine, now = current_app.extensions["runtime"].engine, utcnow()
    with engine.begin() as connection:
        count = replay(connection, now, list(ids) or None)
        arguments = " ".join(f"#{n}" for n in ids) or "all dead"
        audit(
            connection,
            operator(by),
            CLI,
            "webhooks-replay",
            arguments,
            "done",
            at=now,
            detail=f"{count} rows",
        )
    click.echo(f"{count} events queued again; the worker's next tick sends them")
