"""Signed outbound webhooks to the insurer's systems: the outbox of events per endpoint

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(48), nullable=False),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", models.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", models.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", models.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("event_id", "endpoint"),
    )
    op.create_index("ix_outbound_events_due", "outbound_events", ["status", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbound_events_due", "outbound_events")
    op.drop_table("outbound_events")
