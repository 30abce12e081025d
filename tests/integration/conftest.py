"""Integration fixtures beyond tests/conftest.py: the event ingestion API with a configured bearer token."""

from __future__ import annotations

import json

import pytest

API_TOKEN = "test-ingest-token"


@pytest.fixture
def api_app(runtime):
    """The web app with INGEST_API_TOKENS set to API_TOKEN (the shared `app` fixture has no token)."""
    from app import create_app

    runtime.settings = runtime.settings.model_copy(update={"ingest_api_tokens": [API_TOKEN]})
    return create_app(runtime=runtime)


@pytest.fixture
def push(api_app):
    """POST a body (a dict, serialised as JSON, or raw bytes) to /api/v1/events with the bearer token."""
    client = api_app.test_client()

    def post(body, *, token: str | None = API_TOKEN, key: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return client.post("/api/v1/events", data=data, headers=headers)

    return post
