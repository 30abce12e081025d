"""The app-push channel against a stub FCM HTTP v1 server on loopback: what FCM receives, one keep-alive
connection for a batch, and the outcome a worker acts on for each FCM answer; the local outbox for `make run`.

The stub is the standard library's HTTP/1.1 server: werkzeug's development server closes every connection
(`Connection: close`), so it could not show that a batch reuses one."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.delivery.channels.push import FcmSender, PushNotification, PushOutbox, open_push_sender
from bot.delivery.channels.result import Outcome
from bot.platform.config import Settings

PROJECT = "sample-insurer-app"
ACCESS_TOKEN = "ya29.test-access-token"
DEVICE = "fcm-device-token-abc123"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"
RENEWAL = PushNotification(
    DEVICE, "契約更新のご案内", "7月1日に更新時期を迎えます", "https://www.example.jp/renew"
)


def fcm_error(status: int, rpc_status: str, error_code: str | None = None) -> dict:
    """An error body as FCM HTTP v1 writes it (google.rpc.Status with an FcmError detail)."""
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
    error = {"code": status, "message": "Requested entity was not found.", "status": rpc_status}
    return {"error": {**error, **({"details": details} if error_code else {})}}


@dataclass
class StubFcm:
    """Records every request; answers the queued (status, body, headers) replies, then 200 with a message name."""

    base_url: str = ""
    requests: list[dict] = field(default_factory=list)
    replies: list[tuple[int, dict, dict[str, str]]] = field(default_factory=list)
    hold: threading.Event | None = None  # when set, requests wait for it (a server that does not answer)

    def answer(self, path: str, headers, body: bytes, client_port: int) -> tuple[int, dict, dict[str, str]]:
        self.requests.append(
            {
                "path": path,
                "authorization": headers.get("Authorization"),
                "json": json.loads(body),
                "client_port": client_port,
            }
        )
        if self.hold is not None:
            self.hold.wait(5)
        return (
            self.replies.pop(0) if self.replies else (200, {"name": f"projects/{PROJECT}/messages/0:17"}, {})
        )


def handler_for(stub: StubFcm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep connections open between requests, as FCM does

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, reply, headers = stub.answer(self.path, self.headers, body, self.client_address[1])
            data = json.dumps(reply).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def fcm() -> Iterator[StubFcm]:
    stub = StubFcm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(stub))
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield stub
    if stub.hold is not None:
        stub.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def sender(fcm: StubFcm) -> Iterator[FcmSender]:
    with FcmSender(fcm.base_url, PROJECT, ACCESS_TOKEN, timeout=(1.0, 1.0)) as push:
        yield push


def test_a_notification_reaches_fcm_and_is_sent(fcm, sender):
    """POST to the project's messages:send with the bearer token and the v1 body; sent, with FCM's message name."""
    result = sender.send(RENEWAL)
    assert (result.outcome, result.provider_id) == (Outcome.SENT, f"projects/{PROJECT}/messages/0:17")
    [request] = fcm.requests
    assert request["path"] == SEND_PATH and request["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request["json"] == {
        "message": {
            "token": DEVICE,
            "notification": {"title": "契約更新のご案内", "body": "7月1日に更新時期を迎えます"},
            "data": {"link": "https://www.example.jp/renew"},
        }
    }


def test_a_notification_without_a_link_has_no_data(fcm, sender):
    """FCM data values must be strings, so without a link there is no data block at all."""
    sender.send(PushNotification(DEVICE, "お知らせ", "ご確認ください"))
    assert "data" not in fcm.requests[0]["json"]["message"]


def test_a_batch_shares_one_keep_alive_connection(fcm, sender):
    """Many notifications go over one connection to FCM."""
    results = [sender.send(RENEWAL) for _ in range(5)]
    assert {result.outcome for result in results} == {Outcome.SENT}
    assert len({request["client_port"] for request in fcm.requests}) == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome", "reason", "retry_after"),
    [
        (404, fcm_error(404, "NOT_FOUND", "UNREGISTERED"), {}, Outcome.FAILED, "unregistered", None),
        (400, fcm_error(400, "UNREGISTERED"), {}, Outcome.FAILED, "unregistered", None),
        (400, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), {}, Outcome.FAILED, "400 INVALID_ARGUMENT", None),
        (429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), {"Retry-After": "30"}, Outcome.RETRY,
         "429 QUOTA_EXCEEDED", 30.0),
        (503, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"), {}, Outcome.RETRY, "503 UNAVAILABLE", None),
        (500, fcm_error(500, "INTERNAL", "INTERNAL"), {"Retry-After": "5"}, Outcome.RETRY, "500 INTERNAL", 5.0),
        (401, fcm_error(401, "UNAUTHENTICATED"), {}, Outcome.STOP_CHANNEL, "401 UNAUTHENTICATED", None),
        (403, fcm_error(403, "PERMISSION_DENIED", "THIRD_PARTY_AUTH_ERROR"), {}, Outcome.STOP_CHANNEL,
         "403 THIRD_PARTY_AUTH_ERROR", None),
        (403, fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), {}, Outcome.FAILED,
         "403 SENDER_ID_MISMATCH", None),
    ],
)  # fmt: skip
def test_fcm_answers(fcm, sender, status, body, headers, outcome, reason, retry_after):
    """Each FCM error maps to the worker's outcome, with FCM's status as the reason and never the token or text;
    Retry-After becomes retry_after."""
    fcm.replies.append((status, body, headers))
    result = sender.send(RENEWAL)
    assert (result.outcome, result.reason, result.retry_after) == (outcome, reason, retry_after)
    assert DEVICE not in result.reason and "契約" not in result.reason
    assert sender.send(RENEWAL).outcome is Outcome.SENT


def test_fcm_down_means_retry_later(tmp_path):
    """Connection refused: retry later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FcmSender(f"http://127.0.0.1:{port}", PROJECT, ACCESS_TOKEN, timeout=(1.0, 1.0)) as push:
        result = push.send(RENEWAL)
    assert (result.outcome, result.reason) == (Outcome.RETRY, "NewConnectionError")


