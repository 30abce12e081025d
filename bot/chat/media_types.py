"""What an attachment really is, read from its first bytes (never from what the sender or LINE claims), and what
the service takes: photos (JPEG, PNG, HEIC), videos (MP4, QuickTime) and documents (PDF, or a photo sent as a
file). Anything else is refused with an answer that says what is taken.
"""

from __future__ import annotations

from bot.platform.config import Settings

JPEG, PNG, HEIC, MP4, QUICKTIME, PDF = (
    "image/jpeg",
    "image/png",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "application/pdf",
)
# ISO base media files (HEIC photos, MP4 and QuickTime videos) name their brand after `ftyp` at offset 4
HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
)
TAKEN = {
    "image": frozenset({JPEG, PNG, HEIC}),
    "video": frozenset({MP4, QUICKTIME}),
    "file": frozenset({PDF, JPEG, PNG, HEIC}),
}
KINDS = tuple(TAKEN)
HEAD_BYTES = 16  # enough for every signature above


def sniff(head: bytes) -> str | None:
    """The media type the bytes start like, or None for anything the service does not take."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIC_BRANDS:
            return HEIC
        if brand in MP4_BRANDS or brand.startswith(b"3gp"):
            return MP4
        if brand == b"qt  ":
            return QUICKTIME
    return None


def taken(kind: str, content_type: str | None) -> bool:
    return content_type is not None and content_type in TAKEN.get(kind, frozenset())


def largest(settings: Settings, kind: str) -> int:
    """The most bytes taken for a photo, a video or a file."""
    return {
        "image": settings.attachment_image_max_bytes,
        "video": settings.attachment_video_max_bytes,
    }.get(kind, settings.attachment_file_max_bytes)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"
