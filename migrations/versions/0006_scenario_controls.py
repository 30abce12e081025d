"""scenario controls: staff pause and resume a scenario

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenario_controls",
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("scenario_id"),
    )


def downgrade() -> None:
    op.drop_table("scenario_controls")
