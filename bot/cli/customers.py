"""`flask customers export|erase|unlink`: a customer's APPI rights from the operator's shell, and taking a LINE
account off a customer's record when they can no longer unlink it themselves.

Each names the customer by 顧客ID, email address, phone number, LINE user id or internal id (bot.staff.finder, as
every command taking a customer does; a key naming several customers is refused with the list to choose from) and
is audited in `admin_audit` (place "cli"): the operator is who `--by` names, else the shell's login
(bot.staff.admin.operator); the customer is named by internal id, the key typed kept as a keyed hash. The audit
row commits before anything is shown. `not_one` and `audited` serve every command taking a customer (`flask why`,
`flask coupons issue`): the refusal of a key that names nobody or several, and the audit of the look-up.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Connection
from sqlmodel import SQLModel

from bot.chat.account_link import release_line_user
from bot.delivery.notices import STAFF_LOCALE
from bot.platform.i18n import text
from bot.platform.runtime import Runtime
from bot.privacy.disclosure import dumps, export_customer
from bot.privacy.erasure import erase_customer, forget_in_redis
from bot.staff.admin import CLI, about, audit, operator, pseudonym
from bot.staff.desk import customer_ref
from bot.staff.finder import MATCHES_SHOWN, find_customers, outcome
from flows.engine import TOKYO
from models import utcnow


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _t(key: str, **fields: object) -> str:
    return text(f"messages.admin_privacy.cli.{key}", STAFF_LOCALE, **fields)


def not_one(connection: Connection, key: str, found: list[int], locale: str = STAFF_LOCALE) -> str | None:
    """Why `key` names no single customer, in words: nobody, or the customers it names to choose from (by their
    顧客ID and internal id); None when it names exactly one."""
    if len(found) == 1:
        return None
    if not found:
        return text("customer_finder.none", locale, typed=key)
    lines = [text("customer_finder.several", locale, typed=key)]
    lines += [f"  {customer_ref(connection, customer_id)}" for customer_id in found[:MATCHES_SHOWN]]
    if len(found) > MATCHES_SHOWN:
        lines.append("  " + text("customer_finder.more", locale, count=MATCHES_SHOWN))
    return "\n".join(lines)


def audited(found: list[int]) -> dict[str, object]:
    """The audit's result, detail and personal-data mark of a look-up that found `found`."""
    return {
        "result": outcome(found),
        "detail": about(found) if found else "no customer",
        "personal_data": bool(found),  # the customer shown, or those to choose from
    }


def _confirmed(runtime: Runtime, customer: str, question: str, yes: bool) -> int:
    """The customer's internal id, after the operator said yes to `question` about them (unless --yes)."""
    with runtime.engine.connect() as connection:
        found = find_customers(connection, customer)
        refusal = not_one(connection, customer, found)
        shown = customer_ref(connection, found[0]) if refusal is None else None
    if refusal is not None:
        raise click.ClickException(refusal)
    if not yes:
        click.confirm(_t(question, customer_ref=shown), abort=True)
    return found[0]


@click.group("customers", cls=AppGroup)
def customers_group() -> None:
    """A customer's rights under APPI (開示, 消去), and a lost LINE account taken off their record."""


BY = "Who runs it, for the audit (default: the shell's login)."


@customers_group.command("export")
@click.argument("customer")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON here (mode 0600)."
)
@click.option("--by", help=BY)
def export_command(customer: str, out: Path | None, by: str | None) -> None:
    """Everything held about CUSTOMER as JSON, to standard output or --out."""
    runtime, now = _runtime(), utcnow()
    actor, typed = operator(by), pseudonym(runtime.settings, customer)
    with runtime.engine.begin() as connection:
        found = find_customers(connection, customer)
        refusal = not_one(connection, customer, found)
        if refusal is None:
            customer_id = found[0]
            document = export_customer(connection, SQLModel.metadata, runtime.settings, customer_id, now)
        audit(connection, actor, CLI, "export", typed, at=now, **audited(found))
    if refusal is not None:
        raise click.ClickException(refusal)
    if out is None:
        click.echo(dumps(document), nl=False)
        return
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the operator alone reads it
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(dumps(document))
    rows = sum(len(rows) for rows in document["tables"].values())
    click.echo(_t("exported", id=customer_id, rows=rows, path=out), err=True)


@customers_group.command("erase")
@click.argument("customer")
@click.option("--by", required=True, help="The staff member who erases (kept in the audit).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(customer: str, by: str, yes: bool) -> None:
    """Erase CUSTOMER's personal data from every table, for good."""
    runtime = _runtime()
    customer_id = _confirmed(runtime, customer, "confirm", yes)
    now = utcnow()
    with runtime.engine.begin() as connection:
        erasure = erase_customer(
            connection,
            SQLModel.metadata,
            runtime.settings,
            customer_id,
            actor=operator(by),
            place=CLI,
            arguments=pseudonym(runtime.settings, customer),
            now=now,
        )
    if erasure.already:
        click.echo(_t("already", id=customer_id, at=f"{erasure.erased_at.astimezone(TOKYO):%Y-%m-%d %H:%M}"))
        return
    forget_in_redis(runtime.redis, erasure)
    click.echo(_t("erased", id=customer_id, rows=sum(erasure.changed.values())))


@customers_group.command("unlink")
@click.argument("customer")
@click.option("--by", required=True, help="The staff member who unlinks (kept in the audit).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def unlink_command(customer: str, by: str, yes: bool) -> None:
    """Take the LINE account off CUSTOMER's record, linked or only on file, so that the
    customer's new LINE can link (ID連携 never re-binds a customer by itself). Check who the customer is first."""
    runtime = _runtime()
    customer_id = _confirmed(runtime, customer, "unlink_confirm", yes)
    now = utcnow()
    with runtime.engine.begin() as connection:
        prospect = release_line_user(connection, customer_id, now, now)
        result = "done" if prospect is not None else "nothing"
        audit(
            connection,
            operator(by),
            CLI,
            "unlink",
            pseudonym(runtime.settings, customer),
            result,
            now,
            about([customer_id]),
        )
    click.echo(_t("unlinked" if prospect is not None else "no_line", id=customer_id))
