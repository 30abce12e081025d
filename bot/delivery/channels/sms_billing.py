"""What an SMS costs: billable segments (課金通数) per carrier, and the price per segment by monthly volume.

Figures from the SMS provider's price sheet (seed 001, Appendix and SMS配信料金):
- a message has at most 660 characters; every character counts as one (half- or full-width, kana, kanji,
  newline, space); we count Unicode code points, so an emoji made of several code points counts several;
- docomo and au / Rakuten Mobile split long messages at different lengths; SoftBank bills 1 for 1–660;
- the price is segments × the unit price for the month's volume (tax excluded), 10% consumption tax on the
  total; above 100,000 a month the price is negotiated (要相談), so it must be configured.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

MAX_CHARACTERS = 660
TAX_RATE = Decimal("0.10")


class Carrier(StrEnum):
    DOCOMO = "docomo"
    AU = "au"  # au and Rakuten Mobile share the table
    RAKUTEN = "rakuten"
    SOFTBANK = "softbank"
    UNKNOWN = "unknown"  # not yet detected: estimates take the carrier that bills most


# the last character count of each billable segment: 1 segment up to 70 characters, 2 up to 132 …
_UPPER_BOUNDS = {
    Carrier.DOCOMO: (70, 132, 198, 264, 330, 396, 462, 528, 594, 660),
    Carrier.AU: (70, 134, 201, 268, 335, 402, 469, 536, 603, 660),
    Carrier.RAKUTEN: (70, 134, 201, 268, 335, 402, 469, 536, 603, 660),
    Carrier.SOFTBANK: (660,),
}
# (highest monthly volume of the tier, yen per segment, tax excluded)
_TIERS = (
    (5_000, Decimal("10.0")),
    (10_000, Decimal("9.5")),
    (50_000, Decimal("9.0")),
    (100_000, Decimal("8.5")),
)


class SmsTooLong(ValueError):
    """More than 660 characters: SMS cannot carry it (shorten it, or send a link)."""


def characters(text: str) -> int:
    return len(text)


def segments(text: str, carrier: Carrier) -> int:
    """Billable segments (課金通数) for `text` on `carrier`; SmsTooLong beyond 660 characters."""
    count = characters(text)
    if count > MAX_CHARACTERS:
        raise SmsTooLong(f"{count} characters: an SMS carries at most {MAX_CHARACTERS}")
    if count == 0:
        raise ValueError("an SMS needs at least one character")
    if carrier is Carrier.UNKNOWN:
        return max(segments(text, known) for known in _UPPER_BOUNDS)
    return bisect_left(_UPPER_BOUNDS[carrier], count) + 1


def unit_price(monthly_volume: int, negotiated: Decimal | None = None) -> Decimal:
    """Yen per segment (tax excluded) for a month with `monthly_volume` billable segments."""
    for ceiling, price in _TIERS:
        if monthly_volume <= ceiling:
            return price
    if negotiated is None:
        raise ValueError(f"{monthly_volume:,} a month is above 100,000: set the negotiated price (要相談)")
    return negotiated


@dataclass(frozen=True)
class Cost:
    segments: int
    yen_excluding_tax: Decimal
    yen_including_tax: Decimal


def cost(segment_count: int, monthly_volume: int, negotiated: Decimal | None = None) -> Cost:
    """The price of `segment_count` segments at the month's tier (only delivered messages are billed)."""
    excluding = unit_price(monthly_volume, negotiated) * segment_count
    return Cost(segment_count, excluding, (excluding * (1 + TAX_RATE)).quantize(Decimal("0.01")))