def test_fcm_that_does_not_answer_times_out(fcm):
    """No answer within the explicit read time-out: retry later."""
    fcm.hold = threading.Event()
    with FcmSender(fcm.base_url, PROJECT, ACCESS_TOKEN, timeout=(1.0, 0.3)) as push:
        result = push.send(RENEWAL)
    assert (result.outcome, result.reason) == (Outcome.RETRY, "ReadTimeoutError")


def test_without_a_project_notifications_go_to_the_outbox_file(tmp_path: Path):
    """FCM_PROJECT_ID empty: one JSON line per notification in DATA_DIR/push-outbox.jsonl, each reported sent."""
    with open_push_sender(Settings(data_dir=tmp_path / "var")) as push:
        assert isinstance(push, PushOutbox)
        first = push.send(RENEWAL)
        second = push.send(PushNotification(DEVICE, "お知らせ", "ご確認ください"))
    assert first.outcome is second.outcome is Outcome.SENT and first.provider_id != second.provider_id
    lines = [json.loads(line) for line in (tmp_path / "var" / "push-outbox.jsonl").read_text().splitlines()]
    assert [(line["token"], line["title"], line["link"]) for line in lines] == [
        (DEVICE, "契約更新のご案内", "https://www.example.jp/renew"),
        (DEVICE, "お知らせ", None),
    ]
    assert lines[0]["id"] == first.provider_id


def test_open_push_sender_uses_fcm_when_a_project_is_configured(fcm, tmp_path):
    """FCM_PROJECT_ID set: FCM at the configured base URL; without an access token it refuses to start."""
    settings = Settings(data_dir=tmp_path, fcm_project_id=PROJECT, fcm_api_base_url=fcm.base_url)
    with pytest.raises(ValueError, match="FCM_ACCESS_TOKEN"):
        open_push_sender(settings)
    with open_push_sender(settings.model_copy(update={"fcm_access_token": ACCESS_TOKEN})) as push:
        assert isinstance(push, FcmSender)
        assert push.send(RENEWAL).outcome is Outcome.SENT
    assert fcm.requests[0]["path"] == SEND_PATH
