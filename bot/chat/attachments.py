"""Photos, videos and files customers send with a service-desk request (事故の写真など): recorded when the message
arrives, fetched from LINE by the worker (bot/jobs/attachments.py), checked (what the bytes are, how large),
sealed (bot/chat/sealing.py) and kept (bot/chat/attachment_store.py); opened for staff, exported with the
customer's data and erased with it.

A refused or lost attachment is answered in the chat: the customer learns what is taken, and may send it again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlmodel import Session

from bot.chat.answers import Media
from bot.chat.attachment_store import store_for, store_named
from bot.chat.media_types import HEAD_BYTES, largest, megabytes, sniff, taken
from bot.chat.sealing import Keyring, context_of
from bot.delivery.channels.line_content import Content, LineContent
from bot.delivery.outbox import dispatch_answers, queue_message
from bot.jobs.queues import FETCH_RETRY, enqueue_fetches, fetch_alive
from bot.platform.after_commit import after_commit
from bot.platform.config import Settings
from bot.platform.runtime import current
from models import Attachment, AttachmentStatus

log = logging.getLogger(__name__)
ATTACHMENTS = Attachment.__table__
KEPT = (AttachmentStatus.PENDING, AttachmentStatus.STORED)  # what a request gets when it is filed


class Fetch(StrEnum):
    """What one try at fetching an attachment came to."""

    STORED = "stored"
    REFUSED = "refused"
    FAILED = "failed"
    NOT_READY = "not_ready"  # a video LINE is still preparing: try again later
    RETRY = "retry"  # LINE busy or unreachable: try again later
    SKIPPED = "skipped"  # already done, or the request was given up meanwhile


def record(connection: Connection, customer_id: int, media: Media, now: datetime) -> int:
    """A pending attachment for the message `media`; its id (the worker fetches it once this commits)."""
    return connection.execute(
        insert(ATTACHMENTS)
        .values(
            customer_id=customer_id,
            line_message_id=media.message_id,
            kind=media.kind,
            status=AttachmentStatus.PENDING,
            file_name=(media.file_name or None) and media.file_name[:255],
            attempts=0,
            created_at=now,
        )
        .returning(ATTACHMENTS.c.id)
    ).scalar_one()


def attach(connection: Connection, ids: Collection[int], customer_id: int, request_id: int) -> int:
    """The filed request takes the customer's attachments `ids` that are kept or still coming; how many."""
    if not ids:
        return 0
    return connection.execute(
        update(ATTACHMENTS)
        .where(
            ATTACHMENTS.c.id.in_(list(ids)),
            ATTACHMENTS.c.customer_id == customer_id,
            ATTACHMENTS.c.request_id.is_(None),
            ATTACHMENTS.c.status.in_(KEPT),
        )
        .values(request_id=request_id)
    ).rowcount


def kept(connection: Connection, ids: Collection[int]) -> list[int]:
    """Those of `ids` kept or still coming (not refused, not lost), in order."""
    if not ids:
        return []
    found = set(
        connection.execute(
            select(ATTACHMENTS.c.id).where(ATTACHMENTS.c.id.in_(list(ids)), ATTACHMENTS.c.status.in_(KEPT))
        ).scalars()
    )
    return [i for i in ids if i in found]


def discard(connection: Connection, settings: Settings, ids: Collection[int], customer_id: int) -> int:
    """A request given up (やめる): its attachments not filed with a request go, objects and rows."""
    if not ids:
        return 0
    where = (
        ATTACHMENTS.c.id.in_(list(ids)),
        ATTACHMENTS.c.customer_id == customer_id,
        ATTACHMENTS.c.request_id.is_(None),
    )
    _delete_objects(connection, settings, where)
    return connection.execute(delete(ATTACHMENTS).where(*where)).rowcount


def _delete_objects(connection: Connection, settings: Settings, where: tuple[Any, ...]) -> int:
    rows = connection.execute(
        select(ATTACHMENTS.c.storage, ATTACHMENTS.c.storage_key).where(
            *where, ATTACHMENTS.c.storage_key.is_not(None)
        )
    ).all()
    for row in rows:
        store_named(settings, row.storage).delete(row.storage_key)
    return len(rows)


