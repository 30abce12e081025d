"""The login page of ID連携 (`/link?linkToken=…`): the customer proves who they are in two steps and goes on to
LINE's account-link endpoint with a single-use nonce (bot/chat/link_login.py has the rules).

1. 顧客ID and the mobile phone or email on file. The page then always asks for the code, whether or not they
   matched (a code went to the phone or email on file if they did): it never tells whose details were right.
2. The one-time code (認証コード). The right one, in time, gives the nonce and the redirect to LINE.

Plain HTML, no script. Only link tokens this service issued are taken. Every attempt counts against its limits
before it is checked; a refused one is a `security_events` row. The forms carry a CSRF token that must match
its cookie (double submit). The page's address holds the link token: it is never cached nor sent on as
referrer, and never logged.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request
from redis.exceptions import RedisError
from sqlalchemy import Connection

from bot.chat.account_link import completion_url, find_customer, new_nonce
from bot.chat.link_login import (
    LinkStart,
    check_code,
    client_key,
    code_limits,
    find_link_start,
    login_limits,
    record_refusal,
    refusal_reason,
    send_code,
    use_link_token,
)
from bot.delivery.outbox import dispatch_answers
from bot.platform.i18n import text
from bot.platform.login_limits import Attempt
from bot.platform.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("link_page", __name__)

LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
CSRF_COOKIE = "link_csrf"
CSRF_SECONDS = 600  # as long as a link token lives
FIELD_LIMIT = 254


@blueprint.get("/link")
def show_form() -> Response:
    start = _start(request.args.get("linkToken", ""))
    if isinstance(start, Response):
        return start
    return _login_form(request.args["linkToken"])


@blueprint.post("/link")
def log_in() -> Response:
    """顧客ID and contact: count the attempt, send a code when they match, ask for the code either way."""
    token = request.form.get("linkToken", "")
    start = _start(token, csrf=True)
    if isinstance(start, Response):
        return start
    code = request.form.get("customer_code", "")[:FIELD_LIMIT]
    contact = request.form.get("contact", "")[:FIELD_LIMIT]
    runtime, now = _runtime(), utcnow()
    client = client_key(runtime.settings, request.remote_addr)
    limited = _counted(lambda: login_limits(runtime.redis, runtime.settings, start, client, code, contact))
    if isinstance(limited, Response):
        return limited
    try:
        with runtime.engine.begin() as connection:
            if not limited.allowed:
                return _locked(connection, "link_login", limited, client)
            customer_id = find_customer(connection, code, contact)
            sent = send_code(connection, runtime.redis, runtime.settings, start, customer_id, contact, now)
            if sent.refused:
                record_refusal(
                    connection, "link_login", sent.refused, now, customer_id=customer_id, subject=client
                )
    except RedisError:  # nothing written: the code's sending limit could not be counted
        return _notice("unavailable", 503)
    if sent.delivery_id is not None:
        log.info("link login customer=%s: code sent", sent.customer_id)
        try:
            dispatch_answers(runtime.engine, runtime.redis, runtime.settings, [sent.delivery_id], now)
        except RedisError:  # the tick hands out due rows anyway
            log.warning("link code row=%s: dispatch deferred to the tick", sent.delivery_id)
    else:
        log.info("link login refused (%s)", sent.refused)
    return _code_form(token)


@blueprint.post("/link/code")
def enter_code() -> Response:
    """The one-time code: the right one, in time, gives the nonce and sends the customer on to LINE."""
    token = request.form.get("linkToken", "")
    start = _start(token, csrf=True, form=_code_form)
    if isinstance(start, Response):
        return start
    runtime, now = _runtime(), utcnow()
    client = client_key(runtime.settings, request.remote_addr)
    limited = _counted(lambda: code_limits(runtime.redis, runtime.settings, start, client))
    if isinstance(limited, Response):
        return limited
    with runtime.engine.begin() as connection:
        if not limited.allowed:
            return _locked(connection, "link_code", limited, client)
        checked = check_code(connection, runtime.settings, start, request.form.get("code", "")[:16], now)
        if checked.refused is None and use_link_token(connection, start, now):
            nonce = new_nonce(connection, checked.customer_id, start.line_user_id, now)
        else:
            record_refusal(connection, "link_code", checked.refused or "token_used", now, subject=client)
            nonce = None
    if nonce is None:
        log.info("link code refused (%s)", checked.refused or "token_used")
        if checked.refused == "wrong_code":
            return _code_form(token, error="wrong_code", status=401)
        return _login_form(token, error="code_expired", status=400)
    log.info("link login customer=%s: code right, nonce issued", checked.customer_id)
    response = redirect(completion_url(runtime.settings, token, nonce), code=302)
    response.headers.update(_headers())
    response.delete_cookie(CSRF_COOKIE, path="/link")
    return response


def _start(
    token: str, csrf: bool = False, form: Callable[..., Response] | None = None
) -> LinkStart | Response:
    """The link token's start (ours, unused, unexpired), or the page that refuses it; with `csrf`, the form's
    token must match its cookie."""
    if not LINK_TOKEN.fullmatch(token):
        return _notice("invalid", 400)
    runtime = _runtime()
    with runtime.engine.begin() as connection:
        start = find_link_start(connection, token, utcnow())
        if start is None:
            record_refusal(
                connection,
                "link_login",
                "unknown_token",
                utcnow(),
                subject=client_key(runtime.settings, request.remote_addr),
            )
            return _notice("invalid", 400)
    if csrf:
        cookie, posted = request.cookies.get(CSRF_COOKIE, ""), request.form.get("csrf", "")
        if not cookie or not secrets.compare_digest(cookie.encode(), posted.encode()):
            return (form or _login_form)(token, error="retry", status=400)
    return start


def _counted(count: Callable[[], Attempt]) -> Attempt | Response:
    try:
        return count()
    except RedisError:  # closed rather than unlimited
        return _notice("unavailable", 503)


def _locked(connection: Connection, kind: str, attempt: Attempt, client: str) -> Response:
    reason = refusal_reason(attempt)
    record_refusal(connection, kind, reason, utcnow(), subject=client)
    log.info("%s refused (%s)", kind, reason)
    response = _notice("locked", 429)
    response.headers["Retry-After"] = str(attempt.retry_after)
    return response


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _t(name: str) -> str:
    return text(f"messages.chat_link.page.{name}", _runtime().settings.default_locale)


def _login_form(token: str, *, error: str | None = None, status: int = 200) -> Response:
    """Step 1: 顧客ID and the phone or email on file."""
    e = html.escape
    fields = (
        f'<label for="code">{e(_t("code_label"))}</label>'
        '<input id="code" name="customer_code" maxlength="64" autocomplete="off" required>'
        f'<label for="contact">{e(_t("contact_label"))}</label>'
        f'<input id="contact" name="contact" maxlength="{FIELD_LIMIT}" autocomplete="off" required>'
    )
    return _form(token, "/link", _t("lead"), fields, _t("submit"), error, status)


def _code_form(token: str, *, error: str | None = None, status: int = 200) -> Response:
    """Step 2: the one-time code sent to the phone or email on file."""
    e = html.escape
    fields = (
        f'<label for="otp">{e(_t("otp_label"))}</label>'
        '<input id="otp" name="code" inputmode="numeric" pattern="[0-9０-９ -]*" maxlength="16" '
        'autocomplete="one-time-code" required>'
    )
    return _form(token, "/link/code", _t("otp_lead"), fields, _t("otp_submit"), error, status)


def _form(
    token: str, action: str, lead: str, fields: str, submit: str, error: str | None, status: int
) -> Response:
    """A form of the page, with a fresh CSRF token in a hidden field and in a cookie only this page reads."""
    csrf = secrets.token_urlsafe(24)
    e = html.escape
    notice = f'<p class="error" role="alert">{e(_t(error))}</p>' if error else ""
    form = (
        f"{notice}<p>{e(lead)}</p>"
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="linkToken" value="{e(token)}">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'{fields}<button type="submit">{e(submit)}</button></form>'
        f'<p class="note">{e(_t("unlink_note"))}</p>'
    )
    response = _page(_t("title"), form, status)
    secure = request.is_secure or _runtime().settings.public_base_url.startswith("https://")
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=CSRF_SECONDS,
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
