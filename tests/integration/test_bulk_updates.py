"""update_matching: a batch of updates in one statement, each row written only where the stored row still matches."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from bot.platform.bulk import update_matching
from bot.platform.db import make_engine
from models import Customer, Enrollment

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 7, 4, 10, 0, tzinfo=UTC)


def test_a_row_changed_since_it_was_read_is_left_alone(database_url):
    """Rows whose token and status still hold get their new values; a stale token or a finished row keeps its own."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(Customer).values(id=1, customer_code="C1", created_at=NOW, updated_at=NOW))
        connection.execute(
            insert(Enrollment),
            [
                {
                    "id": number,
                    "scenario_id": "renewal_reminder",
                    "customer_id": 1,
                    "anchor_key": f"contract_year:{number}",
                    "status": status,
                    "entered_at": NOW,
                    "wake_at": NOW,
                    "wake_token": token,
                    "updated_at": NOW,
                }
                for number, status, token in [(1, "active", 0), (2, "active", 1), (3, "done", 0)]
            ],
        )
        advanced = {"state": {"step": "wait"}, "wake_at": LATER, "wake_token": 1, "updated_at": LATER}
        update_matching(
            connection,
            Enrollment.__table__,
            [{"b_id": number, "b_token": 0} | advanced for number in (1, 2, 3)],
            {"b_id": "id", "b_token": "wake_token"},
            {"status": "active"},
        )
    with engine.connect() as connection:
        rows = connection.execute(
            select(Enrollment.id, Enrollment.state, Enrollment.wake_at, Enrollment.wake_token).order_by(
                Enrollment.id
            )
        ).all()
    engine.dispose()
    assert [(i, state, wake_at.astimezone(UTC), token) for i, state, wake_at, token in rows] == [
        (1, {"step": "wait"}, LATER, 1),
        (2, None, NOW, 1),  # another worker advanced it after the batch read token 0
        (3, None, NOW, 0),  # finished meanwhile
    ]


def test_a_batch_that_repeats_one_document_stores_it_in_every_row(database_url):
    """A large batch (COPY on PostgreSQL) whose rows share one JSON object, beside rows with their own and rows
    with none, stores each row's own document: the object encoded once stands in every row that holds it."""
    from bot.platform.bulk import COPY_MIN_ROWS, insert_many
    from models import TraceEntry

    engine = make_engine(database_url)
    shared = {"at": NOW.isoformat(), "passed_over": {"line": "no_address"}}
    rows = [
        {
            "customer_id": 1,
            "scenario_id": "renewal_reminder",
            "at": NOW,
            "code": "entered",
            "details": shared if n % 3 == 0 else ({"n": n} if n % 3 == 1 else None),
        }
        for n in range(COPY_MIN_ROWS + 30)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Customer).values(id=1, customer_code="C1", created_at=NOW, updated_at=NOW))
        insert_many(connection, TraceEntry.__table__, rows)
    with engine.connect() as connection:
        stored = connection.execute(select(TraceEntry.details).order_by(TraceEntry.id)).scalars().all()
    assert stored == [row["details"] for row in rows]
