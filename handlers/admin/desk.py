"""Admin desk commands: look a customer up with personal data masked (/customer), hand out or take back a coupon
(/coupon) and move a service-desk request along (/request), each by the same rules as the `flask coupons` and
`flask requests` commands; the customer is told in LINE as they would be.

/customer is a personal-data access (APPI): once the look-up has run, its audit row says so, with the ids of the
customers shown in the detail ("no match" when none). The 顧客ID, phone number or email address searched for is
kept in its arguments as a keyed hash only (bot.staff.admin.pseudonym): the append-only audit holds no customer
identifier in the clear, so erasing a customer never has to change it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from bot.customers.language import customer_locale
from bot.delivery.notices import STAFF_LOCALE
from bot.delivery.outbox import queue_message
from bot.offers.coupons import (
    IssueOutcome,
    RedeemOutcome,
    coupon_fields,
    display_code,
    issue,
    redeem,
    revoke,
)
from bot.platform.i18n import text
from bot.staff.desk import REQUESTS, change_request, customer_ref, request_label, request_reference
from bot.staff.finder import find_customers
from flows.engine import TOKYO
from handlers.admin import AdminListeners, Call, Usage, say
from handlers.admin.lookups import (
    CHANNEL_ORDER,
    CHANNELS,
    ENROLLMENTS,
    PHONE_LIKE,
    audit_term,
    fit,
    label,
    mask_email,
    mask_name,
    mask_phone,
    masked_term,
    match_lines,
    one_customer,
    person_of,
)
from models import ContractSummary, EnrollmentStatus, RequestStatus

admin = AdminListeners()
REQUESTS_SHOWN = 20
# sub-commands in Japanese too (an English name stands for itself)
COUPON_ACTIONS = {"発行": "issue", "取消": "revoke", "使用": "redeem"}
REQUEST_ACTIONS = {
    "list": "list",
    "一覧": "list",
    "start": RequestStatus.IN_PROGRESS,
    "対応": RequestStatus.IN_PROGRESS,
    "close": RequestStatus.CLOSED,
    "完了": RequestStatus.CLOSED,
}
REQUEST_SCOPES = {"open": "open", "未完了": "open", "all": "all", "すべて": "all"}


# ── /customer ────────────────────────────────────────────────────────────────────────────────────────────


@admin.command("customer", "顧客", texts="admin_lookup")
def look_up(call: Call, ctx) -> str | None:
    """/customer 顧客ID|phone|email|LINE user id|internal id: the record, masked; several matches are listed by
    their ids to choose from."""
    connection = ctx.session.connection()
    typed = " ".join(call.args)  # a phone number may be typed with spaces: 090 1234 5678
    key = typed if len(call.args) == 1 or PHONE_LIKE.fullmatch(typed) else None
    # the frame audits `call.args` as they are when the handler returns: what was searched for is kept there as
    # a keyed hash only; the detail names the customers shown by internal id
    call.args[:] = [audit_term(ctx, typed)] if typed else []
    if key is None:
        raise Usage
    found = find_customers(connection, key)
    call.personal_data = True
    call.detail = "customers " + ",".join(map(str, found)) if found else "no match"
    if not found:
        say(call, ctx, "admin_lookup.customer_none", lookup_key=masked_term(typed))
        return "not_found"
    if len(found) > 1:
        matches = "\n".join(match_lines(connection, found))
        say(call, ctx, "admin_lookup.customer_matches", lookup_lines=matches)
        return None
    say(call, ctx, "admin_lookup.customer_card", **card(connection, ctx.settings, found[0]))
    return None


def card(connection: Connection, settings, customer_id: int) -> dict[str, str]:
    """The merge fields of a customer's masked record."""
    person = person_of(connection, customer_id)
    addresses = [person.email_main, person.email_sub]
    contracted = connection.execute(
        select(ContractSummary.contracted).where(ContractSummary.customer_id == customer_id)
    ).scalar()
    return {
        "customer_ref": customer_ref(connection, customer_id),
        "masked_name": mask_name(person.family_name, person.given_name),
        "masked_phone": mask_phone(person.sms_phone) if person.sms_phone else label("none"),
        "masked_email": "、".join(mask_email(a) for a in addresses if a) or label("none"),
        "line_state": label(
            ("line_linked" if person.line_linked else "line_known") if person.line_user_id else "line_none"
        ),
        "permissions": _permissions(person),
        "contract_state": label({True: "contracted", False: "not_contracted"}.get(contracted, "unknown")),
        "active_scenarios": _active(connection, settings, customer_id),
        "open_requests": _open_requests(connection, customer_id),
    }


