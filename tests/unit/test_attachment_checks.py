"""What an attachment is, read from its bytes; how it is sealed, and how keys rotate; how the photo question reads
「完了」."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag

from bot.chat.media_types import sniff, taken
from bot.chat.sealing import Keyring, UnknownKey, context_of, key_id
from bot.platform.config import load_settings
from handlers.dialogs.desk_checks import Invalid, attachments

KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(50, 82))).decode()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00", "video/quicktime"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"MZ\x90\x00\x03\x00", None),  # a Windows program, whatever its name says
        (b"GIF89a\x01\x00", None),
        (b"<svg xmlns=", None),  # scripts can hide in SVG
        (b"", None),
    ],
)
def test_the_type_is_read_from_the_bytes(head, expected):
    """JPEG, PNG, HEIC, MP4, QuickTime and PDF by their signatures; anything else is nothing the service takes."""
    assert sniff(head) == expected


def test_what_each_kind_takes():
    """A photo message must be a photo, a video a video; a file may be a PDF or a photo, never a video."""
    assert taken("image", "image/heic") and not taken("image", "application/pdf")
    assert taken("video", "video/mp4") and not taken("video", "image/jpeg")
    assert taken("file", "application/pdf") and taken("file", "image/png") and not taken("file", "video/mp4")
    assert not taken("file", None)


def test_sealed_bytes_open_only_under_their_key_and_row():
    """AES-GCM with a fresh nonce each time: the same photo seals differently twice; it opens with its key id
    and attachment id, not as another row's."""
    ring = Keyring.from_settings(load_settings(attachment_key=KEY))
    key, sealed = ring.seal(b"photo", context_of(7))
    again = ring.seal(b"photo", context_of(7))[1]
    assert sealed != again and b"photo" not in sealed and len(sealed) == 12 + 5 + 16
    assert ring.open(key, sealed, context_of(7)) == b"photo"
    with pytest.raises(InvalidTag):
        ring.open(key, sealed, context_of(8))
    with pytest.raises(InvalidTag):
        ring.open(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), context_of(7))


def test_keys_rotate_without_losing_what_the_old_key_sealed():
    """After rotation (the old key moved to ATTACHMENT_OLD_KEYS), new attachments are sealed with the new key and
    the old ones still open; a key dropped from the settings is named, not guessed."""
    old_ring = Keyring.from_settings(load_settings(attachment_key=KEY))
    old_id, old_blob = old_ring.seal(b"before", context_of(1))
    rotated = Keyring.from_settings(load_settings(attachment_key=NEW_KEY, attachment_old_keys=KEY))
    new_id, _ = rotated.seal(b"after", context_of(2))
    assert new_id == key_id(base64.b64decode(NEW_KEY)) != old_id
    assert rotated.open(old_id, old_blob, context_of(1)) == b"before"
    with pytest.raises(UnknownKey):
        Keyring.from_settings(load_settings(attachment_key=NEW_KEY)).open(old_id, old_blob, context_of(1))


def test_the_photo_question_reads_done_in_the_ways_customers_type_it():
    """「完了」, full-width or in English, ends the photos; anything else asks for photos or 完了."""
    for typed in ("完了", "かんりょう", "以上", "ＤＯＮＥ", " done "):
        assert attachments(typed, date(2026, 12, 1)) == "done"
    with pytest.raises(Invalid) as wrong:
        attachments("写真です", date(2026, 12, 1))
    assert wrong.value.reason == "attachments_expected"
