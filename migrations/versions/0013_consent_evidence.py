"""consent history keeps its evidence: the imported file's name, SHA-256 and line, or the request or event
that carried the change (特定電子メール法)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_file", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("evidence_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("evidence_line", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("evidence_ref", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_column("evidence_ref")
        batch_op.drop_column("evidence_line")
        batch_op.drop_column("evidence_sha256")
        batch_op.drop_column("evidence_file")
