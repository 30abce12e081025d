"""`flask staff …`: the staff's own logins to the inbox (/inbox)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from bot.staff.accounts import AccountRefused, add_account, disable_account
from models import StaffRole, utcnow


@click.group("staff", cls=AppGroup)
def staff_group() -> None:
    """Staff logins to the inbox (担当者の受信箱)."""


@staff_group.command("add")
@click.argument("login")
@click.option("--name", default="", help="The name shown in the inbox (default: the login name).")
@click.option("--role", type=click.Choice([role.value for role in StaffRole]), default=StaffRole.AGENT.value)
@click.password_option(help="At least 12 characters (asked for when not given).")
def add_staff(login: str, name: str, role: str, password: str) -> None:
    """Create LOGIN's account: an agent answers and releases hand-overs, a supervisor also closes them."""
    runtime = current_app.extensions["runtime"]
    try:
        with runtime.engine.begin() as connection:
            add_account(connection, login, password, role, name, utcnow())
    except AccountRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Staff account {login.strip().lower()} created ({role}).")


@staff_group.command("disable")
@click.argument("login")
def disable_staff(login: str) -> None:
    """End LOGIN's access to the inbox (their sessions end too)."""
    runtime = current_app.extensions["runtime"]
    with runtime.engine.begin() as connection:
        done = disable_account(connection, login, utcnow())
    click.echo(f"Staff account {login} disabled." if done else f"No enabled staff account {login}.")