def forget_objects(connection: Connection, settings: Settings, customer_id: int) -> int:
    """Erasure: delete the customer's objects in object storage (their rows go with the erasure's transaction)."""
    return _delete_objects(connection, settings, (ATTACHMENTS.c.customer_id == customer_id,))


# ── the worker: fetch, check, seal, keep ─────────────────────────────────────────────────────────────────────────
def fetch(
    engine: Engine, redis: Redis, settings: Settings, attachment_id: int, now: datetime, last_try: bool
) -> Fetch:
    """One try at fetching attachment `attachment_id` from LINE and keeping it; on the last try, a video LINE has
    still not prepared is given up and the customer told."""
    with engine.begin() as connection:
        row = connection.execute(
            update(ATTACHMENTS)
            .where(ATTACHMENTS.c.id == attachment_id, ATTACHMENTS.c.status == AttachmentStatus.PENDING)
            .values(attempts=ATTACHMENTS.c.attempts + 1)
            .returning(ATTACHMENTS.c.line_message_id, ATTACHMENTS.c.kind)
        ).first()
    if row is None:
        return Fetch.SKIPPED
    limit = largest(settings, row.kind)
    timeout = (settings.line_connect_timeout, max(settings.line_read_timeout, 30.0))
    with LineContent(settings.line_data_api_url, settings.line_channel_access_token, timeout) as line:
        fetched = line.transcoding(row.line_message_id) if row.kind == "video" else None
        if fetched is None or fetched.outcome is Content.READY:
            fetched = line.download(row.line_message_id, limit)
    log.info("attachment=%s fetch: %s (LINE %s)", attachment_id, fetched.outcome, fetched.status)
    if fetched.outcome in (Content.NOT_READY, Content.RETRY) and not last_try:
        return Fetch.NOT_READY if fetched.outcome is Content.NOT_READY else Fetch.RETRY
    if fetched.outcome is Content.TOO_LARGE:
        return _refuse(engine, redis, settings, attachment_id, "too_large", now, limit=megabytes(limit))
    if fetched.outcome is not Content.READY or fetched.data is None:
        return _refuse(engine, redis, settings, attachment_id, "unavailable", now)
    content_type = sniff(fetched.data[:HEAD_BYTES])
    if not taken(row.kind, content_type):
        return _refuse(engine, redis, settings, attachment_id, "wrong_type", now)
    return _keep(engine, settings, attachment_id, fetched.data, str(content_type), now)


def _keep(
    engine: Engine, settings: Settings, attachment_id: int, data: bytes, content_type: str, now: datetime
) -> Fetch:
    key, sealed = Keyring.from_settings(settings).seal(data, context_of(attachment_id))
    store = store_for(settings)
    object_key, in_row = store.put(sealed)
    with engine.begin() as connection:
        kept = connection.execute(
            update(ATTACHMENTS)
            .where(ATTACHMENTS.c.id == attachment_id, ATTACHMENTS.c.status == AttachmentStatus.PENDING)
            .values(
                status=AttachmentStatus.STORED,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                storage=store.name,
                storage_key=object_key,
                key_id=key,
                sealed=in_row,
                stored_at=now,
            )
        ).rowcount
    if not kept:  # the request was given up (or the customer erased) while it was fetched
        store.delete(object_key)
        return Fetch.SKIPPED
    return Fetch.STORED


def _refuse(
    engine: Engine,
    redis: Redis,
    settings: Settings,
    attachment_id: int,
    reason: str,
    now: datetime,
    **fields: Any,
) -> Fetch:
    """Nothing is kept; the customer is told why (and what is taken)."""
    status = AttachmentStatus.FAILED if reason == "unavailable" else AttachmentStatus.REFUSED
    with engine.begin() as connection:
        row = connection.execute(
            update(ATTACHMENTS)
            .where(ATTACHMENTS.c.id == attachment_id, ATTACHMENTS.c.status == AttachmentStatus.PENDING)
            .values(status=status, refusal=reason)
            .returning(ATTACHMENTS.c.customer_id, ATTACHMENTS.c.kind)
        ).first()
        if row is None:
            return Fetch.SKIPPED
        answer = queue_message(
            connection,
            row.customer_id,
            f"chat_attach.refused_{reason}",
            f"attachment:{attachment_id}",
            now,
            kind=row.kind,
            **fields,
        )
    dispatch_answers(engine, redis, settings, [answer], now)
    return Fetch.REFUSED if status == AttachmentStatus.REFUSED else Fetch.FAILED


