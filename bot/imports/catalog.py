"""The catalogue a data file names (商品種別, 商品, 資料, 店舗, スタッフ, キャンペーン): codes with their names, written
before the rows that refer to them; a product type is life or non-life insurance by its name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from bot.imports.tally import Tally, upsert_counted
from models import Adviser, Campaign, Document, Product, ProductKind, ProductType, Store

LIFE_WORDS = ("生命", "医療", "がん", "終身", "定期", "介護", "年金", "life")
NON_LIFE_WORDS = ("損害", "自動車", "火災", "地震", "傷害", "旅行", "ペット", "自転車", "バイク")


def product_kind(type_name: str | None) -> str | None:
    """Life or non-life from the product type's name (生命/医療/がん … vs 自動車/火災 …), None if unclear."""
    if not type_name:
        return None
    if any(word in type_name for word in NON_LIFE_WORDS):
        return ProductKind.NON_LIFE
    if any(word in type_name.lower() for word in LIFE_WORDS):
        return ProductKind.LIFE
    return None


TYPES = (  # (code, name) of the product types a row may name
    ("product_type_code", "product_type_name"),
    ("current_product_type_code", "current_product_type_name"),
    ("cancelled_product_type_code", "cancelled_product_type_name"),
)
PRODUCTS = (  # (code, name, product type code) of the products
    ("product_code", "product_name", "product_type_code"),
    ("current_product_code", "current_product_name", "current_product_type_code"),
    ("cancelled_product_code", "cancelled_product_name", "cancelled_product_type_code"),
)
OTHERS = (
    (Document, "document_code", "document_name"),
    (Store, "store_code", "store_name"),
    (Adviser, "staff_code", "staff_name"),
    (Campaign, "campaign_code", "campaign_name"),
)
FIELDS = frozenset(
    name for entry in (*TYPES, *PRODUCTS, *((code, name) for _, code, name in OTHERS)) for name in entry
)  # every value of a row the catalogue reads


def write_catalog(connection: Connection, rows: list[dict[str, Any]], tally: Tally | None) -> None:
    """The codes and names the rows (their values) give, in the rows' order: a later row's name wins."""

    def pairs(code: str, name: str) -> list[dict[str, Any]]:
        return [{"code": r[code], "name": r.get(name)} for r in rows if r.get(code)]

    types = [entry for code, name in TYPES for entry in pairs(code, name)]
    for entry in types:
        entry["kind"] = product_kind(entry["name"])
    upsert_counted(connection, tally, ProductType.__table__, types, ["code"], None)
    products = [
        {"code": r[code], "name": r.get(name), "product_type_code": r.get(type_code)}
        for code, name, type_code in PRODUCTS
        for r in rows
        if r.get(code)
    ]
    upsert_counted(connection, tally, Product.__table__, products, ["code"], None)
    for table, code, name in OTHERS:
        upsert_counted(connection, tally, table.__table__, pairs(code, name), ["code"], None)


def catalog_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows reduced to what `write_catalog` reads, each distinct one once at its last place: the catalogue
    written from these is the one written from all the rows (a later row's name still wins)."""
    last: dict[tuple, dict[str, Any]] = {}
    for values in rows:
        named = {name: value for name, value in values.items() if name in FIELDS}
        if named:
            key = tuple(sorted(named.items()))
            last.pop(key, None)
            last[key] = named
    return list(last.values())


class Catalogued:
    """What the earlier batches of one file gave the catalogue, code by code. An entry that would change none of
    it is left out of the next batch's: writing it would leave the rows as they are, and the report counts a
    code once whatever the number of batches naming it. Every batch is assumed written (one that is not makes
    the whole import roll back)."""

    def __init__(self) -> None:
        self.given: dict[tuple[str, Any], dict[str, Any]] = {}

    def fresh(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries (in order) that name a catalogue row the batch changes, every one that names it (so that
        they merge as they would all together); the batch's values are remembered as `write_catalog` merges
        them (column by column, then row by row)."""
        named = list(_named(entries))
        changed = {key for key, values, _ in named if self._changes(key, values)}
        kept = {index for key, _, index in named if key in changed}
        for key, values, _ in named:
            self.given.setdefault(key, {}).update((f, v) for f, v in values.items() if v is not None)
        return [entry for index, entry in enumerate(entries) if index in kept]

    def _changes(self, key: tuple[str, Any], values: dict[str, Any]) -> bool:
        given = self.given.get(key)
        return given is None or any(v is not None and given.get(f) != v for f, v in values.items())


def _named(entries: list[dict[str, Any]]) -> Iterator[tuple[tuple[str, Any], dict[str, Any], int]]:
    """((table, code), values, the entry's index) of each catalogue row the entries name, in the order
    `write_catalog` writes (and merges) them."""
    for code, name in TYPES:
        for index, entry in enumerate(entries):
            if entry.get(code):
                yield ("product_types", entry[code]), {"name": entry.get(name)}, index
    for code, name, type_code in PRODUCTS:
        for index, entry in enumerate(entries):
            if entry.get(code):
                values = {"name": entry.get(name), "product_type_code": entry.get(type_code)}
                yield ("products", entry[code]), values, index
    for table, code, name in OTHERS:
        for index, entry in enumerate(entries):
            if entry.get(code):
                yield (table.__tablename__, entry[code]), {"name": entry.get(name)}, index
