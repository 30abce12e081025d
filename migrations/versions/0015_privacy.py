"""APPI rights: erased customers (tombstones), disclosure and erasure requests from the admin chat, the
retention job's indexes, and an audit log PostgreSQL refuses to TRUNCATE

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# TRUNCATE fires no row trigger: a statement trigger refuses it (admin_audit_append_only() raises, 0010)
NO_TRUNCATE = """
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();
"""
PARTIAL = {  # index, table, column, the rows it holds
    "ix_webhook_events_unredacted": ("webhook_events", "received_at", "redacted_at IS NULL"),
    "ix_deliveries_fields_kept": ("deliveries", "created_at", "fields IS NOT NULL"),
    "ix_staff_notices_fields_kept": ("staff_notices", "created_at", "fields IS NOT NULL"),
}


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", models.base.UTCDateTime(timezone=True), nullable=True))
    for name, (table, column, where) in PARTIAL.items():
        op.create_index(name, table, [column], postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_in", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("code_tries", sa.Integer(), nullable=False),
        sa.Column("downloaded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_requests_customer_id"), ["customer_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER admin_audit_no_truncate ON admin_audit")
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_requests_customer_id"))
    op.drop_table("privacy_requests")
    for name, (table, _, _) in PARTIAL.items():
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
