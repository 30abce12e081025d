"""The service's tables, one module per aggregate, re-exported here."""

from models.base import UTCDateTime, utcnow
from models.line_user import FriendStatus, LineUser
from models.webhook_event import EventStatus, WebhookEvent

__all__ = ["EventStatus", "FriendStatus", "LineUser", "UTCDateTime", "WebhookEvent", "utcnow"]
