"""The service desk's requests as data (各種お手続き): for each kind, the questions staff need answered, in order,
and the check each answer must pass (desk_checks.py). Adding a kind is adding a `Form` here and its texts in
locales/messages/chat_desk.*.yml (`ask_<question>`, `done_<kind>`, `labels`, `kinds`); the runner
(service_desk.py) is generic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from handlers.dialogs.desk_checks import (
    Check,
    Choice,
    Day,
    Text,
    attachments,
    email,
    phone,
    policy_number,
    postal_code,
    tax_year,
    time_of_day,
)

YES_NO = Choice(
    "yes_no",
    {
        "yes": ("はい", "あり", "ある", "あります", "います", "いる", "呼んだ", "呼びました", "yes", "y"),
        "no": (
            "いいえ",
            "なし",
            "ない",
            "ありません",
            "いません",
            "いない",
            "呼んでいない",
            "呼んでません",
            "no",
            "n",
        ),
    },
)


@dataclass(frozen=True)
class Question:
    key: str  # its answer's name in the request, and its prompt `chat_desk.ask_<key>`
    check: Check
    optional: bool = False  # the prompt offers `skip`
    when: tuple[str, str] | None = None  # asked only when an earlier answer has this value


@dataclass(frozen=True)
class Form:
    name: str  # the action that starts it, and the request kind unless `kind_from` names it
    questions: tuple[Question, ...]
    kind_from: str | None = None  # the answer that says which kind this is (住所 or 氏名)
    # it changes the customer's personal data: only a customer who proved who they are (ID連携) may file it,
    # or anyone who knows a 証券番号 could move a stranger's policy to their own address
    personal: bool = False
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        keys = tuple(q.key for q in self.questions)
        if len(set(keys)) != len(keys):
            raise ValueError(f"form {self.name}: a question is asked twice")
        for index, question in enumerate(self.questions):
            if question.when and question.when[0] not in keys[:index]:
                raise ValueError(f"form {self.name}: {question.key} depends on a later or unknown answer")
        object.__setattr__(self, "keys", keys)

    def question(self, key: str) -> Question:
        return self.questions[self.keys.index(key)]

    def asks(self, question: Question, answers: Mapping[str, Any]) -> bool:
        return question.when is None or answers.get(question.when[0]) == question.when[1]

    def next_question(self, answers: Mapping[str, Any]) -> Question | None:
        """The first question not answered yet whose condition holds; None when all are."""
        return next((q for q in self.questions if q.key not in answers and self.asks(q, answers)), None)

    def kind(self, answers: Mapping[str, Any]) -> str:
        return str(answers[self.kind_from]) if self.kind_from else self.name

    def kinds(self) -> tuple[str, ...]:
        if self.kind_from is None:
            return (self.name,)
        check = self.question(self.kind_from).check
        return check.values if isinstance(check, Choice) else ()


FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Form(
            "address_change",
            (
                Question(
                    "target",
                    Choice(
                        "target",
                        {
                            "address_change": ("住所", "じゅうしょ", "引っ越", "転居", "address"),
                            "name_change": ("氏名", "名前", "なまえ", "姓", "name"),
                        },
                    ),
                ),
                Question("policy_number", policy_number),
                Question("postal_code", postal_code, when=("target", "address_change")),
                Question("new_address", Text(200), when=("target", "address_change")),
                Question(
                    "effective_date", Day(past_days=365, future_days=365), when=("target", "address_change")
                ),
                Question("new_name", Text(64), when=("target", "name_change")),
                Question("name_reason", Text(200), when=("target", "name_change")),
            ),
            kind_from="target",
            personal=True,
        ),
        Form(
            "accident_report",
            (
                Question("accident_date", Day(past_days=3 * 365)),  # claims lapse after three years
                Question("accident_time", time_of_day, optional=True),
                Question("place", Text(200)),
                Question("what_happened", Text(1000)),
                Question("injuries", YES_NO),
                Question("other_party", YES_NO),
                Question("police", YES_NO),
                Question("callback_phone", phone),
                # photos of the damage or the scene, a video, a document: staff see them with the notice
                Question("photos", attachments, optional=True),
            ),
        ),
        Form(
            "policy_reissue",
            (
                Question("policy_number", policy_number),
                Question(
                    "reissue_reason",
                    Choice(
                        "reason",
                        {
                            "lost": ("紛失", "なくした", "無くした", "失くした", "lost"),
                            "damaged": ("破損", "汚損", "破れ", "汚れ", "damaged"),
                            "other": ("その他", "そのほか", "other"),
                        },
                    ),
                ),
                Question(
                    "delivery",
                    Choice(
                        "delivery",
                        {
                            "on_file": ("登録", "今の住所", "現住所", "同じ", "on file", "same"),
                            "new": ("新しい", "別の", "変更", "new"),
                        },
                    ),
                ),
                Question("delivery_postal_code", postal_code, when=("delivery", "new")),
                Question("delivery_address", Text(200), when=("delivery", "new")),
            ),
        ),
        Form(
            "deduction_reissue",
            (Question("policy_number", policy_number), Question("tax_year", tax_year)),
        ),
        Form(
            "complaint",
            (
                Question("complaint_what", Text(1000)),
                Question("complaint_want", Text(1000)),
                Question(
                    "contact_by",
                    Choice(
                        "contact",
                        {
                            "line": ("line", "ライン", "このトーク", "トーク"),
                            "phone": ("電話", "でんわ", "tel", "phone"),
                            "email": ("メール", "めーる", "email", "e-mail", "mail"),
                        },
                    ),
                ),
                Question("contact_phone", phone, when=("contact_by", "phone")),
                Question("contact_email", email, when=("contact_by", "email")),
                Question("attachments", attachments, optional=True),  # a screenshot, a letter received …
            ),
        ),
    )
}
KINDS = tuple(kind for form in FORMS.values() for kind in form.kinds())
QUESTIONS = tuple(dict.fromkeys(q.key for form in FORMS.values() for q in form.questions))
CHOICE_VALUES = tuple(
    dict.fromkeys(
        v for f in FORMS.values() for q in f.questions if isinstance(q.check, Choice) for v in q.check.values
    )
)

# 32 characters without 0/O and 1/I: a reference read out over the phone is not misheard
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def reference_number(day: date, random_bits: int) -> str:
    """受付番号: R, the day (yymmdd, Japan time) and four characters of 20 random bits, e.g. R261202-7KQM."""
    chars = "".join(REFERENCE_ALPHABET[(random_bits >> (5 * i)) & 31] for i in range(4))
    return f"R{day:%y%m%d}-{chars}"
