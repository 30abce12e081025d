"""The catalogue a data file names (商品種別, 商品, 資料, 店舗, スタッフ, キャンペーン): codes with their names, written
before the rows that refer to them; a product type is life or non-life insurance by its name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from bot.imports.fields import CATALOGUE, PRODUCTS, TYPES
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


TABLES = {model.__tablename__: model.__table__ for model in (Document, Store, Adviser, Campaign)}


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
    for table, code, name in CATALOGUE:
        upsert_counted(connection, tally, TABLES[table], pairs(code, name), ["code"], None)
