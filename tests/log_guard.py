"""A guard around every test: the logs it makes hold none of the personal data the tests use.

Every record at INFO and above (what the service writes in production, LOG_LEVEL=INFO), from any logger, is
formatted with its traceback and scanned for LINE user ids, email addresses, Japanese phone numbers (0… and +81…,
with or without hyphens) and the people's names of the sample data, the demo cast, the API examples and the
names tests type themselves (tests/factories.py). A match fails the test that logged it. The service logs ids
and outcomes instead.

Loaded by tests/conftest.py; `pytest -p tests.log_guard` loads it alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from pathlib import Path

import pytest

LINE_USER_ID = re.compile(r"(?<![0-9A-Za-z])U[0-9a-f]{32}(?![0-9a-f])")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Candidates; the digit count decides (10 or 11 digits from 0, 9 or 10 after +81).
DOMESTIC_PHONE = re.compile(r"(?<![\w.+\-])0\d{1,4}-?\d{1,4}-?\d{3,4}(?![\w\-])")
INTERNATIONAL_PHONE = re.compile(r"\+81[\- ]?\d{1,4}[\- ]?\d{1,4}[\- ]?\d{3,4}(?![\w\-])")
FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")
# The real servers tests run on loopback in place of the outside world log as that world would: aiosmtpd's
# protocol log is the customer's mail server's, not the service's.
OUTSIDE_WORLD = ("mail.log",)


def _names() -> tuple[set[str], set[str]]:
    """(family names, given names) of every person in the sample data, the demo, the API examples and tests."""
    from bot.api_events.examples import EXAMPLES, PROSPECT
    from devtools import sample_catalog as catalog
    from devtools.demo import _cast_files
    from tests.factories import NAMES_TYPED_IN_TESTS

    families = {kanji for kanji, _ in catalog.FAMILY_NAMES}
    givens = {kanji for kanji, _ in catalog.MALE_NAMES + catalog.FEMALE_NAMES}
    people = [
        *catalog.ADVISER_NAMES,
        EXAMPLES["reservation_made"]["data"]["staff_name"],
        *NAMES_TYPED_IN_TESTS,
    ]
    people += [f"{PROSPECT['family_name']} {PROSPECT['given_name']}"]
    people += [
        f"{row['family_name']} {row['given_name']}" for row in _cast_files(Path("."), date.today())["F5"]
    ]
    for person in people:
        family, _, given = person.partition(" ")
        families.add(family)
        givens |= {given} - {""}
    return families, givens


@cache
def _name_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Any name of two characters or more alone; one-character names (林, 愛) only as part of a full name."""
    families, givens = _names()

    def either(words: Iterable[str]) -> str:
        return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))

    alone = re.compile(f"(?:{either(word for word in families | givens if len(word) > 1)})", re.IGNORECASE)
    full = re.compile(f"(?:{either(families)})[ 　]?(?:{either(givens)})")
    return alone, full


def find_personal_data(text: str) -> Iterator[tuple[str, str]]:
    """(kind, value) for each piece of personal data in `text`."""
    for match in LINE_USER_ID.finditer(text):
        yield "LINE user id", match[0]
    for match in EMAIL.finditer(text):
        yield "email address", match[0]
    for match in DOMESTIC_PHONE.finditer(text):
        if len(re.sub(r"\D", "", match[0])) in (10, 11):
            yield "phone number", match[0]
    for match in INTERNATIONAL_PHONE.finditer(text):
        if len(re.sub(r"\D", "", match[0])) in (11, 12):
            yield "phone number", match[0]
    for pattern in _name_patterns():
        for match in pattern.finditer(text):
            yield "name", match[0]


class LogRecorder(logging.Handler):
    """Keeps each record as production would print it (message and traceback), formatted when logged."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(FORMAT)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(OUTSIDE_WORLD):
            return
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 -- a record that cannot be formatted is the logger's bug, not ours
            self.handleError(record)

    def take_leaks(self) -> list[str]:
        """Each line logged since the last look that holds personal data, what was found masked as ‹kind›."""
        lines, self.lines = self.lines, []
        found = []
        for line in lines:
            hits = sorted(find_personal_data(line), key=lambda hit: -len(hit[1]))
            for kind, value in hits:
                line = line.replace(value, f"‹{kind}›")
            if hits:
                found.append(line)
        return found


def _complaint(leaks: list[str]) -> str:
    return "personal data in the logs:\n  " + "\n  ".join(leaks[:20])


@pytest.fixture(autouse=True)
def personal_data_stays_out_of_logs() -> Iterator[LogRecorder]:
    """Records what the test logs at INFO or above; a leak fails the test (or its teardown, when logged there)."""
    recorder = LogRecorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.INFO)  # production's level; pytest leaves the root at WARNING
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)
    leaks = recorder.take_leaks()
    if leaks:
        pytest.fail(_complaint(leaks), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A test that passed but logged personal data (in its setup or body) is reported failed."""
    outcome = yield
    report = outcome.get_result()
    recorder = getattr(item, "funcargs", {}).get("personal_data_stays_out_of_logs")
    if report.when == "call" and report.passed and isinstance(recorder, LogRecorder):
        leaks = recorder.take_leaks()
        if leaks:
            report.outcome = "failed"
            report.longrepr = _complaint(leaks)
