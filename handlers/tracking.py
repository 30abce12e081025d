"""Tracking endpoints of our messages: who clicked a link (クリック), opened an email (開封) or asked to stop
receiving a channel (配信停止), recorded on the message's delivery ledger row.

The links carry the row's public token and nothing else: `/r/<token>[/<name>]` counts the click and sends the
customer on to a configured page, `/o/<token>.gif` is the email's open pixel, `/u/<token>` opts the customer out
of the channel the message came on (no login: the token is the credential). The first signal wins; a later
click or open changes nothing, so the scenarios' branches see when the customer first reacted.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request
from sqlalchemy import ColumnElement, Connection, func, select, update

from bot.consent import Evidence, opt_out
from bot.i18n import SUPPORTED, text
from bot.runtime import Runtime
from flows.dsl import Channel
from models import Delivery, utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("tracking", __name__)

DELIVERIES = Delivery.__table__
# Tokens are URL-safe random strings no longer than the column; anything else is refused before the database
# (PostgreSQL rejects NUL bytes in text, so a crafted URL must never reach a query).
TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{DELIVERIES.c.token.type.length}}}")
CHANNELS = frozenset(str(channel) for channel in Channel)
DEFAULT_TARGET = "home"
# Link-preview fetchers that open a link on the customer's behalf, without the customer (lower case).
# LINE's preview fetcher is reported to send "facebookexternalhit/1.1;line-poker/1.0". Mail security
# scanners that follow links look like browsers and cannot be told apart here.
PREVIEW_AGENTS = (
    "facebookexternalhit",
    "line-poker",
    "slackbot",
    "twitterbot",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "linkedinbot",
    "skypeuripreview",
    "googlebot",
    "bingbot",
)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1×1, transparent
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def valid_token(token: object) -> bool:
    """Whether `token` has the shape of a ledger token (checked before any query)."""
    return isinstance(token, str) and TOKEN.fullmatch(token) is not None


def mark_engaged(
    connection: Connection, criteria: list[ColumnElement[bool]], signal: str, at: datetime, now: datetime
) -> bool:
    """Set `signal` (opened_at, clicked_at, tapped_at) on the matching row if still empty; a click or a tap
    also marks the message opened. False when nothing changed (no such row, or already recorded)."""
    column = DELIVERIES.c[signal]
    values: dict[Any, Any] = {column: at, DELIVERIES.c.updated_at: now}
    if signal != "opened_at":
        values[DELIVERIES.c.opened_at] = func.coalesce(DELIVERIES.c.opened_at, at)
    statement = update(DELIVERIES).where(*criteria, column.is_(None)).values(values)
    return bool(connection.execute(statement).rowcount)


@blueprint.get("/r/<token>")
def follow_home_link(token: str) -> Response:
    """A link without a name leads to the home page (a separate rule: `/r/<token>/home` must not be redirected)."""
    return follow_link(token, DEFAULT_TARGET)


@blueprint.get("/r/<token>/<name>")
def follow_link(token: str, name: str) -> Response:
    """Count the click (people only, first click wins) and send the customer on to the named page."""
    runtime = _runtime()
    target = runtime.settings.link_targets.get(name)
    if target is None:
        return _not_found()
    with runtime.engine.begin() as connection:
        row = _delivery(connection, token)
        if row is None:
            return _not_found()
        if not _fetched_for_someone_else():
            now = utcnow()
            if mark_engaged(connection, [DELIVERIES.c.id == row.id], "clicked_at", now, now):
                log.info("delivery=%s clicked target=%s", row.id, name)
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/o/<token>.gif")
def open_pixel(token: str) -> Response:
    """The email's open pixel: always the GIF; the first load marks the message opened."""
    if request.method == "GET":
        with _runtime().engine.begin() as connection:
            row = _delivery(connection, token)
            now = utcnow()
            if row is not None and mark_engaged(
                connection, [DELIVERIES.c.id == row.id], "opened_at", now, now
            ):
                log.info("delivery=%s opened", row.id)
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store"})


@blueprint.get("/u/<token>")
def confirm_opt_out(token: str) -> Response:
    """The opt-out page: names the channel and asks for a button press (a GET never opts out: mail scanners
    fetch every link)."""
    locale = _locale()
    with _runtime().engine.connect() as connection:
        row = _delivery(connection, token)
    if row is None or row.channel not in CHANNELS:
        return _not_found()
    channel = text(f"tracking.channel.{row.channel}", locale)
    form = (
        f'<form method="post" action="{html.escape(request.path)}">'
        f'<button type="submit">{html.escape(text("tracking.optout_button", locale))}</button></form>'
    )
    return _page(
        locale,
        text("tracking.optout_title", locale),
        text("tracking.optout_confirm", locale, channel=channel),
        form_html=form,
    )


@blueprint.post("/u/<token>")
def take_opt_out(token: str) -> Response:
    """Opt the customer out of the message's channel: the page's button, or a mail client's RFC 8058 one-click
    POST (`List-Unsubscribe=One-Click`). Repeating it is harmless: one consent event, the same page."""
    locale = _locale()
    with _runtime().engine.begin() as connection:
        row = _delivery(connection, token)
        if row is None or row.channel not in CHANNELS:
            return _not_found()
        channel = Channel(row.channel)
        changed = opt_out(
            connection, row.customer_id, channel, f"link:{channel}", utcnow(), Evidence.delivery(row.id)
        )
    log.info("delivery=%s opt-out channel=%s changed=%s", row.id, channel, changed)
    return _page(
        locale,
        text("tracking.optout_done_title", locale),
        text("tracking.optout_done_body", locale, channel=text(f"tracking.channel.{channel}", locale)),
    )


@blueprint.route("/r/<path:_rest>", methods=["GET", "POST"])
@blueprint.route("/o/<path:_rest>", methods=["GET", "POST"])
@blueprint.route("/u/<path:_rest>", methods=["GET", "POST"])
def unknown_path(_rest: str) -> Response:
    """Anything else under our prefixes (a mangled or crafted link) gets the same 404 page, not Flask's."""
    return _not_found()


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _delivery(connection: Connection, token: str) -> Any | None:
    """The ledger row (id, customer, channel) of a token, or None."""
    if not valid_token(token):
        return None
    statement = select(DELIVERIES.c.id, DELIVERIES.c.customer_id, DELIVERIES.c.channel).where(
        DELIVERIES.c.token == token
    )
    return connection.execute(statement).first()


def _fetched_for_someone_else() -> bool:
    """A HEAD request or a link-preview fetcher: follow the link, but it is not the customer's click."""
    agent = request.headers.get("User-Agent", "").lower()
    return request.method == "HEAD" or any(name in agent for name in PREVIEW_AGENTS)


def _locale() -> str:
    """English when the browser prefers it, else the service's default (Japanese)."""
    default = _runtime().settings.default_locale
    return request.accept_languages.best_match(SUPPORTED, default=default) or default


def _not_found() -> Response:
    locale = _locale()
    response = _page(
        locale, text("tracking.not_found_title", locale), text("tracking.not_found_body", locale)
    )
    response.status_code = 404
    return response


def _page(locale: str, title: str, message: str, form_html: str = "") -> Response:
    """A small self-contained HTML page; every text is escaped (the form is built from escaped parts)."""
    body = (
        f'<!doctype html>\n<html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.7}"
        "button{font-size:1rem;padding:.6rem 1.4rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{form_html}</body></html>\n"
    )
    return Response(body, mimetype="text/html", headers=PAGE_HEADERS)
