"""A bounded local spool: lines kept in a file under the data directory while Redis is unreachable.

The processes of one machine (gunicorn's workers, and on a laptop the RQ worker too) share the file; an
exclusive `flock` makes each append and each drain whole. A drain hands every line to its consumer and
empties the file only once the consumer returned, so a crash in between keeps the lines (read twice, applied
once: what is spooled must be idempotent).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024  # about 60,000 tracking signals; a flood of made-up links must not fill the disk


class Spool:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def append(self, line: str) -> bool:
        """Add one line; False when the spool is full or cannot be written (the caller decides what then)."""
        data = (line.replace("\n", " ") + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # 0600: the lines may hold opt-out tokens, which are credentials
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            log.error("spool %s unwritable (%s)", self.path.name, type(exc).__name__)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size + len(data) > self.max_bytes:
                log.error("spool %s full (%s bytes): a line was not kept", self.path.name, self.max_bytes)
                return False
            os.write(fd, data)
            return True
        except OSError as exc:
            log.error("spool %s unwritable (%s)", self.path.name, type(exc).__name__)
            return False
        finally:
            os.close(fd)  # also releases the lock

    def has_lines(self) -> bool:
        """One stat call: cheap enough to ask on every request."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def drain(self, consume: Callable[[list[str]], None]) -> int:
        """Hand every line to `consume`, then empty the spool; if `consume` raises, the lines stay."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return 0
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as reader:
                lines = [line.rstrip("\n") for line in reader if line.strip()]
            if lines:
                consume(lines)
            os.ftruncate(fd, 0)
            return len(lines)
        finally:
            os.close(fd)
