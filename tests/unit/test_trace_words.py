"""The explain trace in words: every decision code the engine, the runner or any other writer of the trace can
record has a text in Japanese and in English, and so does every word its details are shown with (reasons,
outcomes, signals, channels, the record a scenario starts from). The codes are found by reading the code, so a new
one without its words fails here rather than as a KeyError in `flask why`."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from bot.customers.facts import ANCHORS
from bot.platform.i18n import LOCALES_DIR
from flows.dsl import Channel, Outcome, Signal

ROOT = Path(__file__).resolve().parents[2]
PASSED_ON = {"effect.code"}  # the runner writes the engine's own Decision codes, found in flows/engine.py


def words(locale: str, group: str) -> dict:
    """One group of texts (`trace`, `scenario_view.outcome` …) as the locale file has it, without fallback."""
    tree = yaml.safe_load((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))[locale]
    for part in group.split("."):
        tree = tree[part]
    return tree


def writes_trace(path: Path, tree: ast.Module) -> bool:
    """A module that records decisions: the engine (Decision is its), a user of its Decision, or of TraceEntry
    (bot/privacy has a Decision of its own, which is no trace)."""
    if path == ROOT / "flows" / "engine.py":
        return True
    wanted = {"flows.engine": "Decision", "models": "TraceEntry"}
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module in wanted
        and wanted[node.module] in {alias.name for alias in node.names}
        for node in ast.walk(tree)
    )


def assigned(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """What each plain name is assigned in a function (or module): `code = "a" if … else "b"`."""
    values: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
    return values


def strings(value: ast.expr, names: dict[str, list[ast.expr]], unresolved: set[str]) -> set[str]:
    """The codes an expression can be: a literal, either branch of a conditional, a name's assigned values."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}
    if isinstance(value, ast.IfExp):
        return strings(value.body, names, unresolved) | strings(value.orelse, names, unresolved)
    if isinstance(value, ast.Name) and value.id in names:
        return set().union(*(strings(v, names, unresolved) for v in names[value.id]))
    unresolved.add(ast.unparse(value))
    return set()


def trace_codes() -> tuple[set[str], set[str]]:
    """(every code written into the trace, the expressions that could not be read as codes)."""
    codes: set[str] = set()
    unresolved: set[str] = set()
    for package in ("bot", "flows", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if not writes_trace(path, tree):
                continue
            scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            for scope in scopes:
                names = assigned(scope)
                for node in ast.walk(scope):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Decision":
                        if node.args:
                            codes |= strings(node.args[0], names, unresolved)
                    elif isinstance(node, ast.Dict):
                        for key, value in zip(node.keys, node.values, strict=True):
                            if isinstance(key, ast.Constant) and key.value == "code":
                                codes |= strings(value, names, unresolved)
    return codes, unresolved


def function(path: str, name: str) -> ast.FunctionDef:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


def hold_reasons() -> set[str]:
    """Why flows.rules.judge holds or skips a message: what it appends to its reasons or gives its Verdict."""
    found = set()
    for node in ast.walk(function("flows/rules.py", "judge")):
        if isinstance(node, ast.Call) and (
            getattr(node.func, "id", None) == "Verdict" or getattr(node.func, "attr", None) == "append"
        ):
            found |= {
                n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
    return found


def refusals() -> set[str]:
    """Why bot.delivery.rules.refusal passes a channel over: the texts it returns."""
    returns = [
        n.value for n in ast.walk(function("bot/delivery/rules.py", "refusal")) if isinstance(n, ast.Return)
    ]
    return {r.value for r in returns if isinstance(r, ast.Constant) and isinstance(r.value, str)}


def test_the_walk_finds_the_codes_of_every_writer():
    """The engine's, the runner's and the referral's codes are all found, and nothing written is left unread."""
    codes, unresolved = trace_codes()
    assert {"entered", "goal_reached", "left", "waiting", "segment_no"} <= codes  # flows/engine.py
    assert {"queued", "held", "skipped", "not_sent", "opted_out", "engine_error"} <= codes  # the runner
    assert unresolved <= PASSED_ON, unresolved
    assert {"same_day_duplicate", "quiet_hours", "frequency_cap", "held_too_long"} <= hold_reasons()
    assert {"no_address", "no_consent", "blocked"} <= refusals()


def test_every_trace_code_has_japanese_and_english_words():
    """`flask why` and /why can put every recorded decision into words, in either language."""
    codes, _ = trace_codes()
    for locale in ("ja", "en"):
        texts = words(locale, "trace")
        assert codes - texts.keys() == set(), locale
        assert all(isinstance(texts[code], str) for code in codes), locale


def test_every_word_the_details_are_shown_with_is_there_in_both_languages():
    """Reasons a message was held, skipped or passed over, exit outcomes, engagement signals, channels, and the
    record a scenario starts from (for 「来店予約の記録がありません」) have texts in ja and en."""
    needed = {
        "trace.hold_reason": hold_reasons(),
        "trace.reason": refusals(),
        "scenario_view.outcome": {str(o) for o in Outcome},
        "trace.signal": {str(s) for s in Signal},
        "tracking.channel": {str(c) for c in Channel},
        "trace.no_record": {source.entity for source in ANCHORS.values()},
    }
    for locale in ("ja", "en"):
        for group, keys in needed.items():
            assert keys - words(locale, group).keys() == set(), (locale, group)
