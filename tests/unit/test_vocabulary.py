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
