"""Every `flask …` command group the operator runs, one module each, registered here on the app."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add every command group to `flask` (imported here, not at import time: the app factory composes)."""
    from bot.cli.chat import chat_group
    from bot.cli.coupons import coupons_group
    from bot.cli.customers import customers_group
    from bot.cli.delivery import delivery_group
    from bot.cli.exports import export_command
    from bot.cli.imports import import_command
    from bot.cli.maintenance import db_group, events_group
    from bot.cli.notices import notices_group
    from bot.cli.requests import requests_group
    from bot.cli.richmenu import richmenu_group
    from bot.cli.scenarios import engine_group, scenarios_group, why_command
    from bot.cli.staff import staff_group
    from bot.cli.webhooks import webhooks_group

    for command in (
        engine_group,
        scenarios_group,
        why_command,
        db_group,
        events_group,
        import_command,
        export_command,
        delivery_group,
        coupons_group,
        requests_group,
        customers_group,
        richmenu_group,
        chat_group,
        staff_group,
        webhooks_group,
        notices_group,
    ):
        app.cli.add_command(command)
