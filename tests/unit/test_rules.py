"""Delivery rules, as tables: quiet hours hold to 09:00, caps hold to the next allowed day, duplicates skip."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from flows.rules import TOKYO, DeliveryRules, in_quiet_hours, judge, parse_quiet_hours

RULES = DeliveryRules()


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (jst(1, 20, 59), False),
        (jst(1, 21), True),
        (jst(2, 3), True),
        (jst(2, 8, 59), True),
        (jst(2, 9), False),
    ],
)
def test_quiet_hours_span_midnight_in_japan_time(moment, quiet):
    """21:00–09:00 JST by default, whatever the zone of the moment given."""
    assert in_quiet_hours(moment, RULES) is quiet
    assert (
        in_quiet_hours(moment.astimezone(TOKYO).astimezone(datetime.now().astimezone().tzinfo), RULES)
        is quiet
    )


@pytest.mark.parametrize(
    ("due", "sends", "expected", "reasons"),
    [
        (jst(1, 19), [], jst(1, 19), ()),
        (jst(1, 22), [], jst(2, 9), ("quiet_hours",)),
        (jst(1, 19), [jst(1, 10)], jst(2, 19), ("frequency_cap",)),  # one a day
        (jst(4, 19), [jst(1, 19), jst(2, 19), jst(3, 19)], jst(8, 19), ("frequency_cap",)),  # three a week
        (jst(1, 22), [jst(2, 10)], jst(3, 9), ("quiet_hours", "frequency_cap")),
    ],
)
def test_held_until_allowed(due, sends, expected, reasons):
    """A message the rules refuse now goes at the first moment they allow, with the reasons kept."""
    verdict = judge(due, sends, [], RULES)
    assert (verdict.send_at, verdict.reasons) == (expected, reasons)


def test_the_same_message_twice_on_one_day_is_skipped():
    """当日ユニークフラグ: a second request the same day does not bring the same message again."""
    verdict = judge(jst(1, 19), [], [jst(1, 19).date()], RULES)
    assert verdict.send_at is None and verdict.reasons == ("same_day_duplicate",)
    assert judge(jst(2, 19), [], [jst(1, 19).date()], DeliveryRules(daily_cap=2)).send_at == jst(2, 19)


def test_configuration_is_checked():
    """Quiet hours as HH:MM-HH:MM ("" for none); the daily cap may not exceed the weekly one."""
    assert parse_quiet_hours("22:30-08:00") == (time(22, 30), time(8, 0))
    assert not in_quiet_hours(jst(1, 23), DeliveryRules(quiet_from=time(0), quiet_until=time(0)))
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_quiet_hours("after 9pm")
    with pytest.raises(ValueError, match="daily 4, weekly 3"):
        DeliveryRules(daily_cap=4)
