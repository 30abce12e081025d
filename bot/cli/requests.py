"""`flask requests …`: staff move service-desk requests along (the customer is told) and look at staff notices."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from bot.delivery.notices import NOTICES, enqueue_notices
from bot.delivery.outbox import dispatch_answers
from bot.staff.admin import CLI, about, audit, operator
from bot.staff.desk import REQUESTS, STATUS_ORDER, change_request, request_reference
from bot.staff.desk import request_label as _label
from flows.engine import TOKYO
from models import NoticeStatus, RequestStatus, utcnow

log = logging.getLogger(__name__)

# ── flask requests … (staff) ─────────────────────────────────────────────────────────────────────────────


@click.group("requests", cls=AppGroup)
def requests_group() -> None:
    """Service-desk requests taken in the chat (各種お手続き)."""


@requests_group.command("list")
@click.option(
    "--status",
    "state",
    type=click.Choice(["open", "all", *(status.value for status in STATUS_ORDER)]),
    default="open",
)
@click.option("--limit", default=50, show_default=True)
@click.option("--by", help="Who looks, for the audit (default: the shell's login).")
def list_requests(state: str, limit: int, by: str | None) -> None:
    """Requests, newest first: reference, date (Japan), kind, status, customer id, whether the customer was
    verified (linked on LINE) when filing (open ones by default); audited as a personal-data access naming
    the customers listed."""
    statement = select(REQUESTS).order_by(REQUESTS.c.created_at.desc(), REQUESTS.c.id.desc()).limit(limit)
    if state == "open":
        statement = statement.where(REQUESTS.c.status != RequestStatus.CLOSED)
    elif state != "all":
        statement = statement.where(REQUESTS.c.status == state)
    with current_app.extensions["runtime"].engine.begin() as connection:  # the audit commits before the list
        rows = connection.execute(statement).all()
        shown = list(dict.fromkeys(row.customer_id for row in rows))
        detail = about(shown) if shown else "no requests"
        audit(connection, operator(by), CLI, "requests list", state, "done", utcnow(), detail, bool(shown))
    for row in rows:
        day = row.created_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{row.reference}  {day}  {_label('kinds', row.kind)}  {_label('statuses', row.status)}  "
            f"customer {row.customer_id}  {'verified' if row.verified else 'NOT verified'}"
        )
    click.echo(f"{len(rows)} requests")


BY = click.option("--by", default="cli", show_default=True, help="Who changes it (kept in the log).")


@requests_group.command("start")
@click.argument("reference")
@BY
def start_request(reference: str, by: str) -> None:
    """Mark REFERENCE as being handled (対応中) and tell the customer."""
    _change(reference, RequestStatus.IN_PROGRESS, by)


@requests_group.command("close")
@click.argument("reference")
@BY
def close_request(reference: str, by: str) -> None:
    """Mark REFERENCE as done (完了) and tell the customer."""
    _change(reference, RequestStatus.CLOSED, by)


@requests_group.command("notices")
@click.option("--resend", is_flag=True, help="Queue the send job again for notices still waiting.")
def notices(resend: bool) -> None:
    """Staff notices not sent yet (waiting, failed, or recorded with no staff target)."""
    runtime = current_app.extensions["runtime"]
    statement = select(NOTICES.c.id, NOTICES.c.kind, NOTICES.c.status, NOTICES.c.created_at).where(
        NOTICES.c.status != NoticeStatus.SENT
    )
    with runtime.engine.connect() as connection:
        rows = connection.execute(statement.order_by(NOTICES.c.id)).all()
    for row in rows:
        click.echo(f"{row.id}  {row.created_at.astimezone(TOKYO):%Y-%m-%d %H:%M}  {row.kind}  {row.status}")
    waiting = [row.id for row in rows if row.status == NoticeStatus.QUEUED]
    if resend and waiting:
        enqueue_notices(runtime.redis, waiting)
    click.echo(f"{len(rows)} notices not sent" + (f", {len(waiting)} queued again" if resend else ""))


def _change(reference: str, status: RequestStatus, by: str) -> None:
    runtime = current_app.extensions["runtime"]
    now = utcnow()
    wanted = request_reference(reference)
    with runtime.engine.begin() as connection:
        row, delivery_id = change_request(connection, runtime.settings, reference, status, now)
    if row is None:
        raise click.ClickException(f"no request {wanted}")
    if delivery_id is None:
        click.echo(f"{wanted} is already {row.status}; nothing changed")
        return
    dispatch_answers(runtime.engine, runtime.redis, runtime.settings, [delivery_id], now)
    log.info("service request %s set to %s by %s", row.id, status, by)
    click.echo(f"{wanted}: {status}; the customer is told in the chat")
