"""The baseline for bench/send.py: the LINE SDK's own client pushing the same messages to the same emulator, with
no database, no queue and no rendering: the CPU a push costs before the service adds anything.

    .venv/bin/python -m bench.bare_client BASE_URL TOKEN MESSAGES_JSON --pushes 2000 --concurrency 8

It sends the way bot/delivery/channels/line.py does (linebot.v3.messaging's ApiClient over pooled keep-alive
connections, the raw JSON body, an X-Line-Retry-Key per push, `--concurrency` pushes in flight), first WARM_UP
pushes untimed, then `--pushes` timed ones, each to a user of its own, and prints one JSON line:
{"pushes", "seconds", "cpu_seconds"} (CPU of this process, all its threads, from time.process_time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from linebot.v3.messaging import ApiClient, Configuration

WARM_UP = 50  # untimed: imports, the connection pool and the emulator's first answers
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
TIMEOUT = (3.05, 10.0)  # the product's time-outs


def push(client: ApiClient, to: str, messages: list[dict]) -> None:
    client.call_api(
        "/v2/bot/message/push",
        "POST",
        header_params={**HEADERS, "X-Line-Retry-Key": str(uuid.uuid4())},
        body={"to": to, "messages": messages},
        response_types_map={},
        auth_settings=["Bearer"],
        _return_http_data_only=False,
        _request_timeout=TIMEOUT,
    )


def user(index: int) -> str:
    return "U" + hashlib.md5(str(index).encode()).hexdigest()  # the LINE user ids bench/send.py writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("messages", help="the JSON list of message objects each push carries")
    parser.add_argument("--pushes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    messages = json.loads(args.messages)
    configuration = Configuration(access_token=args.token, host=args.base_url)
    configuration.connection_pool_maxsize = args.concurrency
    with ApiClient(configuration) as client, ThreadPoolExecutor(args.concurrency) as pool:

        def send(indexes: range) -> None:
            # list() waits for every push and raises the first error: a refused push ends the bench
            list(pool.map(lambda index: push(client, user(index), messages), indexes))

        send(range(1, WARM_UP + 1))
        cpu, started = time.process_time(), time.perf_counter()
        send(range(WARM_UP + 1, WARM_UP + args.pushes + 1))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"pushes": args.pushes, "seconds": seconds, "cpu_seconds": cpu_seconds}))


if __name__ == "__main__":
    main()
