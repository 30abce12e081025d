"""The rich menus LINE holds, one per customer state and language (flask richmenu sync)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rich_menus",
        sa.Column("state", sa.String(32), primary_key=True),
        sa.Column("locale", sa.String(8), primary_key=True),
        sa.Column("rich_menu_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", models.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rich_menus")
