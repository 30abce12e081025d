"""A photo, video or file a customer sent with a request, for staff (`GET /staff/attachments/<id>`): decrypted at
that moment, checked against the digest taken when it arrived, sent with headers that keep it out of caches and
other pages, and every opening audited (who, which attachment, whose).

Who may open one: as the dashboard, anyone in local mode (`make run`); elsewhere `Authorization: Bearer
<DASHBOARD_TOKEN>`, every wrong token counted before it is compared (bot/staff/login.py: per client address and
across all), 429 with Retry-After over the limits. No token configured outside local mode: closed (403).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy import select

from bot.chat.attachments import NotStored, open_attachment
from bot.platform.runtime import Runtime
from bot.staff import login as staff_login
from bot.staff.admin import about, audit
from models import Attachment, utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("staff_attachments", __name__)
ACTOR = "dashboard"  # whoever holds the dashboard token (the inbox's own logins name the staff member)
PLACE = "web"
ATTACHMENTS = Attachment.__table__
LARGEST_ID = 2**31 - 1
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'self'",
    "X-Robots-Tag": "noindex",
}


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _refusal() -> Response | None:
    """None when the request may see attachments; else the answer that refuses it."""
    settings = _runtime().settings
    if settings.local_mode:
        return None
    if not settings.dashboard_token:
        return _refused("closed", 403)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return _refused("required", 401)
    try:
        verdict = staff_login.check_token(
            _runtime().redis, settings.dashboard_token, given.strip(), request.remote_addr or "-"
        )
    except RedisError:  # closed rather than unlimited
        return _refused("unavailable", 503)
    if verdict.outcome is staff_login.Outcome.RIGHT:
        return None
    if verdict.outcome is staff_login.Outcome.LOCKED:
        response = _refused("locked", 429)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    return _refused("wrong", 401)


def _refused(outcome: str, status: int) -> Response:
    log.log(
        logging.INFO if outcome == "required" else logging.WARNING, "staff attachment refused: %s", outcome
    )
    response = Response(status=status, headers=HEADERS)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="staff"'
    return response


@blueprint.get("/staff/attachments/<int:attachment_id>")
def show_attachment(attachment_id: int) -> Response:
    refusal = _refusal()
    if refusal is not None:
        return refusal
    return serve(attachment_id, ACTOR, PLACE)


def serve(attachment_id: int, actor: str, place: str) -> Response:
    """The attachment decrypted for `actor` (already allowed in), its opening audited in the same transaction."""
    if attachment_id > LARGEST_ID:
        return Response(status=404, headers=HEADERS)
    runtime, now = _runtime(), utcnow()
    with runtime.engine.begin() as connection:  # the audit row commits with the opening, or neither happens
        try:
            content_type, data = open_attachment(connection, attachment_id, runtime.settings)
        except NotStored:
            return Response(status=404, headers=HEADERS)
        owner = connection.execute(
            select(ATTACHMENTS.c.customer_id, ATTACHMENTS.c.request_id).where(
                ATTACHMENTS.c.id == attachment_id
            )
        ).one()
        detail = f"{about([owner.customer_id])} (request {owner.request_id or '-'})"
        audit(
            connection, actor, place, "attachment", f"attachment {attachment_id}", "shown", now, detail, True
        )
    log.info("attachment=%s shown to staff", attachment_id)
    name = f"attachment-{attachment_id}.{EXTENSIONS.get(content_type, 'bin')}"
    headers = HEADERS | {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(data, mimetype=content_type, headers=headers)
