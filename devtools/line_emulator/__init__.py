"""Local emulator of the LINE Messaging API for tests and local development.

``LineEmulator`` serves the endpoints our code uses (push/reply/multicast/broadcast/narrowcast,
validate, profile, link token, loading animation, rich menus, coupons, quota) on loopback,
validates request bodies against LINE's OpenAPI document (``spec/messaging-api.yml``) plus LINE's
documented limits, and answers exactly like LINE (status codes, error bodies, ``x-line-request-id``,
``X-Line-Retry-Key`` semantics).  Tests can inspect recorded requests and deliveries, mark users
as friends/blocked/unknown, inject faults and advance the emulator clock.  A standalone server is
``python -m devtools.line_emulator --port 8089 --token test-token``, driven over ``/__emulator__/``.

Importing this package does no I/O: the OpenAPI document is read on the first validated request.
"""

from devtools.line_emulator.faults import Fault
from devtools.line_emulator.server import LineEmulator
from devtools.line_emulator.state import RecordedRequest, SentMessage, UserRecord

__all__ = ["Fault", "LineEmulator", "RecordedRequest", "SentMessage", "UserRecord"]
