"""The login page of ID連携 (`/link?linkToken=…`): the customer proves who they are with their 顧客ID and the
mobile phone or email on file, gets a single-use nonce, and goes on to LINE's account-link endpoint.

Plain HTML, no script. Wrong input shows the form again with one message that never says which field was
wrong; a link token gets MAX_TRIES wrong tries, a 顧客ID MAX_CODE_FAILURES an hour (link tokens are cheap to
get, so the 顧客ID's own limit is what stops guessing). The form carries a CSRF token that must match its
cookie (double submit). The page's address holds the link token: it is never cached nor sent on as referrer.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request
from redis.exceptions import RedisError

from bot.account_link import completion_url, find_customer, new_nonce
from bot.i18n import text
from bot.imports.values import normalise
from bot.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("link_page", __name__)

LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
MAX_TRIES = 5  # wrong tries per link token
TRIES_SECONDS = 600  # a link token lives 10 minutes
MAX_CODE_FAILURES = 10  # wrong tries per 顧客ID, across link tokens …
CODE_WINDOW_SECONDS = 3600  # … per hour
CSRF_COOKIE = "link_csrf"
FIELD_LIMIT = 254


@blueprint.get("/link")
def show_form() -> Response:
    token = request.args.get("linkToken", "")
    if not LINK_TOKEN.fullmatch(token):
        return _notice("invalid", 400)
    try:
        if _count(_token_key(token)) >= MAX_TRIES:
            return _notice("locked", 429)
    except RedisError:
        return _notice("unavailable", 503)
    return _form(token)


@blueprint.post("/link")
def log_in() -> Response:
    """Check the form; on success store the nonce's digest and send the customer on to LINE."""
    token = request.form.get("linkToken", "")
    if not LINK_TOKEN.fullmatch(token):
        return _notice("invalid", 400)
    cookie, posted = request.cookies.get(CSRF_COOKIE, ""), request.form.get("csrf", "")
    if not cookie or not secrets.compare_digest(cookie.encode(), posted.encode()):
        return _form(token, error="retry", status=400)
    code = request.form.get("customer_code", "")[:FIELD_LIMIT]
    contact = request.form.get("contact", "")[:FIELD_LIMIT]
    code_key = "link:fails:code:" + _digest(normalise(code).upper())  # Ｃ１００１ is C1001
    runtime = _runtime()
    try:
        if _count(_token_key(token)) >= MAX_TRIES:
            return _notice("locked", 429)
        guessing = _count(code_key) >= MAX_CODE_FAILURES
    except RedisError:
        return _notice("unavailable", 503)
    with runtime.engine.begin() as connection:
        customer_id = None if guessing else find_customer(connection, code, contact)
        nonce = new_nonce(connection, customer_id, utcnow()) if customer_id is not None else None
    if nonce is None:
        try:
            tries = _fail(_token_key(token), TRIES_SECONDS)
            _fail(code_key, CODE_WINDOW_SECONDS)
        except RedisError:
            return _notice("unavailable", 503)
        log.info("link login refused (try %s of %s)", tries, MAX_TRIES)
        if tries >= MAX_TRIES:
            return _notice("locked", 429)
        return _form(token, code=code, error="error", status=401)
    log.info("link login customer=%s: nonce issued", customer_id)
    response = redirect(completion_url(runtime.settings, token, nonce), code=302)
    response.headers.update(_headers())
    response.delete_cookie(CSRF_COOKIE, path="/link")
    return response


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _token_key(token: str) -> str:
    return "link:tries:" + _digest(token)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _count(key: str) -> int:
    return int(_runtime().redis.get(key) or 0)


def _fail(key: str, seconds: int) -> int:
    """Count a wrong try; the count lapses `seconds` after the latest one."""
    pipe = _runtime().redis.pipeline()
    pipe.incr(key)
    pipe.expire(key, seconds)
    return int(pipe.execute()[0])


def _t(name: str) -> str:
    return text(f"messages.chat_link.page.{name}", _runtime().settings.default_locale)


def _form(token: str, *, code: str = "", error: str | None = None, status: int = 200) -> Response:
    """The login form, with a fresh CSRF token in a hidden field and in a cookie only this page reads."""
    csrf = secrets.token_urlsafe(24)
    e = html.escape
    notice = f'<p class="error" role="alert">{e(_t(error))}</p>' if error else ""
    form = (
        f"{notice}<p>{e(_t('lead'))}</p>"
        '<form method="post" action="/link">'
        f'<input type="hidden" name="linkToken" value="{e(token)}">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<label for="code">{e(_t("code_label"))}</label>'
        f'<input id="code" name="customer_code" value="{e(code)}" maxlength="64" autocomplete="off" required>'
        f'<label for="contact">{e(_t("contact_label"))}</label>'
        f'<input id="contact" name="contact" maxlength="{FIELD_LIMIT}" autocomplete="off" required>'
        f'<button type="submit">{e(_t("submit"))}</button></form>'
        f'<p class="note">{e(_t("unlink_note"))}</p>'
    )
    response = _page(_t("title"), form, status)
    secure = request.is_secure or _runtime().settings.public_base_url.startswith("https://")
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=TRIES_SECONDS,
        path="/link",
        secure=secure,
        httponly=True,
        samesite="Strict",
    )
    return response


def _notice(kind: str, status: int) -> Response:
    body = text("common.error_retry_later") if kind == "unavailable" else _t(f"{kind}_body")
    return _page(_t(f"{kind}_title"), f"<p>{html.escape(body)}</p>", status)


def _page(title: str, content: str, status: int) -> Response:
    """A small self-contained page; `content` is built from escaped parts."""
    locale = _runtime().settings.default_locale
    body = (
        f'<!doctype html>\n<html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.7}"
        "label{display:block;margin-top:1rem;font-weight:bold}input{width:100%;font-size:1rem;padding:.5rem;"
        "box-sizing:border-box}button{margin-top:1.5rem;font-size:1rem;padding:.6rem 1.4rem}"
        ".error{color:#b00020}.note{font-size:.9rem;color:#555}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>\n"
    )
    return Response(body, status=status, mimetype="text/html", headers=_headers())


def _headers() -> dict[str, str]:
    # form-action also covers the redirect after the POST: LINE's account-link endpoint must be allowed
    parts = urlsplit(_runtime().settings.line_account_link_url)
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action 'self' {parts.scheme}://{parts.netloc}; frame-ancestors 'none'; base-uri 'none'",
    }
