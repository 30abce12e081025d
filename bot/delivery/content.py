"""What a ledger row says on its channel: the template's text with the customer's merge fields (姓, 来店予定日,
店舗名 …), rendered as a LINE message, an SMS, an email or an app notification.

Every marketing message carries a way out: a "配信停止" quick reply on LINE, an opt-out link in SMS and email
(with `List-Unsubscribe`). Links go through `/r/<token>/<name>` so that a click is counted against the row, and
emails carry an open pixel. Content that is the same for every recipient (a broadcast) has no per-recipient
link, so that LINE can take it by multicast.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select

from bot.customers.facts import ANCHORS, ENTITIES, anchor_code
from bot.delivery.buttons import CHOICES, button
from bot.platform.bulk import among, chunks, select_map
from bot.platform.config import Settings
from bot.platform.i18n import fixed_text, template_buttons, template_choices, text
from flows.dsl import Scenario
from models import Campaign, Customer, Enrollment, Store

CUSTOMERS = Customer.__table__
ENROLLMENTS = Enrollment.__table__
STORES = Store.__table__
CAMPAIGNS = Campaign.__table__
LINE_TEXT_LIMIT = 5000


@dataclass(frozen=True)
class Template:
    """One message of the locale files: `messages.<scenario>.<message>` with its subject and link name."""

    key: str
    locale: str

    def part(self, part: str, /, **fields: object) -> str | None:
        full = f"messages.{self.key}.{part}"
        if not _defined(full, self.locale):
            return None
        return text(full, self.locale, **fields) if fields else fixed_text(full, self.locale)

    def subject(self, fields: dict[str, Any]) -> str:
        return self.part("subject", **fields) or text("common.service_name", self.locale)

    def body(self, fields: dict[str, Any], sms: bool = False) -> str:
        """The text; an SMS takes the template's shorter `sms` text when it has one."""
        body = (self.part("sms", **fields) if sms else None) or self.part("text", **fields)
        if body is None:
            raise KeyError(f"template {self.key} has no text in {self.locale}")
        return body

    @property
    def link(self) -> str | None:
        return self.part("link")

    @property
    def choices(self) -> tuple[str, ...]:
        """The options of a numbered question, in order (`choices` in the locale files)."""
        return template_choices(self.locale).get(self.key, ())

    @property
    def buttons(self) -> tuple[str, ...]:
        """The actions the LINE version offers (book, reschedule, coupon …), in order."""
        return template_buttons(self.locale).get(self.key, ())


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


def load_fields(
    connection: Connection,
    rows: Iterable[Any],
    locale: str | Mapping[int, str],
    scenarios: Mapping[str, Scenario],
) -> dict[int, dict[str, Any]]:
    """{ledger id: merge fields} for a batch: the customer's name, and the anchor record's dates and store, in
    `locale` (one for all, or {customer id: language}: dates and "お客様" in each customer's language)."""
    rows = list(rows)
    people = select_map(
        connection, CUSTOMERS, "id", {r.customer_id for r in rows}, "family_name", "given_name"
    )
    anchors = _anchors(connection, [r.enrollment_id for r in rows if r.enrollment_id], scenarios)
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        locale_of_row = locale if isinstance(locale, str) else locale[row.customer_id]
        out[row.id] = _fields(row, people.get(row.customer_id), anchors, locale_of_row)
    return out


def _fields(row: Any, person: Any, anchors: dict[int, dict[str, Any]], locale: str) -> dict[str, Any]:
    """One row's merge fields in its customer's language."""
    fields = {
        "service_name": text("common.service_name", locale),
        # a prospect known only by an address has no name: "お客様" / "Dear customer", never "様、"
        "family_name": getattr(person, "family_name", None) or text("common.no_name", locale),
        "given_name": getattr(person, "given_name", None) or "",
    }
    for name, value in anchors.get(row.enrollment_id, {}).items():
        fields[name] = (
            format_date(value, locale) if isinstance(value, date) else ("" if value is None else value)
        )
    fields.update(getattr(row, "fields", None) or {})  # a chat answer's own values
    if "consultation" in fields:  # free text the booking form may leave empty: a sentence, or nothing
        topic = fields["consultation"]
        fields["consultation_note"] = text("common.consultation_note", locale, topic=topic) if topic else ""
    return fields


# the anchor record's columns each merge field comes from
_ANCHOR_FIELDS = {
    "document_request": {"requested_on": "request_date"},
    "quote": {"quoted_on": "quote_date"},
    "reservation": {
        "visit_on": "visit_date",
        "visited_on": "visited_date",
        "store_code": "store_code",
        "consultation": "consultation",
    },
    "contract": {"next_renewal_on": "renewal_date", "first_start_on": "contract_start_date"},
    "benefit": {"granted_on": "grant_date", "campaign_code": "campaign_code"},
    "line_member": {"registered_on": "registration_date"},
}


