"""PostgreSQL: a batch of 基本シナリオ配信用データ (F5) rows written by the database from one staging table.

The general writer (bot/imports/writer.py) sends each table its own rows and reads back what it needs to decide
the next step (who each row is, the permissions before, what changed): some thirty round trips a batch and as
much client time as server time. Here the reader turns the good rows into the COPY text of one staging table
(in the reading process, a batch ahead), and each table is written by one statement that reads the staging table:
the customers (with a second, small table of each line's customer id), the consent history (the permissions
before the change, compared in SQL), contact details, activity flags and contract summaries. What comes back is
what the report counts: the ids written and whether each was new.

What the rows must leave as the general writer leaves it is the contract; tests/integration/test_import_staged.py
imports the same files both ways and compares every table and the report. Two things stay with the general
writer: a batch in which a new 顧客ID meets a prospect's contact details (that prospect becomes the customer, one
at a time, in file order) is written the general way; and a batch never holds the same 顧客ID or LINE ID twice
(the reader starts the next batch at a repeat), so that each statement sees each customer once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Table, TextClause, column, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from bot.customers.derived import contradicted_as_given
from bot.delivery.consent import Evidence, consent_row
from bot.imports.catalog import write_catalog
from bot.imports.fields import ACTIVITY_FIELDS, CHANNEL_FIELDS, CONTRACT_FIELDS, PERSON_FIELDS
from bot.imports.reader import Row
from bot.imports.stage_text import F5_COLUMNS, F5_NAMES
from bot.imports.tally import Tally
from bot.imports.writer import (
    PERMISSIONS,
    TAKEN_LINE_ID,
    date_links,
    write_after,
    write_batch,
)
from bot.platform.bulk import pg_type, stamps, upsert_from
from flows.dsl import Channel
from models import ConsentEvent, ContractSummary, Customer, CustomerActivity, CustomerChannels

if TYPE_CHECKING:
    from bot.imports.ahead import Batch

CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
UNIQUE_VIOLATION = "23505"
STAGE, IDS = "_import_f5", "_import_f5_ids"  # the transaction's own tables (dropped at commit)
_PREPARED = "import_f5_stage"  # connection.info: (the transaction that made them, the customers' id sequence)


class ImportCollided(RuntimeError):
    """Another transaction wrote what this import was writing (a new customer's 顧客ID); this one writes nothing."""


def write_staged(
    connection: Connection,
    kind: str,
    batch: Batch,
    now: datetime,
    source: str,
    evidence: Evidence,
    tally: Tally,
) -> list[Row]:
    """Write the batch's good rows, from the staging table when the reader made one (else the general way);
    returns those refused here (a LINE ID that is another customer's)."""
    if batch.stage is None:
        return write_batch(connection, kind, batch.good(), now, source, evidence, tally)
    driver = connection.connection.driver_connection
    transaction = connection.get_transaction()
    if (
        connection.info.get(_PREPARED, (None,))[0] is not transaction
    ):  # the tables last as long as the transaction
        connection.exec_driver_sql(_DDL)
        connection.info[_PREPARED] = (transaction, connection.execute(_SEQUENCE).scalar_one())
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {STAGE} (line, {', '.join(F5_NAMES)}) FROM STDIN") as copy,
    ):
        copy.write(batch.stage)
    promotions, lines_taken = connection.execute(_CHECK).one()
    if promotions:  # a prospect becomes a customer: the general writer decides which, in file order
        connection.exec_driver_sql(f"TRUNCATE {STAGE}")
        return write_batch(connection, kind, batch.good(), now, source, evidence, tally)
    write_catalog(connection, batch.catalog, tally)
    customers = _write_customers(connection, now)
    _note(tally, CUSTOMERS.name, [(id_, inserted) for _, id_, inserted in customers])
    refused, taken = [], set(lines_taken)
    if taken:
        connection.execute(text(f"DELETE FROM {STAGE} WHERE line = ANY(:lines)"), {"lines": sorted(taken)})
        refused = [row for row in batch.good() if row.line in taken]
        for row in refused:
            row.errors.append(TAKEN_LINE_ID)
    written = [(id_, bool(inserted)) for line, id_, inserted in customers if line not in taken]
    given = consent_row(0, Channel.EMAIL, True, now, source, evidence)  # what every event of the batch shares
    shared = {name: given[name] for name in _CONSENT_SHARED}
    added = connection.execute(_CONSENT, shared).rowcount
    tally.added(ConsentEvent.__tablename__, added)
    known = [id_ for id_, new in written if not new]  # a customer made here has no rows anywhere yet
    for table, inserting, upserting in _WRITES:
        if len(known) < len(written):
            connection.execute(inserting, {"now": now})
        returned = (
            {id_: inserted for id_, inserted in connection.execute(upserting, {"now": now})} if known else {}
        )
        _note(tally, table.name, [(id_, True if new else returned.get(id_)) for id_, new in written])
    if known:  # F5 gives no link (ID連携) flag: a customer made here has no link to date
        date_links(connection, known, now)
    # nor a request, quote or reservation that a contract could close
    # and a customer made here has no records either: what its flags contradict is in its own row
    arrived = contradicted_as_given(connection, _GIVEN) if len(known) < len(written) else {}
    write_after(
        connection,
        kind,
        [id_ for id_, _ in written],
        now,
        tally,
        with_records=known,
        contradicted_without=arrived,
    )
    connection.exec_driver_sql(f"TRUNCATE {STAGE}, {IDS}")
    return refused


