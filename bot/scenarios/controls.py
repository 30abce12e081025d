"""Pausing and resuming a scenario (staff, from the CLI or the admin chat).

A paused scenario enrols nobody and advances nobody, and the messages it had queued wait (status `paused`)
instead of going out. Resuming picks up where it stopped: enrollments whose wake-up passed meanwhile continue
at the next tick, and the parked messages go back to the queue. Nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models import SENDABLE, Delivery, DeliveryStatus, Enrollment, EnrollmentStatus, ScenarioControl, utcnow

CONTROLS = ScenarioControl.__table__
DELIVERIES = Delivery.__table__
ENROLLMENTS = Enrollment.__table__


def in_progress(connection: Connection) -> dict[str, int]:
    """Active enrollments per scenario id."""
    return dict(
        connection.execute(
            select(ENROLLMENTS.c.scenario_id, func.count())
            .where(ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE)
            .group_by(ENROLLMENTS.c.scenario_id)
        ).all()
    )


def paused_scenarios(connection: Connection) -> set[str]:
    return set(connection.execute(select(CONTROLS.c.scenario_id).where(CONTROLS.c.paused)).scalars())


def set_paused(connection: Connection, scenario_id: str, paused: bool, by: str | None = None) -> int:
    """Pause or resume; returns how many queued messages were parked (pause) or put back (resume)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    row = {"scenario_id": scenario_id, "paused": paused, "changed_at": utcnow(), "changed_by": by}
    statement = dialect.insert(CONTROLS).values(row)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["scenario_id"],
            set_={"paused": paused, "changed_at": row["changed_at"], "changed_by": by},
        )
    )
    mine = select(ENROLLMENTS.c.id).where(ENROLLMENTS.c.scenario_id == scenario_id).scalar_subquery()
    before, after = (
        (SENDABLE, DeliveryStatus.PAUSED) if paused else ((DeliveryStatus.PAUSED,), DeliveryStatus.QUEUED)
    )
    moved = connection.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.enrollment_id.in_(mine), DELIVERIES.c.status.in_(list(before)))
        .values(status=after, updated_at=utcnow())
    )
    return moved.rowcount
