"""The staff inbox (`/inbox`): the hand-overs waiting or in progress, one conversation's whole history, a reply
box, release (back to the bot) and close. Each staff member logs in with their own account (`flask staff add`;
bot/staff/accounts.py): wrong tries are limited per client, per login name and overall, the session cookie is
signed and names the account and its password's fingerprint, every form carries a CSRF token.

Every opening of a conversation is audited as a personal-data access; the customer's card (name, phone, email) is
masked until the staff member reveals it, which is audited too. Replies go to the customer through the delivery
ledger, as a push, like `/reply` in the admin chat.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy.exc import NoResultFound

from bot.delivery.outbox import dispatch_answers
from bot.exports.csvfile import ENCODINGS, ExportRefused, parse_day, write_export
from bot.exports.kinds import KINDS
from bot.jobs.queues import enqueue_menu_switch
from bot.notices import lists as notice_lists
from bot.notices import sending as notice_sending
from bot.platform import csrf
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.platform.runtime import Runtime
from bot.staff import accounts, admin, inbox
from bot.staff.accounts import Staff
from bot.staff.handovers import ACTIVE, give_back, reply_to_customer
from flows.engine import TOKYO
from handlers import staff_attachments as attachments
from handlers.admin.lookups import mask_email, mask_name, mask_phone, person_of
from handlers.staff_pages import SECURITY_HEADERS, page_locale
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("inbox", __name__, template_folder="templates")

COOKIE, CSRF_COOKIE = "inbox_login", "inbox_csrf"
SESSION_SECONDS = 10 * 3600  # a working day
MAX_REPLY = 2000


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _texts(locale: str):
    return lambda key, **fields: text(f"messages.admin_inbox.labels.{key}", locale, **fields)


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.derived_key("inbox-session"), salt="inbox-login")


def _csrf_secret(settings: Settings) -> str:
    return settings.derived_key("inbox-csrf")


def _signed_in(settings: Settings) -> Staff | None:
    try:
        session = _signer(settings).loads(request.cookies.get(COOKIE, ""), max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(session, dict):
        return None
    with _runtime().engine.connect() as connection:
        return accounts.find_staff(connection, int(session.get("id", 0)), str(session.get("fp", "")))


def _page(settings: Settings, template_fields: dict[str, Any], status: int = 200) -> Response:
    cookie = csrf.cookie_value(request.cookies.get(CSRF_COOKIE))
    locale = template_fields["locale"]
    html = render_template(
        "inbox.html",
        t=_texts(locale),
        token=lambda purpose: csrf.form_token(_csrf_secret(settings), cookie, purpose),
        **template_fields,
    )
    response = make_response(html, status)
    response.headers.update(SECURITY_HEADERS)
    _set_cookie(response, settings, CSRF_COOKIE, cookie)
    return response


def _set_cookie(response: Response, settings: Settings, name: str, value: str) -> None:
    """The inbox's cookies: its pages only, never to scripts or other sites, over HTTPS where it is served so."""
    secure = request.is_secure or settings.public_base_url.startswith("https://")
    response.set_cookie(
        name, value, max_age=SESSION_SECONDS, path="/inbox", httponly=True, samesite="Strict", secure=secure
    )


def _csrf_ok(settings: Settings, purpose: str) -> bool:
    given = request.form.get("csrf")
    return csrf.is_valid(_csrf_secret(settings), request.cookies.get(CSRF_COOKIE), purpose, given)


def _gate(settings: Settings, locale: str, message: str | None = None, status: int = 200) -> Response:
    return _page(settings, {"locale": locale, "mode": "gate", "message": message}, status)


@blueprint.get("/inbox")
def show_inbox() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    staff = _signed_in(settings)
    if staff is None:
        return _gate(settings, locale)
    with _runtime().engine.connect() as connection:
        listed = inbox.waiting(connection)
    for item in listed:
        item["status_word"] = text(f"messages.admin_handover.labels.statuses.{item['row'].status}", locale)
        item["reason_word"] = text(f"messages.chat_handover.reasons.{item['row'].reason}", locale)
    return _page(
        settings, {"locale": locale, "mode": "list", "staff": staff, "listed": listed, "when": _when}
    )


