"""Every wait in a bench has a deadline: a bench that cannot finish exits non-zero with the reason, never hangs.

A SystemExit with a message prints it to stderr and exits 1; the `finally` blocks of the bench still stop the
processes it started.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STOP_SECONDS = 15  # a process asked to stop (SIGTERM) that is still running after this is killed


def wait_until(condition: Callable[[], T], seconds: float, what: str, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something true, and return that; exit with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {seconds:.0f} s; giving up")
        time.sleep(interval)
    return result


def wait_process(process: subprocess.Popen, seconds: float, what: str) -> int:
    """The exit code of `process`; killed, and the bench exits, if it runs longer than `seconds`."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise SystemExit(
            f"bench: {what} still running after {seconds:.0f} s; killed it and gave up"
        ) from None


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not ended within STOP_SECONDS."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
