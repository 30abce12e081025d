"""The chat's dialog modules, each with the listeners it collected on its `chat` (`build_chat` registers them).

The order matters only for fallbacks (texts no command or dialog took): a referral code is recognised before the
intent matcher reads the text.
"""

from handlers.dialogs import (
    account_link,
    campaign,
    coupons,
    email_capture,
    faq,
    intents,
    language,
    menu,
    reservations,
    service_desk,
)

MODULES = (
    menu,
    language,
    email_capture,
    account_link,
    coupons,
    reservations,
    campaign,
    service_desk,
    faq,
    intents,
)
