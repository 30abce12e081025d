"""Service notices to a list: a broadcast remembers its list file's SHA-256 (the same file is one notice)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as table:
        table.add_column(sa.Column("list_sha256", sa.String(64), nullable=True))
        table.create_unique_constraint("uq_broadcasts_notice_list", ["template", "list_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as table:
        table.drop_constraint("uq_broadcasts_notice_list", type_="unique")
        table.drop_column("list_sha256")
