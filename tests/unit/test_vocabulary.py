"""One word, one meaning (STYLE.md §8): the shared vocabulary is defined once, and no second meaning takes its
name."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "flows", "models")
TOOLS = ("devtools", "bench")


@cache
def top_level(folder: str) -> tuple[tuple[str, str, ast.AST], ...]:
    """(module, name, definition) of every top-level class and assignment under `folder`, tuples unpacked."""
    found: list[tuple[str, str, ast.AST]] = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found.append((module, node.name, node))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.append((module, target.id, node.value))
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs = zip(target.elts, node.value.elts, strict=True)
                        found += [(module, t.id, v) for t, v in pairs if isinstance(t, ast.Name)]
    return tuple(found)


def definitions(*folders: str) -> list[tuple[str, str, ast.AST]]:
    return [entry for folder in folders for entry in top_level(folder)]


def test_channel_and_purpose_are_defined_once_in_the_dsl():
    """Channel and Purpose have one definition, in flows.dsl; models keep their values and import them."""
    where = {
        (module, name) for module, name, _ in definitions(*PACKAGES, *TOOLS) if name in ("Channel", "Purpose")
    }
    assert where == {("flows.dsl", "Channel"), ("flows.dsl", "Purpose")}


def _is_status_set(value: ast.AST) -> bool:
    return isinstance(value, ast.Tuple) and any(
        isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "DeliveryStatus"
        for e in value.elts
    )


def test_the_ledgers_status_sets_are_named_once_beside_delivery_status():
    """A set of ledger statuses (sendable, unsettled, sent or delivered) is defined in models.enrollment only."""
    found = [
        (module, name) for module, name, value in definitions(*PACKAGES, *TOOLS) if _is_status_set(value)
    ]
    assert found == [
        ("models.enrollment", "SENDABLE"),
        ("models.enrollment", "UNSETTLED"),
        ("models.enrollment", "SENT_OR_DELIVERED"),
    ]


def test_every_delivery_status_is_unsettled_or_an_outcome():
    """A ledger row either may still go out (a send job may take it, or its scenario is paused) or has its
    outcome: sent, delivered or failed; never both."""
    from models import SENDABLE, SENT_OR_DELIVERED, UNSETTLED, DeliveryStatus

    outcomes = {*SENT_OR_DELIVERED, DeliveryStatus.FAILED}
    assert set(SENDABLE) < set(UNSETTLED)
    assert not set(UNSETTLED) & outcomes
    assert set(UNSETTLED) | outcomes == set(DeliveryStatus)


def test_deliveries_names_the_ledger_table_and_nothing_else():
    """DELIVERIES is the delivery ledger's table wherever it is bound; the send jobs' queue is SENDS."""
    bound = {ast.unparse(value) for _, name, value in definitions(*PACKAGES, *TOOLS) if name == "DELIVERIES"}
    assert bound == {"Delivery.__table__"}


def test_no_class_of_ours_shares_a_name_with_a_table_or_enum_of_models():
    """A model's name means that table or enum everywhere (the store's adviser is Adviser; no second Staff)."""
    classes = [
        (module, name) for module, name, node in definitions(*PACKAGES) if isinstance(node, ast.ClassDef)
    ]
    models = {name for module, name in classes if module.startswith("models.")}
    elsewhere = {
        (module, name) for module, name in classes if name in models and not module.startswith("models.")
    }
    assert elsewhere == set()
