"""The four channels as a send job sees them: each renders a batch of ledger rows for its medium and sends it
over one kept-alive connection, answering one `SendResult` per row, in order.

LINE pushes personalised rows several at a time, each with the retry key of its row, and sends a broadcast's
identical content by multicast, one request per group of up to 500 (the group's own retry key). SMS, email and
app push go one message at a time over their provider's connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from bot.delivery.channels.email import EmailMessage, open_mailer
from bot.delivery.channels.line import LineMessage, LinePusher, group_retry_key, retry_key
from bot.delivery.channels.push import PushNotification, open_push_sender
from bot.delivery.channels.result import SendResult
from bot.delivery.channels.sms import SmsMessage, open_sms_provider
from bot.delivery.content import Links, Template, email_parts, line_messages, sms_text
from bot.delivery.windows import fresh_reply_token
from bot.platform.config import Settings
from flows.dsl import Channel, Purpose
from models import utcnow


@dataclass(frozen=True)
class Outgoing:
    """One ledger row ready to go: the row, where to, and what to fill its template with."""

    row: Any
    address: str
    fields: dict[str, Any]
    template: Template
    links: Links

    @property
    def marketing(self) -> bool:
        return self.row.purpose == Purpose.MARKETING


class Sender(Protocol):
    def send(self, items: list[Outgoing]) -> list[SendResult]: ...


class LineSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pusher = LinePusher(
            settings.line_api_base_url,
            settings.line_channel_access_token,
            (settings.line_connect_timeout, settings.line_read_timeout),
            settings.line_push_concurrency,
        )

    def close(self) -> None:
        self.pusher.close()

    def send(self, items: list[Outgoing]) -> list[SendResult]:
        now = utcnow()
        singles = [item for item in items if not item.row.batch_key]
        answers = [  # answers in a chat go by reply while the token is fresh; otherwise by push
            LineMessage(
                item.address,
                line_messages(item.template, item.fields, item.links, item.marketing, self.settings),
                retry_key(item.row.id, item.row.created_at),
                fresh_reply_token(item.row, now),
            )
            for item in singles
        ]
        results = {
            item.row.id: result
            for item, result in zip(singles, self.pusher.reply_or_push(answers), strict=True)
        }
        groups: dict[str, list[Outgoing]] = {}
        for item in items:
            if item.row.batch_key:
                groups.setdefault(_group_key(item, self.settings), []).append(item)
        for batch_key, members in groups.items():
            first = members[0]  # identical content: no per-recipient link, fields shared
            shared = Links(first.links.base, None)
            messages = line_messages(first.template, first.fields, shared, first.marketing, self.settings)
            result = self.pusher.multicast([m.address for m in members], messages, group_retry_key(batch_key))
            results.update({m.row.id: result for m in members})
        return [results[item.row.id] for item in items]


def _group_key(item: Outgoing, settings: Settings) -> str:
    """One multicast per broadcast group and language: customers who read English get the English text (the
    default language keeps the group's own key, the one its earlier attempts had)."""
    locale = item.template.locale
    batch_key = str(item.row.batch_key)
    return batch_key if locale == settings.default_locale else f"{batch_key}:{locale}"


class SmsSender:
    def __init__(self, settings: Settings) -> None:
        self.provider = open_sms_provider(settings)
        self.sender_name = settings.sms_sender_label

    def close(self) -> None:
        self.provider.close()

    def send(self, items: list[Outgoing]) -> list[SendResult]:
        return [
            self.provider.send(
                SmsMessage(
                    to=item.address,
                    text=sms_text(item.template, item.fields, item.links, item.marketing, self.sender_name),
                    reference=retry_key(item.row.id, item.row.created_at),
                )
            )
            for item in items
        ]


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.mailer = open_mailer(settings)

    def close(self) -> None:
        self.mailer.close()

    def send(self, items: list[Outgoing]) -> list[SendResult]:
        out = []
        for item in items:
            subject, plain, markup = email_parts(item.template, item.fields, item.links)
            message = EmailMessage(
                to=item.address,
                subject=subject,
                text=plain,
                html=markup,
                marketing=item.marketing,
                unsubscribe_url=item.links.opt_out if item.marketing else None,
                open_pixel_url=item.links.pixel,
                message_key=retry_key(item.row.id, item.row.created_at),
                locale=item.template.locale,
            )
            out.append(self.mailer.send(message))
        return out


class PushSender:
    def __init__(self, settings: Settings) -> None:
        self.sender = open_push_sender(settings)

    def close(self) -> None:
        self.sender.close()

    def send(self, items: list[Outgoing]) -> list[SendResult]:
        out = []
        for item in items:
            subject, plain, _ = email_parts(item.template, item.fields, Links(item.links.base, None))
            link = item.links.click(item.template.link) if item.template.link else None
            out.append(self.sender.send(PushNotification(item.address, subject, plain, link or None)))
        return out


_SENDERS = {
    Channel.LINE: LineSender,
    Channel.SMS: SmsSender,
    Channel.EMAIL: EmailSender,
    Channel.PUSH: PushSender,
}


@contextmanager
def open_sender(channel: Channel, settings: Settings) -> Iterator[Sender]:
    sender = _SENDERS[channel](settings)
    try:
        yield sender
    finally:
        sender.close()
