"""SMS segments and prices match the provider's sheet at every boundary (seed 001)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.delivery.channels.sms_billing import Carrier, SmsTooLong, cost, segments, unit_price


@pytest.mark.parametrize(
    ("length", "docomo", "au", "softbank"),
    [
        (1, 1, 1, 1),
        (70, 1, 1, 1),
        (71, 2, 2, 1),
        (132, 2, 2, 1),
        (133, 3, 2, 1),  # docomo's third segment starts at 133, au's at 135
        (134, 3, 2, 1),
        (135, 3, 3, 1),
        (198, 3, 3, 1),
        (199, 4, 3, 1),
        (594, 9, 9, 1),
        (595, 10, 9, 1),
        (603, 10, 9, 1),
        (604, 10, 10, 1),
        (660, 10, 10, 1),
    ],
)
def test_segments_per_carrier(length, docomo, au, softbank):
    """docomo, au / Rakuten and SoftBank tables; full-width characters count one each like half-width ones."""
    text = "あ" * length
    assert segments(text, Carrier.DOCOMO) == docomo
    assert segments(text, Carrier.AU) == segments(text, Carrier.RAKUTEN) == au
    assert segments(text, Carrier.SOFTBANK) == softbank
    assert segments("a" * length, Carrier.DOCOMO) == docomo
    assert segments(text, Carrier.UNKNOWN) == max(docomo, au, softbank)  # estimates assume the dearest


def test_661_characters_is_refused_with_a_reason():
    """Beyond 660 characters SMS cannot carry the message."""
    with pytest.raises(SmsTooLong, match="661 characters: an SMS carries at most 660"):
        segments("x" * 661, Carrier.SOFTBANK)
    with pytest.raises(ValueError, match="at least one character"):
        segments("", Carrier.DOCOMO)


@pytest.mark.parametrize(
    ("volume", "price"),
    [
        (1, "10.0"),
        (5_000, "10.0"),
        (5_001, "9.5"),
        (10_000, "9.5"),
        (10_001, "9.0"),
        (50_000, "9.0"),
        (50_001, "8.5"),
        (100_000, "8.5"),
    ],
)
def test_price_tiers_by_monthly_volume(volume, price):
    """10.0 / 9.5 / 9.0 / 8.5 yen per segment, tax excluded, by the month's volume."""
    assert unit_price(volume) == Decimal(price)


def test_above_100000_a_month_needs_the_negotiated_price():
    """要相談: no price is guessed; a configured one is used."""
    with pytest.raises(ValueError, match="negotiated"):
        unit_price(100_001)
    assert unit_price(100_001, negotiated=Decimal("7.9")) == Decimal("7.9")


def test_cost_is_segments_times_the_tier_with_tax():
    """A 3-segment docomo message in a month of 8,000: 3 × 9.5 = 28.5 yen, 31.35 yen with 10% tax."""
    assert cost(segments("あ" * 133, Carrier.DOCOMO), 8_000) == cost(3, 8_000)
    priced = cost(3, 8_000)
    assert (priced.yen_excluding_tax, priced.yen_including_tax) == (Decimal("28.5"), Decimal("31.35"))
