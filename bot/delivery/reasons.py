"""Why a message was not sent, as a code staff texts can name: the vocabulary of the ledger's `error` column
(bot/delivery/sending.py, the channels, SMS delivery receipts, broadcasts) and of the trace's `held` and
`skipped` reasons (flows/rules.py), read back into (code, detail).

The detail is what a code carries besides itself (a template's key, a provider's own status text or error
code): shown beside the translated words, never translated. A provider's text that matches no code here is
`provider_error` with the text as its detail, so nothing on the dashboard is a raw code without words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# flows/rules.py's verdicts, held or skipped (the trace joins several with ", ")
RULE_CODES = ("quiet_hours", "frequency_cap", "same_day_duplicate", "held_too_long")
# bot.delivery.rules.refusal(), written as "not_sent: <code>" by the send job
REFUSAL_CODES = ("no_address", "blocked", "no_consent")
REASON_CODES = (
    *RULE_CODES,
    *(f"not_sent_{code}" for code in REFUSAL_CODES),
    "no_channel",  # the trace's not_sent: no channel could carry the step at all
    "in_handover",  # marketing waits while a person has the customer's conversation (sending.py)
    "cancelled",  # staff cancelled the broadcast
    "retry_window_passed",  # LINE's retry key lasts 24 h: the send job gives up after 23
    "gave_up",  # retried until the window closed; the detail is the last answer
    "template_missing",  # the template has no text in the locale files
    "merge_field_empty",  # a merge field of the template had no value
    "sms_empty",
    "sms_too_long",
    "sms_invalid_number",
    "push_unregistered",  # the app's token is no longer registered
    "email_smtputf8",  # the mail server cannot take an international address
    "channel_stopped",  # the channel is stopped (a quota, a suspended account): waiting for staff
    "receipt_failed",  # an SMS delivery receipt said failed, without a code
    "provider_error",  # the provider's own answer; the detail is its status or error code
    "unknown",  # nothing recorded
)


@dataclass(frozen=True)
class Reason:
    code: str  # one of REASON_CODES
    detail: str = ""


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"not_sent: (no_address|blocked|no_consent)"), "not_sent_{0}"),
    (re.compile(r"retry window of \d+ h passed"), "retry_window_passed"),
    (re.compile(r"gave up after \d+ h: ?(.*)", re.DOTALL), "gave_up"),
    (re.compile(r"template (\S+): no text"), "template_missing"),
    (re.compile(r"template (\S+): a merge field has no value"), "merge_field_empty"),
    (re.compile(r"empty: 0 characters"), "sms_empty"),
    (re.compile(r"too_long: (\d+) characters.*"), "sms_too_long"),
    (re.compile(r"invalid_number: .*"), "sms_invalid_number"),
    (re.compile(r"unregistered"), "push_unregistered"),
    (re.compile(r"smtputf8 not supported"), "email_smtputf8"),
    (re.compile(r"channel stopped"), "channel_stopped"),
    (re.compile(r"failed"), "receipt_failed"),
)
_PLAIN = frozenset({*RULE_CODES, "no_channel", "in_handover", "cancelled", "unknown"})


def read_reason(reason: str | None) -> list[Reason]:
    """The codes a recorded reason stands for (several for the rules' "quiet_hours, frequency_cap")."""
    given = (reason or "").strip()
    if not given:
        return [Reason("unknown")]
    parts = [part.strip() for part in given.split(",")]
    if all(part in _PLAIN for part in parts):
        return [Reason(part) for part in dict.fromkeys(parts)]
    for pattern, code in _PATTERNS:
        matched = pattern.fullmatch(given)
        if matched:
            groups = matched.groups()
            if "{0}" in code:
                return [Reason(code.format(groups[0]))]
            return [Reason(code, groups[0].strip() if groups else "")]
    return [Reason("provider_error", given)]
