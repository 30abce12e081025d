"""The APPI declarations and their pure parts: every table is declared as holding customer data or not, webhook
payloads are reduced to an allow list, the audit's keyed hashes and customer ids, the one-time download code."""

from __future__ import annotations

import json

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table
from sqlmodel import SQLModel

import models  # noqa: F401  (every table on the metadata)
from bot.platform.config import Settings
from bot.privacy.holdings import HOLDINGS, NO_CUSTOMER_DATA, undeclared
from bot.privacy.redaction import skeleton
from bot.privacy.requests import CODE_LENGTH, display_code, new_code, normalise_code
from bot.staff.admin import about, audited_customers, pseudonym


def test_every_table_is_declared_once_as_holding_customer_data_or_not():
    """Each table of the schema has a way to find a customer's rows or a reason it holds none, never both."""
    tables = set(SQLModel.metadata.tables)
    assert undeclared(SQLModel.metadata) == []
    assert not set(HOLDINGS) & set(NO_CUSTOMER_DATA)
    assert set(HOLDINGS) | set(NO_CUSTOMER_DATA) == tables  # nothing declared that no longer exists


def test_a_table_added_later_is_named_until_it_is_declared():
    """A new table in neither list is reported by name (export and erase refuse to run while it is)."""
    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    Table("loyalty_points", metadata, Column("customer_id", Integer, ForeignKey("customers.id")))
    assert undeclared(metadata) == ["loyalty_points"]


def test_every_table_referring_to_customers_is_searched_by_that_column():
    """A table with a foreign key to customers is never declared as holding no customer data."""
    for table in SQLModel.metadata.tables.values():
        if any(key.column.table.name == "customers" for key in table.foreign_keys):
            assert table.name in HOLDINGS, table.name


def test_a_redacted_payload_says_what_happened_and_when_but_not_who_or_what():
    """Text, user ids, reply tokens, mentions, locations and postback data are dropped; type and time stay."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1765000000000,
        "webhookEventId": "01JABC",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "r" * 32,
        "source": {"type": "user", "userId": "U" + "a" * 32},
        "message": {
            "id": "123",
            "type": "text",
            "text": "雲母坂です、住所は東京都",
            "mention": {"mentionees": [{"userId": "U" + "b" * 32}]},
        },
        "postback": {"data": "a=confirm&v=secret"},
    }
    kept = json.loads(skeleton(json.dumps(event, ensure_ascii=False)))
    assert kept == {
        "type": "message",
        "mode": "active",
        "timestamp": 1765000000000,
        "webhookEventId": "01JABC",
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user"},
        "message": {"type": "text"},
        "redacted": True,
    }
    assert json.loads(skeleton("not json")) == {"redacted": True}


def test_audit_pseudonyms_are_stable_keyed_and_reveal_nothing():
    """The same identifier gives the same hash under one key and another under another key."""
    user = "U" + "c" * 32
    one, other = Settings(line_channel_secret="a"), Settings(audit_hash_key="b")
    assert pseudonym(one, user) == pseudonym(one, user) != pseudonym(other, user)
    assert user not in pseudonym(one, user) and len(pseudonym(one, user)) == 17


def test_audit_details_name_customers_by_internal_id_and_are_read_back():
    """`about` and `audited_customers` agree, also for the desk's own details and a list too long to keep."""
    assert audited_customers(about([42])) == {42}
    assert audited_customers(about([4, 42])) == {4, 42}
    assert audited_customers("coupon 5 of VISIT for customer 42: issued") == {42}
    assert audited_customers("broadcast 7: draft") == set() == audited_customers(None)
    many = about(list(range(100_000, 100_200)))
    assert len(many) <= 500 and many.endswith("more)")
    assert audited_customers(many) <= set(range(100_000, 100_200))  # never a cut id


def test_download_codes_are_long_readable_and_typed_any_way():
    """Twelve characters without 0/O/1/I; dashes, spaces, case and full width do not matter when typed."""
    code = new_code()
    assert len(code) == CODE_LENGTH and not set(code) & set("01OI")
    shown = display_code(code)
    assert shown.count("-") == 2
    typed = " " + shown.lower().replace("a", "ａ").replace("-", "－") + " "
    assert normalise_code(typed) == code
