"""A write the database refuses is logged without the values that were written (names, phones, emails)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.api_events.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
NAME, EMAIL, PHONE = "勅使河原", "teshigawara@example.jp", "080-1111-2222"


def _prospect(email: str, phone: str, request_id: str) -> dict:
    event = EXAMPLES["document_requested"]
    customer = {"email": email, "phone": phone, "family_name": NAME, "given_name": "左衛門三郎"}
    return event | {"customer": customer, "data": event["data"] | {"document_request_id": request_id}}


@pytest.fixture
def one_customer_per_family_name(runtime):
    """A unique index the test adds, standing for any constraint a write can break."""
    with runtime.engine.begin() as connection:
        connection.execute(text("CREATE UNIQUE INDEX test_one_family ON customers (family_name)"))
    yield
    with runtime.engine.begin() as connection:
        connection.execute(text("DROP INDEX test_one_family"))


def test_a_refused_write_logs_neither_its_parameters_nor_the_database_detail(
    push, one_customer_per_family_name, caplog
):
    """The service's own write hits a unique violation: the logged error (and its traceback) names the
    constraint, not the name, email or phone; PostgreSQL's `DETAIL: Key (…)=(…)` is gone too."""
    caplog.set_level(logging.INFO)
    assert push(_prospect("first@example.jp", "080-3333-4444", "DR-1")).status_code == 200
    assert push(_prospect(EMAIL, PHONE, "DR-2")).status_code == 500
    [failure] = [record for record in caplog.records if record.exc_info]
    error = failure.exc_info[1]
    assert "IntegrityError" in caplog.text and "parameters hidden" in str(error)
    for value in (NAME, EMAIL, PHONE, "+818011112222", "Key ("):
        assert value not in caplog.text and value not in str(error) and value not in str(error.__cause__)


def test_every_engine_is_made_with_hidden_parameters():
    """Outside make_engine, any engine the code makes passes hide_parameters=True (tests excepted)."""
    makers = {"create_engine", "engine_from_config"}
    missing = []
    for path in ROOT.glob("**/*.py"):
        if {".venv", "tests"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) in makers
            ):
                keywords = {k.arg: k.value for k in node.keywords}
                hidden = keywords.get("hide_parameters")
                if not (isinstance(hidden, ast.Constant) and hidden.value is True):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []
