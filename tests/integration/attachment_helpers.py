"""Builders for the attachment tests: photos, videos and files a LINE user sends (the emulator issues the message
id and serves the content, as LINE's content API does), a key to seal them, and a local S3 (moto) to keep them in."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests import factories
from tests.integration.chat_helpers import Chat

KEY = base64.b64encode(bytes(range(32))).decode()
OLD_KEY = base64.b64encode(bytes(range(100, 132))).decode()
BUCKET = "accident-photos"


def jpeg(size: int = 4096, seed: int = 1) -> bytes:
    """Bytes that start like a JPEG (what the check reads), then noise nobody could compress or guess."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size - 11 - 2) + b"\xff\xd9"


def png(size: int = 4096) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def mp4(size: int = 8192) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + os.urandom(size - 12)


def exe(size: int = 2048) -> bytes:
    return b"MZ\x90\x00" + os.urandom(size - 4)


def send_media(
    chat: Chat, data: bytes, kind: str = "image", content_type: str = "image/jpeg", **content: Any
) -> tuple[str, list[dict[str, Any]]]:
    """The user sends a photo (video, file): LINE keeps the content under a new message id and posts the event;
    (that id, what the bot answered)."""
    transcoding = content.pop("transcoding", None)
    message_id = chat.line.add_content(chat.user_id, data, content_type, kind, transcoding)
    message: dict[str, Any] = {"id": message_id, "type": kind}
    if kind in ("image", "video"):
        message |= {"contentProvider": {"type": "line"}, "quoteToken": "q" * 16}
    if kind == "video":
        message["duration"] = 12000
    if kind == "file":
        message |= {"fileName": content.pop("file_name", "document.pdf"), "fileSize": len(data)}
    message |= content
    token = chat.line.issue_reply_token(chat.user_id)
    event = factories.base_event("message", chat.user_id, replyToken=token, message=message)
    return message_id, chat._send(event)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_s3() -> Iterator[str]:
    """A moto S3 server on loopback (never the internet); its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