@blueprint.post("/inbox/login")
def log_in() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    if not _csrf_ok(settings, "login"):
        return _gate(settings, locale, "retry", 400)
    runtime = _runtime()
    try:
        with runtime.engine.connect() as connection:
            verdict = accounts.log_in(
                connection,
                runtime.redis,
                settings.derived_key("inbox-limits"),
                request.form.get("login", ""),
                request.form.get("password", ""),
                request.remote_addr or "-",
            )
    except RedisError:  # closed rather than unlimited
        log.warning("inbox login refused: unavailable")
        return _gate(settings, locale, "unavailable", 503)
    if verdict.staff is None:
        log.warning("inbox login refused: %s", "locked" if verdict.locked else "wrong")
        response = _gate(
            settings, locale, "locked" if verdict.locked else "wrong", 429 if verdict.locked else 403
        )
        if verdict.locked:
            response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    log.info("inbox login: staff account %s", verdict.staff.id)
    response = redirect(f"/inbox?lang={locale}", 303)
    session = _signer(settings).dumps({"id": verdict.staff.id, "fp": verdict.staff.fingerprint})
    _set_cookie(response, settings, COOKIE, session)
    return response


@blueprint.post("/inbox/logout")
def log_out() -> Response:
    settings = _runtime().settings
    locale = page_locale(settings)
    if not _csrf_ok(settings, "logout"):
        return _gate(settings, locale, "retry", 400)
    response = redirect(f"/inbox?lang={locale}", 303)
    response.delete_cookie(COOKIE, path="/inbox")
    return response


def _staff_session() -> tuple[Settings, str, Staff] | Response:
    """(settings, page language, the staff member signed in), or the login page (403) for anybody else."""
    settings = _runtime().settings
    locale = page_locale(settings)
    staff = _signed_in(settings)
    if staff is None:
        return _gate(settings, locale, status=403)
    return settings, locale, staff


def _csv_download(body: bytes, name: str, charset: str = "utf-8") -> Response:
    response = make_response(body)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Type"] = f"text/csv; charset={charset}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.get("/inbox/exports")
def show_exports() -> Response:
    """The form of a data export (bot/exports) for a supervisor: kind, first day, encoding."""
    signed = _staff_session()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    return _exports_page(settings, locale, staff)


@blueprint.post("/inbox/exports")
def download_export() -> Response:
    """The export as a file download, audited as a personal-data access by the staff member who asked."""
    signed = _staff_session()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    if not staff.may_export():
        return _exports_page(settings, locale, staff, "export_needs_supervisor", 403)
    if not _csrf_ok(settings, "export"):
        return _exports_page(settings, locale, staff, "retry", 400)
    kind, encoding = KINDS.get(request.form.get("kind", "")), request.form.get("encoding", "utf-8")
    try:
        since = parse_day(request.form.get("since", ""))
    except ExportRefused:
        since = None
    if kind is None or since is None or encoding not in ENCODINGS:
        return _exports_page(settings, locale, staff, "export_unclear", 400)
    with tempfile.TemporaryDirectory(prefix="export-") as folder:
        path = Path(folder) / f"{kind.name}-since-{since.isoformat()}.csv"
        refusal = shown = None
        try:
            with _runtime().engine.connect() as connection:
                report = write_export(connection, kind, since, path, encoding)
        except ExportRefused as exc:
            refusal = str(exc)
            shown = text(
                "messages.admin_inbox.labels.export_cp932",
                locale,
                count=exc.count,
                rows=", ".join(f"{row}（{header}）" for row, header in exc.unwritable),
            )
        with _runtime().engine.begin() as connection:
            admin.audit(
                connection,
                staff.actor,
                "inbox",
                "export-data",
                f"{kind.name} since {since.isoformat()} {encoding}",
                "refused" if refusal else "done",
                at=utcnow(),
                detail=refusal[:200] if refusal else f"{report.rows} rows",
                personal_data=refusal is None and report.rows > 0,
            )
        if refusal:
            return _exports_page(settings, locale, staff, "export_refused", 422, refusal=shown)
        body = path.read_bytes()
    return _csv_download(body, path.name, "utf-8" if encoding == "utf-8" else "Shift_JIS")


def _exports_page(
    settings: Settings,
    locale: str,
    staff: Staff,
    message: str | None = None,
    status: int = 200,
    refusal: str | None = None,
) -> Response:
    fields = {
        "locale": locale,
        "mode": "exports",
        "staff": staff,
        "kinds": list(KINDS.values()),
        "encodings": list(ENCODINGS),
        "today": utcnow().astimezone(TOKYO).date().isoformat(),
        "message": message,
        "refusal": refusal,
    }
    return _page(settings, fields, status)


NOTICE_FILE_BYTES = (
    1024 * 1024
)  # a list uploaded on the page (about 15,000 rows); larger ones: flask notices send
NOTICE_CHANNELS = ("first_reachable:line,sms,email", "only:line", "only:sms", "only:email")


@blueprint.get("/inbox/notices")
def show_notices() -> Response:
    """The upload form of a service notice to a list (bot/notices)."""
    signed = _staff_session()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    return _notices_page(settings, locale, staff, "upload")


