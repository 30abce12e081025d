"""The dashboard's truth: when a LINE ID link was made (customer_channels.line_linked_at), backfilled from the
account-link flow's records, and the carrier an SMS delivery receipt named (deliveries.carrier)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# A link made through the account-link flow left a used nonce (the login) for the customer and the LINE user
# now on their record; the link happened when it was used. Links only the insurer's files report have no
# such record and stay undated (the dashboard says so, and counts them from the row's last change).
BACKFILL_LINKED_AT = """
UPDATE customer_channels SET line_linked_at = (
    SELECT max(n.used_at) FROM link_nonces n
    WHERE n.customer_id = customer_channels.customer_id
      AND n.line_user_id = customer_channels.line_user_id
      AND n.used_at IS NOT NULL
)
WHERE line_linked IS TRUE AND line_linked_at IS NULL
"""


def upgrade() -> None:
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("line_linked_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier", sa.String(length=16), nullable=True))
    op.execute(BACKFILL_LINKED_AT)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("carrier")
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.drop_column("line_linked_at")
