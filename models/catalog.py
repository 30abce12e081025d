"""The insurer's reference data: products and their types (life / non-life), brochures, stores, advisers, campaigns."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel


class ProductKind(StrEnum):
    LIFE = "life"  # 生命保険 (医療・がん含む)
    NON_LIFE = "non_life"  # 損害保険 (自動車・火災 …)


def _code() -> Column:
    return Column(String(64), primary_key=True)


class ProductType(SQLModel, table=True):
    """商品種別."""

    __tablename__ = "product_types"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))
    kind: str | None = Field(default=None, sa_column=Column(String(16)))  # ProductKind


class Product(SQLModel, table=True):
    """商品."""

    __tablename__ = "products"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))
    product_type_code: str | None = Field(
        default=None, sa_column=Column(String(64), ForeignKey("product_types.code"), index=True)
    )


class Document(SQLModel, table=True):
    """資料: a brochure prospects can request."""

    __tablename__ = "documents"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))


class Store(SQLModel, table=True):
    """店舗."""

    __tablename__ = "stores"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))


class Adviser(SQLModel, table=True):
    """スタッフ (担当者): the adviser at a store whom a visit is booked with; not the service's own staff."""

    __tablename__ = "staff"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))


class Campaign(SQLModel, table=True):
    """キャンペーン whose benefit (特典) customers are granted and use."""

    __tablename__ = "campaigns"
    code: str = Field(sa_column=_code())
    name: str | None = Field(default=None, sa_column=Column(String(128)))
