"""What customers sent on LINE (photos, videos, files), fetched from LINE's content API on api-data.line.me:
`GET /v2/bot/message/{messageId}/content`, and for a video `…/content/transcoding` first (LINE prepares a video
before it can be fetched: `processing`, then `succeeded` or `failed`; the content answers 202 meanwhile).

The outcome says what the caller does: READY (the bytes), NOT_READY (ask again later), TOO_LARGE (more than the
caller takes; only that much was read), GONE (404: unknown, or no longer kept by LINE; 410 likewise), RETRY (429,
5xx, time-out, connection error) or FAILED (another refusal, or LINE could not prepare the video).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

MESSAGE_ID = re.compile(r"^[0-9]{1,32}$")
CHUNK = 64 * 1024


class Content(StrEnum):
    READY = "ready"
    NOT_READY = "not_ready"
    TOO_LARGE = "too_large"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Fetched:
    outcome: Content
    data: bytes | None = None
    status: int | None = None  # LINE's HTTP status, for the logs


def _by_status(status: int) -> Content:
    if status in (404, 410):
        return Content.GONE
    if status == 429 or status >= 500:
        return Content.RETRY
    return Content.FAILED


class LineContent:
    """A connection pool to LINE's content API for one job; `with` closes it."""

    def __init__(self, base_url: str, access_token: str, timeout: tuple[float, float] = (3.05, 30.0)) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]), retries=False
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.clear()

    def _url(self, message_id: str, tail: str = "") -> str:
        if not MESSAGE_ID.match(message_id):
            raise ValueError("a LINE message id is digits only")
        return f"{self._base}/v2/bot/message/{message_id}/content{tail}"

    def transcoding(self, message_id: str) -> Fetched:
        """Whether LINE has a video ready: READY, NOT_READY (processing) or FAILED; GONE, RETRY as above."""
        try:
            response = self._pool.request("GET", self._url(message_id, "/transcoding"), headers=self._headers)
        except Urllib3Error:
            return Fetched(Content.RETRY)
        if response.status != 200:
            return Fetched(_by_status(response.status), status=response.status)
        try:
            status = json.loads(response.data).get("status")
        except (ValueError, AttributeError):
            return Fetched(Content.RETRY, status=response.status)
        outcome = {"succeeded": Content.READY, "processing": Content.NOT_READY}.get(status, Content.FAILED)
        return Fetched(outcome, status=response.status)

    def download(self, message_id: str, limit: int) -> Fetched:
        """The content, at most `limit` bytes (TOO_LARGE past that, without reading the rest)."""
        try:
            response = self._pool.request(
                "GET", self._url(message_id), headers=self._headers, preload_content=False
            )
        except Urllib3Error:
            return Fetched(Content.RETRY)
        try:
            if response.status == 202:
                return Fetched(Content.NOT_READY, status=202)
            if response.status != 200:
                return Fetched(_by_status(response.status), status=response.status)
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                return Fetched(Content.TOO_LARGE, status=200)
            data = bytearray()
            for chunk in response.stream(CHUNK):
                data.extend(chunk)
                if len(data) > limit:
                    return Fetched(Content.TOO_LARGE, status=200)
            return Fetched(Content.READY, bytes(data), 200)
        except Urllib3Error:
            return Fetched(Content.RETRY, status=response.status)
        finally:
            response.release_conn()
