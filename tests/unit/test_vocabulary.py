"""One word, one meaning (STYLE.md §8): the shared vocabulary is defined once, and no other class takes its name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "flows", "models")


def definitions() -> dict[str, set[str]]:
    """Every top-level class and constant of our packages → the modules that define it."""
    where: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    where[node.name].add(module)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        for name in ast.walk(target):
                            if isinstance(name, ast.Name) and name.id.isupper():
                                where[name.id].add(module)
    return where


def test_channel_and_purpose_are_defined_once_in_the_dsl():
    """Channel and Purpose have one definition, in flows.dsl; models store their values and import them."""
    where = definitions()
    assert where["Channel"] == {"flows.dsl"}
    assert where["Purpose"] == {"flows.dsl"}


def _status_sets(path: Path) -> list[str]:
    """The top-level names that a module binds to a tuple of DeliveryStatus members."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            members = [e for e in node.value.elts if isinstance(e, ast.Attribute)]
            if any(isinstance(e.value, ast.Name) and e.value.id == "DeliveryStatus" for e in members):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def test_the_ledgers_status_sets_are_named_once_beside_delivery_status():
    """A set of ledger statuses (sendable, unsettled, sent or delivered) is defined in models.enrollment only."""
    found = {
        str(path.relative_to(ROOT)): names
        for folder in (*PACKAGES, "devtools", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if (names := _status_sets(path))
    }
    assert found == {"models/enrollment.py": ["SENDABLE", "UNSETTLED", "SENT_OR_DELIVERED"]}


def test_every_delivery_status_is_unsettled_or_an_outcome():
    """A ledger row either may still go out (the send job may take it, or its scenario is paused) or has its
    outcome: sent, delivered or failed; never both."""
    from models import SENDABLE, SENT_OR_DELIVERED, UNSETTLED, DeliveryStatus

    assert set(SENDABLE) < set(UNSETTLED)
    assert not set(UNSETTLED) & {*SENT_OR_DELIVERED, DeliveryStatus.FAILED}
    assert set(UNSETTLED) | {*SENT_OR_DELIVERED, DeliveryStatus.FAILED} == set(DeliveryStatus)


def _bindings(path: Path) -> list[tuple[str, ast.expr]]:
    """(name, value) of every top-level assignment of a module, tuples unpacked."""
    pairs = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    pairs.append((target.id, node.value))
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs += [(t.id, v) for t, v in zip(target.elts, node.value.elts, strict=True)]
    return pairs


def test_deliveries_names_the_ledger_table_and_nothing_else():
    """DELIVERIES is the delivery ledger's table wherever it is bound; the send jobs' queue is SENDS."""
    bound = {
        ast.unparse(value)
        for folder in (*PACKAGES, "devtools", "bench")
        for path in (ROOT / folder).rglob("*.py")
        for name, value in _bindings(path)
        if name == "DELIVERIES"
    }
    assert bound == {"Delivery.__table__"}


def test_no_class_of_ours_shares_a_name_with_a_table_or_enum_of_models():
    """A model's name means that table or enum everywhere (the store's adviser is Adviser, not Staff)."""
    shared = {
        name: modules
        for name, modules in definitions().items()
        if any(m.startswith("models.") for m in modules) and len(modules) > 1
    }
    assert shared == {}
