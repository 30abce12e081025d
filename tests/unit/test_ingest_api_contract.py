"""The event API's contract: the OpenAPI file matches the validator's schemas, every `data` field is a column
of its data file, examples are valid, and bearer tokens are parsed and compared safely."""

from __future__ import annotations

import yaml
from jsonschema import Draft202012Validator

from bot.api_events.auth import authenticate, fingerprint
from bot.api_events.examples import EXAMPLES
from bot.api_events.openapi import DOCUMENT_PATH, document, render
from bot.api_events.rows import CUSTOMER_COLUMNS, EXTRA_FIELDS, MAPPINGS, to_events
from bot.api_events.schemas import EVENT_DATA, EVENT_TYPES, SCHEMAS, schema_name
from bot.api_events.validation import check_body
from bot.imports.files import F4, SPECS
from bot.platform.config import load_settings


def test_openapi_file_loads_lists_every_event_type_and_matches_the_validator():
    """docs/openapi/ingest-api.yml is current (regenerate with `python -m bot.api_events.openapi`)."""
    loaded = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert loaded["openapi"].startswith("3.1")
    assert set(loaded["paths"]) == {"/api/v1/events"}
    assert loaded["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "One of the tokens in INGEST_API_TOKENS",
    }
    schemas = loaded["components"]["schemas"]
    assert (
        set(schemas["Event"]["discriminator"]["mapping"])
        == set(EVENT_TYPES)
        == set(schemas["EventType"]["enum"])
    )
    assert all(schema_name(t) in schemas and schema_name(t, "Data") in schemas for t in EVENT_TYPES)
    assert {name: schemas[name] for name in SCHEMAS} == SCHEMAS
    assert loaded == document() and DOCUMENT_PATH.read_text(encoding="utf-8") == render()


def test_every_schema_is_valid_json_schema_2020_12():
    """Each component is a valid Draft 2020-12 schema."""
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_every_data_field_is_a_column_of_its_data_file():
    """`data` uses the data files' English column names (no day counts); the customer block maps onto F4's."""
    for event_type, (_, data) in EVENT_DATA.items():
        columns = {column.alias: column for column in SPECS[MAPPINGS[event_type].kind].columns}
        for name in data["properties"]:
            assert name in EXTRA_FIELDS or columns[name].field is not None, (event_type, name)
        dated = MAPPINGS[event_type].dated
        assert dated is None or dated in data["properties"], event_type
    f4 = {column.alias for column in F4.columns}
    assert all(CUSTOMER_COLUMNS.get(name, name) in f4 for name in SCHEMAS["Customer"]["properties"])


def test_every_example_is_a_valid_event():
    """The documented example of each type passes the schema and the value checks."""
    assert set(EXAMPLES) == set(EVENT_TYPES)
    located, errors = check_body({"events": list(EXAMPLES.values())})
    assert errors == []
    events, errors = to_events(located)
    assert errors == [] and sorted(event.type for event in events) == sorted(EVENT_TYPES)


def test_tokens_are_read_from_a_comma_separated_variable(monkeypatch):
    """INGEST_API_TOKENS="a, b," gives two tokens; unset gives none (the API is closed)."""
    monkeypatch.delenv("INGEST_API_TOKENS", raising=False)
    assert load_settings().ingest_api_tokens == []
    monkeypatch.setenv("INGEST_API_TOKENS", " alpha, beta ,,")
    assert load_settings().ingest_api_tokens == ["alpha", "beta"]


def test_authenticate_accepts_only_a_configured_bearer_token():
    """The right token gives the caller's fingerprint; anything else, or no configured token, gives None."""
    tokens = ["alpha", "beta"]
    assert authenticate("Bearer beta", tokens) == fingerprint("beta") != fingerprint("alpha")
    assert authenticate("bearer  alpha ", tokens) == fingerprint("alpha")
    for header in ("", "Bearer", "Bearer gamma", "Basic YWxwaGE6", "alpha", "Bearer alph"):
        assert authenticate(header, tokens) is None, header
    assert authenticate("Bearer alpha", []) is None
    assert authenticate("Bearer ", [""]) is None
    assert "alpha" not in fingerprint("alpha") and len(fingerprint("alpha")) == 16
