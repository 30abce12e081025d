"""Which values of a data-file row each table takes: names only, so that the process reading a file (it makes
the staging table's text, bot/imports/ahead.py) needs neither the models nor SQLAlchemy."""

from __future__ import annotations

PERSON_FIELDS = ("family_name", "given_name", "gender", "age_band", "prefecture", "visitor_id")  # customers
CHANNEL_FIELDS = (
    "email_main",
    "email_sub",
    "email_permitted",
    "line_user_id",
    "line_permitted",
    "line_linked",
    "sms_phone",
    "sms_permitted",
    "fcm_token",
    "push_permitted",
)
ACTIVITY_FIELDS = (
    "document_requested",
    "first_document_request_on",
    "quoted",
    "first_quote_on",
    "visited",
    "first_visit_on",
    "email_acquired",
    "line_friend",
    "app_user",
)
CURRENT = ("current_product_type_code", "current_product_code")
CONTRACT_FIELDS = (
    "contracted",
    "status",
    "life",
    "non_life",
    "first_start_on",
    "end_on",
    "next_renewal_on",
    "last_renewal_on",
    "renewal_count",
    "total_paid",
    *CURRENT,
    "cancelled_product_type_code",
    "cancelled_product_code",
)

# The catalogue (bot/imports/catalog.py): (code, name) of the product types a row may name, ...
TYPES = (  # (code, name) of the product types a row may name
    ("product_type_code", "product_type_name"),
    ("current_product_type_code", "current_product_type_name"),
    ("cancelled_product_type_code", "cancelled_product_type_name"),
)
# ... (code, name, product type code) of the products, ...
PRODUCTS = (  # (code, name, product type code) of the products
    ("product_code", "product_name", "product_type_code"),
    ("current_product_code", "current_product_name", "current_product_type_code"),
    ("cancelled_product_code", "cancelled_product_name", "cancelled_product_type_code"),
)
# ... and (table, code, name) of the other catalogue tables.
CATALOGUE = (
    ("documents", "document_code", "document_name"),
    ("stores", "store_code", "store_name"),
    ("staff", "staff_code", "staff_name"),
    ("campaigns", "campaign_code", "campaign_name"),
)
