"""delivery channels: broadcasts, and the ledger's columns for claiming, retrying, multicast, links and cost

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("template", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channels", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("send_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("token", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("batch_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply_by", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("segments", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_deliveries_due", ["status", "due_at", "id"], unique=False)
        batch_op.create_index("ix_deliveries_provider", ["channel", "provider_id"], unique=False)
        batch_op.create_index("ix_deliveries_token", ["token"], unique=True)
        batch_op.create_unique_constraint(
            "uq_deliveries_broadcast", ["broadcast_id", "customer_id", "channel"]
        )
        batch_op.create_foreign_key(
            "fk_deliveries_broadcast_id", "broadcasts", ["broadcast_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_broadcast_id", type_="foreignkey")
        batch_op.drop_constraint("uq_deliveries_broadcast", type_="unique")
        batch_op.drop_index("ix_deliveries_token")
        batch_op.drop_index("ix_deliveries_provider")
        batch_op.drop_index("ix_deliveries_due")
        for column in (
            "delivered_at",
            "sent_at",
            "first_attempt_at",
            "claimed_until",
            "segments",
            "reply_by",
            "reply_token",
            "batch_key",
            "token",
            "broadcast_id",
        ):
            batch_op.drop_column(column)
    op.drop_table("broadcasts")