# ── staff and the customer's own data ─────────────────────────────────────────────────────────────────────────────
class NotStored(LookupError):
    """No attachment with that id holds content (unknown, refused, or still being fetched)."""


def open_attachment(
    connection: Connection, attachment_id: int, settings: Settings | None = None
) -> tuple[str, bytes]:
    """(content type, plaintext) of a stored attachment, checked against the digest taken when it arrived. For an
    authorised staff view (the caller audits it) and the customer's export."""
    settings = settings or current().settings
    row = connection.execute(select(ATTACHMENTS).where(ATTACHMENTS.c.id == attachment_id)).first()
    if row is None or row.status != AttachmentStatus.STORED:
        raise NotStored(f"attachment {attachment_id} holds no content")
    return row.content_type, _plaintext(settings, row)


def _plaintext(settings: Settings, row: Any) -> bytes:
    sealed = store_named(settings, row.storage).get(row.storage_key, row.sealed)
    data = Keyring.from_settings(settings).open(row.key_id, sealed, context_of(row.id))
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ValueError(f"attachment {row.id} does not match its digest")
    return data


EXPORTED = ("id", "request_id", "kind", "status", "refusal", "file_name", "content_type", "size", "sha256")


def exported(connection: Connection, settings: Settings, customer_id: int) -> list[dict[str, Any]]:
    """The customer's attachments for their disclosure: what was recorded, and each stored one's content
    (decrypted, base64) — never the sealed bytes or where they are kept."""
    rows = connection.execute(
        select(ATTACHMENTS).where(ATTACHMENTS.c.customer_id == customer_id).order_by(ATTACHMENTS.c.id)
    ).all()
    out = []
    for row in rows:
        item: dict[str, Any] = {name: getattr(row, name) for name in EXPORTED}
        item["created_at"] = row.created_at.isoformat()
        if row.status == AttachmentStatus.STORED:
            item["content_base64"] = base64.b64encode(_plaintext(settings, row)).decode()
        out.append(item)
    return out


STALLED_AFTER = timedelta(minutes=15)  # past every retry of FETCH_RETRY: a pending row with no job was lost
STALLED_GIVE_UP = 3 * (FETCH_RETRY.max + 1)  # tries, across requeues: then the customer is told, once


def requeue_stalled(engine: Engine, redis: Redis, settings: Settings, now: datetime) -> int:
    """The tick: attachments still pending well after they arrived whose fetch job RQ no longer holds (Redis was
    down when they were recorded, or lost its data) are queued again; after too many tries, given up (the
    customer told to send it again)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ATTACHMENTS.c.id, ATTACHMENTS.c.attempts)
            .where(
                ATTACHMENTS.c.status == AttachmentStatus.PENDING,
                ATTACHMENTS.c.created_at < now - STALLED_AFTER,
            )
            .order_by(ATTACHMENTS.c.id)
            .limit(200)
        ).all()
    try:
        lost = [row for row in rows if not fetch_alive(redis, row.id)]
        for row in lost:
            if row.attempts >= STALLED_GIVE_UP:
                _refuse(engine, redis, settings, row.id, "unavailable", now)
        enqueue_fetches(redis, [row.id for row in lost if row.attempts < STALLED_GIVE_UP])
    except RedisError:
        log.warning("stalled attachments not queued again (Redis); the next tick tries")
        return 0
    if lost:
        log.info("attachments: %s stalled fetches queued again or given up", len(lost))
    return len(lost)


# ── handing new attachments to the worker once the event that brought them has committed ─────────────────────────
_PENDING = "attachment_fetches_after_commit"


def fetch_after_commit(session: Session, ids: list[int]) -> None:
    """Queue the fetches once the event commits (rows not queued wait, pending, for the tick's requeue)."""
    after_commit(session, _PENDING, ids, enqueue_fetches)
