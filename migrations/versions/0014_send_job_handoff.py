"""deliveries name the send job they were handed to, so a dispatch can hand out again the rows of a lost job

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_HANDED = sa.text("send_job IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_job", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_deliveries_send_job", "deliveries", ["send_job"], postgresql_where=_HANDED, sqlite_where=_HANDED
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_send_job", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("send_job")
