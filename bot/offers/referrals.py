"""Friend referral (友だち紹介, #19): each customer's own referral code (紹介コード), the friend who comes with it,
and the referrer's credit once that friend becomes a policyholder.

- A code is made once per customer, six characters from an alphabet without look-alikes (no 0/O, 1/I), and
  typed back by the friend in any width or case (ｋ７ｑ-ｘ２ｐ == K7QX2P).
- A friend is referred once (one referrer per referee, never oneself) and only while not yet a policyholder:
  a code entered by a customer who has already contracted could not be the reason for the contract.
- Recording a referral is #19's goal (友だち紹介による新規入会): the referrer's running #19 enrollment ends as
  converted at once, with the decision in its explain trace, so no "the campaign ends tomorrow" reminder
  follows a referral that has been made.
- `credit_referrals`, run by the periodic tick, credits each referral whose friend has contracted
  (`contract_summaries.contracted`) exactly once and tells the referrer by a chat push through the ledger.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.delivery.outbox import queue_message
from flows.dsl import Outcome
from flows.engine import Status
from flows.referral_campaign import ID as REFERRAL_CAMPAIGN
from models import (
    ContractSummary,
    Delivery,
    Enrollment,
    EnrollmentStatus,
    Referral,
    ReferralCode,
    TraceEntry,
    utcnow,
)

log = logging.getLogger(__name__)
CODES = ReferralCode.__table__
REFERRALS = Referral.__table__
CONTRACTS = ContractSummary.__table__
DELIVERIES = Delivery.__table__
ENROLLMENTS = Enrollment.__table__
TRACE = TraceEntry.__table__
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied by hand without doubt
CODE_LENGTH = 6  # 32⁶ ≈ 10⁹ codes
CREDIT_BATCH = 500
CREDITED_TEMPLATE = "chat_campaign.referral_credited"


class Entry(StrEnum):
    """What became of a code a friend entered."""

    ACCEPTED = "accepted"
    UNKNOWN = "unknown"  # no customer has this code
    OWN = "own"  # the customer's own code
    ALREADY = "already"  # the friend already came with a code
    NOT_ELIGIBLE = "not_eligible"  # already a policyholder


def normalise_code(text: str) -> str:
    """A typed code as stored: full-width folded, upper case, spaces and hyphens dropped."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch not in " -_\u3000")


def code_for(connection: Connection, customer_id: int, now: datetime) -> str:
    """The customer's referral code, made on first request (two taps at once still make one)."""
    for _ in range(5):
        found = connection.execute(select(CODES.c.code).where(CODES.c.customer_id == customer_id)).scalar()
        if found is not None:
            return found
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(  # a taken code or a concurrent first request: nothing written, look again
            dialect.insert(CODES)
            .values(customer_id=customer_id, code=code, created_at=now)
            .on_conflict_do_nothing()
        )
    raise RuntimeError(f"customer {customer_id}: no free referral code after 5 draws")


def record_referral(connection: Connection, referee_id: int, typed: str, now: datetime) -> Entry:
    """The friend `referee_id` came with the code `typed`: record who referred them, if that may count."""
    code = normalise_code(typed)
    referrer_id = connection.execute(select(CODES.c.customer_id).where(CODES.c.code == code)).scalar()
    if referrer_id is None:
        return Entry.UNKNOWN
    if referrer_id == referee_id:
        return Entry.OWN
    if connection.execute(select(REFERRALS.c.id).where(REFERRALS.c.referee_id == referee_id)).first():
        return Entry.ALREADY
    contracted = connection.execute(
        select(CONTRACTS.c.contracted).where(CONTRACTS.c.customer_id == referee_id)
    ).scalar()
    if contracted:
        return Entry.NOT_ELIGIBLE
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    written = connection.execute(
        dialect.insert(REFERRALS)
        .values(referrer_id=referrer_id, referee_id=referee_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["referee_id"])
    ).rowcount
    if not written:  # the same friend's second message, processed at the same moment
        return Entry.ALREADY
    converted = convert_referral_campaign(connection, referrer_id, now)
    log.info(
        "referral recorded referrer=%s referee=%s campaign_converted=%s", referrer_id, referee_id, converted
    )
    return Entry.ACCEPTED


