"""Process-wide logging: one line per record with ids and outcomes; bodies and personal data never go here."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The SDK logs raw event types and the HTTP client logs URLs with user ids: keep them quiet.
    for noisy in ("linebot", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
