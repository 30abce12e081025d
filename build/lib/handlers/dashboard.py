"""The staff dashboard (`GET /dashboard`): each scenario's funnel against its holdout, channel reach over the
last 30 days, SMS segments and cost by month and carrier, and what failed or was held in the last 7 days — as
server-rendered SVG charts with compact tables, in Japanese (`?lang=en` for English).

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
from typing import Any

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError

from bot.platform import csrf
from bot.platform.config import Settings
from bot.platform.i18n import SUPPORTED, text
from bot.platform.runtime import Runtime
from bot.staff import dashboard
from bot.staff import login as staff_login
from bot.staff.charts import Series, bar_chart, hbar_chart, line_chart, number
from flows.engine import TOKYO
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("dashboard", __name__, template_folder="templates")

COOKIE = "dashboard_login"
CSRF_COOKIE = "dashboard_csrf"
SESSION_SECONDS = 12 * 3600
CHANNEL_ORDER = ("line", "email", "sms", "push")
CARRIER_ORDER = ("docomo", "au", "rakuten", "softbank", "unknown")
KINDS = ("failed", "held", "skipped")
KNOWN_REASONS = (
    "quiet_hours",
    "frequency_cap",
    "same_day_duplicate",
    "held_too_long",
    "no_channel",
    "cancelled",
)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _locale(settings: Settings) -> str:
    asked = request.args.get("lang", "")
    return asked if asked in SUPPORTED else settings.default_locale


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
    return lambda key, **fields: text(f"ui_dashboard.{key}", locale, **fields)


@blueprint.get("/dashboard")
def show_dashboard() -> Response:
    settings = _runtime().settings
    locale = _locale(settings)
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
        context = _figures(connection, settings, locale, now)

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
    locale = _locale(settings)
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
    locale = _locale(settings)
    if not _csrf_ok(settings, "logout"):
        _refused("csrf")
        return _gate(settings, locale, "retry", 400)
    response = redirect(f"/dashboard?lang={locale}", 303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


# ── what the page shows ──────────────────────────────────────────────────────────────────────────────────


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _figures(connection: Any, settings: Settings, locale: str, now: Any) -> dict[str, Any]:
    t = _texts(locale)
    empty = t("no_data")
    return {
        **_funnel_section(connection, settings, locale, t, empty),
        **_reach_section(connection, now, t, empty),
        **_sms_section(connection, now, t, empty),
        **_problem_section(connection, now, locale, t, empty),
    }


def _funnel_section(connection, settings: Settings, locale: str, t, empty: str) -> dict[str, Any]:
    figures = dashboard.funnels(connection)
    rows = []
    for scenario in sorted(settings.scenarios.values(), key=lambda s: s.number):
        funnel = figures.get(scenario.id, dashboard.Funnel())
        name = f"#{scenario.number} {scenario.title if locale == 'ja' else scenario.id}"
        rows.append({"name": name, "funnel": funnel, "sent": sum(funnel.sent.values())})
    shown = [row for row in rows if row["funnel"].entered]
    names = [row["name"] for row in shown]
    counts = [
        Series(t(f"funnel.{key}"), [value(row) for row in shown])
        for key, value in (
            ("entered", lambda r: r["funnel"].entered),
            ("held", lambda r: r["funnel"].held),
            ("sent", lambda r: r["sent"]),
            ("engaged", lambda r: r["funnel"].engaged),
            ("converted", lambda r: r["funnel"].converted + r["funnel"].held_converted),
            ("opted_out", lambda r: r["funnel"].opted_out),
        )
    ]
    channels = [
        Series(text(f"tracking.channel.{c}", locale), [row["funnel"].sent.get(c, 0) for row in shown])
        for c in CHANNEL_ORDER
    ]
    rates = [
        Series(t("funnel.treated_rate"), [(row["funnel"].treated_rate or 0) * 100 for row in shown]),
        Series(t("funnel.control_rate"), [(row["funnel"].control_rate or 0) * 100 for row in shown]),
    ]
    for row in rows:
        treated, control = row["funnel"].treated_rate, row["funnel"].control_rate
        row["rates"] = (_percent(treated), _percent(control))
        row["difference"] = "—" if treated is None or control is None else f"{(treated - control) * 100:+.1f}"
    return {
        "funnel_rows": rows,
        "channels": [(c, text(f"tracking.channel.{c}", locale)) for c in CHANNEL_ORDER],
        "funnel_charts": [
            hbar_chart(t("funnel.chart_counts"), names, counts, empty=empty),
            hbar_chart(t("funnel.chart_channels"), names, channels, stacked=True, empty=empty),
            hbar_chart(t("funnel.chart_rates"), names, rates, empty=empty, fmt=lambda v: f"{v:.1f}%"),
        ],
    }


def _reach_section(connection, now, t, empty: str) -> dict[str, Any]:
    days, series = dashboard.reach(connection, now)
    labels = [day.strftime("%m/%d") for day in days]
    lines = [Series(t(f"reach.{kpi}"), series[kpi]) for kpi in dashboard.REACH_KPIS]
    rows = [
        {"name": t(f"reach.{kpi}"), "first": series[kpi][0], "last": series[kpi][-1]}
        for kpi in dashboard.REACH_KPIS
    ]
    return {
        "reach_chart": line_chart(t("reach.chart"), labels, lines, empty=empty),
        "reach_rows": rows,
        "reach_first": days[0].strftime("%Y-%m-%d"),
        "reach_last": days[-1].strftime("%Y-%m-%d"),
    }


def _sms_section(connection, now, t, empty: str) -> dict[str, Any]:
    months_rows = dashboard.sms_months(connection, now)
    months = sorted({row.month for row in months_rows})
    found = {row.carrier for row in months_rows}
    carriers = [c for c in CARRIER_ORDER if c in found] + sorted(found - set(CARRIER_ORDER))

    def carrier_name(carrier: str) -> str:
        return t(f"sms.carriers.{carrier}") if carrier in CARRIER_ORDER else carrier

    by_key = {(row.month, row.carrier): row for row in months_rows}

    def series(field: str) -> list[Series]:
        return [
            Series(
                carrier_name(c),
                [getattr(by_key[(m, c)], field) if (m, c) in by_key else 0 for m in months],
            )
            for c in carriers
        ]

    return {
        "sms_rows": [(row, carrier_name(row.carrier)) for row in months_rows],
        "sms_charts": [
            bar_chart(t("sms.chart_segments"), months, series("segments"), stacked=True, empty=empty),
            bar_chart(t("sms.chart_cost"), months, series("cost_yen"), stacked=True, empty=empty),
        ],
    }


def reason_label(reason: str, locale: str) -> str:
    """quiet_hours, frequency_cap → 配信しない時間帯・配信回数の上限; a provider's own text as it is."""
    parts = [part.strip() for part in reason.split(",")]
    if all(part in KNOWN_REASONS or part == "unknown" for part in parts):
        joiner = "・" if locale == "ja" else ", "
        return joiner.join(text(f"ui_dashboard.problems.reasons.{part}", locale) for part in parts)
    return reason


def _problem_section(connection, now, locale: str, t, empty: str) -> dict[str, Any]:
    found = dashboard.problems(connection, now)
    labels: list[str] = []
    for problem in found:
        if reason_label(problem.reason, locale) not in labels:
            labels.append(reason_label(problem.reason, locale))
    totals = {(label, kind): 0 for label in labels for kind in KINDS}
    for problem in found:
        totals[(reason_label(problem.reason, locale), problem.kind)] += problem.count
    series = [
        Series(t(f"problems.kinds.{kind}"), [totals[(label, kind)] for label in labels]) for kind in KINDS
    ]
    rows = [
        {
            "kind": t(f"problems.kinds.{problem.kind}"),
            "channel": text(f"tracking.channel.{problem.channel}", locale)
            if problem.channel in CHANNEL_ORDER
            else "—",
            "reason": reason_label(problem.reason, locale),
            "count": problem.count,
        }
        for problem in found
    ]
    return {
        "problem_rows": rows,
        "problem_chart": hbar_chart(
            t("problems.chart"), labels, series, stacked=True, empty=t("problems.none")
        ),
    }
