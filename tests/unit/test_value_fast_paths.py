"""The fast paths for emails and Japanese phone numbers give exactly what email-validator and phonenumbers give."""

from __future__ import annotations

import random

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.imports import values

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
DOMAIN = "abcXYZ019-._"


def _reference_email(text: str) -> str:
    try:
        return validate_email(values.normalise(text), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        return f"error: not a valid email address ({exc})"


def _ours(parser, text: str) -> str:
    try:
        return parser(text)
    except ValueError as exc:
        return f"error: {exc}"


@settings(max_examples=3000, deadline=None)
@given(
    local=st.text(ATEXT, min_size=0, max_size=70),
    domain=st.text(DOMAIN, min_size=0, max_size=30),
    tld=st.sampled_from(["com", "co.jp", "ne.jp", "JP", "test", "local", "123", "", "xn--zckzah", "example"]),
)
@example(local="Taro.Yamada", domain="Example", tld="CO.JP")
@example(local="a" * 64, domain="b" * 63, tld="com")
@example(local=".taro", domain="example", tld="com")
def test_email_fast_path_agrees_with_email_validator(local, domain, tld):
    """Valid or not, and normalised the same way (case of the domain, IDNA), with the same reason."""
    text = f"{local}@{domain}.{tld}" if tld else f"{local}@{domain}"
    assert _ours(values.email, text) == _reference_email(text)


def test_email_fast_path_keeps_reasons_for_long_addresses():
    """Over-long addresses take the full validator, so the reason is its own."""
    text = "a" * 65 + "@example.com"
    assert _ours(values.email, text) == _reference_email(text)


def _reference_phone(text: str) -> str:
    try:
        number = phonenumbers.parse(values.normalise(text), "JP")
    except phonenumbers.NumberParseException:
        return "error: not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "error: not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _random_japanese_numbers(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    for _ in range(count):
        length = rng.choice([9, 10, 11, 12])
        digits = "0" + "".join(rng.choice("0123456789") for _ in range(length - 1))
        if rng.random() < 0.5:
            cuts = sorted(rng.sample(range(1, len(digits)), rng.randint(1, 3)))
            digits = "-".join(digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True))
        numbers.append(digits)
    return numbers


def test_phone_fast_path_agrees_with_phonenumbers():
    """20,000 random national numbers (mobile, fixed, toll-free, 010 calls abroad, wrong lengths, hyphens anywhere)."""
    samples = _random_japanese_numbers(20_000, seed=7) + [
        "090-1234-5678",
        "0312345678",
        "0120-123-456",
        "010-1-212-555-0100",
        "0101234567",
        "070--1234-5678",
    ]
    mismatches = [(s, _ours(values.phone, s), _reference_phone(s)) for s in samples]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert mismatches == []
    assert sum(not _reference_phone(s).startswith("error") for s in samples) > 3_000  # valid ones were tried