def _anchors(
    connection: Connection, enrollment_ids: list[int], scenarios: Mapping[str, Scenario]
) -> dict[int, dict[str, Any]]:
    """Per enrollment: its anchor record's merge fields, and the scenario's settings (campaign_days …)."""
    if not enrollment_ids:
        return {}
    enrollments = []
    statement = select(
        ENROLLMENTS.c.id, ENROLLMENTS.c.scenario_id, ENROLLMENTS.c.customer_id, ENROLLMENTS.c.anchor_key
    )
    for chunk in chunks(connection, list(set(enrollment_ids))):
        enrollments += connection.execute(statement.where(among(connection, ENROLLMENTS.c.id, chunk))).all()
    out: dict[int, dict[str, Any]] = {e.id: {} for e in enrollments}
    by_anchor: dict[Any, list[Any]] = {}
    for e in enrollments:
        scenario = scenarios.get(e.scenario_id)
        if scenario is None:
            continue
        out[e.id].update(scenario.params)
        if scenario.anchor in ANCHORS:
            by_anchor.setdefault(scenario.anchor, []).append(e)
    for anchor, members in by_anchor.items():
        source = ANCHORS[anchor]
        columns = _ANCHOR_FIELDS.get(source.entity, {})
        if not columns:
            continue
        table = ENTITIES[source.entity]
        if source.per_customer:  # the customer's row; the anchor's own date is the one it was named by
            found = select_map(connection, table, "customer_id", {e.customer_id for e in members}, *columns)
            for e in members:
                record = found.get(e.customer_id)
                fields = {field: getattr(record, column, None) for column, field in columns.items()}
                if source.key in columns:
                    fields[columns[source.key]] = date.fromisoformat(anchor_code(e.anchor_key))
                out[e.id].update(fields)
            continue
        key_type = table.c[source.key].type.python_type
        codes = {e.id: key_type(anchor_code(e.anchor_key)) for e in members}
        found = select_map(connection, table, source.key, set(codes.values()), *columns)
        for e in members:
            record = found.get(codes[e.id])
            out[e.id].update({field: getattr(record, column, None) for column, field in columns.items()})
    _names(connection, out, "store_code", STORES, "store_name")
    _names(connection, out, "campaign_code", CAMPAIGNS, "campaign_name")
    return out


def _names(connection: Connection, out: dict[int, dict[str, Any]], code: str, table: Any, field: str) -> None:
    """Replace a code by the catalogue's name for it (店舗ID → 店舗名, キャンペーンID → キャンペーン名)."""
    codes = {f[code] for f in out.values() if f.get(code)}
    names = select_map(connection, table, "code", codes, "name") if codes else {}
    for fields in out.values():
        if code in fields:
            fields[field] = getattr(names.get(fields.pop(code)), "name", None) or ""


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
    """One text message; the link (tracked, or the target itself when shared); a coupon after it when the
    template has `flex: coupon`; the template's buttons as quick replies that continue the dialog (on the last
    message: LINE shows only that one's), and for marketing a 配信停止 quick reply last."""
    body = template.body(fields)
    name = template.link
    if name:
        body += "\n" + (links.click(name) if links.token else settings.link_targets.get(name, ""))
    message: dict[str, Any] = {"type": "text", "text": body[:LINE_TEXT_LIMIT]}
    fields = {**fields, **_choice_labels(template, fields)}
    items = [
        button(action, links.token, template.locale, fields)
        for action in template.buttons
        if action not in CHOICES or fields.get(f"{action}_label")  # no third chip for two options
    ]
    if marketing:
        stop = fixed_text("delivery.stop_label", template.locale)
        data = "a=optout" + (f"&t={links.token}" if links.token else "")
        items.append(
            {
                "type": "action",
                "action": {"type": "postback", "label": stop, "data": data, "displayText": stop},
            }
        )
    messages = [message, *_coupon(template, fields, links)]
    if items:
        messages[-1]["quickReply"] = {"items": items}
    return messages


def _choice_labels(template: Template, fields: dict[str, Any]) -> dict[str, str]:
    """`choice_<n>_label` for a numbered question's chips: "1. 住所" from the template's `choices`, unless the
    answer brings its own (a list drawn from data, such as the product catalogue)."""
    return {
        f"choice_{number}_label": f"{number}. {label}"
        for number, label in enumerate(template.choices, start=1)
        if not fields.get(f"choice_{number}_label")
    }


def _coupon(template: Template, fields: dict[str, Any], links: Links) -> list[dict[str, Any]]:
    """LINE's own coupon when the campaign has one (`line_coupon_id`), else a bubble with the title, benefit,
    code, expiry and a "use" button that carries the code (`use_coupon_value`)."""
    if template.part("flex") != "coupon":
        return []
    if fields.get("line_coupon_id"):
        return [{"type": "coupon", "couponId": str(fields["line_coupon_id"])}]
    locale = template.locale

    def label(name: str) -> dict[str, Any]:
        return {
            "type": "text",
            "text": text(f"messages.chat_coupon.bubble.{name}", locale),
            "size": "xs",
            "color": "#888888",
        }

    def value(name: str, **style: Any) -> dict[str, Any]:
        return {"type": "text", "text": str(fields[name]), "wrap": True, **style}

    body = [
        value("coupon_benefit"),
        label("code"),
        value("coupon_code", size="xxl", weight="bold"),
        label("expires"),
        value("coupon_expires", weight="bold"),
    ]
    use = {
        "type": "button",
        "style": "primary",
        "action": button("use_coupon", links.token, locale, fields)["action"],
    }
    bubble = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "contents": [label("label"), value("coupon_title", size="lg", weight="bold")],
        },
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {"type": "box", "layout": "vertical", "contents": [use]},
    }
    alt = text("messages.chat_coupon.bubble.alt", locale, **fields)
    return [{"type": "flex", "altText": alt[:400], "contents": bubble}]


def sms_text(template: Template, fields: dict[str, Any], links: Links, marketing: bool, sender: str) -> str:
    """The SMS: the text, its short link, and for marketing the sender's name before the text (【…】: an 050
    number names nobody, and 特定電子メール法 asks an advert to name its sender) and the opt-out link after it
    (the provider checks 660 characters). A service notice answers something the customer did and goes bare."""
    body = template.body(fields, sms=True)
    if marketing:
        body = text("delivery.sms_sender", template.locale, name=sender) + body
    parts = [body]
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
