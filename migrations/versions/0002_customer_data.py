"""customer data

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_code", sa.String(length=64), nullable=True),
        sa.Column("visitor_id", sa.String(length=128), nullable=True),
        sa.Column("family_name", sa.String(length=64), nullable=True),
        sa.Column("given_name", sa.String(length=64), nullable=True),
        sa.Column("gender", sa.String(length=8), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("prefecture", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_code"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_visitor_id"), ["visitor_id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "product_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "staff",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "stores",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "campaign_benefits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("campaign_code", sa.String(length=64), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=True),
        sa.Column("granted_on", sa.Date(), nullable=True),
        sa.Column("used", sa.Boolean(), nullable=True),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "campaign_code"),
    )
    with op.batch_alter_table("campaign_benefits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_benefits_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_events_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "contract_summaries",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contracted", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("life", sa.Boolean(), nullable=True),
        sa.Column("non_life", sa.Boolean(), nullable=True),
        sa.Column("first_start_on", sa.Date(), nullable=True),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("next_renewal_on", sa.Date(), nullable=True),
        sa.Column("last_renewal_on", sa.Date(), nullable=True),
        sa.Column("renewal_count", sa.Integer(), nullable=True),
        sa.Column("total_paid", sa.Integer(), nullable=True),
        sa.Column("current_product_type_code", sa.String(length=64), nullable=True),
        sa.Column("current_product_code", sa.String(length=64), nullable=True),
        sa.Column("cancelled_product_type_code", sa.String(length=64), nullable=True),
        sa.Column("cancelled_product_code", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    with op.batch_alter_table("contract_summaries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_summaries_next_renewal_on"), ["next_renewal_on"], unique=False
        )

    op.create_table(
        "customer_activity",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("document_requested", sa.Boolean(), nullable=True),
        sa.Column("first_document_request_on", sa.Date(), nullable=True),
        sa.Column("quoted", sa.Boolean(), nullable=True),
        sa.Column("first_quote_on", sa.Date(), nullable=True),
        sa.Column("visited", sa.Boolean(), nullable=True),
        sa.Column("first_visit_on", sa.Date(), nullable=True),
        sa.Column("email_acquired", sa.Boolean(), nullable=True),
        sa.Column("line_friend", sa.Boolean(), nullable=True),
        sa.Column("app_user", sa.Boolean(), nullable=True),
        sa.Column("app_last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "customer_channels",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("email_main", sa.String(length=254), nullable=True),
        sa.Column("email_sub", sa.String(length=254), nullable=True),
        sa.Column("email_permitted", sa.Boolean(), nullable=True),
        sa.Column("line_user_id", sa.String(length=64), nullable=True),
        sa.Column("line_permitted", sa.Boolean(), nullable=True),
        sa.Column("line_linked", sa.Boolean(), nullable=True),
        sa.Column("sms_phone", sa.String(length=20), nullable=True),
        sa.Column("sms_permitted", sa.Boolean(), nullable=True),
        sa.Column("fcm_token", sa.String(length=4096), nullable=True),
        sa.Column("push_permitted", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id"),
        sa.UniqueConstraint("line_user_id"),
    )
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_channels_email_main"), ["email_main"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_channels_sms_phone"), ["sms_phone"], unique=False)

    op.create_table(
        "document_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_code", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("document_code", sa.String(length=64), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=True),
        sa.Column("product_type_code", sa.String(length=64), nullable=True),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("contracted", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_code"),
    )
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_requests_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "line_memberships",
        sa.Column("line_user_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("linked", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("line_user_id"),
    )
    with op.batch_alter_table("line_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_memberships_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "page_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_code", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=128), nullable=True),
        sa.Column("page_title", sa.Text(), nullable=True),
        sa.Column("page_url", sa.Text(), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("log_code"),
    )
    with op.batch_alter_table("page_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_views_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_page_views_viewed_at"), ["viewed_at"], unique=False)

    op.create_table(
        "products",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("product_type_code", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_type_code"],
            ["product_types.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_products_product_type_code"), ["product_type_code"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_code", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("quoted_on", sa.Date(), nullable=True),
        sa.Column("product_type_code", sa.String(length=64), nullable=True),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("contracted", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("quote_code"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_code", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reserved_on", sa.Date(), nullable=True),
        sa.Column("visit_on", sa.Date(), nullable=True),
        sa.Column("visited", sa.Boolean(), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("rebooked", sa.Boolean(), nullable=True),
        sa.Column("rebooked_on", sa.Date(), nullable=True),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("staff_code", sa.String(length=64), nullable=True),
        sa.Column("consultation", sa.Text(), nullable=True),
        sa.Column("consultation_trigger", sa.Text(), nullable=True),
        sa.Column("product_type_code", sa.String(length=64), nullable=True),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("contracted", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reservation_code"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservations_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_customer_id"))

    op.drop_table("reservations")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_customer_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_product_type_code"))

    op.drop_table("products")
    with op.batch_alter_table("page_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_views_viewed_at"))
        batch_op.drop_index(batch_op.f("ix_page_views_customer_id"))

    op.drop_table("page_views")
    with op.batch_alter_table("line_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_memberships_customer_id"))

    op.drop_table("line_memberships")
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_requests_customer_id"))

    op.drop_table("document_requests")
    with op.batch_alter_table("customer_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_channels_sms_phone"))
        batch_op.drop_index(batch_op.f("ix_customer_channels_email_main"))

    op.drop_table("customer_channels")
    op.drop_table("customer_activity")
    with op.batch_alter_table("contract_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_summaries_next_renewal_on"))

    op.drop_table("contract_summaries")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_events_customer_id"))

    op.drop_table("consent_events")
    with op.batch_alter_table("campaign_benefits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_benefits_customer_id"))

    op.drop_table("campaign_benefits")
    op.drop_table("stores")
    op.drop_table("staff")
    op.drop_table("product_types")
    op.drop_table("documents")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_visitor_id"))

    op.drop_table("customers")
    op.drop_table("campaigns")
