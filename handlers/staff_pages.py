"""What the staff's web pages (the dashboard, the inbox) share: their security headers and the page language."""

from __future__ import annotations

from flask import request

from bot.platform.config import Settings
from bot.platform.i18n import SUPPORTED

# no caching of pages with customers' data, no scripts or frames from anywhere, forms posted only to ourselves
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_locale(settings: Settings) -> str:
    """The page's language: `?lang=` when the service speaks it, else the default."""
    asked = request.args.get("lang", "")
    return asked if asked in SUPPORTED else settings.default_locale
