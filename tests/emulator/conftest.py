"""Fixtures for the LINE emulator tests: a running emulator, an SDK client and a raw HTTP helper."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

from devtools.line_emulator import LineEmulator

TOKEN = "test-token"
USER = "U" + "1" * 32
OTHER_USER = "U" + "2" * 32


@dataclass
class RawResponse:
    """Status, lower-cased headers and parsed JSON body of a plain HTTP call."""

    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
def emulator() -> Iterator[LineEmulator]:
    with LineEmulator(channel_access_token=TOKEN) as line:
        yield line


@pytest.fixture
def api(emulator: LineEmulator) -> Iterator[MessagingApi]:
    with ApiClient(Configuration(access_token=TOKEN, host=emulator.base_url)) as client:
        yield MessagingApi(client)


RawCall = Callable[..., RawResponse]


@pytest.fixture
def raw(emulator: LineEmulator) -> RawCall:
    """``raw(method, path, body=None, token=TOKEN, headers=None)`` over http.client."""

    def call(
        method: str,
        path: str,
        body: Any = None,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        parts = urlsplit(emulator.base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else None
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return RawResponse(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                json.loads(data) if data else None,
            )
        finally:
            conn.close()

    return call
