"""Run the LINE emulator in the foreground: ``python -m devtools.line_emulator --port 8089 --token T``.

Prints the base URL (use it as ``Configuration(host=...)``) and serves until interrupted
(Ctrl-C / SIGTERM).  Control it over HTTP under ``/__emulator__/`` (see ``control.py``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from devtools.line_emulator.app import EmulatorApp
from devtools.line_emulator.schema import load_spec
from devtools.line_emulator.server import LineEmulator
from devtools.line_emulator.state import EmulatorState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.line_emulator", description="Local LINE Messaging API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port (0 = any free port; default 8089)")
    parser.add_argument("--token", default="test-token", help="channel access token to accept")
    parser.add_argument("--quota", type=int, default=None, help="monthly message limit (default: none)")
    parser.add_argument("--max-records", type=int, default=10_000, help="requests and messages kept")
    parser.add_argument(
        "--validate-every",
        type=int,
        default=1,
        help="check one request body in N against the spec (default 1)",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=0,
        metavar="THREADS",
        help="serve with gunicorn (one process, THREADS threads) so connections are kept alive as LINE does;"
        " werkzeug's server closes every connection",
    )
    parser.add_argument("--verbose", action="store_true", help="log one line per API request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    load_spec()  # fail fast on a broken install rather than on the first request
    if args.keep_alive:
        state = EmulatorState(args.token, None, args.quota, args.max_records, args.validate_every)
        serve_kept_alive(EmulatorApp(state), args.host, args.port, args.keep_alive)
        return 0
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with LineEmulator(
        args.token,
        args.host,
        args.port,
        monthly_quota=args.quota,
        max_records=args.max_records,
        validate_every=args.validate_every,
    ) as emulator:
        print(emulator.base_url, flush=True)
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def serve_kept_alive(app: EmulatorApp, host: str, port: int, threads: int) -> None:
    """One gunicorn worker process (the emulator's state lives in it) with keep-alive threads."""
    from gunicorn.app.base import BaseApplication

    def ready(server: object) -> None:
        bound = server.LISTENERS[0].sock.getsockname()  # type: ignore[attr-defined]
        print(f"http://{bound[0]}:{bound[1]}", flush=True)

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 30,
                "loglevel": "warning",
                "when_ready": ready,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> EmulatorApp:
            return app

    Server().run()


if __name__ == "__main__":
    sys.exit(main())
