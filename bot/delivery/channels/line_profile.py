"""A LINE user's profile language (GET /v2/bot/profile/{userId}): the language their LINE app is set to, which
the service speaks to them in until they choose one in the chat.

LINE leaves `language` out for a user who has not agreed to its privacy policy; a profile that cannot be read
(not a friend, a time-out, LINE down) is no language either: the service's default applies, and nothing fails.
"""

from __future__ import annotations

import logging

from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi
from urllib3.exceptions import HTTPError as Urllib3Error

log = logging.getLogger(__name__)


def profile_language(
    base_url: str, access_token: str, user_id: str, timeout: tuple[float, float] = (3.05, 5.0)
) -> str | None:
    """The user's BCP 47 language tag as LINE reports it ("ja", "en", "zh-Hant" …), or None."""
    configuration = Configuration(access_token=access_token, host=base_url)
    configuration.retries = False  # one try: urllib3 would log each retry with the URL, which names the user
    with ApiClient(configuration) as client:
        try:
            profile = MessagingApi(client).get_profile(user_id, _request_timeout=timeout)
        except ApiException as exc:
            log.info("line profile: not read (%s)", exc.status)
            return None
        except (Urllib3Error, OSError) as exc:
            log.info("line profile: not read (%s)", type(exc).__name__)
            return None
    return profile.language or None
