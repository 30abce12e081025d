"""The LINE emulator's plumbing: common response headers, 404s, HTTP control endpoints, CLI, imports."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

from linebot.v3.messaging import MessagingApi, PushMessageRequest, TextMessage

from devtools.line_emulator import LineEmulator
from devtools.line_emulator.routes import ENDPOINTS
from devtools.line_emulator.schema import load_spec
from tests.emulator.conftest import USER, RawCall

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_path_is_404_json_with_request_id(raw: RawCall) -> None:
    """Unknown paths get 404 {"message": "Not found"} as JSON with an x-line-request-id."""
    response = raw("GET", "/v2/bot/does/not/exist")
    assert response.status == 404 and response.body == {"message": "Not found"}
    assert response.headers["content-type"] == "application/json"
    assert uuid.UUID(response.headers["x-line-request-id"])


def test_every_response_has_a_fresh_request_id(raw: RawCall) -> None:
    """Successes and errors alike carry JSON and a new x-line-request-id each time."""
    responses = [
        raw("GET", "/v2/bot/message/quota"),
        raw("GET", "/v2/bot/message/quota"),
        raw("GET", "/v2/bot/message/quota", token="bad"),
    ]
    assert [r.status for r in responses] == [200, 200, 401]
    assert len({r.headers["x-line-request-id"] for r in responses}) == 3
    assert all(r.headers["content-type"] == "application/json" for r in responses)


def test_invalid_json_body_is_400(raw: RawCall, emulator: LineEmulator) -> None:
    """A body that is not JSON gets 400 and is recorded with body None."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(emulator.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request(
        "POST",
        "/v2/bot/message/push",
        body=b"{nope",
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
    )
    assert conn.getresponse().status == 400
    conn.close()
    assert emulator.requests[0].body is None and emulator.requests[0].status == 400


def test_http_control_endpoints(raw: RawCall, api: MessagingApi) -> None:
    """Users, faults, recorded requests, sent messages, clock and reset can be driven over HTTP."""
    assert (
        raw(
            "POST",
            "/__emulator__/users",
            {"userId": USER, "status": "friend", "displayName": "Hanako"},
            token=None,
        ).status
        == 200
    )
    assert api.get_profile(USER).display_name == "Hanako"
    fault = raw(
        "POST", "/__emulator__/faults", {"target": "/v2/bot/message/push", "kind": "rate_limit"}, token=None
    )
    assert fault.body["fault"]["remaining"] == 1
    assert raw("GET", "/__emulator__/faults", token=None).body["faults"][0]["kind"] == "rate_limit"
    push = {"to": USER, "messages": [{"type": "text", "text": "hi"}]}
    assert raw("POST", "/v2/bot/message/push", push).status == 429
    assert raw("POST", "/v2/bot/message/push", push).status == 200
    recorded = raw("GET", "/__emulator__/requests?path_prefix=/v2/bot/message/push", token=None).body[
        "requests"
    ]
    assert [r["status"] for r in recorded] == [429, 200]
    assert recorded[1]["body"] == push and recorded[1]["headers"]["authorization"] == "Bearer test-token"
    sent = raw("GET", f"/__emulator__/sent_messages?to={USER}", token=None).body["sentMessages"]
    assert [m["message"]["text"] for m in sent] == ["hi"]
    assert raw("POST", "/__emulator__/clock", {"advance": 60}, token=None).status == 200
    assert raw("POST", "/__emulator__/reset", token=None).status == 200
    assert raw("GET", "/__emulator__/requests", token=None).body == {"requests": []}
    assert raw("POST", "/__emulator__/faults", {"target": "push", "kind": "bogus"}, token=None).status == 400


def test_http_control_link_tokens_and_reply_tokens(raw: RawCall, api: MessagingApi) -> None:
    """Link token owners and registered reply tokens are available over HTTP; consuming a link token (as LINE's
    account-link endpoint does) leaves it unknown afterwards."""
    token = api.issue_link_token(USER).link_token
    assert raw("GET", f"/__emulator__/link_tokens/{token}", token=None).body == {"userId": USER}
    assert raw("GET", f"/__emulator__/link_tokens/{token}?consume=1", token=None).body == {"userId": USER}
    assert raw("GET", f"/__emulator__/link_tokens/{token}", token=None).body == {"userId": None}
    reply_token = raw("POST", "/__emulator__/reply_tokens", {"userId": USER}, token=None).body["replyToken"]
    reply = raw(
        "POST",
        "/v2/bot/message/reply",
        {"replyToken": reply_token, "messages": [{"type": "text", "text": "ok"}]},
    )
    assert reply.status == 200
    assert raw("GET", f"/__emulator__/sent_messages?to={USER}", token=None).body["sentMessages"][0][
        "reply_token"
    ]


def test_requests_are_recorded_with_query_and_lowercase_headers(
    emulator: LineEmulator, api: MessagingApi
) -> None:
    """Recorded requests keep method, path, query, lower-cased headers, status and time."""
    api.list_coupon(status=["RUNNING", "CLOSED"], limit=5)
    [request] = emulator.requests_to("/v2/bot/coupon", method="GET")
    assert request.query == {"status": ["RUNNING", "CLOSED"], "limit": ["5"]}
    assert request.headers["user-agent"].startswith("line-bot-sdk-python/")
    assert request.status == 200 and request.time <= emulator.now()


def test_reset_forgets_state(emulator: LineEmulator, api: MessagingApi) -> None:
    """reset() clears requests, deliveries, users and quota usage."""
    emulator.block(USER)
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))
    emulator.reset()
    assert (emulator.requests, emulator.sent_messages(), emulator.quota_usage) == ([], [], 0)
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))
    assert emulator.sent_messages()[0].delivered is True


def test_endpoint_paths_match_the_openapi_document() -> None:
    """Every emulated endpoint uses a path and method that messaging-api.yml defines."""
    paths = load_spec()["paths"]
    missing = [(e.method, e.path) for e in ENDPOINTS if e.method.lower() not in paths.get(e.path, {})]
    assert missing == []


def test_import_is_side_effect_free() -> None:
    """Importing the package reads no files: the OpenAPI document is loaded lazily."""
    code = (
        "import devtools.line_emulator, devtools.line_emulator.schema as s, devtools.line_emulator.__main__; "
        "print(s.load_spec.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert out.stdout.strip() == "0", out.stderr


def test_cli_runs_in_foreground_and_prints_base_url() -> None:
    """`python -m devtools.line_emulator` prints its base URL and serves until terminated."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.line_emulator", "--port", "0", "--token", "cli-token"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            f"{base_url}/v2/bot/message/quota", headers={"Authorization": "Bearer cli-token"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"type": "none"}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0
