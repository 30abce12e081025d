"""How the service desk reads what customers type (desk_forms.py says which question takes which check).

Checks are pure: (text, today in Japan) → the value kept, or `Invalid(reason)`, whose reply
(`chat_desk.invalid_<reason>`) says what is expected and asks again. Customers type in full-width or
half-width, with any kind of dash, in Japanese or English; a check accepts what it reasonably can.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.imports.values import EmailProblem, national_phone, typed_email


class Invalid(ValueError):
    def __init__(self, reason: str, **fields: Any) -> None:
        super().__init__(reason)
        self.reason, self.fields = reason, fields


Check = Callable[[str, date], str]
DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−ー－"})


def plain(text: str) -> str:
    """Full-width digits and letters as half-width, every kind of dash as "-", no surrounding spaces."""
    return unicodedata.normalize("NFKC", text).translate(DASHES).strip()


@dataclass(frozen=True)
class Text:
    limit: int = 200

    def __call__(self, raw: str, today: date) -> str:
        value = raw.strip()
        if not value:
            raise Invalid("empty")
        if len(value) > self.limit:
            raise Invalid("too_long", limit=self.limit)
        return value


def postal_code(raw: str, today: date) -> str:
    """〒123-4567, 1234567, １２３－４５６７ → 123-4567."""
    digits = plain(raw).removeprefix("〒").replace(" ", "")
    match = re.fullmatch(r"(\d{3})-?(\d{4})", digits)
    if not match:
        raise Invalid("postal_code")
    return f"{match[1]}-{match[2]}"


def phone(raw: str, today: date) -> str:
    """A Japanese number (０３－１２３４－５６７８, 090…, +81 90…) in the usual written form: 090-1234-5678."""
    try:
        return national_phone(re.sub(r"[\s()]", "", plain(raw)))
    except ValueError:
        raise Invalid("phone") from None


def policy_number(raw: str, today: date) -> str:
    """証券番号: 8–12 letters and digits as printed on the policy (spaces and dashes ignored)."""
    value = re.sub(r"[\s\-]", "", plain(raw)).upper()
    if not re.fullmatch(r"[A-Z0-9]{8,12}", value) or not re.search(r"\d", value):
        raise Invalid("policy_number")
    return value


def email(raw: str, today: date) -> str:
    """An address typed full-width or half-width; taro@example is told that the .jp or .com is missing."""
    try:
        return typed_email(raw)
    except EmailProblem as problem:
        raise Invalid("email_no_domain_suffix" if problem.reason == "no_domain_suffix" else "email") from None


_RELATIVE = {"今日": 0, "きょう": 0, "本日": 0, "today": 0, "昨日": 1, "きのう": 1, "yesterday": 1}
_RELATIVE |= {"一昨日": 2, "おととい": 2}
_FULL = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_SHORT = re.compile(r"(\d{1,2})[/月](\d{1,2})日?")
_REIWA = re.compile(r"(?:令和|r)(\d{1,2})[年.](\d{1,2})[月.](\d{1,2})日?")
_ROUGHLY = ("頃", "ごろ", "くらい")


def parse_day(raw: str, today: date, past: bool) -> date | None:
    """2026-12-01, 2026/12/1, 2026年12月1日, 令和8年12月1日, 12/1, 12月1日 (this year, or last year when `past`
    and it would be ahead), 今日, 昨日, おととい."""
    text = plain(raw).lower().replace(" ", "")
    for suffix in _ROUGHLY:
        text = text.removesuffix(suffix)
    if text in _RELATIVE:
        return today - timedelta(days=_RELATIVE[text])
    try:
        if match := _FULL.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _REIWA.fullmatch(text):
            return date(2018 + int(match[1]), int(match[2]), int(match[3]))
        if match := _SHORT.fullmatch(text):
            day = date(today.year, int(match[1]), int(match[2]))
            return day.replace(year=today.year - 1) if past and day > today else day
    except ValueError:  # 2月30日
        return None
    return None


@dataclass(frozen=True)
class Day:
    """A date no further back than `past_days` and no further ahead than `future_days` (0: not in the future)."""

    past_days: int
    future_days: int = 0

    def __call__(self, raw: str, today: date) -> str:
        day = parse_day(raw, today, past=not self.future_days)
        if day is None:
            raise Invalid("date")
        if day > today + timedelta(days=self.future_days):
            raise Invalid("date_future" if not self.future_days else "date_range")
        if day < today - timedelta(days=self.past_days):
            raise Invalid("date_range")
        return day.isoformat()


_CLOCK = re.compile(r"(午前|午後|am|pm)?(\d{1,2})(?::|時)(?:(\d{1,2})分?|半)?(?:頃|ごろ)?")


def time_of_day(raw: str, today: date) -> str:
    """15:30, 15時30分, 15時半, 午後3時 → "15:30"."""
    text = plain(raw).lower().replace(" ", "")
    match = _CLOCK.fullmatch(text) or re.fullmatch(r"()(\d{2})(\d{2})", text)
    if not match:
        raise Invalid("time")
    hour = int(match[2])
    minute = 30 if text.rstrip("頃ごろ").endswith("半") else int(match[3] or 0)
    if match[1] in ("午後", "pm") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        raise Invalid("time")
    return f"{hour:02d}:{minute:02d}"


def tax_year(raw: str, today: date) -> str:
    """The year of a 控除証明書: 2025, 2025年, 令和7年(分), R7 — this year or the last nine."""
    text = plain(raw).lower().replace(" ", "").removesuffix("分").removesuffix("年")
    if match := re.fullmatch(r"(?:令和|r)(\d{1,2})", text):
        year = 2018 + int(match[1])
    elif re.fullmatch(r"\d{4}", text):
        year = int(text)
    else:
        raise Invalid("year")
    if not today.year - 9 <= year <= today.year:
        raise Invalid("year")
    return str(year)


@dataclass(frozen=True)
class Choice:
    """One of a few options, typed: its number, or a word (Japanese or English) it starts with."""

    reason: str  # the reply to anything else: invalid_choice_<reason>
    options: Mapping[str, tuple[str, ...]]

    def __call__(self, raw: str, today: date) -> str:
        text = plain(raw).lower().replace(" ", "").rstrip("。.!！")
        for number, value in enumerate(self.options, start=1):
            if text == str(number):
                return value
        words = sorted(
            ((word, value) for value, words in self.options.items() for word in words),
            key=lambda pair: -len(pair[0]),
        )
        for word, value in words:  # the longest first: "ありません" before "あり"
            if text.startswith(word):
                return value
        raise Invalid(f"choice_{self.reason}")

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self.options)


DONE_WORDS = frozenset(
    {"完了", "かんりょう", "以上", "終わり", "おわり", "終了", "送りました", "done", "finish", "finished"}
)


@dataclass(frozen=True)
class Attachments:
    """A question answered by sending photos, videos or files (as many as the customer likes, up to a limit), then
    「完了」: the text check only reads that word; the attachments themselves come as LINE messages."""

    def __call__(self, raw: str, today: date) -> str:
        if plain(raw).lower() not in DONE_WORDS:
            raise Invalid("attachments_expected")
        return "done"


attachments = Attachments()