def _note(tally: Tally, table: str, written: list[tuple[int, bool | None]]) -> None:
    """Count in `tally` the records (id, inserted) written: True new, False changed, None left alone."""
    tally.note(
        table,
        new=[id_ for id_, inserted in written if inserted is True],
        updated=[id_ for id_, inserted in written if inserted is False],
        unchanged=[id_ for id_, inserted in written if inserted is None],
    )


_DDL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (line integer, "
    + ", ".join(f"{name} {pg_type(SQLModel.metadata.tables[table], name)}" for name, table in F5_COLUMNS)
    + f") ON COMMIT DROP; CREATE TEMPORARY TABLE IF NOT EXISTS {IDS} (line integer, customer_id integer, new boolean)"
    " ON COMMIT DROP"
)

# Does a new 顧客ID share a contact detail with a prospect (a customer without one)? Which lines give a LINE ID
# another customer holds? Every look-up here and below is a scalar subquery, one index probe per staged row:
# the planner, which knows nothing of the staging table, would otherwise join the whole of customers or
# customer_channels for a thousand rows, a cost that grows with the tables.
_PROSPECT = " OR ".join(
    [
        f"(SELECT 1 FROM customer_channels ch JOIN customers p ON p.id = ch.customer_id"
        f" WHERE ch.{name} = s.{name} AND p.customer_code IS NULL LIMIT 1) IS NOT NULL"
        for name in ("line_user_id", "email_main", "sms_phone")
    ]
    + [
        "(SELECT 1 FROM customers p WHERE p.visitor_id = s.visitor_id AND p.customer_code IS NULL LIMIT 1) IS NOT NULL"
    ]
)
_OWNER = "(SELECT ch.customer_id FROM customer_channels ch WHERE ch.line_user_id = s.line_user_id)"
_CHECK = text(
    "SELECT EXISTS (SELECT 1 FROM customers WHERE customer_code IS NULL)"  # any prospect at all (an index probe)
    f" AND EXISTS (SELECT 1 FROM {STAGE} s"
    " WHERE (SELECT c.id FROM customers c WHERE c.customer_code = s.customer_code) IS NULL"
    f" AND ({_PROSPECT})),"
    f" ARRAY(SELECT line FROM (SELECT s.line, s.customer_code, {_OWNER} AS owner FROM {STAGE} s"
    " WHERE s.line_user_id IS NOT NULL) AS given WHERE owner IS NOT NULL AND"
    " (SELECT o.customer_code FROM customers o WHERE o.id = owner) IS DISTINCT FROM customer_code"
    " ORDER BY line)"
)


# The staged values of the lines that made a customer, as a table the customer facts can be computed from.
_STAGED = table_clause(STAGE, column("line"), *(column(name) for name in F5_NAMES))
_NEW = table_clause(IDS, column("line"), column("new"))
_GIVEN = (
    select(*_STAGED.c)
    .join_from(_STAGED, _NEW, _STAGED.c.line == _NEW.c.line)
    .where(_NEW.c.new)
    .subquery("given")
)


def _stamped(table: Table, columns: tuple[str, ...], keyed: str, where: str = "true") -> str:
    """A subquery giving `columns` of `table` from the staging table: the key `keyed` (customer_id from the
    ids table, or the staged column), the stamps as now; `where` chooses the lines (`s` is the staging table,
    `i` the ids table)."""
    chosen = [
        "i.customer_id AS customer_id" if name == "customer_id" else f"s.{name}" for name in columns
    ] + [f"CAST(:now AS timestamptz) AS {name}" for name in stamps(table)]
    joined = f" JOIN {IDS} i USING (line)" if keyed == "customer_id" else ""
    return f"(SELECT {', '.join(chosen)} FROM {STAGE} s{joined} WHERE {where}) AS staged"


