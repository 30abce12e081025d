"""Cell parsers of the data files: Japanese date forms, times in JST, and refusals with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.imports import values


@pytest.mark.parametrize(
    "cell",
    ["2024/01/05", "2024-1-5", "2024年1月5日", "20240105", "令和6年1月5日", "R6/1/5", "２０２４／０１／０５"],
)
def test_japanese_date_forms(cell):
    """Every usual way of writing 5 January 2024 is that day."""
    assert values.day(cell) == date(2024, 1, 5)


def test_times_are_japan_time_unless_an_offset_is_given():
    """A time without an offset is JST; an ISO time with an offset is taken as given."""
    assert values.timestamp("2024/01/05 09:30") == datetime(2024, 1, 5, 0, 30, tzinfo=UTC)
    assert values.timestamp("2024-01-05T09:30:00+00:00") == datetime(2024, 1, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("parser", "cell"),
    [
        (values.day, "2024/02/30"),
        (values.day, "昨日"),
        (values.timestamp, "2024-13-10T09:30:00+09:00"),
        (values.timestamp, "2024/01/05 25:00"),
        (values.flag, "たぶん"),
        (values.phone, "12345"),
        (values.email, "taro@"),
        (values.integer, "十"),
        (values.gender, "不明"),
    ],
)
def test_bad_cells_raise_value_error(parser, cell):
    """Bad cells raise ValueError (never loop or crash), so the row is reported, not the import."""
    with pytest.raises(ValueError):
        parser(cell)


def test_phone_and_email_are_normalised():
    """Phones become E.164; full-width characters and the domain's case are normalised."""
    assert values.phone("０９０-１２３４-５６７８") == "+819012345678"
    assert values.email("Taro@EXAMPLE.com") == "Taro@example.com"


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com"),  # a Japanese IME's full-width
        ("taro@example。jp", "taro@example.jp"),  # the IME's 。 for .
        (" Taro@Example.JP ", "Taro@example.jp"),
    ],
)
def test_a_typed_email_is_read_as_an_ime_types_it(typed, address):
    """What a customer types in the chat, full-width or half-width, is the address they meant."""
    assert values.typed_email(typed) == address


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("taro@example", "no_domain_suffix"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ", "no_domain_suffix"),
        ("taro", "no_at"),
    ],
)
def test_a_wrong_email_says_what_is_missing(typed, reason):
    """「taro@example」 lacks the .jp or .com; 「taro」 the @; the reason says which."""
    with pytest.raises(values.EmailProblem) as problem:
        values.typed_email(typed)
    assert problem.value.reason == reason


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("０９０－１２３４－５６７８", "090-1234-5678"),
        ("09012345678", "090-1234-5678"),
        ("+81 90 1234 5678", "090-1234-5678"),
        ("0312345678", "03-1234-5678"),
    ],
)
def test_a_typed_phone_is_echoed_the_usual_way(typed, written):
    """Phones come back as people write them in Japan, whatever was typed."""
    assert values.national_phone(typed) == written


def test_a_number_abroad_is_not_a_japanese_phone():
    """The desk calls back in Japan: a number abroad is refused."""
    with pytest.raises(ValueError):
        values.national_phone("+1 212 555 1234")
