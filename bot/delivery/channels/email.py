"""Email delivery: the message a customer receives and the mail server that carries it.

Every email names its sender (送信者の氏名又は名称, 住所, 苦情・問合せ先) in both its text and its HTML part;
every marketing email (特定電子メール) also carries an opt-out link and the one-click unsubscribe headers of
RFC 8058, and one without an opt-out link is refused before it is sent. The Message-ID comes from the ledger
row, so a resend after a crash is recognisably the same email. A worker keeps one SMTP connection for its
batch; what comes back is sent, retry later (4xx, connection lost, time-out), stop the channel (the server
refuses our credentials or our sender) or failed (5xx for this recipient or this message), with the SMTP code
as the reason, never the address or the text. Without an SMTP server (`make run`) mail goes to a local maildir.
"""

from __future__ import annotations

import html
import ipaddress
import mailbox
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import Self
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from bot.delivery.channels.result import Outcome, SendResult
from bot.platform.config import Settings
from bot.platform.i18n import text as locale_text

TOKYO = ZoneInfo("Asia/Tokyo")
# 7bit transfer encodings (base64 / quoted-printable): relays without 8BITMIME carry Japanese unchanged.
POLICY = SMTP_POLICY.clone(cte_type="7bit")
_KEY = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ENHANCED = re.compile(r"^\d\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class EmailMessage:
    """One email to one customer; `text` and `html` are the body only (html already escaped)."""

    to: str
    subject: str
    text: str
    html: str
    marketing: bool
    unsubscribe_url: str | None
    open_pixel_url: str | None
    message_key: str  # stable per ledger row
    locale: str = "ja"


def message_id(key: str, mail_from: str) -> str:
    """`<key@domain of the sender>`: the same for every attempt at one ledger row."""
    if not _KEY.fullmatch(key):
        raise ValueError("message_key must be a dot-atom (letters, digits, ._-…), without spaces or @")
    domain = parseaddr(mail_from)[1].rpartition("@")[2]
    if not domain:
        raise ValueError("MAIL_FROM has no address with a domain")
    return f"<{key}@{domain}>"


def compose(message: EmailMessage, settings: Settings, now: datetime | None = None) -> MimeMessage:
    """The MIME message: text and HTML alternatives, sender identification, opt-out for marketing."""
    if message.marketing and not message.unsubscribe_url:
        raise ValueError("a marketing email needs an unsubscribe_url (特定電子メール法)")
    opt_out = message.unsubscribe_url if message.marketing else None
    mime = MimeMessage(policy=POLICY)
    name, address = parseaddr(settings.mail_from)
    mime["From"] = Address(display_name=name, addr_spec=address)
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(TOKYO))
    mime["Message-ID"] = message_id(message.message_key, settings.mail_from)
    if opt_out:
        mime["List-Unsubscribe"] = f"<{opt_out}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.text + _text_footer(settings, message.locale, opt_out), charset="utf-8")
    body = message.html + _html_footer(settings, message.locale, opt_out) + _pixel(message.open_pixel_url)
    document = f'<!DOCTYPE html>\n<html lang="{html.escape(message.locale)}"><head><meta charset="utf-8">'
    mime.add_alternative(
        f"{document}</head>\n<body>\n{body}\n</body></html>\n", subtype="html", charset="utf-8"
    )
    return mime


def _footer_lines(settings: Settings, locale: str) -> list[str]:
    return [
        locale_text("email.footer.sender", locale, name=settings.sender_name),
        locale_text("email.footer.address", locale, address=settings.sender_postal_address),
        locale_text("email.footer.contact", locale, contact=settings.sender_contact),
    ]


def _text_footer(settings: Settings, locale: str, opt_out: str | None) -> str:
    lines = ["", "", "――――――――――――――――――――", *_footer_lines(settings, locale)]
    if opt_out:
        lines += ["", locale_text("email.footer.unsubscribe", locale), opt_out]
    return "\n".join(lines) + "\n"


def _html_footer(settings: Settings, locale: str, opt_out: str | None) -> str:
    lines = "<br>\n".join(html.escape(line) for line in _footer_lines(settings, locale))
    footer = f'\n<hr>\n<p style="font-size:12px;color:#666">\n{lines}\n</p>'
    if opt_out:
        sentence = html.escape(locale_text("email.footer.unsubscribe", locale))
        label = html.escape(locale_text("email.footer.unsubscribe_link", locale))
        footer += (
            f'\n<p style="font-size:12px">{sentence}<br>\n<a href="{html.escape(opt_out)}">{label}</a></p>'
        )
    return footer


def _pixel(url: str | None) -> str:
    if not url:
        return ""
    return f'\n<img src="{html.escape(url)}" width="1" height="1" alt="" style="display:block;border:0">'


