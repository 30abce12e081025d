"""Cell parsers for the data files: flags (真/偽), Japanese dates, phones (E.164), emails, genders.

Each parser takes the stripped cell text (never empty: blank cells are None before a parser runs) and returns
the value or raises ValueError with a reason an operator can act on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email

TOKYO = ZoneInfo("Asia/Tokyo")

_TRUE = {"真", "true", "1", "yes", "y", "t", "○", "〇", "はい", "有", "あり"}
_FALSE = {"偽", "false", "0", "no", "n", "f", "×", "✕", "いいえ", "無", "なし"}
_GENDERS = {
    "男性": "male",
    "男": "male",
    "male": "male",
    "m": "male",
    "女性": "female",
    "女": "female",
    "female": "female",
    "f": "female",
    "その他": "other",
    "other": "other",
    "回答しない": "other",
}
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_DATE = re.compile(r"^(\d{4})[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA_DATE = re.compile(r"^(令和|平成|昭和|[RHS])\s*(\d{1,2}|元)[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?$")
_DATETIME = re.compile(r"^(.+?)[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def normalise(text: str) -> str:
    """Full-width digits and letters to ASCII (Excel users type both), surrounding space removed."""
    if text.isascii():  # NFKC leaves ASCII as it is; most cells are ASCII, and this is the hot path
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


_FLAGS = {word: True for word in _TRUE} | {word: False for word in _FALSE}


def flag(text: str) -> bool:
    known = _FLAGS.get(text)  # the cell as written, before any normalising: nearly every cell
    if known is not None:
        return known
    value = normalise(text).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a flag: {text!r} (use 真/偽, true/false or 1/0)")


@lru_cache(maxsize=1 << 16)  # a file holds a few thousand distinct dates among millions of cells
def day(text: str) -> date:
    """2024/01/05, 2024-1-5, 2024年1月5日, 20240105, 令和6年1月5日, R6/1/5."""
    value = normalise(text)
    if " " in value or "T" in value:
        return timestamp(value).astimezone(TOKYO).date()
    for pattern in (_DATE, _COMPACT_DATE):
        match = pattern.match(value)
        if match:
            return _date(int(match[1]), int(match[2]), int(match[3]), text)
    match = _ERA_DATE.match(value)
    if match:
        year = 1 if match[2] == "元" else int(match[2])
        return _date(_ERAS[match[1]] + year, int(match[3]), int(match[4]), text)
    raise ValueError(f"not a date: {text!r} (e.g. 2024/01/05 or 2024年1月5日)")


def _date(year: int, month: int, day_: int, text: str) -> date:
    try:
        return date(year, month, day_)
    except ValueError:
        raise ValueError(f"no such date: {text!r}") from None


def timestamp(text: str) -> datetime:
    """A date and time in Japan (2024/01/05 13:45[:10]); ISO 8601 with an offset is taken as given."""
    value = normalise(text)
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=TOKYO).astimezone(UTC)
    except ValueError:
        pass
    match = _DATETIME.match(value)
    if not match:
        if " " in value or "T" in value:
            raise ValueError(f"not a date and time: {text!r} (e.g. 2024/01/05 13:45)")
        return datetime.combine(day(value), datetime.min.time(), TOKYO).astimezone(UTC)
    moment = datetime.combine(day(match[1]), datetime.min.time(), TOKYO)
    hour, minute, second = int(match[2]), int(match[3]), int(match[4] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"no such time: {text!r}")
    return moment.replace(hour=hour, minute=minute, second=second).astimezone(UTC)


def integer(text: str) -> int:
    value = normalise(text).replace(",", "").removesuffix("円").removesuffix("回")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None


_JP_NATIONAL = re.compile(r"0[1-9][0-9-]{8,12}")
_JAPAN = 81
_JP_IDD = "010"  # 010… is a call abroad (010-1-212…), which the full parser reads as such


def phone(text: str) -> str:
    """A Japanese (or +country) phone number as E.164, e.g. 090-1234-5678 → +819012345678."""
    digits = text.replace("-", "")
    if _JP_NATIONAL.fullmatch(text) and 10 <= len(digits) <= 11 and not digits.startswith(_JP_IDD):
        return _japanese_national(digits)
    try:
        number = phonenumbers.parse(normalise(text), "JP")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _japanese_national(digits: str) -> str:
    """The common case, 090-1234-5678 or 0312345678, read as `phonenumbers.parse(text, "JP")` reads it.

    The trunk prefix 0 is dropped and the rest is checked against libphonenumber's own metadata, without its
    general-purpose parser, which costs four times as much. Tests hold the two to the same answers.
    """
    number = phonenumbers.PhoneNumber(country_code=_JAPAN, national_number=int(digits[1:]))
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return f"+{_JAPAN}{digits[1:]}"


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def email(text: str) -> str:
    """A syntactically valid address, normalised (no DNS look-up: imports never reach the network)."""
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and domain.isascii() and _DOT_ATOM.fullmatch(local):
        # a plain ASCII local part is valid as it is, so only the domain needs checking: once per domain
        return f"{local}@{_email_domain(domain)}"
    return _validated_email(text)


@lru_cache(maxsize=1 << 14)
def _email_domain(domain: str) -> str:
    return _validated_email(f"a@{domain}").rpartition("@")[2]


def _validated_email(text: str) -> str:
    try:
        return validate_email(normalise(text), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address ({exc})") from None


def gender(text: str) -> str:
    value = _GENDERS.get(normalise(text).lower())
    if value is None:
        raise ValueError(f"not a gender: {text!r} (男性/女性/その他)")
    return value


def plain(value: str) -> str:
    return normalise(value)


# ── what customers type in the chat (a Japanese IME types ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ and 。 for .) ──────
_IME_DOTS = str.maketrans({"。": ".", "｡": "."})


class EmailProblem(ValueError):
    """Why a typed address is not one: `no_at` (no @), `no_domain_suffix` (taro@example: the .com or .jp is
    missing) or `invalid` (anything else)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def typed_email(text: str) -> str:
    """An address as typed in the chat, full-width or half-width, normalised (taro@example.com)."""
    value = unicodedata.normalize("NFKC", text).translate(_IME_DOTS).strip()
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise EmailProblem(_email_problem(value)) from None


def _email_problem(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "no_at"
    if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", domain):
        return "no_domain_suffix"
    return "invalid"


def national_phone(text: str) -> str:
    """A Japanese number as typed (full-width, +81, any dashes) in the usual written form: 090-1234-5678,
    03-1234-5678. ValueError for anything else (a number abroad included)."""
    number = phonenumbers.parse(phone(normalise(text)))
    if number.country_code != _JAPAN:
        raise ValueError("not a Japanese phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
