"""ID連携 (account link): tying a LINE user to the insurer's customer record, LINE's way (spec §2).

The chat asks LINE for a link token and sends the customer to our login page (bot/chat/link_login.py); a customer who
proves who they are (顧客ID and the phone or email on file, then the one-time code sent there) gets a
single-use nonce and goes on to LINE, which checks that the visitor is the LINE user the token was issued for
and sends an `accountLink` event with the nonce. Consuming the nonce (once, before it expires, from that LINE
user) binds the LINE address to that customer, unless the customer is linked to someone else. Unlinking lives only
here (LINE has no unlink API): the LINE address goes back to a prospect record of its own.

Nonces are stored as SHA-256 digests: the table never holds a value that could complete a link.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import quote, urlencode

import urllib3
from sqlalchemy import Connection, insert, select, update
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.chat.merge import merge_customers
from bot.delivery.consent import Evidence, consent_row
from bot.imports import values
from bot.platform.config import Settings
from flows.dsl import Channel, Scenario
from models import ConsentEvent, Customer, CustomerChannels, LineMembership, LinkNonce

log = logging.getLogger(__name__)

CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
MEMBERSHIPS = LineMembership.__table__
NONCES = LinkNonce.__table__
NONCE_LIFETIME = timedelta(minutes=10)  # as long as LINE's link token
NONCE_BYTES = 24  # 192 bits; LINE asks for at least 128, as URL-safe Base64 of 10–255 characters
LINK_SOURCE = "line:account_link"
UNLINK_SOURCE = "line:account_unlink"
NO_EVIDENCE = Evidence()


@cache
def _pool() -> urllib3.PoolManager:
    return urllib3.PoolManager()


def issue_link_token(settings: Settings, line_user_id: str) -> str | None:
    """LINE's link token for this user (valid 10 minutes, single use), or None when LINE did not give one
    (an error, a time-out, or a user who is not a friend): the chat then asks the customer to try later."""
    url = f"{settings.line_api_base_url}/v2/bot/user/{quote(line_user_id, safe='')}/linkToken"
    timeout = urllib3.Timeout(connect=settings.line_connect_timeout, read=settings.line_read_timeout)
    try:
        response = _pool().request(
            "POST",
            url,
            headers={"Authorization": f"Bearer {settings.line_channel_access_token}"},
            timeout=timeout,
            retries=False,
        )
    except (Urllib3Error, OSError) as exc:
        log.warning("link token not issued (%s)", type(exc).__name__)
        return None
    if response.status != 200:
        log.warning("link token not issued: LINE answered %s", response.status)
        return None
    try:
        token = json.loads(response.data)["linkToken"]
    except (ValueError, KeyError, TypeError):
        log.warning("link token not issued: LINE's answer had no token")
        return None
    return token if isinstance(token, str) and token else None


def login_url(settings: Settings, link_token: str) -> str:
    """Our login page for this link token (the chat's `login` button)."""
    return f"{settings.public_base_url}/link?{urlencode({'linkToken': link_token})}"


def completion_url(settings: Settings, link_token: str, nonce: str) -> str:
    """LINE's account-link endpoint, where the logged-in customer goes next."""
    return f"{settings.line_account_link_url}?{urlencode({'linkToken': link_token, 'nonce': nonce})}"


def find_customer(connection: Connection, customer_code: str, contact: str) -> int | None:
    """The customer with this 顧客ID whose mobile phone or email on file is `contact` (normalised as the
    importer normalises them), or None. Which of the two did not match is never told."""
    code = values.normalise(customer_code)
    contact = values.normalise(contact)
    if not code or len(code) > 64 or not contact or len(contact) > 254:
        return None
    row = connection.execute(
        select(CUSTOMERS.c.id, CHANNELS.c.email_main, CHANNELS.c.email_sub, CHANNELS.c.sms_phone)
        .join(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id)
        .where(CUSTOMERS.c.customer_code == code)
    ).first()
    if row is None:
        return None
    try:
        if "@" in contact:
            given = values.email(contact).lower()
            return row.id if given in {e.lower() for e in (row.email_main, row.email_sub) if e} else None
        return row.id if row.sms_phone and values.phone(contact) == row.sms_phone else None
    except ValueError:
        return None


def new_nonce(connection: Connection, customer_id: int, line_user_id: str, now: datetime) -> str:
    """A single-use nonce bound to the customer who proved who they are and to the LINE user whose link token
    they used; only its digest is stored."""
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    connection.execute(
        insert(NONCES).values(
            nonce_hash=_digest(nonce),
            customer_id=customer_id,
            line_user_id=line_user_id,
            created_at=now,
            expires_at=now + NONCE_LIFETIME,
        )
    )
    return nonce


def consume_nonce(
    connection: Connection, nonce: str, line_user_id: str, at: datetime, now: datetime
) -> int | None:
    """The customer a nonce was issued for, marking it used, in one statement: a second event with the same
    nonce, an unknown one, one that expired before `at` (LINE's event time) or one issued for another LINE
    user's link token gets None."""
    if not nonce or len(nonce) > 255:
        return None
    return connection.execute(
        update(NONCES)
        .where(
            NONCES.c.nonce_hash == _digest(nonce),
            NONCES.c.used_at.is_(None),
            NONCES.c.expires_at > at,
            NONCES.c.line_user_id == line_user_id,
        )
        .values(used_at=now)
        .returning(NONCES.c.customer_id)
    ).scalar()


def bind_conflict(connection: Connection, line_user_id: str, customer_id: int) -> str | None:
    """Why binding this LINE user to this customer would silently take something from someone, or None:
    the customer's record holds another LINE user (a link made on another phone, or the insurer's own data),
    or this LINE user is linked to another customer already. Staff sort those out; the service never does."""
    held = connection.execute(
        select(CHANNELS.c.line_user_id).where(CHANNELS.c.customer_id == customer_id)
    ).scalar()
    if held is not None and held != line_user_id:
        return "customer_has_other_line_user"
    other = connection.execute(
        select(CHANNELS.c.customer_id).where(
            CHANNELS.c.line_user_id == line_user_id,
            CHANNELS.c.line_linked.is_(True),
            CHANNELS.c.customer_id != customer_id,
        )
    ).first()
    return "line_user_linked_to_another_customer" if other is not None else None


def is_linked(connection: Connection, line_user_id: str) -> bool:
    linked = connection.execute(
        select(CHANNELS.c.line_linked).where(CHANNELS.c.line_user_id == line_user_id)
    ).scalar()
    return linked is True


def link_pending(connection: Connection, line_user_id: str, customer_id: int) -> bool:
    """Whether linking is what this LINE user still has to do: not linked, and either unknown to the insurer
    (a prospect without 顧客ID) or a LINE member whose ID連携フラグ is not set (#21)."""
    if is_linked(connection, line_user_id):
        return False
    code = connection.execute(select(CUSTOMERS.c.customer_code).where(CUSTOMERS.c.id == customer_id)).scalar()
    member = connection.execute(
        select(MEMBERSHIPS.c.linked).where(MEMBERSHIPS.c.line_user_id == line_user_id)
    ).first()
    return code is None or (member is not None and member.linked is not True)


def bind(
    connection: Connection,
    line_user_id: str,
    customer_id: int,
    at: datetime,
    now: datetime,
    evidence: Evidence = NO_EVIDENCE,
    scenarios: Mapping[str, Scenario] | None = None,
) -> None:
    """The LINE address (and its permission) moves to the customer, who is now linked (#21's goal).

    The prospect made at friend-add keeps its record and history, without the address: a LINE user is one
    customer, so what the prospect did moves with it (`merge_customers`: requests, bookings, coupons, chats,
    the journeys of `scenarios` it started). Callers check `bind_conflict` first: a linked customer is never
    re-bound here."""
    holder = connection.execute(
        select(CHANNELS.c.customer_id, CHANNELS.c.line_permitted).where(
            CHANNELS.c.line_user_id == line_user_id
        )
    ).first()
    permitted = holder.line_permitted if holder is not None else None
    if holder is not None and holder.customer_id != customer_id:
        connection.execute(
            update(CHANNELS)
            .where(CHANNELS.c.customer_id == holder.customer_id)
            .values(
                line_user_id=None, line_permitted=None, line_linked=False, line_linked_at=None, updated_at=now
            )
        )
        merge_customers(connection, holder.customer_id, customer_id, now, scenarios)
    before = connection.execute(
        select(CHANNELS.c.line_permitted).where(CHANNELS.c.customer_id == customer_id)
    ).first()
    # the link's date: the channel reach chart counts a linked ID from it (bot/staff/reach.py)
    moved = {"line_user_id": line_user_id, "line_linked": True, "line_linked_at": at, "updated_at": now}
    if permitted is not None:
        moved["line_permitted"] = permitted
    if before is None:
        connection.execute(insert(CHANNELS).values(customer_id=customer_id, **moved))
    else:
        connection.execute(update(CHANNELS).where(CHANNELS.c.customer_id == customer_id).values(**moved))
    if permitted is not None and (before is None or before.line_permitted != permitted):
        _consent(connection, customer_id, permitted, LINK_SOURCE, at, evidence)
    _membership(connection, line_user_id, linked=True, now=now)


def unbind(
    connection: Connection, line_user_id: str, at: datetime, now: datetime, evidence: Evidence = NO_EVIDENCE
) -> int | None:
    """Undo the link: the customer keeps their record without the LINE address, which goes to a new prospect
    (with the permission it had); returns that prospect, or None when the user was not linked."""
    linked = connection.execute(
        select(CHANNELS.c.customer_id, CHANNELS.c.line_permitted).where(
            CHANNELS.c.line_user_id == line_user_id, CHANNELS.c.line_linked.is_(True)
        )
    ).first()
    if linked is None:
        return None
    return _to_prospect(
        connection, linked.customer_id, line_user_id, linked.line_permitted, at, now, evidence
    )


def release_line_user(
    connection: Connection, customer_id: int, at: datetime, now: datetime, evidence: Evidence = NO_EVIDENCE
) -> int | None:
    """Staff take the LINE user off a customer's record, linked or only on file (the customer lost the phone
    that holds the old LINE account, and a new one may link after the check by phone); as `unbind`, the LINE
    address goes to a prospect of its own. None when the record holds no LINE user."""
    held = connection.execute(
        select(CHANNELS.c.line_user_id, CHANNELS.c.line_permitted).where(
            CHANNELS.c.customer_id == customer_id
        )
    ).first()
    if held is None or held.line_user_id is None:
        return None
    return _to_prospect(connection, customer_id, held.line_user_id, held.line_permitted, at, now, evidence)


def _to_prospect(
    connection: Connection,
    customer_id: int,
    line_user_id: str,
    permitted: bool | None,
    at: datetime,
    now: datetime,
    evidence: Evidence,
) -> int:
    connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == customer_id)
        .values(
            line_user_id=None, line_permitted=None, line_linked=False, line_linked_at=None, updated_at=now
        )
    )
    _membership(connection, line_user_id, linked=False, now=now)
    prospect = connection.execute(
        insert(CUSTOMERS).values(created_at=now, updated_at=now).returning(CUSTOMERS.c.id)
    ).scalar_one()
    connection.execute(
        insert(CHANNELS).values(
            customer_id=prospect, line_user_id=line_user_id, line_permitted=permitted, updated_at=now
        )
    )
    if permitted is not None:
        _consent(connection, prospect, permitted, UNLINK_SOURCE, at, evidence)
    return prospect


def _membership(connection: Connection, line_user_id: str, linked: bool, now: datetime) -> None:
    """LINE ID連携フラグ of the LINE member (F7), when the insurer reported one for this user."""
    connection.execute(
        update(MEMBERSHIPS)
        .where(MEMBERSHIPS.c.line_user_id == line_user_id)
        .values(linked=linked, updated_at=now)
    )


def _consent(
    connection: Connection, customer_id: int, granted: bool, source: str, at: datetime, evidence: Evidence
) -> None:
    connection.execute(
        insert(CONSENT).values(consent_row(customer_id, Channel.LINE, granted, at, source, evidence))
    )


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()
