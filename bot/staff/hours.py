"""When staff answer a hand-over (営業時間): BUSINESS_HOURS on weekdays, Japan time, except Japan's national holidays
(祝日, from jpholiday, which follows the Cabinet Office's list including substitute holidays) and the operator's
BUSINESS_CLOSED_DAYS (年末年始, the insurer's own days off).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jpholiday

from flows.engine import TOKYO

LOOK_AHEAD_DAYS = 60  # a closed stretch longer than this (a misconfiguration) still gets an answer


@dataclass(frozen=True)
class StaffReply:
    """Whether staff are at work at the moment asked about, and when they next are (that moment if so)."""

    open_now: bool
    from_: datetime  # Japan time


def staff_reply(
    moment: datetime, opens: time, closes: time, closed_days: Collection[date] = ()
) -> StaffReply:
    """Staff work on weekdays from `opens` to `closes` (Japan time) but on `closed_days`: are they at work at
    `moment`, and from when do they answer?"""
    local = moment.astimezone(TOKYO)
    if _working(local.date(), closed_days) and opens <= local.time() < closes:
        return StaffReply(True, local)
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    for _ in range(LOOK_AHEAD_DAYS):
        if _working(day, closed_days):
            break
        day += timedelta(days=1)
    return StaffReply(False, datetime.combine(day, opens, TOKYO))


def _working(day: date, closed_days: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in closed_days and not jpholiday.is_holiday(day)
