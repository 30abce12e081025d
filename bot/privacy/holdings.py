"""Where the service holds a customer's data, table by table: how one customer's rows are found (disclosure) and
what erasure does to them. Every table of the schema is declared here, in HOLDINGS or in NO_CUSTOMER_DATA with
the reason; export and erasure refuse to run while any table is in neither (and so does a unit test), so a table
added later cannot be silently forgotten.

Erasure leaves an anonymous tombstone: the customer row and the rows the dashboard counts (enrollments and their
outcomes, the delivery ledger, consent history, friend spells, coupons, referrals) stay without anything that
says who it was; what only describes the person (journey records, contract, LINE membership, dialog state,
referral code, ID-link nonces) is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, MetaData, Table, and_, false, or_

from bot.privacy import scrubbing
from bot.privacy.scrubbing import Erase
from bot.privacy.subject import Subject
from bot.staff.admin import audited_customers

Where = Callable[[Table, Subject], ColumnElement[bool]]


@dataclass(frozen=True)
class Holding:
    """One table's rows of a customer: `find` selects them (a superset when `matches` sharpens it per row) and
    `erase` is what erasure does to them."""

    find: Where
    erase: Erase
    matches: Callable[[Any, Subject], bool] | None = None


def by_customer(*columns: str) -> Where:
    """Rows whose `columns` (any of them) hold the customer's internal id."""
    return lambda table, who: or_(*(table.c[name] == who.customer_id for name in columns))


def by_line_user(column: str = "line_user_id") -> Where:
    """Rows of the customer's LINE user(s)."""
    return lambda table, who: table.c[column].in_(who.line_user_ids) if who.line_user_ids else false()


def _audit_rows(table: Table, who: Subject) -> ColumnElement[bool]:
    # the detail names customers by internal id ("customer 42", "customers 4,42"): narrowed here, sharpened below
    mentioned = and_(table.c.detail.like("%customer%"), table.c.detail.like(f"%{who.customer_id}%"))
    return or_(mentioned, table.c.actor.in_(who.audit_actors)) if who.audit_actors else mentioned


def _audit_match(row: Any, who: Subject) -> bool:
    return who.customer_id in audited_customers(row.detail) or row.actor in who.audit_actors


def _notice_rows(table: Table, who: Subject) -> ColumnElement[bool]:
    # an admin answer has no customer id: one that names the customer (a /customer card …) is theirs too
    admin_answers = and_(table.c.customer_id.is_(None), table.c.kind == "admin", table.c.fields.is_not(None))
    return or_(table.c.customer_id == who.customer_id, admin_answers)


def _notice_match(row: Any, who: Subject) -> bool:
    return row.customer_id == who.customer_id or who.named_in(row.fields)


CUSTOMER = by_customer("customer_id")

