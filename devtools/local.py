"""`make run`: the whole service on a laptop — embedded Redis, SQLite, the LINE emulator, web and worker.

python -m devtools.local serve                     # what `make run` does
python -m devtools.local send follow               # post a signed test event to the running service and print
python -m devtools.local send postback menu        # the bot's answer, as the LINE emulator received it
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.platform.config import load_settings
from bot.platform.redis_conn import embedded_redis_url, stop_embedded_redis

LOCAL_SECRET = "local-channel-secret"
LOCAL_TOKEN = "local-channel-access-token"
ROOT = Path(__file__).resolve().parent.parent


def local_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LINE_CHANNEL_SECRET", LOCAL_SECRET)
    env.setdefault("LINE_CHANNEL_ACCESS_TOKEN", LOCAL_TOKEN)
    env.setdefault("PORT", "5000")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    env.setdefault("EMULATOR_PORT", "8089")
    if not env.get("LINE_API_BASE_URL"):  # LINE is the emulator: /simulator plays the customer's LINE app
        env.setdefault("SIMULATOR_ENABLED", "1")  # and LINE's account-link step (never in production)
        env.setdefault("LINE_ACCOUNT_LINK_URL", f"{env['PUBLIC_BASE_URL']}/simulator/account-link")
    env.setdefault("LOCAL_MODE", "1")  # settings.local_mode: laptop-only pages (dashboard without a token)
    return env


@contextmanager
def local_redis(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    """REDIS_URL when set; otherwise an embedded Redis in `data_dir` for the duration, stopped on the way out
    unless another process still uses it (`make run` started it first)."""
    if env.get("REDIS_URL"):
        yield env["REDIS_URL"]
        return
    try:
        yield embedded_redis_url(data_dir)
    finally:
        stop_embedded_redis(data_dir)


def serve(_: argparse.Namespace) -> int:
    from bot.platform import migrate
    from devtools.line_emulator import LineEmulator

    env = local_environment()
    settings = load_settings(data_dir=Path(env.get("DATA_DIR", "var")))
    with local_redis(env, settings.data_dir) as redis_url:
        env["REDIS_URL"] = redis_url
        emulator = None
        if not env.get("LINE_API_BASE_URL"):
            emulator = LineEmulator(
                channel_access_token=env["LINE_CHANNEL_ACCESS_TOKEN"], port=int(env["EMULATOR_PORT"])
            ).start()
            env["LINE_API_BASE_URL"] = emulator.base_url
        migrate.upgrade(settings.effective_database_url)
        port = env["PORT"]
        web_command = [sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{port}"]
        web = subprocess.Popen(web_command, env=env, cwd=ROOT)  # gunicorn reads ./gunicorn.conf.py
        worker = subprocess.Popen([sys.executable, "worker.py"], env=env, cwd=ROOT)
        print(_banner(env, settings.effective_database_url), flush=True)
        return _supervise([web, worker], emulator)


def run_flask(args: argparse.Namespace) -> int:
    """`flask --app app …` on make run's settings and data (`var/`, its embedded Redis, the sample sender):
    the operator commands of the README's tour, from another terminal."""
    from bot.platform import migrate

    env = local_environment()
    env["LINE_API_BASE_URL"] = env.get("LINE_API_BASE_URL") or f"http://127.0.0.1:{env['EMULATOR_PORT']}"
    settings = load_settings(data_dir=Path(env.get("DATA_DIR", "var")))
    with local_redis(env, settings.data_dir) as redis_url:
        env["REDIS_URL"] = redis_url
        migrate.upgrade(settings.effective_database_url)  # nothing to do once make run has started once
        command = [sys.executable, "-m", "flask", "--app", "app", *args.arguments]
        return subprocess.run(command, check=False, env=env, cwd=ROOT).returncode


def _banner(env: dict[str, str], database_url: str) -> str:
    return f"""
  LINE engagement service is running (Ctrl-C stops everything)
{_simulator_line(env)}    webhook      {env["PUBLIC_BASE_URL"]}/callback
    health       {env["PUBLIC_BASE_URL"]}/healthz
    dashboard    {env["PUBLIC_BASE_URL"]}/dashboard  (staff: results as charts)
    database     {database_url}
    redis        {env["REDIS_URL"]}
    LINE API     {env["LINE_API_BASE_URL"]}  (emulator: GET /__emulator__/requests shows what was sent)
  Send a signed test event:
    .venv/bin/python -m devtools.local send follow
"""


def _simulator_line(env: dict[str, str]) -> str:
    if env.get("SIMULATOR_ENABLED") not in ("1", "true", "True"):
        return ""
    return f"    simulator    {env['PUBLIC_BASE_URL']}/simulator  <- open this: chat with the bot as a customer\n"


def _supervise(processes: list[subprocess.Popen], emulator: object | None) -> int:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for process in processes:
            if process.poll() is not None:
                print(f"process {process.args[1:3]} exited with {process.returncode}; stopping", flush=True)
                stopping, exit_code = True, process.returncode or 1
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    if emulator is not None:
        emulator.stop()  # type: ignore[attr-defined]
    return exit_code


def main(argv: list[str] | None = None) -> int:
    from devtools.local_send import add_send_command  # it builds on local_environment above

    parser = argparse.ArgumentParser(prog="python -m devtools.local", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start emulator, web and worker on embedded defaults").set_defaults(
        run=serve
    )
    add_send_command(commands)
    flask = commands.add_parser("flask", help="a flask command on make run's settings and data (var/)")
    flask.add_argument("arguments", nargs=argparse.REMAINDER, help="e.g. scenarios list")
    flask.set_defaults(run=run_flask)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