def _notice_post() -> tuple[Settings, str, Staff] | Response:
    """The staff member posting a notice form with its CSRF token (the list may be up to NOTICE_FILE_BYTES)."""
    signed = _staff_session()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    request.max_content_length = 2 * NOTICE_FILE_BYTES
    if not _csrf_ok(settings, "notice"):
        return _notices_page(settings, locale, staff, "upload", "retry", 400)
    return signed


@blueprint.post("/inbox/notices/dry-run")
def dry_run_notice() -> Response:
    """The uploaded list counted (nothing written): the figures, and a form that confirms this very file."""
    signed = _notice_post()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    upload = request.files.get("list")
    content = upload.read(NOTICE_FILE_BYTES + 1) if upload else b""
    if not content or len(content) > NOTICE_FILE_BYTES:
        return _notices_page(settings, locale, staff, "upload", "notice_file_size", 400)
    return _counted(settings, locale, staff, content, confirming=False)


@blueprint.post("/inbox/notices/confirm")
def confirm_notice() -> Response:
    """The same file (its content comes back with the form, its SHA-256 checked) written as a notice."""
    signed = _notice_post()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    try:
        content = base64.b64decode(request.form.get("content", ""), validate=True)
    except ValueError:
        content = b""
    if not content or hashlib.sha256(content).hexdigest() != request.form.get("sha256"):
        return _notices_page(settings, locale, staff, "upload", "retry", 400)
    return _counted(settings, locale, staff, content, confirming=True)


