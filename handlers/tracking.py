"""Tracking endpoints of our messages: who clicked a link (クリック), opened an email (開封) or asked to stop
receiving a channel (配信停止), recorded on the message's delivery ledger row.

The links carry the row's public token and nothing else: `/r/<token>[/<name>]` counts the click and sends the
customer on to a configured page, `/o/<token>.gif` is the email's open pixel, `/u/<token>` opts the customer out
of the channel the message came on (no login: the token is the credential). The first signal wins; a later
click or open changes nothing, so the scenarios' branches see when the customer first reacted.

None of them needs the database to answer. Clicks and opens are kept (bot/delivery/signal_buffer.py) and recorded by
the worker's tick: the redirect's target comes from `LINK_TARGETS`, never from the ledger. The opt-out page
reads and writes the database with a deadline and does without it when it does not answer: the page then
names no channel, and the opt-out is kept for the tick (and for the next send job, which applies it first).
"""

from __future__ import annotations

import base64
import html
import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.engagement import (
    CHANNELS,
    CLICK,
    OPEN,
    OPT_OUT,
    Signal,
    find_delivery,
    opt_out_by_link,
    valid_token,
)
from bot.delivery.signal_buffer import SignalBuffer
from bot.platform.bulkhead import Bulkhead, Unavailable
from bot.platform.i18n import SUPPORTED, text
from bot.platform.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("tracking", __name__)

DEFAULT_TARGET = "home"
# The opt-out page's database calls: this many at once per process, each waited for this long (seconds).
DATABASE_PLACES = 4
DATABASE_SECONDS = 1.0
RETRY_AFTER_SECONDS = "60"
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


def database_bulkhead() -> Bulkhead:
    """The opt-out page's way to the database (built once per web process by app.py)."""
    return Bulkhead(DATABASE_PLACES, DATABASE_SECONDS, "tracking-db")


@blueprint.get("/r/<token>")
def follow_home_link(token: str) -> Response:
    """A link without a name leads to the home page (a separate rule: `/r/<token>/home` must not be redirected)."""
    return follow_link(token, DEFAULT_TARGET)


@blueprint.get("/r/<token>/<name>")
def follow_link(token: str, name: str) -> Response:
    """Send the customer on to the named page at once; the click (people only) is kept for the tick. A token
    the ledger does not know is sent on too (nothing is recorded for it): the target is configuration's."""
    target = _runtime().settings.link_targets.get(name)
    if target is None or not valid_token(token):
        return _not_found()
    if not _fetched_for_someone_else():
        _signals().keep(Signal(CLICK, token, utcnow()))
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/o/<token>.gif")
def open_pixel(token: str) -> Response:
    """The email's open pixel: always the GIF; the first load marks the message opened (by the tick)."""
    if request.method == "GET" and valid_token(token):
        _signals().keep(Signal(OPEN, token, utcnow()))
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store"})


@blueprint.get("/u/<token>")
def confirm_opt_out(token: str) -> Response:
    """The opt-out page: names the channel and asks for a button press (a GET never opts out: mail scanners
    fetch every link). Without the database it asks all the same, naming no channel."""
    locale = _locale()
    if not valid_token(token):
        return _not_found()
    runtime = _runtime()  # resolved here: the call runs on another thread, outside the app context
    try:
        row = _database().call(lambda: _find(runtime, token))
    except (Unavailable, SQLAlchemyError) as exc:
        log.warning("tracking: opt-out page without the database (%s)", type(exc).__name__)
        message = text("tracking.optout_confirm_any", locale)
    else:
        if row is None or row.channel not in CHANNELS:
            return _not_found()
        channel = text(f"tracking.channel.{row.channel}", locale)
        message = text("tracking.optout_confirm", locale, channel=channel)
    form = (
        f'<form method="post" action="{html.escape(request.path)}">'
        f'<button type="submit">{html.escape(text("tracking.optout_button", locale))}</button></form>'
    )
    return _page(locale, text("tracking.optout_title", locale), message, form_html=form)


@blueprint.post("/u/<token>")
def take_opt_out(token: str) -> Response:
    """Opt the customer out of the message's channel: the page's button, or a mail client's RFC 8058 one-click
    POST (`List-Unsubscribe=One-Click`). Repeating it is harmless: one consent event, the same page. Without
    the database the opt-out is kept and recorded by the tick (or the next send job), never lost."""
    locale = _locale()
    if not valid_token(token):
        return _not_found()
    now = utcnow()
    runtime = _runtime()
    try:
        row = _database().call(lambda: _opt_out_now(runtime, token, now))
    except (Unavailable, SQLAlchemyError) as exc:
        if not _signals().keep(Signal(OPT_OUT, token, now)):
            return _unavailable(locale)
        log.warning("tracking: opt-out kept for the worker (%s)", type(exc).__name__)
        body = text("tracking.optout_done_any", locale)
    else:
        if row is None:
            return _not_found()
        body = text(
            "tracking.optout_done_body", locale, channel=text(f"tracking.channel.{row.channel}", locale)
        )
    return _page(locale, text("tracking.optout_done_title", locale), body)


@blueprint.route("/r/<path:_rest>", methods=["GET", "POST"])
@blueprint.route("/o/<path:_rest>", methods=["GET", "POST"])
@blueprint.route("/u/<path:_rest>", methods=["GET", "POST"])
def unknown_path(_rest: str) -> Response:
    """Anything else under our prefixes (a mangled or crafted link) gets the same 404 page, not Flask's."""
    return _not_found()


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _signals() -> SignalBuffer:
    return current_app.extensions["signals"]


def _database() -> Bulkhead:
    return current_app.extensions["tracking_database"]


def _find(runtime: Runtime, token: str) -> Any | None:
    with runtime.engine.connect() as connection:
        return find_delivery(connection, token)


def _opt_out_now(runtime: Runtime, token: str, now: datetime) -> Any | None:
    """The ledger row opted out of (it may have been already), or None for a token we do not know."""
    with runtime.engine.begin() as connection:
        row = find_delivery(connection, token)
        if row is None or row.channel not in CHANNELS:
            return None
        opt_out_by_link(connection, row, now)
        return row


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


def _unavailable(locale: str) -> Response:
    """Neither the database, Redis nor the spool took the opt-out: say so honestly, so the customer tries again."""
    response = _page(
        locale, text("tracking.unavailable_title", locale), text("tracking.unavailable_body", locale)
    )
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
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
