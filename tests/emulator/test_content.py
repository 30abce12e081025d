"""The emulator's content API (api-data.line.me) as LINE answers it: the bytes of a message it issued, 404 for
one it did not, 202 while a video is being prepared and its `/transcoding` status; read with LINE's own SDK
(MessagingApiBlob) and with the service's client (bot/delivery/channels/line_content.py)."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest
from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApiBlob

from bot.delivery.channels.line_content import Content, LineContent
from devtools.line_emulator import LineEmulator
from tests.emulator.conftest import TOKEN, USER

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def test_the_sdk_reads_a_photo_and_a_video_status(emulator: LineEmulator) -> None:
    """A photo the emulator issued comes back byte for byte with its type; a video says `processing`, then
    `succeeded`; an id never issued is 404."""
    photo = emulator.add_content(USER, PHOTO, "image/jpeg")
    video = emulator.add_content(USER, b"\x00\x00\x00\x18ftypmp42", "video/mp4", "video", "processing")
    with ApiClient(Configuration(access_token=TOKEN, host=emulator.base_url)) as client:
        blob = MessagingApiBlob(client)
        assert bytes(blob.get_message_content(photo)) == PHOTO
        assert blob.get_message_content_transcoding_by_message_id(video).status == "processing"
        emulator.set_transcoding(video, "succeeded")
        assert blob.get_message_content_transcoding_by_message_id(video).status == "succeeded"
        with pytest.raises(ApiException) as missing:
            blob.get_message_content("1" * 18)
    assert missing.value.status == 404
    [fetched] = [r for r in emulator.requests_to(f"/v2/bot/message/{photo}/content")]
    assert fetched.status == 200


def test_the_services_client_reads_what_line_answers(emulator: LineEmulator) -> None:
    """READY with the bytes, NOT_READY (202) while a video is prepared, GONE for an unknown id or a failed
    preparation, TOO_LARGE past the limit, RETRY on a 500, FAILED with a wrong token."""
    photo = emulator.add_content(USER, PHOTO, "image/jpeg")
    video = emulator.add_content(USER, b"\x00\x00\x00\x18ftypmp42", "video/mp4", "video", "processing")
    with LineContent(emulator.base_url, TOKEN) as line:
        assert line.download(photo, len(PHOTO)) == line.download(photo, 10**6)
        assert line.download(photo, len(PHOTO)).data == PHOTO
        assert line.download(photo, len(PHOTO) - 1).outcome is Content.TOO_LARGE
        assert (line.transcoding(video).outcome, line.download(video, 10**6).status) == (
            Content.NOT_READY,
            202,
        )
        emulator.set_transcoding(video, "failed")
        assert line.transcoding(video).outcome is Content.FAILED
        assert line.download(video, 10**6).outcome is Content.GONE
        assert line.download("9" * 18, 10**6).outcome is Content.GONE
        emulator.inject("message_content", "status", status=500, body={"message": "An error occurred"})
        assert line.download(photo, 10**6).outcome is Content.RETRY
        with pytest.raises(ValueError):
            line.download("../profile", 10)
    with LineContent(emulator.base_url, "wrong-token") as stranger:
        assert stranger.download(photo, 10**6).outcome is Content.FAILED


def test_content_is_registered_through_the_control_endpoint(emulator: LineEmulator) -> None:
    """POST /__emulator__/contents issues a message id for what a user sent; /contents/<id> moves a video's
    preparation on; an unknown id there is 404."""
    parts = urlsplit(emulator.base_url)

    def post(path: str, body: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    data = base64.b64encode(PHOTO).decode()
    status, issued = post(
        "/__emulator__/contents",
        {
            "userId": USER,
            "type": "video",
            "contentType": "video/mp4",
            "data": data,
            "transcoding": "processing",
        },
    )
    assert status == 200 and issued["messageId"].isdigit()
    assert post(f"/__emulator__/contents/{issued['messageId']}", {"transcoding": "succeeded"})[0] == 200
    assert post("/__emulator__/contents/123", {"transcoding": "succeeded"})[0] == 404
    assert post("/__emulator__/contents", {"type": "sticker", "contentType": "x", "data": data})[0] == 400
    with LineContent(emulator.base_url, TOKEN) as line:
        assert line.download(issued["messageId"], 10**6).data == PHOTO
