"""What ships: a wheel built from the project holds the service and none of the dev tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_wheel_holds_the_service_and_no_dev_tools(tmp_path):
    """`pip wheel .` gives app, worker, bot, handlers, flows, models (with the locale-free code) and no
    devtools/ (LINE emulator, launcher, demo, sample data, simulator)."""
    # pip builds in the source tree (build/): build a copy, never the checkout
    source = tmp_path / "source"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".*", "var", "build", "*.egg-info", "__pycache__")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert {"app.py", "worker.py", "bot", "handlers", "flows", "models"} <= tops
    assert not any(name.startswith("devtools/") or "line_emulator" in name for name in names)
