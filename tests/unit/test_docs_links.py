"""What the README and the docs/ pages point at exists: relative links and their anchors, the repository paths,
modules, make targets and flask commands they quote. A file moved or a command renamed fails here, not in a
newcomer's terminal."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)
# A path of the repository as the pages quote it (placeholders such as <scenario> or chat*.yml are not paths).
REPO_PATH = re.compile(
    r"^(?:(?:bot|handlers|flows|models|devtools|tests|locales|docs|bench|migrations|\.ci)/[\w./-]*"
    r"|app\.py|worker\.py|Procfile|Makefile|gunicorn\.conf\.py|pyproject\.toml|alembic\.ini)$"
)
OUR_MODULE = re.compile(r"python[\d.]* -m ((?:bot|devtools|handlers|flows|models|bench)(?:\.\w+)*)")
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
FLASK = re.compile(r"\bflask (?:--app app )?([a-z][\w-]*)(?: ([a-z][\w|-]*))?")


def quoted_code(page: Path) -> list[str]:
    """Every fenced block and inline code span of a page."""
    text = page.read_text("utf-8").replace("\\|", "|")  # a pipe escaped in a table cell
    return FENCE.findall(text) + CODE_SPAN.findall(FENCE.sub("", text))


def prose(page: Path) -> str:
    """The page without code, where links are links."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text("utf-8")))


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub gives a page: lower case, punctuation dropped, spaces as hyphens, -N on repeats."""
    found: set[str] = set()
    repeats: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text("utf-8"))):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-")
        repeat = repeats.get(slug, 0)
        repeats[slug] = repeat + 1
        found.add(slug if repeat == 0 else f"{slug}-{repeat}")
    return found


def test_every_relative_link_and_anchor_resolves():
    """Each relative link of the README and docs/*.md leads to a file that exists, and to a heading of it."""
    broken = []
    for page in PAGES:
        for target in LINK.findall(prose(page)):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken


def test_every_quoted_repository_path_exists():
    """A path of the repository quoted in code (`bot/chat/answers.py`, `tests/log_guard.py` …) exists."""
    missing = []
    for page in PAGES:
        for code in quoted_code(page):
            for word in code.split():
                word = word.strip("(),;:'\"")
                if REPO_PATH.match(word) and not (ROOT / word).exists():
                    missing.append(f"{page.relative_to(ROOT)}: {word}")
    assert not missing


def test_every_quoted_module_make_target_and_flask_command_exists():
    """`python -m` names a module of ours, `make` a Makefile target, `flask` a registered command and subcommand."""
    from bot.cli import register

    app = Flask(__name__)  # an importable module: "docs" is a namespace package whose paths vary with the cwd
    register(app)
    commands = app.cli.commands
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    unknown = []
    for page in PAGES:
        for code in quoted_code(page):
            for module in OUR_MODULE.findall(code):
                base = ROOT / module.replace(".", "/")
                if not (base.with_suffix(".py").exists() or (base / "__init__.py").exists()):
                    unknown.append(f"{page.relative_to(ROOT)}: python -m {module}")
            unknown += [f"{page.relative_to(ROOT)}: make {t}" for t in MAKE.findall(code) if t not in targets]
            for name, sub in FLASK.findall(code):
                command = commands.get(name)
                subcommands = getattr(command, "commands", None)
                if command is None:
                    unknown.append(f"{page.relative_to(ROOT)}: flask {name}")
                elif subcommands is not None and sub:
                    unknown += [
                        f"{page.relative_to(ROOT)}: flask {name} {part}"
                        for part in sub.split("|")
                        if part not in subcommands
                    ]
    assert not unknown
