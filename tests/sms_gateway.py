"""A local SMS gateway for tests: a JSON gateway and Twilio's Messages resource on loopback, recording requests.

It answers like the real ones: the JSON gateway checks its bearer token and returns the same id for a repeated
`Idempotency-Key`; Twilio checks basic auth and answers 201 with a message `sid`, or its error JSON
(`code`, `message`, `more_info`, `status`). Tests queue other answers (429, 5xx, 4xx, a slow answer) with
`answer_next`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from base64 import b64encode
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

GATEWAY_PATH = "/v1/sms"
TWILIO_MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"


@dataclass(frozen=True)
class Recorded:
    """One request the stub received: path, lower-cased headers and the raw body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass(frozen=True)
class Answer:
    """An answer to give instead of the normal one (after waiting `delay` seconds, for time-outs)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


class SmsGatewayStub:
    """`with SmsGatewayStub() as gateway:` → `gateway.gateway_url`, `gateway.base_url` (Twilio), `requests`."""

    def __init__(
        self, token: str = "gateway-token", twilio_sid: str = "AC" + "0" * 32, twilio_token: str = "tw"
    ):
        self.token, self.twilio_sid, self.twilio_token = token, twilio_sid, twilio_token
        self.requests: list[Recorded] = []
        self._answers: deque[Answer] = deque()
        self._ids: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None

    def answer_next(self, *answers: Answer) -> None:
        self._answers.extend(answers)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the stub first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def gateway_url(self) -> str:
        return self.base_url + GATEWAY_PATH

    def start(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), name="sms-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        recorded = Recorded(
            request.path, {k.lower(): v for k, v in request.headers.items()}, request.get_data()
        )
        with self._lock:
            self.requests.append(recorded)
            queued = self._answers.popleft() if self._answers else None
        if queued is not None:
            time.sleep(queued.delay)
            answer = queued
        elif recorded.path == GATEWAY_PATH:
            answer = self._gateway(recorded)
        elif recorded.path == TWILIO_MESSAGES.format(sid=self.twilio_sid):
            answer = self._twilio(recorded)
        else:
            answer = Answer(404, {"error": {"code": "not_found"}})
        body = json.dumps(answer.body).encode() if answer.body is not None else b""
        response = Response(body, answer.status, answer.headers, content_type="application/json")
        return response(environ, start_response)

    def _gateway(self, recorded: Recorded) -> Answer:
        if recorded.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"error": {"code": "unauthorized", "message": "bad token"}})
        key = recorded.headers.get("idempotency-key", "")
        with self._lock:
            provider_id = self._ids.setdefault(key, f"gw-{next(self._counter)}")
        return Answer(202, {"id": provider_id, "status": "accepted"})

    def _twilio(self, recorded: Recorded) -> Answer:
        expected = "Basic " + b64encode(f"{self.twilio_sid}:{self.twilio_token}".encode()).decode()
        if recorded.headers.get("authorization") != expected:
            return Answer(401, twilio_error(20003, "Authenticate", 401))
        form = recorded.form()
        sid = "SM" + secrets.token_hex(16)
        return Answer(201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")})


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's error body (it often repeats the number in `message`)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
