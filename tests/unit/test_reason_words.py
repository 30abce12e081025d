"""Every reason the ledger or the trace can hold for a message not sent has words in Japanese and in English on
the dashboard: each code of bot/delivery/reasons.py has its text in both locale files (no fallback), the rules'
and the send-time refusals' codes are found by reading their code, and each kind of text the writers put in the
ledger's `error` column reads back as its code, never as a raw string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from bot.delivery.reasons import REASON_CODES, REFUSAL_CODES, RULE_CODES, Reason, read_reason
from bot.platform.i18n import LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
WITH_DETAIL = {"gave_up", "template_missing", "merge_field_empty", "sms_too_long", "provider_error"}
# what each writer puts in deliveries.error (or the trace's reasons), and the code it must read back as
WRITTEN = {
    "quiet_hours": [Reason("quiet_hours")],  # bot/delivery/sending.py _waiting
    "quiet_hours, frequency_cap": [Reason("quiet_hours"), Reason("frequency_cap")],  # the trace's held
    "frequency_cap, held_too_long": [Reason("frequency_cap"), Reason("held_too_long")],
    "same_day_duplicate": [Reason("same_day_duplicate")],
    "not_sent: no_address": [Reason("not_sent_no_address")],  # sending.py: refusal()
    "not_sent: blocked": [Reason("not_sent_blocked")],
    "not_sent: no_consent": [Reason("not_sent_no_consent")],
    "no_channel": [Reason("no_channel")],  # the dashboard's name for the trace's not_sent
    "cancelled": [Reason("cancelled")],  # broadcasts.py, sending.py
    "retry window of 23 h passed": [Reason("retry_window_passed")],
    "gave up after 23 h: 500 Internal Server Error": [Reason("gave_up", "500 Internal Server Error")],
    "template visit_reminder.a: no text": [Reason("template_missing", "visit_reminder.a")],
    "template visit_reminder.a: a merge field has no value": [
        Reason("merge_field_empty", "visit_reminder.a")
    ],
    "empty: 0 characters": [Reason("sms_empty")],  # channels/sms.py refusal()
    "too_long: 700 characters (max 660)": [Reason("sms_too_long", "700")],
    "invalid_number: not E.164": [Reason("sms_invalid_number")],
    "unregistered": [Reason("push_unregistered")],  # channels/push.py
    "smtputf8 not supported": [Reason("email_smtputf8")],  # channels/email.py
    "channel stopped": [Reason("channel_stopped")],  # sending.py _record
    "failed": [Reason("receipt_failed")],  # sms_receipts.py, a receipt without a code
    "absent_subscriber": [Reason("provider_error", "absent_subscriber")],  # a receipt's code
    "400 The property, 'to', in the request body is invalid": [
        Reason("provider_error", "400 The property, 'to', in the request body is invalid")
    ],
    "": [Reason("unknown")],
    "unknown": [Reason("unknown")],
}


def reasons_in(locale: str) -> dict:
    tree = yaml.safe_load((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))[locale]
    return tree["ui_dashboard"]["problems"]["reasons"]


def returned_strings(path: Path, function: str) -> set[str]:
    """String constants a function returns or hands to a call (the codes it can produce)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Constant)
                    and isinstance(inner.value, str)
                    and inner.value.isidentifier()
                ):
                    found.add(inner.value)
    return found


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_every_reason_code_has_words_in_both_languages(locale):
    """Each code, in each locale file itself (not by falling back to Japanese); a code with a detail shows it."""
    words = reasons_in(locale)
    missing = [code for code in REASON_CODES if not str(words.get(code) or "").strip()]
    assert not missing, f"{locale}: no words for {missing}"
    assert [code for code in WITH_DETAIL if "%{detail}" not in words[code]] == []
    assert set(words) == set(REASON_CODES), "a text for a code nothing writes"


def test_the_rules_and_refusals_codes_are_known():
    """The codes flows/rules.py's verdicts and bot/delivery/rules.py's refusal() can produce, read from their
    code, are all reason codes."""
    verdicts = returned_strings(ROOT / "flows" / "rules.py", "judge")
    refusals = returned_strings(ROOT / "bot" / "delivery" / "rules.py", "refusal") - {"MARKETING"}
    assert verdicts == set(RULE_CODES)
    assert refusals == set(REFUSAL_CODES)


@pytest.mark.parametrize(("written", "expected"), list(WRITTEN.items()))
def test_what_the_writers_record_reads_back_as_its_code(written, expected):
    """Each kind of text the ledger or the trace holds names its code (and keeps its detail)."""
    assert read_reason(written) == expected
    assert all(reason.code in REASON_CODES for reason in expected)
