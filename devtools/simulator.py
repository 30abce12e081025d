"""The chat simulator (`/simulator`, local mode only): a newcomer without a LINE channel picks a customer, acts
as their LINE app and sees the bot answer like a LINE chat, with the SMS and email the customer would get.

This module serves the page, the customer picker, the SMS and email side panes (the local outbox file and
maildir) and LINE's half of ID連携: in local mode LINE_ACCOUNT_LINK_URL is `/simulator/account-link`, which
checks the link token with the emulator and sends the `accountLink` event LINE would send. The LINE side of the
chat (events, reply tokens, what LINE delivered) is in `devtools/simulator_api.py`.
"""

from __future__ import annotations

import json
import re
from email import policy
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, abort, jsonify, render_template, request
from sqlalchemy import or_, select

from bot.delivery.channels.sms import OUTBOX_FILE
from bot.platform.i18n import LOCALES_DIR, SUPPORTED, text
from devtools import simulator_api
from devtools.line_emulator import webhook_sender
from devtools.simulator_api import (
    CHANNELS,
    CUSTOMERS,
    STATE_SECONDS,
    Unavailable,
    check_user,
    current_runtime,
    current_settings,
    decoded,
    friend_status,
    guard,
    link_token_owner,
    note,
    post,
    state_key,
)
from models import LineMembership

blueprint = Blueprint(
    "simulator",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/simulator/static",
)
blueprint.before_request(guard)
blueprint.register_blueprint(simulator_api.blueprint)

LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
NONCE = re.compile(r"[A-Za-z0-9_=+/-]{10,255}")
PEOPLE_LIMIT = 30
PANE_LIMIT = 30  # SMS and emails shown per pane, the latest
MAIL_SCAN_LIMIT = 5000  # newest maildir files looked at


def _locale() -> str:
    chosen = request.args.get("lang")
    return chosen if chosen in SUPPORTED else current_settings().default_locale


def _page_headers(response: Response) -> Response:
    response.headers.update(
        {
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        }
    )
    return response


@cache
def _labels(locale: str) -> dict[str, str]:
    """Every `ui_simulator` text (the page's script shows some), in `locale` with Japanese where missing."""
    names = yaml.safe_load((LOCALES_DIR / "ja.yml").read_text(encoding="utf-8"))["ja"]["ui_simulator"]
    labels = {name: text(f"ui_simulator.{name}", locale) for name in names}
    return labels | {"service_name": text("common.service_name", locale)}


@blueprint.get("/simulator")
def page() -> Response:
    """The simulator: a customer list, the LINE chat, and the SMS and email panes."""
    locale = _locale()
    html = render_template("simulator.html", locale=locale, labels=_labels(locale))
    return _page_headers(Response(html, mimetype="text/html"))


@blueprint.get("/simulator/account-link")
def complete_account_link() -> tuple[Response, int]:
    """What LINE does at its account-link endpoint: find the user the link token was issued for and send
    that user's `accountLink` event (result ok, with the nonce from our login page) to the webhook."""
    locale = _locale()
    token, nonce = request.args.get("linkToken", ""), request.args.get("nonce", "")
    user_id, status = None, 400
    if LINK_TOKEN.fullmatch(token) and NONCE.fullmatch(nonce):
        try:
            user_id = link_token_owner(token)
            if user_id:
                post(user_id, "accountLink", link={"result": "ok", "nonce": nonce})
                note(user_id, {"kind": "note", "note": "link"})
                status = 200
        except Unavailable:
            user_id, status = None, 502
    html = render_template(
        "simulator_link.html",
        locale=locale,
        done=status == 200,
        user_id=user_id,
        title=text(f"ui_simulator.link_{'done' if status == 200 else 'invalid'}_title", locale),
        body=text(f"ui_simulator.link_{'done' if status == 200 else 'invalid'}_body", locale),
        back=text("ui_simulator.link_back", locale),
    )
    return _page_headers(Response(html, mimetype="text/html")), status


@blueprint.get("/simulator/api/people")
def people() -> Response:
    """Customers (顧客ID and name) and prospects (shown by their LINE user) matching `q`, the newest first."""
    query = request.args.get("q", "").strip()[:64]
    statement = (
        select(CUSTOMERS.c.id, CUSTOMERS.c.customer_code, CUSTOMERS.c.family_name, CUSTOMERS.c.given_name)
        .add_columns(CHANNELS.c.line_user_id, CHANNELS.c.line_linked)
        .outerjoin(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id)
        .order_by(CUSTOMERS.c.id.desc())
        .limit(PEOPLE_LIMIT)
    )
    if query:
        statement = statement.where(
            or_(
                *(
                    column.icontains(query, autoescape=True)
                    for column in (
                        CUSTOMERS.c.customer_code,
                        CUSTOMERS.c.family_name,
                        CUSTOMERS.c.given_name,
                        CHANNELS.c.line_user_id,
                    )
                )
            )
        )
    with current_runtime().engine.connect() as connection:
        rows = connection.execute(statement).all()
    return jsonify(
        people=[
            {
                "id": row.id,
                "code": row.customer_code,
                "name": " ".join(part for part in (row.family_name, row.given_name) if part),
                "line_user_id": row.line_user_id,
                "linked": bool(row.line_linked),
            }
            for row in rows
        ]
    )


