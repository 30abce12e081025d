"""Admin commands for a customer's APPI rights: /export (開示) and /erase (消去) ask; an approver other than the
requester approves with 承認する (or either withdraws with 却下する); only then does anything run.

An approved disclosure never reaches the chat: the answer gives the download page and a one-time code, and the
data is built when it is downloaded (handlers/privacy_download.py). An approved erasure runs in the approval's
transaction (bot/privacy/erasure.py). Every step is audited; the customer named by internal id, the key typed
as a keyed hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlmodel import Session, SQLModel

from bot.delivery.notices import STAFF_LOCALE
from bot.inbound.context import Ctx
from bot.platform.i18n import text
from bot.platform.runtime import current
from bot.privacy import requests
from bot.privacy.erasure import Erasure, erase_customer, forget_in_redis
from bot.staff.admin import StaffMember, about
from bot.staff.desk import customer_ref, reply_staff
from flows.engine import TOKYO
from handlers.admin import AdminListeners, Call, Refused, Usage, say
from handlers.admin.lookups import audit_term, one_customer
from models import Customer, PrivacyKind

admin = AdminListeners()
CUSTOMERS = Customer.__table__


def label(key: str) -> str:
    return text(f"messages.admin_privacy.labels.{key}", STAFF_LOCALE)


@admin.command("export", "開示", texts="admin_privacy")
def ask_export(call: Call, ctx: Ctx) -> str | None:
    """/export CUSTOMER: a disclosure request, run once approved."""
    return _ask(call, ctx, PrivacyKind.EXPORT)


@admin.command("erase", "消去", texts="admin_privacy")
def ask_erase(call: Call, ctx: Ctx) -> str | None:
    """/erase CUSTOMER: an erasure request, run once approved."""
    return _ask(call, ctx, PrivacyKind.ERASE)


def _ask(call: Call, ctx: Ctx, kind: PrivacyKind) -> str | None:
    if len(call.args) != 1:
        call.args[:] = [audit_term(ctx, " ".join(call.args))] if call.args else []
        raise Usage
    key = call.args[0]
    call.args[0] = audit_term(ctx, key)  # the audit keeps no customer identifier in the clear
    connection = ctx.session.connection()
    customer_id = one_customer(call, ctx, key)
    ref = customer_ref(connection, customer_id)
    erased = connection.execute(select(CUSTOMERS.c.erased_at).where(CUSTOMERS.c.id == customer_id)).scalar()
    if erased is not None and kind is PrivacyKind.ERASE:
        call.detail = f"{about([customer_id])} erased before"
        raise Refused("admin_privacy.already_erased", customer_ref=ref)
    number = requests.open_request(connection, kind, customer_id, call.staff, ctx.now)
    call.detail = f"{about([customer_id])}: request {number}"
    until = (ctx.now + requests.APPROVAL_WINDOW).astimezone(TOKYO)
    say(
        call,
        ctx,
        "admin_privacy.requested",
        number=number,
        request_kind=label(f"kinds.{kind}"),
        customer_ref=ref,
        approve_by=f"{until:%m/%d %H:%M}",
        admin_privacy_approve_value=number,
        admin_privacy_reject_value=number,
    )
    return "queued"


@admin.postback("admin_privacy_approve")
def approve(staff: StaffMember, value: str, reply_token: str | None, ctx: Ctx) -> str:
    """承認する: an approver other than the requester; a disclosure gets its code, an erasure runs now."""
    return _decide(staff, value, reply_token, ctx, approve=True)


@admin.postback("admin_privacy_reject")
def reject(staff: StaffMember, value: str, reply_token: str | None, ctx: Ctx) -> str:
    """却下する: the requester withdraws, or an approver turns it down."""
    return _decide(staff, value, reply_token, ctx, approve=False)


def _decide(staff: StaffMember, value: str, reply_token: str | None, ctx: Ctx, approve: bool) -> str:
    connection = ctx.session.connection()
    decision = requests.decide(connection, value, staff, approve, ctx.now)
    row, outcome = decision.request, decision.outcome
    number = row.id if row is not None else value[:12]
    answer = {"number": number}
    if outcome is requests.Outcome.NOT_PENDING:
        answer["request_state"] = label(f"states.{row.status}")
    if outcome is requests.Outcome.REJECTED:
        answer["request_kind"] = label(f"kinds.{row.kind}")
    if outcome is not requests.Outcome.APPROVED:
        reply_staff(ctx, staff.reply_to, reply_token, f"admin_privacy.{outcome}", **answer)
        return {"rejected": "done", "not_found": "unknown", "not_pending": "duplicate"}.get(
            outcome, "refused"
        )
    answer["customer_id"] = row.customer_id
    if row.kind == PrivacyKind.EXPORT:
        until = (ctx.now + requests.DOWNLOAD_WINDOW).astimezone(TOKYO)
        answer |= {
            "download_url": f"{ctx.settings.public_base_url}/privacy/exports/{row.id}",
            "download_code": requests.display_code(decision.code),
            "valid_until": f"{until:%H:%M}",
        }
        _tell(ctx, staff, row, reply_token, "admin_privacy.export_ready", answer)
        return "done"
    erasure = erase_customer(
        connection,
        SQLModel.metadata,
        ctx.settings,
        row.customer_id,
        actor=staff.actor,
        place=staff.place,
        arguments=f"request {row.id}",
        now=ctx.now,
    )
    _after_commit(ctx.session, erasure)
    key = "admin_privacy.erased_before" if erasure.already else "admin_privacy.erased"
    _tell(ctx, staff, row, reply_token, key, answer)
    return "done"


def _tell(
    ctx: Ctx, staff: StaffMember, row: Any, reply_token: str | None, template: str, fields: dict[str, Any]
) -> None:
    """The answer goes where the request was made (its buttons are there), and only there."""
    token = reply_token if staff.reply_to == row.requested_in else None
    reply_staff(ctx, row.requested_in, token, template, **fields)


def _after_commit(session: Session, erasure: Erasure) -> None:
    """Redis keys that may hold the customer's data go once the erasure has committed (never if it rolls back)."""
    event.listen(session, "after_commit", lambda _: forget_in_redis(current().redis, erasure), once=True)