def _permissions(person) -> str:
    channels = {
        "line": (person.line_user_id, person.line_permitted),
        "email": (person.email_main or person.email_sub, person.email_permitted),
        "sms": (person.sms_phone, person.sms_permitted),
        "push": (person.fcm_token, person.push_permitted),
    }
    words = []
    for channel in CHANNEL_ORDER:
        address, permitted = channels[channel]
        state = "no_address" if not address else {True: "permitted", False: "refused"}.get(permitted, "unset")
        words.append(f"{text(f'tracking.channel.{channel}', STAFF_LOCALE)} {label(state)}")
    return "・".join(words)


def _active(connection: Connection, settings, customer_id: int) -> str:
    running = set(
        connection.execute(
            select(ENROLLMENTS.c.scenario_id).where(
                ENROLLMENTS.c.customer_id == customer_id, ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE
            )
        ).scalars()
    )
    known = sorted((s for s in settings.scenarios.values() if s.id in running), key=lambda s: s.number)
    names = [f"#{s.number} {s.title}" for s in known] + sorted(running - settings.scenarios.keys())
    return "、".join(names) or label("none")


def _open_requests(connection: Connection, customer_id: int) -> str:
    rows = connection.execute(
        select(REQUESTS.c.reference, REQUESTS.c.kind, REQUESTS.c.status)
        .where(REQUESTS.c.customer_id == customer_id, REQUESTS.c.status != RequestStatus.CLOSED)
        .order_by(REQUESTS.c.created_at)
    ).all()
    return "、".join(
        f"{r.reference} {request_label('kinds', r.kind)}（{request_label('statuses', r.status)}）"
        for r in rows
    ) or label("none")


# ── /coupon ──────────────────────────────────────────────────────────────────────────────────────────────


@admin.command("coupon", "クーポン", texts="admin_lookup")
def coupon(call: Call, ctx) -> str | None:
    """/coupon issue CAMPAIGN CUSTOMER | revoke CODE | redeem CODE."""
    action = COUPON_ACTIONS.get(call.args[0], call.args[0].lower()) if call.args else None
    if action == "issue" and len(call.args) == 3:
        return _issue(call, ctx, call.args[1], call.args[2])
    if action in ("revoke", "redeem") and len(call.args) == 2:
        return _use(call, ctx, action, call.args[1])
    raise Usage


def _issue(call: Call, ctx, campaign: str, customer: str) -> str | None:
    """As `flask coupons issue`: at most the campaign's limit per customer, never beyond its cap; a new coupon is
    sent to the customer in LINE (now, not at the next tick)."""
    connection = ctx.session.connection()
    call.args[2] = audit_term(ctx, customer)  # the audit keeps the key as a keyed hash only
    customer_id = one_customer(call, ctx, customer)
    issued = issue(connection, campaign, customer_id, ctx.now)
    if issued.outcome in (IssueOutcome.NO_CAMPAIGN, IssueOutcome.CAP_REACHED):
        call.detail = f"{campaign}: {issued.outcome}"
        key = "coupon_no_campaign" if issued.outcome is IssueOutcome.NO_CAMPAIGN else "coupon_cap"
        say(call, ctx, f"admin_lookup.{key}", campaign_code=campaign)
        return "refused"
    coupon = issued.coupon
    call.detail = f"coupon {coupon.id} of {campaign} for customer {customer_id}: {issued.outcome}"
    shown = coupon_fields(coupon, STAFF_LOCALE)
    fields = {name: shown[name] for name in ("coupon_code", "coupon_title", "coupon_expires")}
    fields["customer_ref"] = customer_ref(connection, customer_id)
    if issued.outcome is IssueOutcome.ALREADY:
        say(call, ctx, "admin_lookup.coupon_already", **fields)
        return "already"
    sent = _send_in_line(connection, ctx, coupon, customer_id)
    say(call, ctx, "admin_lookup.coupon_issued" if sent else "admin_lookup.coupon_issued_no_line", **fields)
    return None


def _send_in_line(connection: Connection, ctx, coupon: Any, customer_id: int) -> bool:
    """The coupon's LINE message to a customer on LINE, as `flask coupons issue` queues it."""
    on_line = connection.execute(
        select(CHANNELS.c.line_user_id).where(CHANNELS.c.customer_id == customer_id)
    ).scalar()
    if not on_line:
        return False
    locale = customer_locale(connection, customer_id, ctx.settings.default_locale)
    fields = coupon_fields(coupon, locale)
    step = f"coupon:{coupon.id}:issued"
    ctx.answers.append(queue_message(connection, customer_id, "chat_coupon.issued", step, ctx.now, **fields))
    return True


