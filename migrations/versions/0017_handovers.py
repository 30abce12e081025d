"""hand-overs to a person: the conversation (受付番号, reason, who has it, when), its messages, and the staff's
own logins to the inbox

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("store_code", sa.String(length=32), nullable=True),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("held_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handovers_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_handovers_status", ["status", "customer_id"], unique=False)
    op.create_table(
        "handover_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=12), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("line_message_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["handover_id"], ["handovers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handover_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_messages_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_messages_handover_id"), ["handover_id"], unique=False)
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )


def downgrade() -> None:
    op.drop_table("staff_accounts")
    with op.batch_alter_table("handover_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_messages_handover_id"))
        batch_op.drop_index(batch_op.f("ix_handover_messages_customer_id"))
    op.drop_table("handover_messages")
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.drop_index("ix_handovers_status")
        batch_op.drop_index(batch_op.f("ix_handovers_customer_id"))
    op.drop_table("handovers")
