"""What LINE shows a customer whose conversation a person has: the loading animation (someone is typing) and
their messages marked read. Best effort, after the event that prompted it commits, by an RQ job on the answers
queue: neither is a message, neither is retried, and a failure loses nothing but the signal.

LINE's mark-as-read (POST /v2/bot/chat/markAsRead) takes the `markAsReadToken` of the message event, which
does not expire; it matters only when the account's chat mode is on (with it off, LINE marks messages read
itself). The loading animation shows in 1:1 chats only, while the user looks, until our next message.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import select
from sqlmodel import Session

from bot.delivery.channels.line import LinePusher
from bot.jobs.queues import ANSWERS, SEND_FAILURE_TTL, SEND_RESULT_TTL
from bot.platform.after_commit import after_commit
from bot.platform.runtime import current
from models import CustomerChannels

log = logging.getLogger(__name__)
LOADING_SECONDS = 60  # LINE's longest; our next message (staff's answer) stops it sooner
_PENDING = "chat_signals_after_commit"
CHANNELS = CustomerChannels.__table__


def signal_after_commit(session: Session, customer_id: int, loading: bool, read_token: str | None) -> None:
    """Queue the signals for the customer's LINE chat once the session commits (nothing if it rolls back)."""
    if not loading and not read_token:
        return
    after_commit(session, _PENDING, [(customer_id, loading, read_token)], _enqueue_all)


def _enqueue_all(redis: Redis, signals: list[tuple[int, bool, str | None]]) -> None:
    for customer_id, loading, read_token in signals:
        enqueue_signal(redis, customer_id, loading, read_token)


def enqueue_signal(redis: Redis, customer_id: int, loading: bool, read_token: str | None) -> None:
    """The job takes the customer's id, never their LINE user id (RQ logs a job's arguments)."""
    try:
        Queue(ANSWERS, connection=redis).enqueue(
            "bot.delivery.chat_signals.send_signals",
            customer_id,
            loading,
            read_token,
            result_ttl=SEND_RESULT_TTL,
            failure_ttl=SEND_FAILURE_TTL,
        )
    except RedisError:
        log.warning("chat signals not queued (Redis); dropped")


def send_signals(customer_id: int, loading: bool, read_token: str | None) -> dict[str, str]:
    """RQ job: show the loading animation and/or mark the messages read; the outcomes, by name."""
    runtime = current()
    settings = runtime.settings
    with runtime.engine.connect() as connection:
        user_id = connection.execute(
            select(CHANNELS.c.line_user_id).where(CHANNELS.c.customer_id == customer_id)
        ).scalar()
    if not user_id:
        return {}
    timeout = (settings.line_connect_timeout, settings.line_read_timeout)
    outcomes: dict[str, str] = {}
    with LinePusher(settings.line_api_base_url, settings.line_channel_access_token, timeout) as line:
        if read_token:
            outcomes["read"] = str(line.mark_read(read_token).outcome)
        if loading:
            outcomes["loading"] = str(line.show_loading(user_id, LOADING_SECONDS).outcome)
    log.info("chat signals: %s", outcomes)
    return outcomes
