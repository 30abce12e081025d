"""Run the LINE emulator in the foreground: ``python -m bot.line_emulator --port 8089 --token T``.

Prints the base URL (use it as ``Configuration(host=...)``) and serves until interrupted
(Ctrl-C / SIGTERM).  Control it over HTTP under ``/__emulator__/`` (see ``control.py``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.line_emulator.schema import load_spec
from bot.line_emulator.server import LineEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.line_emulator", description="Local LINE Messaging API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port (0 = any free port; default 8089)")
    parser.add_argument("--token", default="test-token", help="channel access token to accept")
    parser.add_argument("--quota", type=int, default=None, help="monthly message limit (default: none)")
    parser.add_argument("--max-records", type=int, default=10_000, help="requests and messages kept")
    parser.add_argument("--verbose", action="store_true", help="log one line per API request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    load_spec()  # fail fast on a broken install rather than on the first request
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with LineEmulator(
        args.token, args.host, args.port, monthly_quota=args.quota, max_records=args.max_records
    ) as emulator:
        print(emulator.base_url, flush=True)
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
