"""The ID連携 login: who may start it, how the customer proves who they are, and the limits an attacker meets.

1. Only link tokens this service asked LINE for are taken (`remember_link_token` stores the digest with the
   LINE user; single use, 10 minutes, as LINE's own).
2. Knowing a 顧客ID and a phone number is not enough: when they match a customer, a one-time code (認証コード,
   six digits, five minutes, five tries) goes to that phone by SMS or that email on file, through the delivery
   ledger like every message. Possession of the phone or mailbox is what links.
3. The page answers a match and a miss alike (a code row is written either way, the miss's code is sent to
   nobody), so the form never confirms whose details an attacker guessed right.
4. Every attempt is counted before it is compared (bot/platform/login_limits.py), per link token, LINE user, typed
   顧客ID, typed contact, client address and all together; every refusal is a `security_events` row. Keys are
   keyed digests: Redis never holds a phone number, 顧客ID or address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import Connection, func, insert, select, update

from bot.delivery.outbox import queue_message
from bot.imports import values
from bot.platform.config import Settings
from bot.platform.login_limits import Attempt, Limit, subject_key, take
from flows.dsl import Channel
from models import LinkToken, SecurityEvent, VerificationCode

TOKENS = LinkToken.__table__
CODES = VerificationCode.__table__
EVENTS = SecurityEvent.__table__

TOKEN_LIFETIME = timedelta(minutes=10)  # LINE's link token lasts 10 minutes
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_TRIES = 5  # wrong codes before a code is dead
CODE_TEMPLATE = "chat_link.code"
WINDOW = 600  # the global ceiling's window (seconds)

# Policy: the limits as small values (key prefix, most, seconds); each is counted per keyed digest of its subject.
# logins (顧客ID + contact) …
LOGIN_PER_TOKEN = Limit("link:login:token", 5, 600)
LOGIN_PER_LINE_USER = Limit("link:login:line_user", 10, 3600)  # link tokens are cheap: the LINE user is not
LOGIN_PER_CUSTOMER_CODE = Limit("link:login:customer_code", 10, 3600)  # one 顧客ID tried with many contacts
LOGIN_PER_CONTACT = Limit("link:login:contact", 5, 3600)  # one phone sprayed over many 顧客IDs
LOGIN_PER_CLIENT = Limit("link:login:client", 20, 3600)
# … codes sent (an SMS costs money and must not become a way to bomb a customer's phone) …
SENDS_PER_CUSTOMER = Limit("link:sends:customer", 3, 3600)
# … and codes typed
CODE_PER_TOKEN = Limit("link:code:token", 10, 600)
CODE_PER_LINE_USER = Limit("link:code:line_user", 20, 3600)
CODE_PER_CLIENT = Limit("link:code:client", 30, 3600)


@dataclass(frozen=True)
class LinkStart:
    """A link token we issued, not used and not expired: who it was issued to."""

    token_hash: str
    line_user_id: str


@dataclass(frozen=True)
class Outcome:
    """What a step of the login came to: `refused` names why (a limit, a wrong code …); `customer_id` is who
    proved themselves; `delivery_id` is the code's ledger row to hand to the send workers."""

    refused: str | None = None
    customer_id: int | None = None
    delivery_id: int | None = None


def token_digest(link_token: str) -> str:
    return hashlib.sha256(link_token.encode()).hexdigest()