@blueprint.post("/simulator/api/chats")
def open_chat() -> Response:
    """Act as a customer (their LINE user on file, else the one the simulator made for them) or a new user,
    whose LINE app speaks the page's language (`?lang=en`: an English-speaking LINE user)."""
    asked = request.get_json(silent=True) or {}
    customer_id, language = asked.get("customer_id"), asked.get("language") or "ja"
    if (customer_id is not None and not isinstance(customer_id, int)) or language not in SUPPORTED:
        abort(400)
    person = _customer(customer_id) if customer_id is not None else {"name": "", "line_user_id": None}
    if person is None:
        abort(404)
    redis, remembered = current_runtime().redis, state_key("customer", str(customer_id))
    user_id = person["line_user_id"] or (decoded(redis.get(remembered)) if customer_id is not None else None)
    user_id = user_id or webhook_sender.new_user_id()
    if customer_id is not None:
        redis.set(remembered, user_id, ex=STATE_SECONDS)
    profile = {"name": person["name"], "customer_id": customer_id or "", "language": language}
    redis.hset(state_key("user", user_id), mapping=profile)
    redis.expire(state_key("user", user_id), STATE_SECONDS)
    return jsonify(user_id=user_id, status=friend_status(user_id))


@blueprint.get("/simulator/api/users/<user_id>/inbox")
def inbox(user_id: str) -> Response:
    """The SMS and emails sent to the customer's number and addresses (the LINE user's record, and the
    customer picked), from the local SMS outbox and maildir; null where the service sends for real."""
    check_user(user_id)
    phones, emails = _addresses(user_id, request.args.get("customer", type=int))
    settings = current_settings()
    sms = _sms(settings.data_dir / OUTBOX_FILE, phones) if settings.sms_provider == "outbox" else None
    mail = None if settings.smtp_url else _emails(settings.data_dir / "mail", emails)
    return jsonify(sms=sms, emails=mail)


def _customer(customer_id: int) -> dict[str, Any] | None:
    """A customer's 顧客ID, name and LINE user (on their record, else in the LINE members file F7)."""
    members = LineMembership.__table__
    with current_runtime().engine.connect() as connection:
        row = connection.execute(
            select(CUSTOMERS.c.id, CUSTOMERS.c.customer_code, CUSTOMERS.c.family_name, CUSTOMERS.c.given_name)
            .add_columns(CHANNELS.c.line_user_id)
            .outerjoin(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id)
            .where(CUSTOMERS.c.id == customer_id)
        ).first()
        if row is None:
            return None
        member = select(members.c.line_user_id).where(members.c.customer_id == customer_id).limit(1)
        line_user_id = row.line_user_id or connection.execute(member).scalar()
    name = " ".join(part for part in (row.family_name, row.given_name) if part)
    return {"id": row.id, "code": row.customer_code, "name": name, "line_user_id": line_user_id}


def _addresses(user_id: str, customer_id: int | None) -> tuple[set[str], set[str]]:
    """Mobile numbers and (lower-cased) emails of the customers this chat stands for."""
    clauses = [CHANNELS.c.line_user_id == user_id]
    if customer_id is not None:
        clauses.append(CHANNELS.c.customer_id == customer_id)
    with current_runtime().engine.connect() as connection:
        rows = connection.execute(
            select(CHANNELS.c.sms_phone, CHANNELS.c.email_main, CHANNELS.c.email_sub).where(or_(*clauses))
        ).all()
    phones = {row.sms_phone for row in rows if row.sms_phone}
    emails = {e.lower() for row in rows for e in (row.email_main, row.email_sub) if e}
    return phones, emails


def _sms(path: Path, phones: set[str]) -> list[dict[str, Any]]:
    """The latest SMS in the outbox file (one JSON line each, see bot/delivery/channels/sms.py) to these numbers."""
    if not phones or not path.exists():
        return []
    found = []
    with open(path, encoding="utf-8") as outbox:
        for line in outbox:
            try:
                sms = json.loads(line)
            except ValueError:
                continue  # a line being written
            if isinstance(sms, dict) and sms.get("to") in phones:
                found.append({"at": sms.get("at"), "to": sms["to"], "text": sms.get("text", "")})
    return found[-PANE_LIMIT:]


def _emails(mail_dir: Path, addresses: set[str]) -> list[dict[str, Any]]:
    """The latest emails in the maildir to these addresses: date, subject and the text part."""
    if not addresses:
        return []
    files = [p for sub in ("new", "cur") if (mail_dir / sub).is_dir() for p in (mail_dir / sub).iterdir()]
    files = sorted(files, key=lambda p: p.stat().st_mtime)[-MAIL_SCAN_LIMIT:]
    found = []
    for path in reversed(files):
        with open(path, "rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
        if not {a.lower() for _, a in getaddresses(headers.get_all("To", []))} & addresses:
            continue
        with open(path, "rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        body = message.get_body(preferencelist=("plain",))
        found.append(
            {
                "at": _date(message["Date"]),
                "to": str(message["To"]),
                "subject": str(message["Subject"] or ""),
                "text": body.get_content() if body is not None else "",
            }
        )
        if len(found) == PANE_LIMIT:
            break
    return sorted(found, key=lambda m: m["at"] or "")


def _date(value: str | None) -> str | None:
    try:
        return parsedate_to_datetime(value).isoformat() if value else None
    except (TypeError, ValueError):
        return None