class SmtpMailer:
    """One SMTP connection for many emails (a worker's batch), closed with `close()` or `with`.

    `smtp://user:pass@host:587` upgrades with STARTTLS when the server offers it (credentials go in clear
    only to a loopback relay); `smtps://user:pass@host:465` is TLS from the start; `smtp://host:25` without
    credentials is a local relay.
    """

    def __init__(
        self, settings: Settings, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        url = urlsplit(settings.smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("SMTP_URL must look like smtp://[user:pass@]host[:port] or smtps://…")
        self._settings = settings
        self._implicit_tls = url.scheme == "smtps"
        self._host = url.hostname
        self._port = url.port or (465 if self._implicit_tls else 25)
        self._user = unquote(url.username) if url.username else None
        self._password = unquote(url.password or "")
        self._timeout = timeout
        self._tls = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, message: EmailMessage) -> SendResult:
        mime = compose(message, self._settings)
        result = self._attempt(mime, message.to)
        if result is None:  # the server had dropped the connection we kept: reconnect once
            result = self._attempt(mime, message.to) or SendResult(Outcome.RETRY, reason="disconnected")
        return result

    def _attempt(self, mime: MimeMessage, to: str) -> SendResult | None:
        """The outcome, or None when a kept connection turned out to be dropped (worth one reconnect)."""
        reused = self._smtp is not None
        try:
            self._connection().send_message(mime, parseaddr(self._settings.mail_from)[1], [to])
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            cause = exc.__context__  # smtplib turns a time-out or a reset while reading into "disconnected"
            if isinstance(cause, TimeoutError):  # not a dropped connection: the server may have the email
                return SendResult(Outcome.RETRY, reason="TimeoutError")
            return None if reused else SendResult(Outcome.RETRY, reason="disconnected")
        except smtplib.SMTPException as exc:
            if self._smtp is not None and self._smtp.sock is None:  # smtplib hangs up after a 421
                self._smtp = None
                if reused and _code(exc) == 421:  # e.g. an idle time-out answered to our MAIL FROM
                    return None
            return _from_error(exc)
        except OSError as exc:  # refused, reset, time-out, TLS failure
            self._discard()
            dropped = reused and not isinstance(exc, TimeoutError)
            return None if dropped else SendResult(Outcome.RETRY, reason=type(exc).__name__)
        return SendResult(Outcome.SENT, provider_id=str(mime["Message-ID"]))

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        if self._implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._tls
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            smtp.ehlo()
            encrypted = self._implicit_tls
            if not encrypted and smtp.has_extn("starttls"):
                smtp.starttls(context=self._tls)
                smtp.ehlo()
                encrypted = True
            if self._user is not None:
                if not (encrypted or _loopback(self._host)):
                    raise _ChannelUnusable("starttls not offered")
                if not smtp.has_extn("auth"):
                    raise _ChannelUnusable("auth not offered")
                smtp.login(self._user, self._password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


class _ChannelUnusable(smtplib.SMTPException):
    """The server cannot take our login as configured: no STARTTLS for a password (it must not cross the
    network in clear), or no AUTH at all."""


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _from_error(exc: smtplib.SMTPException) -> SendResult:
    if isinstance(exc, _ChannelUnusable):
        return SendResult(Outcome.STOP_CHANNEL, reason=str(exc))
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # a non-ASCII address, and no SMTPUTF8 on the server
        return SendResult(Outcome.FAILED, reason="smtputf8 not supported")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (None, b""))
        return _by_code(code, reply, permanent=Outcome.FAILED)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, exc.smtp_error, permanent=Outcome.STOP_CHANNEL)
    # MAIL FROM refused or no greeting: the server refuses our mail altogether, not this one email
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPConnectError):
        return _by_code(exc.smtp_code, exc.smtp_error, permanent=Outcome.STOP_CHANNEL)
    if isinstance(exc, smtplib.SMTPResponseException):  # data refused, HELO refused, …
        permanent = Outcome.STOP_CHANNEL if exc.smtp_code == 530 else Outcome.FAILED  # 530: auth required
        return _by_code(exc.smtp_code, exc.smtp_error, permanent=permanent)
    return SendResult(Outcome.RETRY, reason=type(exc).__name__)


def _code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next(iter(exc.recipients.values()), (None, b""))[0]
    return exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else None


def _by_code(code: int | None, reply: bytes | str, permanent: Outcome) -> SendResult:
    """4xx: try again later; 5xx: `permanent`. The reason is the code and the enhanced status code only."""
    if code is None or code < 0:
        return SendResult(Outcome.RETRY, reason="no reply")
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    enhanced = _ENHANCED.match(text.strip())
    reason = f"{code} {enhanced.group()}" if enhanced else str(code)
    return SendResult(Outcome.RETRY if 400 <= code < 500 else permanent, reason=reason)


class MaildirMailer:
    """Mail for `make run`: every email lands in a maildir under DATA_DIR/mail instead of a mail server."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(settings.data_dir / "mail", create=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._box.close()

    def send(self, message: EmailMessage) -> SendResult:
        mime = compose(message, self._settings)
        self._box.add(mime)
        return SendResult(Outcome.SENT, provider_id=str(mime["Message-ID"]))


def open_mailer(settings: Settings, timeout: float = 10.0) -> SmtpMailer | MaildirMailer:
    """The configured SMTP server, or the local maildir when SMTP_URL is empty."""
    return SmtpMailer(settings, timeout=timeout) if settings.smtp_url else MaildirMailer(settings)
