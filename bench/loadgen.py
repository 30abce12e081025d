"""A small HTTP/1.1 keep-alive load generator (asyncio, stdlib) for bench scripts on this machine.

Two modes: closed loop (N connections, each sends the next request when the last answer arrives) for
throughput, and open loop (requests started at a fixed rate whatever the answers do) for latency at a load.
A request unanswered after REQUEST_TIMEOUT seconds counts as an error, so a stuck server cannot hang a bench.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 10.0  # seconds from sending a request to its whole answer


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        return (
            f"{len(self.latencies)} requests in {self.elapsed:.1f}s = {self.rps:,.0f} req/s; "
            f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms; "
            f"statuses {dict(sorted(self.statuses.items()))}, errors {self.errors}"
        )


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _send(conn: Connection, raw: bytes, result: Result) -> None:
    started = time.perf_counter()
    try:
        status = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
        conn.close()
        result.errors += 1
        return
    result.latencies.append(time.perf_counter() - started)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], connections: int, seconds: float
) -> Result:
    """Each connection sends back-to-back until `seconds` pass or the requests run out."""
    result, cursor = Result(), iter(requests)
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            raw = next(cursor, None)
            if raw is None:
                break
            await _send(conn, raw, result)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(host: str, port: int, requests: Sequence[bytes], rate: float, seconds: float) -> Result:
    """Start one request every 1/rate seconds on an idle connection (a new one if all are busy)."""
    result, idle = Result(), [Connection(host, port) for _ in range(32)]
    total = min(len(requests), int(rate * seconds))
    tasks = []

    async def one(raw: bytes) -> None:
        conn = idle.pop() if idle else Connection(host, port)
        await _send(conn, raw, result)
        idle.append(conn)

    started = time.perf_counter()
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[index])))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - started
    for conn in idle:
        conn.close()
    return result
