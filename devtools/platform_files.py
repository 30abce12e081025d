"""The files a Heroku-like platform's Python buildpack reads, made from the project's own sources so they cannot
drift (tests/integration/test_platform_files.py fails when they do):

- `requirements.txt`: the runtime dependencies of pyproject.toml and everything they need, pinned with hashes
  (pip-compile; no dev dependencies). The buildpack detects the app by it and installs from it alone.
- `.python-version`: the Python of pyproject.toml's `requires-python`.
- `app.json`: the manifest of a one-click or one-command deploy: the add-ons (PostgreSQL, Redis), the settings
  from docs/operators.md (required: those production refuses to start without), the buildpack and the web and
  worker formation. The Procfile's `release` migrates on every deploy.

    .venv/bin/python -m devtools.platform_files          # write all three (`make lock`)
    .venv/bin/python -m devtools.platform_files --check  # exit 1 when a file differs from what it would write
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
OPERATORS = ROOT / "docs" / "operators.md"
LOCK = ROOT / "requirements.txt"
PYTHON_VERSION = ROOT / ".python-version"
APP_JSON = ROOT / "app.json"

# Set by the add-ons, never by hand.
FROM_ADDONS = {"DATABASE_URL", "REDIS_URL"}
# A laptop's switch: on a platform it must stay unset (it allows the sample sender identity).
NOT_ON_A_PLATFORM = {"LOCAL_MODE"}
# Refused at start-up when missing outside local mode, besides the sender identity (Settings.sample_identity).
ALWAYS_REQUIRED = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "ATTACHMENT_KEY")
DYNO_SIZE = "standard-1x"  # 512 MB: web and worker are sized to fit it (docs/deployment.md)
PIP_COMPILE = [
    "pip-compile",
    "--quiet",
    "--generate-hashes",
    "--allow-unsafe",
    "--strip-extras",
    "--no-emit-index-url",
    "--no-emit-find-links",
    "--output-file",
    "requirements.txt",
    "pyproject.toml",
]


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def python_version() -> str:
    """'3.11' from requires-python '>=3.11,<3.12': the buildpack takes the newest patch release of it."""
    found = re.search(r">=\s*(\d+\.\d+)", project()["requires-python"])
    if found is None:
        raise SystemExit("pyproject.toml: requires-python names no lowest version (>=3.x)")
    return found.group(1) + "\n"


def settings_table() -> list[tuple[list[str], str, str]]:
    """[(variable names, default, meaning)] of docs/operators.md's configuration table, as written there."""
    rows = []
    for line in OPERATORS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
            if names:
                rows.append((names, cells[1], cells[2]))
    return rows


def required_settings() -> list[str]:
    from bot.platform.config import Settings

    sample = Settings(
        local_mode=False
    ).sample_identity()  # every identity setting at its shipped sample value
    return [*ALWAYS_REQUIRED, *sample]


def _plain(markdown: str) -> str:
    """A table cell as plain text: no code marks, links as their words."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    return text.replace("`", "").strip()


def app_json() -> str:
    meta = project()
    required = required_settings()
    env: dict[str, dict[str, object]] = {}
    for names, default, meaning in settings_table():
        # a row for several variables: each its own default where the row gives one per variable, the meaning
        # with the names it speaks of
        defaults = re.findall(r"`([^`]*)`", default)
        each = (
            defaults
            if len(names) > 1 and len(defaults) == len(names) and default.count("`") == 2 * len(names)
            else None
        )
        for position, name in enumerate(names):
            if name in FROM_ADDONS | NOT_ON_A_PLATFORM or name in env:
                continue
            description = _plain(meaning) if len(names) == 1 else f"{', '.join(names)}: {_plain(meaning)}"
            given = each[position] if each else _plain(default)
            if given not in ("—", ""):
                description += f" (default: {given})"
            env[name] = {"description": description, "required": name in required}
    missing = [name for name in required if name not in env]
    if missing:
        raise SystemExit(f"docs/operators.md does not describe {', '.join(missing)}: add them to its table")
    manifest = {
        "name": meta["name"],
        "description": meta["description"],
        "keywords": ["line", "insurance", "flask", "rq"],
        "stack": "heroku-24",
        "buildpacks": [{"url": "heroku/python"}],
        "addons": [
            {"plan": "heroku-postgresql", "as": "DATABASE"},
            {"plan": "heroku-redis", "as": "REDIS"},
        ],
        "formation": {
            "web": {"quantity": 1, "size": DYNO_SIZE},
            "worker": {"quantity": 1, "size": DYNO_SIZE},
        },
        "env": dict(sorted(env.items(), key=lambda item: (not item[1]["required"], item[0]))),
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def pins(lock_text: str) -> dict[str, tuple[str, int]]:
    """{normalised name: (version, number of hashes)} of a pip-compile lock."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock_text.splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if pinned:
            current = normalise(pinned.group(1))
            found[current] = (pinned.group(2), 0)
        elif current and "--hash=" in line:
            version, hashes = found[current]
            found[current] = (version, hashes + line.count("--hash="))
    return found


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_drift(pyproject_text: str, lock_text: str) -> list[str]:
    """What the lock lacks or gets wrong against pyproject.toml's runtime dependencies; [] when it is current."""
    locked = pins(lock_text)
    problems = []
    for requirement in tomllib.loads(pyproject_text)["project"]["dependencies"]:
        spec = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", requirement)
        if spec is None:
            problems.append(f"{requirement}: not pinned with == in pyproject.toml")
            continue
        name, version = normalise(spec.group(1)), spec.group(2)
        if name not in locked:
            problems.append(f"{name}=={version} is in pyproject.toml but not in requirements.txt")
        elif locked[name][0] != version:
            problems.append(f"{name}: {version} in pyproject.toml, {locked[name][0]} in requirements.txt")
    problems += [f"{name}: no hash in requirements.txt" for name, (_, hashes) in locked.items() if not hashes]
    return problems


def write_lock() -> None:
    """requirements.txt by pip-compile from pyproject.toml (asks the package index for the hashes)."""
    subprocess.run(
        [str(Path(sys.executable).parent / PIP_COMPILE[0]), *PIP_COMPILE[1:]], cwd=ROOT, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="compare instead of writing (the lock: its pins)"
    )
    args = parser.parse_args()
    generated = {PYTHON_VERSION: python_version(), APP_JSON: app_json()}
    if args.check:
        stale = [
            path.name for path, text in generated.items() if not path.exists() or path.read_text() != text
        ]
        drift = lock_drift(PYPROJECT.read_text(), LOCK.read_text() if LOCK.exists() else "")
        if stale or drift:
            raise SystemExit("out of date (run `make lock`): " + "; ".join([*stale, *drift]))
        return
    for path, text in generated.items():
        path.write_text(text)
    write_lock()
    print(f"wrote {', '.join(path.name for path in (*generated, LOCK))}")


if __name__ == "__main__":
    main()
