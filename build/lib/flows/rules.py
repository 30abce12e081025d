"""Delivery rules for marketing messages, applied when a message falls due: quiet hours, a frequency cap across
scenarios, and one message per template and channel a day (the deck's 当日ユニークフラグ).

A message the rules do not allow now is held to the next moment they do, never dropped; a same-day duplicate
is skipped (the customer already has that message today). Transactional notices are exempt.
Pure functions of the customer's recent sends, so the runner can apply them to a whole batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
MAX_HOLD_DAYS = 14


@dataclass(frozen=True)
class DeliveryRules:
    daily_cap: int = 1  # marketing messages a customer may get a day (Japan days), across scenarios
    weekly_cap: int = 3  # … and in any 7 days
    quiet_from: time = time(21, 0)  # no marketing from 21:00 …
    quiet_until: time = time(9, 0)  # … until 09:00 (Japan time)

    def __post_init__(self) -> None:
        if self.daily_cap < 1 or self.weekly_cap < self.daily_cap:
            raise ValueError(
                f"caps: daily {self.daily_cap}, weekly {self.weekly_cap} (need 1 ≤ daily ≤ weekly)"
            )


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """ "21:00-09:00" → (21:00, 09:00); an empty string means no quiet hours."""
    if not text.strip():
        return time(0, 0), time(0, 0)
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"quiet hours {text!r}: use HH:MM-HH:MM, e.g. 21:00-09:00") from None


def in_quiet_hours(moment: datetime, rules: DeliveryRules) -> bool:
    clock = moment.astimezone(TOKYO).time()
    start, end = rules.quiet_from, rules.quiet_until
    if start == end:
        return False
    return start <= clock or clock < end if start > end else start <= clock < end


def quiet_end(moment: datetime, rules: DeliveryRules) -> datetime:
    local = moment.astimezone(TOKYO)
    end = datetime.combine(local.date(), rules.quiet_until, TOKYO)
    return end if end > local else end + timedelta(days=1)


def _capped(moment: datetime, sends: list[datetime], rules: DeliveryRules) -> bool:
    day = moment.astimezone(TOKYO).date()
    days = [sent.astimezone(TOKYO).date() for sent in sends]
    today = sum(1 for d in days if d == day)
    window = sum(1 for d in days if day - timedelta(days=6) <= d <= day)
    return today >= rules.daily_cap or window >= rules.weekly_cap


@dataclass(frozen=True)
class Verdict:
    send_at: datetime | None  # None: skipped as a same-day duplicate
    reasons: tuple[
        str, ...
    ] = ()  # why it was held or skipped (quiet_hours, frequency_cap, same_day_duplicate)


def judge(
    due: datetime,
    sends: Iterable[datetime],
    same_message_days: Iterable[date],
    rules: DeliveryRules,
) -> Verdict:
    """When a marketing message due at `due` may go, given the customer's other marketing sends (`sends`) and
    the days this same message already went on this channel."""
    if due.astimezone(TOKYO).date() in set(same_message_days):
        return Verdict(None, ("same_day_duplicate",))
    history = list(sends)
    moment, reasons = due, []
    for _ in range(MAX_HOLD_DAYS * 2):
        if in_quiet_hours(moment, rules):
            moment = quiet_end(moment, rules)
            reasons.append("quiet_hours")
        elif _capped(moment, history, rules):
            moment = moment + timedelta(days=1)
            reasons.append("frequency_cap")
        else:
            return Verdict(moment, tuple(dict.fromkeys(reasons)))
    return Verdict(moment, (*dict.fromkeys(reasons), "held_too_long"))
