"""When staff answer a hand-over: weekdays within BUSINESS_HOURS (Japan time), never on a listed closed day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.platform.config import Settings
from bot.staff.hours import staff_reply
from flows.engine import TOKYO

OPENS, CLOSES = time(9, 0), time(18, 0)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)  # 2026-12-07 is a Monday


@pytest.mark.parametrize(
    ("moment", "open_now", "from_"),
    [
        (at(7, 10), True, at(7, 10)),  # Monday morning: now
        (at(7, 8, 59), False, at(7, 9)),  # before opening: at nine
        (at(7, 18), False, at(8, 9)),  # closing time: the next morning
        (at(11, 19), False, at(14, 9)),  # Friday evening: Monday
        (at(12, 12), False, at(14, 9)),  # Saturday: Monday
        (at(13, 23, 30), False, at(14, 9)),  # Sunday night: Monday
    ],
)
def test_staff_answer_on_weekdays_within_the_hours(moment, open_now, from_):
    """In hours: now; otherwise the next weekday opening."""
    reply = staff_reply(moment, OPENS, CLOSES)
    assert (reply.open_now, reply.from_) == (open_now, from_)


def test_a_closed_day_is_skipped_and_utc_is_read_as_japan_time():
    """A listed holiday is passed over; 2026-12-07 00:30 UTC is 09:30 in Japan."""
    closed = {date(2026, 12, 8), date(2026, 12, 9)}
    assert staff_reply(at(7, 18, 30), OPENS, CLOSES, closed).from_ == at(10, 9)
    assert staff_reply(at(8, 10), OPENS, CLOSES, closed).open_now is False
    assert staff_reply(datetime(2026, 12, 7, 0, 30, tzinfo=UTC), OPENS, CLOSES).open_now is True


def test_settings_read_hours_closed_days_and_store_routes():
    """BUSINESS_HOURS must open before it closes; closed days are dates; a store's staff are LINE ids."""
    settings = Settings(
        business_closed_days="2026-12-31, 2027-01-01",
        handover_staff_routes={"S01": ["U" + "a" * 32]},
    )
    assert settings.business_closed_days == [date(2026, 12, 31), date(2027, 1, 1)]
    with pytest.raises(ValueError, match="BUSINESS_HOURS"):
        Settings(business_hours="18:00-09:00")
    with pytest.raises(ValueError, match="HANDOVER_STAFF_ROUTES"):
        Settings(handover_staff_routes={"S01": ["taro"]})


def test_national_holidays_are_days_off():
    """勤労感謝の日 (Mon 2026-11-23) and the substitute holiday after a Sunday 祝日 pass to the next working day."""
    monday_holiday = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)
    reply = staff_reply(monday_holiday, OPENS, CLOSES)
    assert reply.open_now is False and reply.from_ == datetime(2026, 11, 24, 9, 0, tzinfo=TOKYO)
    # 2026-05-03 憲法記念日 … 05-06 振替休日: Golden Week ends on Thursday the 7th
    golden_week = datetime(2026, 5, 1, 18, 30, tzinfo=TOKYO)
    assert staff_reply(golden_week, OPENS, CLOSES).from_ == datetime(2026, 5, 7, 9, 0, tzinfo=TOKYO)