def _use(call: Call, ctx, action: str, code: str) -> str | None:
    """Redeem at the counter (once) or revoke an unused coupon; a refusal says why."""
    connection = ctx.session.connection()
    if action == "redeem":
        done, wanted = redeem(connection, code, "staff", ctx.now), RedeemOutcome.REDEEMED
    else:
        done, wanted = revoke(connection, code, ctx.now), RedeemOutcome.REVOKED_NOW
    call.detail = f"coupon {done.coupon.id if done.coupon else '-'}: {done.outcome}"
    if done.outcome is not wanted:
        reason = text(f"messages.admin_lookup.coupon_reasons.{done.outcome}", STAFF_LOCALE)
        refused = "coupon_not_redeemed" if action == "redeem" else "coupon_not_revoked"
        say(call, ctx, f"admin_lookup.{refused}", coupon_typed=code, refusal=reason)
        return "refused"
    name = "coupon_redeemed" if action == "redeem" else "coupon_revoked"
    say(
        call,
        ctx,
        f"admin_lookup.{name}",
        coupon_code=display_code(done.coupon.code),
        coupon_title=done.coupon.title,
    )
    return None


# ── /request ─────────────────────────────────────────────────────────────────────────────────────────────


@admin.command("request", "受付", texts="admin_lookup")
def desk_request(call: Call, ctx) -> str | None:
    """/request list [open|all] | start REF | close REF."""
    action = REQUEST_ACTIONS.get(call.args[0].lower()) if call.args else None
    if action == "list" and len(call.args) <= 2:
        scope = REQUEST_SCOPES.get(call.args[1].lower() if len(call.args) == 2 else "open")
        if scope is None:
            raise Usage
        _list_requests(call, ctx, scope)
        return None
    if isinstance(action, RequestStatus) and len(call.args) == 2:
        return _move(call, ctx, call.args[1], action)
    raise Usage


def _list_requests(call: Call, ctx, scope: str) -> None:
    """The newest requests (open ones, or all): reference, date (Japan), kind, status and the customer's ids."""
    connection = ctx.session.connection()
    chosen = [REQUESTS.c.status != RequestStatus.CLOSED] if scope == "open" else []
    total = connection.execute(select(func.count()).select_from(REQUESTS).where(*chosen)).scalar_one()
    words = label("open_requests" if scope == "open" else "all_requests")
    call.detail = f"{scope}: {total}"
    if not total:
        say(call, ctx, "admin_lookup.request_none", lookup_scope=words)
        return
    rows = connection.execute(
        select(REQUESTS)
        .where(*chosen)
        .order_by(REQUESTS.c.created_at.desc(), REQUESTS.c.id.desc())
        .limit(REQUESTS_SHOWN)
    ).all()
    lines = [
        label(
            "request_line",
            reference=row.reference,
            date=row.created_at.astimezone(TOKYO).strftime("%m/%d %H:%M"),
            kind=request_label("kinds", row.kind),
            status=request_label("statuses", row.status),
            customer_ref=customer_ref(connection, row.customer_id),
            identity=label("verified" if row.verified else "unverified"),
        )
        for row in rows
    ]
    if total > len(rows):
        lines.append(label("more_requests", count=total - len(rows)))
    say(
        call,
        ctx,
        "admin_lookup.request_list",
        lookup_scope=words,
        lookup_count=total,
        lookup_lines="\n".join(fit(lines)),
    )


def _move(call: Call, ctx, reference: str, status: RequestStatus) -> str | None:
    """As `flask requests start|close`: forward only, and the customer is told in LINE."""
    row, delivery_id = change_request(ctx.session.connection(), ctx.settings, reference, status, ctx.now)
    if row is None:
        say(call, ctx, "admin_lookup.request_unknown", reference=request_reference(reference))
        return "not_found"
    call.detail = f"request {row.id}: {row.status} -> {status}"
    if delivery_id is None:
        label_now = request_label("statuses", row.status)
        say(call, ctx, "admin_lookup.request_unchanged", reference=row.reference, request_status=label_now)
        return "unchanged"
    ctx.answers.append(delivery_id)  # pushed to the customer right after the event commits
    say(
        call,
        ctx,
        "admin_lookup.request_changed",
        reference=row.reference,
        request_status=request_label("statuses", status),
    )
    return None
