"""The staff dashboard (`GET /dashboard`): each scenario's funnel against its holdout, the delivery ledger per
channel, channel reach over the last 30 days, SMS segments and cost by month and carrier, and what failed or was
held in the last 7 days — as server-rendered SVG charts with compact tables, in Japanese (`?lang=en` for
English). What it shows is bot/staff/page.py; this module decides who may see it.

Who may see it: anyone in local mode (`make run`); elsewhere a request carrying `Authorization: Bearer
<DASHBOARD_TOKEN>`, or a browser that logged in with that token on the form (a cookie signed with the token,
valid 12 hours: changing the token logs everyone out). No token configured outside local mode: closed (403).
Every wrong token, in the header or on the form, is counted before it is compared (bot/staff/login.py), per
client address (`request.remote_addr`: the app factory trusts TRUSTED_PROXIES hops of X-Forwarded-For, no more)
and across all addresses; over either limit even the right token gets 429 and Retry-After until the window
lapses. A browser already signed in is not locked out (its cookie is signed with the token, not a guess), so a
botnet can shut the door but not throw staff out. The login and logout forms carry CSRF tokens (bot/platform/csrf.py).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError

from bot.platform import csrf
from bot.platform.config import Settings
from bot.platform.runtime import Runtime
from bot.staff import login as staff_login
from bot.staff import page
from bot.staff.charts import number
from flows.engine import TOKYO
from handlers.staff_pages import SECURITY_HEADERS, page_locale
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("dashboard", __name__, template_folder="templates")

COOKIE = "dashboard_login"
CSRF_COOKIE = "dashboard_csrf"
SESSION_SECONDS = 12 * 3600


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _signer(token: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(token, salt="dashboard-login")


def _has_session(token: str) -> bool:
    try:
        _signer(token).loads(request.cookies.get(COOKIE, ""), max_age=SESSION_SECONDS)
    except BadSignature:
        return False
    return True


def _bearer() -> str | None:
    """The token of an `Authorization` header (any other scheme is a wrong token), None without the header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, given = header.partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _refused(outcome: str) -> None:
    # the route and the outcome only: never the token tried nor the client's address
    route = request.url_rule.rule if request.url_rule else "-"
    log.log(
        logging.INFO if outcome == "required" else logging.WARNING, "dashboard %s refused: %s", route, outcome
    )


def _check(given: str, settings: Settings, locale: str) -> Response | None:
    """None when `given` is the token; else the answer that refuses it (wrong, locked, or no Redis to count)."""
    try:
        verdict = staff_login.check_token(
            _runtime().redis, settings.dashboard_token, given, request.remote_addr or "-"
        )
    except RedisError:  # closed rather than unlimited; signed-in browsers do not need Redis
        _refused("unavailable")
        return _gate(settings, locale, "unavailable", 503)
    if verdict.outcome is staff_login.Outcome.RIGHT:
        return None
    _refused(verdict.outcome)
    if verdict.outcome is staff_login.Outcome.LOCKED:
        response = _gate(settings, locale, "locked", 429)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    return _gate(settings, locale, "wrong")


def _csrf_ok(settings: Settings, purpose: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return csrf.is_valid(settings.dashboard_token, cookie, purpose, request.form.get("csrf"))


def _page(html: str, status: int = 200) -> Response:
    response = make_response(html, status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _csrf_cookie() -> str:
    return csrf.cookie_value(request.cookies.get(CSRF_COOKIE))


def _with_csrf_cookie(response: Response, settings: Settings, cookie: str) -> Response:
    """Send the cookie the page's form token is bound to (again, to keep it as long as a session)."""
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=_secure(settings),
    )
    return response


def _secure(settings: Settings) -> bool:
    return request.is_secure or settings.public_base_url.startswith("https://")


def _gate(settings: Settings, locale: str, error: str | None = None, status: int = 403) -> Response:
    """The login form, or the notice that the dashboard is closed."""
    closed = not settings.dashboard_token
    cookie = _csrf_cookie()
    html = render_template(
        "dashboard.html",
        t=_texts(locale),
        locale=locale,
        gate=True,
        closed=closed,
        csrf="" if closed else csrf.form_token(settings.dashboard_token, cookie, "login"),
        message=error or ("closed" if closed else "required"),
    )
    response = _page(html, status)
    return response if closed else _with_csrf_cookie(response, settings, cookie)


def _texts(locale: str):
    return page.texts(locale)


@blueprint.get("/dashboard")
def show_dashboard() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    if not settings.local_mode:
        if not settings.dashboard_token:
            _refused("closed")
            return _gate(settings, locale)
        if not _has_session(settings.dashboard_token):
            given = _bearer()
            if given is None:
                _refused("required")
                return _gate(settings, locale)
            refusal = _check(given, settings, locale)
            if refusal is not None:
                return refusal
    now = utcnow()
    with _runtime().engine.connect() as connection:
        context = page.figures(connection, settings, locale, now)

    cookie = _csrf_cookie()
    html = render_template(
        "dashboard.html",
        t=_texts(locale),
        locale=locale,
        gate=False,
        local=settings.local_mode,
        csrf="" if settings.local_mode else csrf.form_token(settings.dashboard_token, cookie, "logout"),
        moment=now.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M"),
        other="en" if locale == "ja" else "ja",
        number=number,
        **context,
    )
    if settings.local_mode:  # no logout form there
        return _page(html)
    return _with_csrf_cookie(_page(html), settings, cookie)


@blueprint.post("/dashboard/login")
def log_in() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    token = settings.dashboard_token
    if settings.local_mode:
        return redirect(f"/dashboard?lang={locale}", 303)
    if not token:
        _refused("closed")
        return _gate(settings, locale)
    if not _csrf_ok(settings, "login"):
        _refused("csrf")
        return _gate(settings, locale, "retry", 400)
    refusal = _check(request.form.get("token", "").strip(), settings, locale)
    if refusal is not None:
        return refusal
    response = redirect(f"/dashboard?lang={locale}", 303)
    response.set_cookie(
        COOKIE,
        _signer(token).dumps("staff"),
        max_age=SESSION_SECONDS,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=_secure(settings),
    )
    return response


@blueprint.post("/dashboard/logout")
def log_out() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    if not _csrf_ok(settings, "logout"):
        _refused("csrf")
        return _gate(settings, locale, "retry", 400)
    response = redirect(f"/dashboard?lang={locale}", 303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response
