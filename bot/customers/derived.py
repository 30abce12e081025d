"""The customer's summary facts, computed from their records: one definition for the triggers' SQL, the engine's
facts, the broadcast segment, `why` and the dashboard.

F5 (基本シナリオ配信用データ) reports a customer's journey as flags and first dates (資料請求フラグ, 初回見積日,
メールアドレス取得フラグ …), but the same facts also arrive as records: an F1 row with an email address, an F3
reservation marked visited, a LINE user id given in the chat. A fact reads true when either says so, and a first
date is the earlier of the two: the flag an insurer sent is never lost, and a record is never ignored because
no F5 file mentioned it. What F5 said stays in `customer_activity` as it was reported (`REPORTED`), so the two
can be compared (`disagreements`: an import says how many of its rows a record contradicts).

Each fact is an SQL expression over the customer's own rows, joined one per customer as `per_customer` joins them
(customers ⟕ contract_summaries ⟕ customer_channels ⟕ customer_activity), with correlated look-ups of the
customer's records; every look-up is by `customer_id`, which each record table indexes.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    FromClause,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.selectable import Exists, ScalarSelect
from sqlalchemy.sql.visitors import replacement_traverse

from bot.platform.bulk import among, chunks, each_id
from models import (
    ContractSummary,
    Customer,
    CustomerActivity,
    CustomerChannels,
    DocumentRequest,
    LineMembership,
    Quote,
    Reservation,
)

CUSTOMERS = Customer.__table__
CONTRACTS = ContractSummary.__table__
CHANNELS = CustomerChannels.__table__
REPORTED = CustomerActivity.__table__  # the journey flags as F5 (and app logins) reported them
DOCUMENT_REQUESTS = DocumentRequest.__table__
QUOTES = Quote.__table__
RESERVATIONS = Reservation.__table__
LINE_MEMBERS = LineMembership.__table__


def per_customer(base: FromClause = CUSTOMERS) -> FromClause:
    """`base` (the customers, or a table joined to them already) with the customer's one-row tables outer-joined:
    a missing row is no data, not a miss. A table `base` holds already (a contract's date) is not joined again."""
    joined = base
    for table in (CONTRACTS, CHANNELS, REPORTED):
        if not base.is_derived_from(table):
            joined = joined.outerjoin(table, table.c.customer_id == CUSTOMERS.c.id)
    return joined


def _on_file(column: ColumnElement) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "")


def _said(column: ColumnElement) -> ColumnElement[bool]:
    return column.is_(true())


def _any(table, *where: ColumnElement[bool]) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """The customer has a record in `table` (matching `where`)."""
    return exists().where(table.c.customer_id == CUSTOMERS.c.id, *where).correlate(CUSTOMERS)


def _first(table, column: ColumnElement, *where: ColumnElement[bool]) -> ColumnElement:  # type: ignore[no-untyped-def]
    """The earliest value of a column of the customer's records in `table`."""
    return (
        select(func.min(column))
        .where(table.c.customer_id == CUSTOMERS.c.id, *where)
        .correlate(CUSTOMERS)
        .scalar_subquery()
    )


def _earlier(reported: ColumnElement, recorded: ColumnElement) -> ColumnElement:
    """The earlier of two dates, either of which may be unknown (SQLite's min() and PostgreSQL's LEAST differ
    on NULL, so spelt out)."""
    return type_coerce(
        case(
            (reported.is_(None), recorded),
            (recorded.is_(None), reported),
            (reported <= recorded, reported),
            else_=recorded,
        ),
        Date,
    )


def _fact(expression: ColumnElement[bool]) -> ColumnElement[bool]:
    """A yes/no fact as a boolean value (true or false, never unknown)."""
    return type_coerce(case((expression, true()), else_=false()), Boolean)


VISITED = RESERVATIONS.c.visited.is_(true())
# a contract is recorded on a request, quote or reservation (契約フラグ) as well as in F5
CONTRACTED_RECORD = or_(
    _any(DOCUMENT_REQUESTS, DOCUMENT_REQUESTS.c.contracted.is_(true())),
    _any(QUOTES, QUOTES.c.contracted.is_(true())),
    _any(RESERVATIONS, RESERVATIONS.c.contracted.is_(true())),
)

