"""Service notices to a list (書類の再提出依頼, 保険料の未払い, 事故対応の状況, アンケート, 契約内容のお知らせ): a CSV of
customers, each named by 顧客ID or by the phone number or email address on file, with the notice's own values
(証券番号, 金額, 期限, 必要書類 …).

The file is read as the data files are (bot/imports/reader.py: UTF-8 or CP932, comma or tab, a clear error for a
file that cannot be read); each notice template's columns are those its text uses. A row is matched to one
customer or says why not (no key, an unknown 顧客ID, a phone number or address nobody or several customers have,
the same customer twice in the file) without echoing the key. What each row becomes is decided here, before
anything is written (`read_list`); bot/notices/sending.py counts and sends it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, or_, select

from bot.delivery.content import format_date
from bot.imports import values as v
from bot.imports.files import Column, FileSpec
from bot.imports.reader import FileRejected, Row, read_rows
from bot.imports.runner import file_sha256
from bot.platform.i18n import message_document
from models import Customer, CustomerChannels

CUSTOMERS, CHANNELS = Customer.__table__, CustomerChannels.__table__
SCENE = "service_notice"  # the locale files' group of notice templates
MERGE_FIELD = re.compile(r"%\{(\w+)\}")
FROM_THE_RECORD = {"service_name", "family_name", "given_name"}  # merge fields the service fills in itself
KEYS = (
    Column("顧客ID", "customer_id", "customer_code", v.plain),
    Column("電話番号", "phone", "phone", v.phone),
    Column("メールアドレス", "email", "email", v.email),
)
# every field a notice template may use: its column, parsed as it is written
FIELDS = {
    "policy_number": Column("証券番号", "policy_number", "policy_number", v.plain),
    "amount": Column("金額", "amount", "amount", v.integer),
    "due_date": Column("期限", "due_date", "due_date", v.day),
    "documents": Column("必要書類", "documents", "documents", v.plain),
    "claim_number": Column("事故受付番号", "claim_number", "claim_number", v.plain),
    "claim_status": Column("状況", "claim_status", "claim_status", v.plain),
    "survey_url": Column("アンケートURL", "survey_url", "survey_url", v.plain),
}


class ListRefused(ValueError):
    """The list as a whole cannot be used (template, encoding, columns); nothing was written."""


def templates() -> list[str]:
    """The notice templates the locale files define, by name (document_resubmission …)."""
    return sorted(message_document("ja")["messages"].get(SCENE, {}))


def template_fields(name: str) -> tuple[str, ...]:
    """The values a notice's rows must give: the merge fields of its texts (every language, every part) that
    the service does not fill in itself. A field no column gives is refused: a template that cannot be sent."""
    used: set[str] = set()
    for locale in ("ja", "en"):
        parts = message_document(locale)["messages"].get(SCENE, {}).get(name)
        if parts is None:
            raise ListRefused(f"unknown notice template {name!r}: choose one of {', '.join(templates())}")
        for part in ("subject", "text", "sms"):
            used |= set(MERGE_FIELD.findall(str(parts.get(part, ""))))
    wanted = sorted(used - FROM_THE_RECORD)
    unknown = [name for name in wanted if name not in FIELDS]
    if unknown:
        raise ListRefused(f"notice template {name}: no column gives {', '.join(unknown)}")
    return tuple(wanted)


def spec(name: str) -> FileSpec:
    """The columns a list for the notice `name` has: a key (at least one per row) and each of its fields."""
    wanted = template_fields(name)
    columns = KEYS + tuple(
        Column(FIELDS[f].ja, FIELDS[f].alias, FIELDS[f].field, FIELDS[f].parse, required=True) for f in wanted
    )
    return FileSpec(f"notice:{name}", f"お知らせ（{name}）", (), columns)


@dataclass
class Listed:
    """One row of the list: the customer it names (None when it names nobody, with `reason`) and its values."""

    line: int
    customer_id: int | None
    values: dict[str, Any]
    reason: str | None = None  # invalid: …, unknown_customer, no_such_phone, shared_phone, no_such_email …


@dataclass
class NoticeList:
    template: str
    path: Path
    sha256: str
    rows: list[Listed] = field(default_factory=list)

    @property
    def matched(self) -> list[Listed]:
        return [row for row in self.rows if row.customer_id is not None]

    @property
    def unmatched(self) -> Counter[str]:
        return Counter(row.reason.split(":")[0] for row in self.rows if row.reason)


def read_list(connection: Connection, template: str, path: Path) -> NoticeList:
    """Every row of the list matched to a customer or given its reason; ListRefused when the file cannot be used."""
    file_spec = spec(template)
    found = NoticeList(template, path, file_sha256(path))
    try:
        rows = list(read_rows(path, file_spec))
    except FileRejected as exc:
        raise ListRefused(str(exc)) from None
    if not rows:
        raise ListRefused("the list has no rows")
    first_line: dict[int, int] = {}
    for row in rows:
        listed = _match(connection, row)
        if listed.customer_id is not None:
            earlier = first_line.setdefault(listed.customer_id, row.line)
            if earlier != row.line:  # one notice per customer and file: the result would not say which
                listed = Listed(row.line, None, row.values, f"duplicate_customer:line {earlier}")
        found.rows.append(listed)
    return found


def _match(connection: Connection, row: Row) -> Listed:
    if row.errors:
        return Listed(row.line, None, row.values, "invalid:" + "; ".join(row.errors))
    code, phone, email = (row.values.get(name) for name in ("customer_code", "phone", "email"))
    if code:
        statement = select(CUSTOMERS.c.id).where(
            CUSTOMERS.c.customer_code == code, CUSTOMERS.c.erased_at.is_(None)
        )
        reasons = ("unknown_customer", "unknown_customer")
    elif phone:
        statement = select(CHANNELS.c.customer_id).where(CHANNELS.c.sms_phone == phone)
        reasons = ("no_such_phone", "shared_phone")
    elif email:
        statement = select(CHANNELS.c.customer_id).where(
            or_(CHANNELS.c.email_main == email, CHANNELS.c.email_sub == email)
        )
        reasons = ("no_such_email", "shared_email")
    else:
        return Listed(row.line, None, row.values, "no_key")
    found = list(connection.execute(statement.limit(2)).scalars())
    if len(found) != 1:
        return Listed(row.line, None, row.values, reasons[0] if not found else reasons[1])
    return Listed(row.line, found[0], row.values)


def spelt(values: dict[str, Any], locale: str) -> dict[str, str]:
    """A row's values as its customer reads them: 12,000 for an amount, the day in their language."""
    out = {}
    for name, value in values.items():
        if name in ("customer_code", "phone", "email") or value is None:
            continue
        if isinstance(value, date):
            out[name] = format_date(value, locale)
        elif isinstance(value, int):
            out[name] = f"{value:,}"
        else:
            out[name] = str(value)
    return out