HOLDINGS: dict[str, Holding] = {
    # the person: names, 顧客ID, visitor id, addresses, LINE user id, device token
    "customers": Holding(by_customer("id"), scrubbing.tombstone),
    "customer_channels": Holding(CUSTOMER, scrubbing.unaddress),  # flags stay: counted until the erasure
    "customer_activity": Holding(CUSTOMER, scrubbing.keep_rows),  # flags and dates only (app users count)
    "contract_summaries": Holding(CUSTOMER, scrubbing.delete_rows),
    "campaign_benefits": Holding(CUSTOMER, scrubbing.delete_rows),
    "line_memberships": Holding(CUSTOMER, scrubbing.delete_rows),
    "consent_events": Holding(CUSTOMER, scrubbing.keep_rows),  # channel, granted, when: the reach history
    # what they did: the insurer's own ids of it and free text (相談内容, page addresses)
    "document_requests": Holding(CUSTOMER, scrubbing.delete_rows),
    "quotes": Holding(CUSTOMER, scrubbing.delete_rows),
    "reservations": Holding(CUSTOMER, scrubbing.delete_rows),
    "page_views": Holding(CUSTOMER, scrubbing.delete_rows),
    # the chat
    "dialogs": Holding(by_line_user(), scrubbing.delete_rows),
    "link_nonces": Holding(CUSTOMER, scrubbing.delete_rows),
    "link_tokens": Holding(by_line_user(), scrubbing.delete_rows),  # their codes go with them (cascade)
    "verification_codes": Holding(CUSTOMER, scrubbing.delete_rows),
    # refusals of the ID連携 login: a reason, the internal id, a keyed digest of the address (append-only)
    "security_events": Holding(CUSTOMER, scrubbing.keep_rows),
    "webhook_events": Holding(by_line_user(), scrubbing.redact_events),
    "line_users": Holding(by_line_user(), scrubbing.forget_line_user),
    "service_requests": Holding(CUSTOMER, scrubbing.close_requests),
    # photos, videos and files sent with requests: disclosed decrypted, erased with their objects in S3
    # (bot/chat/attachments.py)
    "attachments": Holding(CUSTOMER, scrubbing.delete_rows),
    "staff_notices": Holding(_notice_rows, scrubbing.strip_notices, _notice_match),
    # hand-overs to a person: a 受付番号, a reason, a store code and dates stay (counted); what was said goes
    "handovers": Holding(CUSTOMER, scrubbing.keep_rows),
    "handover_messages": Holding(CUSTOMER, scrubbing.delete_rows),
    # events for the insurer's systems, sent or waiting: they name the customer and what they asked for
    "outbound_events": Holding(CUSTOMER, scrubbing.delete_rows),
    "coupons": Holding(CUSTOMER, scrubbing.keep_rows),  # a code and its use count towards the campaign's cap
    "referral_codes": Holding(CUSTOMER, scrubbing.delete_rows),
    "referrals": Holding(by_customer("referrer_id", "referee_id"), scrubbing.keep_rows),
    # scenarios and the ledger
    "enrollments": Holding(CUSTOMER, scrubbing.stop_enrollments),
    "trace_entries": Holding(CUSTOMER, scrubbing.keep_rows),  # decisions: codes, steps, channels
    "deliveries": Holding(CUSTOMER, scrubbing.strip_deliveries),
    # their rights and who looked at them: ids and keyed hashes only (bot/staff/admin.py), kept as they are
    "privacy_requests": Holding(CUSTOMER, scrubbing.expire_requests),
    "admin_audit": Holding(_audit_rows, scrubbing.keep_rows, _audit_match),
}

NO_CUSTOMER_DATA: dict[str, str] = {
    "api_requests": "the ingest API's idempotency keys: a hash of each request and the answer's counts (24 h)",
    "broadcasts": "broadcasts staff prepared: a template, a segment's filters, figures",
    "campaigns": "reference data: the insurer's campaigns",
    "coupon_campaigns": "reference data: coupon offers",
    "data_changes": "when data was last imported, per scope",
    "documents": "reference data: brochures",
    "product_types": "reference data: product types",
    "products": "reference data: products",
    "rich_menus": "the rich menus LINE holds, per customer state and language",
    "scenario_controls": "which scenarios staff paused",
    "staff": "reference data: the insurer's advisers",
    "staff_accounts": "the staff's own inbox logins: a login name, a display name, a password hash, a role",
    "stores": "reference data: stores",
    "trigger_runs": "when each scenario's trigger last ran",
}

# Redis keys that may hold a customer's data: only the local chat simulator's (keyed by the LINE user id or the
# customer id; `make run` only). Everything else in Redis is ids, counters and hashes.
REDIS_KEYS = ("simulator:*:{line_user_id}", "simulator:customer:{customer_id}")


def undeclared(metadata: MetaData) -> list[str]:
    """Tables of the schema declared neither as holding customer data nor as holding none."""
    return sorted(set(metadata.tables) - set(HOLDINGS) - set(NO_CUSTOMER_DATA))


class UndeclaredTables(RuntimeError):
    """A table nobody declared: a disclosure could miss it and an erasure leave data behind in it."""