def convert_referral_campaign(connection: Connection, referrer_id: int, now: datetime) -> int:
    """#19's goal reached: the referrer's running #19 enrollment ends as converted; how many ended."""
    statement = select(ENROLLMENTS.c.id, ENROLLMENTS.c.state, ENROLLMENTS.c.wake_token).where(
        ENROLLMENTS.c.scenario_id == REFERRAL_CAMPAIGN,
        ENROLLMENTS.c.customer_id == referrer_id,
        ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE,
    )
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update()  # the runner skips it meanwhile, or we wait for its batch
    ended = 0
    for row in connection.execute(statement).all():
        state = dict(row.state or {})
        if state:
            state.update(step=None, status=str(Status.DONE), outcome=str(Outcome.CONVERTED), wake_at=None)
        changed = connection.execute(
            update(ENROLLMENTS)
            .where(ENROLLMENTS.c.id == row.id, ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE)
            .values(
                status=EnrollmentStatus.DONE,
                outcome=str(Outcome.CONVERTED),
                wake_at=None,
                wake_token=row.wake_token + 1,  # a wake-up already queued for it is stale
                state=state or None,
                updated_at=utcnow(),
            )
        ).rowcount
        if not changed:
            continue
        base = {
            "enrollment_id": row.id,
            "customer_id": referrer_id,
            "scenario_id": REFERRAL_CAMPAIGN,
            "at": now,
        }
        connection.execute(
            insert(TRACE),
            [
                base | {"step": None, "code": "goal_reached", "details": {"reason": "referral"}},
                base | {"step": None, "code": "exited", "details": {"outcome": str(Outcome.CONVERTED)}},
            ],
        )
        ended += 1
    return ended


def credit_referrals(connection: Connection, now: datetime) -> int:
    """Credit every referral whose friend has become a policyholder, once, and tell the referrer in the chat;
    how many were credited. Safe to run from two ticks at once: each referral is claimed by one update."""
    due = connection.execute(
        select(REFERRALS.c.id, REFERRALS.c.referrer_id)
        .join(CONTRACTS, CONTRACTS.c.customer_id == REFERRALS.c.referee_id)
        .where(REFERRALS.c.credited_at.is_(None), CONTRACTS.c.contracted.is_(true()))
        .order_by(REFERRALS.c.id)
        .limit(CREDIT_BATCH)
    ).all()
    credited = 0
    for referral_id, referrer_id in due:
        claimed = connection.execute(
            update(REFERRALS)
            .where(REFERRALS.c.id == referral_id, REFERRALS.c.credited_at.is_(None))
            .values(credited_at=now)
        ).rowcount
        if not claimed:
            continue
        push(connection, referrer_id, CREDITED_TEMPLATE, f"referral:{referral_id}", now)
        log.info("referral %s credited to customer %s", referral_id, referrer_id)
        credited += 1
    return credited


def follow_link(connection: Connection, prospect_id: int, customer_id: int) -> None:
    """ID連携 moved a LINE address from the friend-add prospect to the insured customer: the prospect's referral
    records follow it, so that the customer's contract (reported for the customer, not the prospect) credits a
    referral made before the link, and a referrer's thanks reaches the LINE address. Call from the link."""
    if prospect_id == customer_id:
        return
    has_referrer = select(REFERRALS.c.id).where(REFERRALS.c.referee_id == customer_id)
    contracted = select(CONTRACTS.c.contracted).where(CONTRACTS.c.customer_id == customer_id)
    if connection.execute(has_referrer).first() is None and not connection.execute(contracted).scalar():
        connection.execute(  # a policyholder already could not have been won by the referral
            update(REFERRALS)
            .where(REFERRALS.c.referee_id == prospect_id, REFERRALS.c.referrer_id != customer_id)
            .values(referee_id=customer_id)
        )
    connection.execute(
        update(REFERRALS)
        .where(REFERRALS.c.referrer_id == prospect_id, REFERRALS.c.referee_id != customer_id)
        .values(referrer_id=customer_id)
    )
    if connection.execute(select(CODES.c.code).where(CODES.c.customer_id == customer_id)).first() is None:
        connection.execute(
            update(CODES).where(CODES.c.customer_id == prospect_id).values(customer_id=customer_id)
        )


def push(connection: Connection, customer_id: int, template: str, step: str, now: datetime) -> int:
    """A chat message that answers no event (no reply token): a ledger row sent by push at the next dispatch;
    transactional: the customer's own reward, not an advertisement."""
    return queue_message(connection, customer_id, template, step, now)