def remember_link_token(connection: Connection, link_token: str, line_user_id: str, now: datetime) -> None:
    """The link token LINE gave us for this user: the only kind the login page takes."""
    connection.execute(
        insert(TOKENS).values(
            token_hash=token_digest(link_token),
            line_user_id=line_user_id,
            issued_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )


def find_link_start(connection: Connection, link_token: str, now: datetime) -> LinkStart | None:
    row = connection.execute(
        select(TOKENS.c.token_hash, TOKENS.c.line_user_id).where(
            TOKENS.c.token_hash == token_digest(link_token),
            TOKENS.c.used_at.is_(None),
            TOKENS.c.expires_at > now,
        )
    ).first()
    return LinkStart(row.token_hash, row.line_user_id) if row is not None else None


def use_link_token(connection: Connection, start: LinkStart, now: datetime) -> bool:
    """Mark the link token used, once: False when another request took it first."""
    done = connection.execute(
        update(TOKENS)
        .where(TOKENS.c.token_hash == start.token_hash, TOKENS.c.used_at.is_(None))
        .values(used_at=now)
    )
    return done.rowcount == 1


def client_key(settings: Settings, address: str | None) -> str:
    return subject_key(settings.derived_key("client-address"), address or "unknown")


def login_limits(
    redis: Redis, settings: Settings, start: LinkStart, client: str, customer_code: str, contact: str
) -> Attempt:
    """Count a login attempt against every limit in turn; refused at the first one exceeded."""
    key = settings.derived_key("link-limits")
    return take(
        redis,
        [
            _per(LOGIN_PER_TOKEN, start.token_hash[:32]),
            _per(LOGIN_PER_LINE_USER, subject_key(key, start.line_user_id)),
            _per(LOGIN_PER_CUSTOMER_CODE, subject_key(key, values.normalise(customer_code).upper())),
            _per(LOGIN_PER_CONTACT, subject_key(key, _contact_key(contact))),
            _per(LOGIN_PER_CLIENT, client),
            Limit("link:login:global", settings.link_login_global_limit, WINDOW),
        ],
    )


def code_limits(redis: Redis, settings: Settings, start: LinkStart, client: str) -> Attempt:
    """Count a typed code against every limit in turn; refused at the first one exceeded."""
    key = settings.derived_key("link-limits")
    return take(
        redis,
        [
            _per(CODE_PER_TOKEN, start.token_hash[:32]),
            _per(CODE_PER_LINE_USER, subject_key(key, start.line_user_id)),
            _per(CODE_PER_CLIENT, client),
            Limit("link:code:global", settings.link_login_global_limit, WINDOW),
        ],
    )


def refusal_reason(attempt: Attempt) -> str:
    """`limit:<name>` of the limit that refused an attempt (its key without scope and subject)."""
    return "limit:" + (attempt.refused_by or "").split(":")[2] if attempt.refused_by else "limit"


def _per(limit: Limit, subject: str) -> Limit:
    return replace(limit, key=f"{limit.key}:{subject}")


def send_code(
    connection: Connection,
    redis: Redis,
    settings: Settings,
    start: LinkStart,
    customer_id: int | None,
    contact: str,
    now: datetime,
) -> Outcome:
    """A new code for this login, sent to the contact on file when the customer matched (and has not had too
    many codes this hour); otherwise a code row nobody receives. Earlier codes of the login stop working."""
    connection.execute(
        update(CODES)
        .where(CODES.c.token_hash == start.token_hash, CODES.c.used_at.is_(None))
        .values(used_at=now)
    )
    channel = Channel.EMAIL if "@" in contact else Channel.SMS
    refused = None
    if customer_id is not None:
        key = settings.derived_key("link-limits")
        if not take(redis, [_per(SENDS_PER_CUSTOMER, subject_key(key, str(customer_id)))]).allowed:
            refused = "limit:customer_sends"
    sent = customer_id is not None and refused is None
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row_id = connection.execute(
        insert(CODES)
        .values(
            token_hash=start.token_hash,
            customer_id=customer_id if sent else None,
            channel=str(channel) if sent else None,
            # a code nobody was sent can never be right: its digest is of nothing a six-digit code gives
            code_hash=_code_digest(settings, code) if sent else secrets.token_hex(32),
            tries=0,
            created_at=now,
            expires_at=min(now + CODE_LIFETIME, now + TOKEN_LIFETIME),
        )
        .returning(CODES.c.id)
    ).scalar_one()
    if not sent:
        return Outcome(refused=refused or "no_match")
    delivery_id = queue_message(
        connection,
        customer_id,
        CODE_TEMPLATE,
        f"link_code:{row_id}",
        now,
        channel=channel,
        code=code,
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )
    return Outcome(customer_id=customer_id, delivery_id=delivery_id)


def check_code(
    connection: Connection, settings: Settings, start: LinkStart, typed: str, now: datetime
) -> Outcome:
    """The customer behind the login's newest live code when `typed` is it; the try is counted first, in the
    same statement that checks the code still has tries left, so parallel guesses cannot exceed CODE_TRIES."""
    typed = values.normalise(typed).replace(" ", "").replace("-", "")
    newest = (
        select(func.max(CODES.c.id))
        .where(CODES.c.token_hash == start.token_hash, CODES.c.used_at.is_(None), CODES.c.expires_at > now)
        .scalar_subquery()
    )
    live = connection.execute(
        update(CODES)
        .where(CODES.c.id == newest, CODES.c.tries < CODE_TRIES)
        .values(tries=CODES.c.tries + 1)
        .returning(CODES.c.id, CODES.c.customer_id, CODES.c.code_hash)
    ).first()
    if live is None:
        return Outcome(refused="no_live_code")
    if live.customer_id is None or not hmac.compare_digest(_code_digest(settings, typed), live.code_hash):
        return Outcome(refused="wrong_code")
    used = connection.execute(
        update(CODES).where(CODES.c.id == live.id, CODES.c.used_at.is_(None)).values(used_at=now)
    )
    if used.rowcount != 1:  # a parallel request with the same code took it
        return Outcome(refused="no_live_code")
    return Outcome(customer_id=live.customer_id)


def record_refusal(
    connection: Connection,
    kind: str,
    reason: str,
    now: datetime,
    customer_id: int | None = None,
    subject: str | None = None,
) -> None:
    """One row of the security log; nothing the visitor typed is kept."""
    connection.execute(
        insert(EVENTS).values(at=now, kind=kind, reason=reason[:48], customer_id=customer_id, subject=subject)
    )


def _contact_key(contact: str) -> str:
    """The contact as the importer stores it, so 090-1234-5678 and ０９０１２３４５６７８ count as one."""
    typed = values.normalise(contact)
    try:
        return values.email(typed).lower() if "@" in typed else values.phone(typed) or typed
    except ValueError:
        return typed.lower()


def _code_digest(settings: Settings, code: str) -> str:
    return hmac.new(settings.derived_key("link-code").encode(), code.encode(), hashlib.sha256).hexdigest()
