"""The download page of an approved disclosure (開示): `/privacy/exports/<number>` asks for the one-time code the
admin chat gave; the right code answers the customer's data as a JSON file, built at that moment and audited.

The address carries only the request's number and a GET shows nothing but the form, so neither LINE's link
preview nor an access log can take the data or the code; the code travels in the POST body. The service keeps no
copy of the file. Limits (tries, expiry, single use) are in bot/privacy/requests.py.
"""

from __future__ import annotations

import html
import logging

from flask import Blueprint, Response, current_app, request
from sqlmodel import SQLModel

from bot.platform.i18n import SUPPORTED, text
from bot.platform.runtime import Runtime
from bot.privacy.disclosure import dumps, export_customer
from bot.privacy.requests import Redeemed, redeem_code
from bot.staff.admin import about, audit
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("privacy_download", __name__)
PLACE = "web"
LARGEST_NUMBER = 2**31 - 1
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _locale() -> str:
    asked = request.args.get("lang", "")
    return asked if asked in SUPPORTED else _runtime().settings.default_locale


def _t(key: str, **fields: object) -> str:
    return text(f"messages.admin_privacy.page.{key}", _locale(), **fields)


@blueprint.get("/privacy/exports/<int:number>")
def ask_code(number: int) -> Response:
    """The form, whatever the number: it tells nobody whether a disclosure is waiting there."""
    return _form(number)


@blueprint.post("/privacy/exports/<int:number>")
def download(number: int) -> Response:
    """The right code, once and in time: the customer's data as a file. Every try counts."""
    if number > LARGEST_NUMBER:
        return _page(_t("gone"), 410)
    runtime, now = _runtime(), utcnow()
    with runtime.engine.begin() as connection:  # the audit row commits with the use of the code, or neither
        outcome, row = redeem_code(connection, number, request.form.get("code", ""), now)
        if outcome is Redeemed.OK:
            document = export_customer(connection, SQLModel.metadata, runtime.settings, row.customer_id, now)
            detail = f"{about([row.customer_id])} (request {number})"
            audit(
                connection, row.requested_by, PLACE, "export", f"request {number}", "done", now, detail, True
            )
    log.info("disclosure request=%s download: %s", number, outcome)
    if outcome is Redeemed.WRONG:
        return _form(number, error=_t("wrong"), status=401)
    if outcome is Redeemed.LOCKED:
        return _page(_t("locked"), 429)
    if outcome is Redeemed.GONE:
        return _page(_t("gone"), 410)
    headers = HEADERS | {"Content-Disposition": f'attachment; filename="disclosure-{number}.json"'}
    return Response(dumps(document), mimetype="application/json", headers=headers)


def _form(number: int, error: str | None = None, status: int = 200) -> Response:
    e = html.escape
    notice = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    lang = f"?lang={e(_locale())}" if request.args.get("lang") else ""
    content = (
        f"{notice}<p>{e(_t('lead', number=number))}</p>"
        f'<form method="post" action="/privacy/exports/{number}{lang}">'
        f'<label for="code">{e(_t("code_label"))}</label>'
        '<input id="code" name="code" maxlength="64" autocomplete="off" required>'
        f'<button type="submit">{e(_t("button"))}</button></form>'
    )
    return _page(content, status, raw=True)


def _page(content: str, status: int, raw: bool = False) -> Response:
    """A small self-contained page; `content` is escaped here unless built from escaped parts (`raw`)."""
    title = html.escape(_t("title"))
    inner = content if raw else f"<p>{html.escape(content)}</p>"
    body = (
        f'<!doctype html>\n<html lang="{html.escape(_locale())}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.7}"
        "label{display:block;margin-top:1rem;font-weight:bold}input{width:100%;font-size:1rem;padding:.5rem;"
        "box-sizing:border-box}button{margin-top:1.5rem;font-size:1rem;padding:.6rem 1.4rem}"
        ".error{color:#b00020}</style></head>"
        f"<body><h1>{title}</h1>{inner}</body></html>\n"
    )
    return Response(body, status=status, mimetype="text/html", headers=HEADERS)