def _counted(settings: Settings, locale: str, staff: Staff, content: bytes, confirming: bool) -> Response:
    template, channels = request.form.get("template", ""), request.form.get("channels", "")
    skip_invalid = request.form.get("skip_invalid") == "yes"
    if template not in notice_lists.templates() or channels not in NOTICE_CHANNELS:
        return _notices_page(settings, locale, staff, "upload", "export_unclear", 400)
    now = utcnow()
    with tempfile.TemporaryDirectory(prefix="notice-") as folder:
        path = Path(folder) / "list.csv"
        path.write_bytes(content)
        try:
            with _runtime().engine.begin() as connection:
                listed = notice_lists.read_list(connection, template, path)
                already = notice_sending.existing(connection, listed)
                if already is None and not confirming:  # confirming counts it again, at its own moment
                    figures = notice_sending.plan(connection, settings, listed, channels, now).figures
                if confirming and already is None:
                    notice_id, written = notice_sending.confirm(
                        connection, settings, listed, channels, now, staff.actor, None, skip_invalid
                    )
                    admin.audit(connection, staff.actor, "inbox", "notice", template, "done", at=now,
                                detail=f"notice {notice_id}: {written} rows")  # fmt: skip
        except (notice_lists.ListRefused, notice_sending.NoticeRefused) as exc:
            return _notices_page(settings, locale, staff, "upload", None, 422, refusal=str(exc))
    if already is not None:
        return _notices_page(settings, locale, staff, "done", "notice_sent_already", notice_id=already.id)
    if confirming:
        return _notices_page(
            settings, locale, staff, "done", "notice_queued", notice_id=notice_id, written=written
        )
    hidden = {
        "template": template,
        "channels": channels,
        "skip_invalid": "yes" if skip_invalid else "",
        "content": base64.b64encode(content).decode(),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return _notices_page(settings, locale, staff, "counted", figures=figures.as_dict(), hidden=hidden)


@blueprint.get("/inbox/notices/<int:notice_id>/result.csv")
def notice_result(notice_id: int) -> Response:
    """What became of each line of the list, as a file (the customer by 顧客ID only)."""
    signed = _staff_session()
    if isinstance(signed, Response):
        return signed
    settings, locale, staff = signed
    with tempfile.TemporaryDirectory(prefix="notice-") as folder:
        path = Path(folder) / f"notice-{notice_id}-result.csv"
        try:
            with _runtime().engine.begin() as connection:
                notice_sending.write_result(connection, notice_id, path)
                admin.audit(connection, staff.actor, "inbox", "notice-result", str(notice_id), "done", at=utcnow(),
                            personal_data=True)  # fmt: skip
        except NoResultFound:
            return _notices_page(settings, locale, staff, "upload", "notice_not_found", 404)
        body = path.read_bytes()
    return _csv_download(body, path.name)


def _notices_page(
    settings: Settings,
    locale: str,
    staff: Staff,
    step: str,
    message: str | None = None,
    status: int = 200,
    **fields: Any,
) -> Response:
    page = {
        "locale": locale,
        "mode": "notices",
        "step": step,
        "staff": staff,
        "templates": notice_lists.templates(),
        "channel_choices": NOTICE_CHANNELS,
        "message": message,
        "refusal": None,
    }
    return _page(settings, page | fields, status)


@blueprint.get("/inbox/attachments/<int:attachment_id>")
def show_attachment(attachment_id: int) -> Response:
    """A photo, video or file of a conversation, for the staff member signed in (the opening audited by name)."""
    settings = _runtime().settings
    staff = _signed_in(settings)
    if staff is None:
        return _gate(settings, page_locale(settings), status=403)
    return attachments.serve(attachment_id, staff.actor, "inbox")


@blueprint.get("/inbox/<reference>")
def show_conversation(reference: str, revealed: bool = False, notice: str | None = None) -> Response:
    """One conversation; its opening is audited (a personal-data access)."""
    settings = _runtime().settings
    locale = page_locale(settings)
    staff = _signed_in(settings)
    if staff is None:
        return _gate(settings, locale)
    with _runtime().engine.begin() as connection:
        handover = inbox.open_conversation(connection, staff.actor, reference, utcnow())
        if handover is None:
            fields = {"locale": locale, "mode": "missing", "staff": staff}
            return _page(settings, fields, 404)
        if revealed:
            inbox.note(connection, staff.actor, "reveal", handover, "done", utcnow())
        entries = inbox.history(connection, handover, locale)
        card = _card(connection, handover.customer_id, revealed, locale)
    fields = {
        "locale": locale,
        "mode": "conversation",
        "staff": staff,
        "handover": handover,
        "active": handover.status in ACTIVE,
        "entries": entries,
        "card": card,
        "revealed": revealed,
        "notice": notice or request.args.get("done"),
        "when": _when,
        "status_word": text(f"messages.admin_handover.labels.statuses.{handover.status}", locale),
        "reason_word": text(f"messages.chat_handover.reasons.{handover.reason}", locale),
    }
    return _page(settings, fields)


def _card(connection: Any, customer_id: int, revealed: bool, locale: str) -> dict[str, str]:
    person = person_of(connection, customer_id)
    none = "—"
    if revealed:
        name = " ".join(part for part in (person.family_name, person.given_name) if part) or none
        return {"name": name, "phone": person.sms_phone or none, "email": person.email_main or none}
    has_name = person.family_name or person.given_name
    return {
        "name": mask_name(person.family_name, person.given_name) if has_name else none,
        "phone": mask_phone(person.sms_phone) if person.sms_phone else none,
        "email": mask_email(person.email_main) if person.email_main else none,
    }


def _when(moment: Any) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if moment else ""


@blueprint.post("/inbox/<reference>/<action>")
def act(reference: str, action: str) -> Response:
    """reveal, reply, release or close, with the conversation's CSRF token."""
    settings = _runtime().settings
    locale = page_locale(settings)
    staff = _signed_in(settings)
    if staff is None:
        return _gate(settings, locale, status=403)
    if action not in ("reveal", "reply", "release", "close") or not _csrf_ok(settings, f"act:{reference}"):
        return _gate(settings, locale, "retry", 400)
    if action == "reveal":
        return show_conversation(reference, revealed=True)
    runtime = _runtime()
    now = utcnow()
    refused = action == "close" and not staff.may_close()
    with runtime.engine.begin() as connection:
        handover = inbox.open_conversation(connection, staff.actor, reference, now)
        if handover is not None:
            delivery_id = None if refused else _carry_out(connection, settings, staff, handover, action, now)
            result = "refused" if refused else "done" if delivery_id else "unchanged"
            inbox.note(connection, staff.actor, action, handover, result, now)
    if handover is None:
        return _page(settings, {"locale": locale, "mode": "missing", "staff": staff}, 404)
    if refused:
        return show_conversation(reference, notice="close_needs_supervisor")
    if delivery_id is not None:  # sent at once, after the commit, ahead of bulk sends
        dispatch_answers(runtime.engine, runtime.redis, settings, [delivery_id], now)
        if action in ("release", "close"):  # the customer's own rich menu again
            enqueue_menu_switch(runtime.redis, [handover.customer_id])
    done = {"reply": "sent", "release": "released", "close": "closed"}[action] if delivery_id else ""
    return redirect(f"/inbox/{handover.reference}?lang={locale}&done={done}", 303)


def _carry_out(
    connection: Any, settings: Settings, staff: Staff, handover: Any, action: str, now: Any
) -> int | None:
    if action == "reply":
        body = request.form.get("body", "").strip()[:MAX_REPLY]
        if not body:
            return None
        return reply_to_customer(connection, settings, handover.reference, staff.actor, body, now)[1]
    return give_back(connection, handover.reference, staff.actor, now, close=action == "close")[1]