# {fact: (expression, what the F5 file reported for it, or None when F5 has no such column)}
DERIVED: dict[str, tuple[ColumnElement, ColumnElement | None]] = {
    "activity.document_requested": (
        _fact(or_(_said(REPORTED.c.document_requested), _any(DOCUMENT_REQUESTS))),
        REPORTED.c.document_requested,
    ),
    "activity.first_document_request_on": (
        _earlier(
            REPORTED.c.first_document_request_on, _first(DOCUMENT_REQUESTS, DOCUMENT_REQUESTS.c.requested_on)
        ),
        REPORTED.c.first_document_request_on,
    ),
    "activity.quoted": (_fact(or_(_said(REPORTED.c.quoted), _any(QUOTES))), REPORTED.c.quoted),
    "activity.first_quote_on": (
        _earlier(REPORTED.c.first_quote_on, _first(QUOTES, QUOTES.c.quoted_on)),
        REPORTED.c.first_quote_on,
    ),
    "activity.visited": (
        _fact(or_(_said(REPORTED.c.visited), _any(RESERVATIONS, VISITED))),
        REPORTED.c.visited,
    ),
    "activity.first_visit_on": (
        _earlier(
            REPORTED.c.first_visit_on,
            _first(RESERVATIONS, func.coalesce(RESERVATIONS.c.visited_on, RESERVATIONS.c.visit_on), VISITED),
        ),
        REPORTED.c.first_visit_on,
    ),
    "activity.email_acquired": (
        _fact(
            or_(
                _said(REPORTED.c.email_acquired),
                _on_file(CHANNELS.c.email_main),
                _on_file(CHANNELS.c.email_sub),
            )
        ),
        REPORTED.c.email_acquired,
    ),
    "activity.phone_acquired": (_fact(_on_file(CHANNELS.c.sms_phone)), None),
    "activity.line_friend": (
        _fact(or_(_said(REPORTED.c.line_friend), _on_file(CHANNELS.c.line_user_id), _any(LINE_MEMBERS))),
        REPORTED.c.line_friend,
    ),
    # an app push token on file is an install, not use: a lapsed user keeps theirs (#23 still invites them)
    "activity.app_user": (
        _fact(or_(_said(REPORTED.c.app_user), REPORTED.c.app_last_login_at.is_not(None))),
        REPORTED.c.app_user,
    ),
    # F5's 契約フラグ is the contract's standing (偽 after a cancellation, whatever earlier records said); without
    # it, a request, quote or reservation that led to a contract says the customer has one
    "contract.contracted": (
        type_coerce(
            func.coalesce(CONTRACTS.c.contracted, case((CONTRACTED_RECORD, true()), else_=null())), Boolean
        ),
        CONTRACTS.c.contracted,
    ),
}


def derived(fact: str) -> ColumnElement | None:
    """The expression of a computed fact, labelled with its name's column part; None for a stored column."""
    found = DERIVED.get(fact)
    return None if found is None else found[0].label(fact.partition(".")[2])


def _contradictions() -> dict[str, ColumnElement[bool]]:
    """{fact: its F5 flag says 偽 while the customer's records say it holds} for the yes/no facts F5 reports."""
    return {
        fact: and_(reported.is_(false()), expression.is_(true()))
        for fact, (expression, reported) in DERIVED.items()
        if reported is not None and fact.startswith("activity.") and isinstance(expression.type, Boolean)
    }


def _summed(facts: dict[str, ColumnElement[bool]]) -> list[ColumnElement]:
    return [func.sum(case((both, 1), else_=0)) for both in facts.values()]


def contradicted(connection: Connection, customer_ids: Collection[int]) -> dict[str, int]:
    """{fact: how many of the customers' F5 flags say 偽 while their records say it holds} for each yes/no fact
    F5 reports, in one order (the records win, so nothing is lost; an import says how many, so nothing is silent)."""
    facts = _contradictions()
    flags = [case((both, 1), else_=0).label(f"flag{number}") for number, both in enumerate(facts.values())]
    totals = dict.fromkeys(facts, 0)
    ids = sorted(set(customer_ids))
    if connection.dialect.name == "postgresql":
        # One customer at a time (a LATERAL subquery per id), so each of their rows is an index probe and the cost
        # follows the number of ids. Joined as a set, the planner reads the whole of customer_channels and
        # customer_activity for a thousand ids: an import's every batch would cost more as the customers grow.
        given = each_id(ids)
        one = select(*flags).select_from(per_customer()).where(CUSTOMERS.c.id == given.c.id).offset(0)
        each = one.lateral("each")
        statement = select(*(func.sum(each.c[flag.name]) for flag in flags)).select_from(
            given.join(each, true())
        )
        counted = [connection.execute(statement).one()] if ids else []
    else:
        statement = select(*(func.sum(flag) for flag in flags)).select_from(per_customer())
        counted = [
            connection.execute(statement.where(among(connection, CUSTOMERS.c.id, chunk))).one()
            for chunk in chunks(connection, ids)
        ]
    for counts in counted:
        for fact, count in zip(facts, counts, strict=True):
            totals[fact] += count or 0
    return totals


def contradicted_as_given(
    connection: Connection, given: FromClause, *where: ColumnElement[bool]
) -> dict[str, int]:
    """`contradicted` for customers who have no records yet (an import made them in this transaction), from the
    rows of `given` (its columns named as the customer's one-row tables name them): with no records, a fact is what
    those values say, every look-up of a record finding nothing. One pass over `given`, no look-up per customer."""
    facts, statement = _counted_as_given(given)
    counts = connection.execute(statement.where(*where)).one()
    return {fact: count or 0 for fact, count in zip(facts, counts, strict=True)}


@cache
def _counted_as_given(given: FromClause) -> tuple[tuple[str, ...], Select]:
    """The facts and the statement counting them over `given` (made once: rewriting the expressions costs an
    import's every batch a few milliseconds of the importing process)."""
    facts = {
        fact: replacement_traverse(both, {}, lambda element: _as_given(element, given))
        for fact, both in _contradictions().items()
    }
    return tuple(facts), select(*_summed(facts)).select_from(given)


def _as_given(element: object, given: FromClause) -> ColumnElement | None:
    """The replacement of `element` of a fact's expression for a customer without records (None: keep it)."""
    if isinstance(element, Exists):
        return false()
    if isinstance(element, ScalarSelect):
        return null()
    if isinstance(element, Column) and element.table in (CUSTOMERS, CONTRACTS, CHANNELS, REPORTED):
        return given.c[element.name] if element.name in given.c else null()
    return None
