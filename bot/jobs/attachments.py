"""RQ job: fetch one photo, video or file a customer sent from LINE, check it and keep it sealed
(bot/chat/attachments.py). A video LINE is still preparing, or LINE busy, fails the try and RQ tries again with
backoff (FETCH_RETRY); the last try gives up and tells the customer."""

from __future__ import annotations

from rq import get_current_job

from bot.chat.attachments import Fetch, fetch
from bot.platform.runtime import current
from models import utcnow


class AttachmentNotReady(Exception):
    """LINE has not got the content ready (or did not answer): RQ runs the job again later. Ids only."""


def fetch_attachment(attachment_id: int) -> str:
    runtime = current()
    job = get_current_job()
    last_try = job is None or not job.retries_left
    outcome = fetch(runtime.engine, runtime.redis, runtime.settings, attachment_id, utcnow(), last_try)
    if outcome in (Fetch.NOT_READY, Fetch.RETRY):
        raise AttachmentNotReady(f"attachment={attachment_id}: {outcome}, to try again")
    return str(outcome)