def _columns(table: Table, key: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    return (key, *fields, *stamps(table))


# Each line's customer: the one with its 顧客ID, or a new id from the customers' sequence (a scalar subquery per
# line, an index probe each, as above).
# The sequence is named in the statement's text, so that PostgreSQL resolves it once, not once a row.
_SEQUENCE = text("SELECT pg_get_serial_sequence('customers', 'id')")
_IDENTIFY = (
    f"INSERT INTO {IDS} (line, customer_id, new)"
    " SELECT line, COALESCE(known, nextval('{sequence}')), known IS NULL"
    " FROM (SELECT s.line, (SELECT c.id FROM customers c WHERE c.customer_code = s.customer_code) AS known"
    f" FROM {STAGE} s OFFSET 0) AS identified"
)
_PERSON = ("customer_code", *PERSON_FIELDS)
# The new customers, a plain insert: speculative insertion (ON CONFLICT) would cost each row as much again. Two
# imports making the same 顧客ID at once: the second waits for the first and then fails on the unique key.
_INSERT_CUSTOMERS = text(
    f"INSERT INTO customers (id, {', '.join(_PERSON)}, {', '.join(stamps(CUSTOMERS))})"
    f" SELECT i.customer_id, {', '.join(f's.{name}' for name in _PERSON)}"
    + ", CAST(:now AS timestamptz)" * len(stamps(CUSTOMERS))
    + f" FROM {STAGE} s JOIN {IDS} i USING (line) WHERE i.new"
)
# The known ones, where a value given differs (a value not given keeps the stored one), as `upsert` does.
_UPDATE_CUSTOMERS = text(
    "UPDATE customers c SET "
    + ", ".join(f"{name} = COALESCE(s.{name}, c.{name})" for name in PERSON_FIELDS)
    + (", updated_at = CAST(:now AS timestamptz)" if "updated_at" in stamps(CUSTOMERS) else "")
    + f" FROM {STAGE} s JOIN {IDS} i USING (line) WHERE c.id = i.customer_id AND NOT i.new AND ("
    + " OR ".join(f"(s.{name} IS NOT NULL AND c.{name} IS DISTINCT FROM s.{name})" for name in PERSON_FIELDS)
    + ") RETURNING c.id"
)
_IDENTIFIED = text(f"SELECT line, customer_id, new FROM {IDS}")


def _write_customers(connection: Connection, now: datetime) -> list[tuple[int, int, bool | None]]:
    """The batch's customers by 顧客ID, each line's customer id into the ids table; (line, id, inserted) for every
    line, inserted None when the customer was left as it was."""
    sequence = connection.info[_PREPARED][1]
    connection.exec_driver_sql(_IDENTIFY.replace("{sequence}", sequence.replace("'", "''")))
    identified = connection.execute(_IDENTIFIED).all()
    if any(new for _, _, new in identified):
        try:  # the transaction is lost with the error: the import rolls back
            connection.execute(_INSERT_CUSTOMERS, {"now": now})
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            raise ImportCollided(
                "another import wrote one of this file's new 顧客IDs at the same time"
            ) from None
    updated = set()
    if not all(new for _, _, new in identified):
        updated = set(connection.execute(_UPDATE_CUSTOMERS, {"now": now}).scalars())
    return [
        (line, id_, True if new else (False if id_ in updated else None)) for line, id_, new in identified
    ]


# One consent event per permission a line changes, compared with the stored one before the channels are written.
_PERMISSIONS = ", ".join(
    f"({order}, '{channel}', s.{field}, ch.{field})"
    for order, (field, channel) in enumerate(PERMISSIONS.items())
)
_CONSENT_SHARED = ("purpose", "occurred_at", "source", "evidence_file", "evidence_sha256", "evidence_ref")
_CONSENT = text(
    "INSERT INTO consent_events (customer_id, channel, purpose, granted, occurred_at, source, evidence_file,"
    " evidence_sha256, evidence_line, evidence_ref)"
    " SELECT i.customer_id, p.channel, :purpose, p.granted, :occurred_at, :source, :evidence_file,"
    " :evidence_sha256, s.line, :evidence_ref"
    f" FROM {STAGE} s JOIN {IDS} i USING (line) LEFT JOIN LATERAL (SELECT * FROM customer_channels c"
    " WHERE c.customer_id = i.customer_id OFFSET 0) AS ch ON true"
    f" CROSS JOIN LATERAL (VALUES {_PERMISSIONS}) AS p(position, channel, granted, stored)"
    " WHERE p.granted IS NOT NULL AND p.granted IS DISTINCT FROM p.stored ORDER BY s.line, p.position"
)


def _writes(table: Table, fields: tuple[str, ...]) -> tuple[Table, TextClause, TextClause]:
    """The table's rows for the customers this batch created, plain inserts (nobody else can have written rows
    of a customer this transaction made); and the upsert of those of the customers known before, answering
    (id, inserted) for each it wrote."""
    columns = _columns(table, "customer_id", fields)
    chosen = ("customer_id", *fields)
    names = ", ".join(columns)
    origin = _stamped(table, chosen, "customer_id", "i.new")
    inserting = text(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {origin}")
    upserting = upsert_from(
        table,
        columns,
        ("customer_id",),
        _stamped(table, chosen, "customer_id", "NOT i.new"),
        ("customer_id", "xmax = 0 AS inserted"),
    )
    return table, inserting, upserting


_WRITES = (
    _writes(CHANNELS, CHANNEL_FIELDS),
    _writes(CustomerActivity.__table__, ACTIVITY_FIELDS),
    _writes(ContractSummary.__table__, CONTRACT_FIELDS),
)
