"""What a ledger row says on its channel: the template's text with the customer's merge fields (姓, 来店予定日,
店舗名 …), rendered as a LINE message, an SMS, an email or an app notification.

Every marketing message carries a way out: a "配信停止" quick reply on LINE, an opt-out link in SMS and email
(with `List-Unsubscribe`). Links go through `/r/<token>/<name>` so that a click is counted against the row, and
emails carry an open pixel. Content that is the same for every recipient (a broadcast) has no per-recipient
link, so that LINE can take it by multicast.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select

from bot.bulk import among, chunks, select_map
from bot.config import Settings
from bot.engine.facts import ANCHORS, ENTITIES, anchor_code
from bot.i18n import text
from flows.catalog import SCENARIOS
from models import Customer, Enrollment, Store

CUSTOMERS = Customer.__table__
ENROLLMENTS = Enrollment.__table__
STORES = Store.__table__
LINE_TEXT_LIMIT = 5000


@dataclass(frozen=True)
class Template:
    """One message of the locale files: `messages.<scenario>.<message>` with its subject and link name."""

    key: str
    locale: str

    def part(self, name: str, **fields: object) -> str | None:
        full = f"messages.{self.key}.{name}"
        return text(full, self.locale, **fields) if _defined(full, self.locale) else None

    def subject(self, fields: dict[str, Any]) -> str:
        return self.part("subject", **fields) or text("common.service_name", self.locale)

    def body(self, fields: dict[str, Any]) -> str:
        body = self.part("text", **fields)
        if body is None:
            raise KeyError(f"template {self.key} has no text in {self.locale}")
        return body

    @property
    def link(self) -> str | None:
        return self.part("link")


@lru_cache(maxsize=4096)
def _defined(key: str, locale: str) -> bool:
    """Whether the locale files define `key` (asked once: python-i18n reads its files again on every miss)."""
    try:
        text(key, locale)
    except KeyError:
        return False
    return True


def format_date(value: date | None, locale: str) -> str:
    if value is None:
        return ""
    return f"{value.month}月{value.day}日" if locale == "ja" else f"{value:%B} {value.day}"


def load_fields(connection: Connection, rows: Iterable[Any], locale: str) -> dict[int, dict[str, Any]]:
    """{ledger id: merge fields} for a batch: the customer's name, and the anchor record's dates and store."""
    rows = list(rows)
    people = select_map(
        connection, CUSTOMERS, "id", {r.customer_id for r in rows}, "family_name", "given_name"
    )
    anchors = _anchors(connection, [r.enrollment_id for r in rows if r.enrollment_id])
    service_name = text("common.service_name", locale)
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        person = people.get(row.customer_id)
        fields = {
            "service_name": service_name,
            "family_name": getattr(person, "family_name", None) or "",
            "given_name": getattr(person, "given_name", None) or "",
        }
        for name, value in anchors.get(row.enrollment_id, {}).items():
            fields[name] = format_date(value, locale) if isinstance(value, date) else (value or "")
        out[row.id] = fields
    return out


# the anchor record's columns each merge field comes from
_ANCHOR_FIELDS = {
    "document_request": {"requested_on": "request_date"},
    "quote": {"quoted_on": "quote_date"},
    "reservation": {"visit_on": "visit_date", "store_code": "store_code", "consultation": "consultation"},
    "contract": {"next_renewal_on": "renewal_date"},
}


def _anchors(connection: Connection, enrollment_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not enrollment_ids:
        return {}
    enrollments = []
    statement = select(ENROLLMENTS.c.id, ENROLLMENTS.c.scenario_id, ENROLLMENTS.c.anchor_key)
    for chunk in chunks(connection, list(set(enrollment_ids))):
        enrollments += connection.execute(statement.where(among(connection, ENROLLMENTS.c.id, chunk))).all()
    out: dict[int, dict[str, Any]] = {e.id: {} for e in enrollments}
    by_anchor: dict[Any, list[Any]] = {}
    for e in enrollments:
        scenario = SCENARIOS.get(e.scenario_id)
        if scenario is not None and scenario.anchor in ANCHORS:
            by_anchor.setdefault(scenario.anchor, []).append(e)
    for anchor, members in by_anchor.items():
        source = ANCHORS[anchor]
        columns = _ANCHOR_FIELDS.get(source.entity, {})
        if not columns:
            continue
        table = ENTITIES[source.entity]
        if source.entity == "contract":  # a contract year is named by its renewal date
            for e in members:
                out[e.id]["renewal_date"] = date.fromisoformat(anchor_code(e.anchor_key))
            continue
        found = select_map(
            connection, table, source.key, (anchor_code(e.anchor_key) for e in members), *columns
        )
        for e in members:
            record = found.get(anchor_code(e.anchor_key))
            out[e.id].update({field: getattr(record, column, None) for column, field in columns.items()})
    stores = {f["store_code"] for f in out.values() if f.get("store_code")}
    names = select_map(connection, STORES, "code", stores, "name") if stores else {}
    for fields in out.values():
        if "store_code" in fields:
            fields["store_name"] = getattr(names.get(fields.pop("store_code")), "name", None) or ""
    return out


@dataclass(frozen=True)
class Links:
    """The public URLs of one ledger row (None for content shared by many recipients)."""

    base: str
    token: str | None

    def click(self, name: str) -> str:
        return f"{self.base}/r/{self.token}/{name}" if self.token else ""

    @property
    def opt_out(self) -> str | None:
        return f"{self.base}/u/{self.token}" if self.token else None

    @property
    def pixel(self) -> str | None:
        return f"{self.base}/o/{self.token}.gif" if self.token else None


def line_messages(
    template: Template, fields: dict[str, Any], links: Links, marketing: bool, settings: Settings
) -> list[dict[str, Any]]:
    """One text message; the link (tracked, or the target itself when shared) and a 配信停止 quick reply."""
    body = template.body(fields)
    name = template.link
    if name:
        body += "\n" + (links.click(name) if links.token else settings.link_targets.get(name, ""))
    message: dict[str, Any] = {"type": "text", "text": body[:LINE_TEXT_LIMIT]}
    if marketing:
        stop = text("delivery.stop_label", template.locale)
        data = "a=optout" + (f"&t={links.token}" if links.token else "")
        message["quickReply"] = {
            "items": [
                {
                    "type": "action",
                    "action": {"type": "postback", "label": stop, "data": data, "displayText": stop},
                }
            ]
        }
    return [message]


def sms_text(template: Template, fields: dict[str, Any], links: Links, marketing: bool) -> str:
    """The SMS: the text, its short link, and for marketing the opt-out link (the provider checks 660)."""
    parts = [template.body(fields)]
    if template.link and links.token:
        parts.append(links.click(template.link))
    if marketing and links.opt_out:
        parts.append(text("delivery.sms_stop", template.locale, url=links.opt_out))
    return "\n".join(parts)


def email_parts(template: Template, fields: dict[str, Any], links: Links) -> tuple[str, str, str]:
    """(subject, text body, HTML body fragment); the footer and opt-out are the email channel's."""
    body = template.body(fields)
    plain, markup = body, html.escape(body).replace("\n", "<br>")
    if template.link and links.token:
        url = links.click(template.link)
        label = text("delivery.email_link_label", template.locale)
        plain += f"\n\n{label}: {url}"
        markup += f'<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>'
    return template.subject(fields), plain, f"<p>{markup}</p>"
