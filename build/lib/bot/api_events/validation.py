"""Checking a request body against the event schemas, and saying what is wrong field by field.

A body is one event or `{"events": [...]}`. Each problem is reported with the path of the field
(`data.reservation_id`, `events[2].customer.phone`) and a message that names no customer data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from bot.api_events.schemas import EVENT_TYPES, SCHEMAS, Schema, ref, schema_name
from bot.platform.characters import forbidden_character
from bot.platform.json_input import read_json

ROOT = "body"
_TYPE_NAMES = {
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
}
_FORMATS = {
    "date": "must be an ISO 8601 date (YYYY-MM-DD)",
    "date-time": "must be an ISO 8601 date and time with a UTC offset (e.g. 2024-06-10T09:30:00+09:00)",
}
# Checked first, so that a batch's items and an event's type are wrong once rather than in every branch.
_PRELIMINARY: dict[str, Schema] = {
    "BatchShape": SCHEMAS["EventBatch"]
    | {
        "properties": {
            "events": SCHEMAS["EventBatch"]["properties"]["events"] | {"items": {"type": "object"}}
        }
    },
    "TypedObject": {"type": "object", "required": ["type"], "properties": {"type": ref("EventType")}},
}


class MalformedBody(ValueError):
    """The body is not JSON."""


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def parse_body(body: bytes) -> Any:
    """The JSON document of the body (UTF-8); NaN and Infinity are not JSON."""
    try:
        return read_json(body, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError:
        raise MalformedBody("the body is not UTF-8 text") from None
    except ValueError as exc:  # NaN, Infinity, nested too deeply
        raise MalformedBody(str(exc)) from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_body(payload: Any) -> tuple[list[tuple[str, dict[str, Any]]], list[FieldError]]:
    """(path, event) for each event of a valid body, or the errors found (then no events)."""
    if isinstance(payload, dict) and "events" in payload:
        errors = _errors(_validator("BatchShape"), payload, "")
        if errors:
            return [], errors
        located = [(f"events[{index}]", event) for index, event in enumerate(payload["events"])]
    else:
        located = [("", payload)]
    errors = [error for path, event in located for error in check_event(event, path)]
    return ([] if errors else located), errors


def check_event(event: Any, path: str = "") -> list[FieldError]:
    """The event's problems: first whether its type is known, then everything its type's schema says."""
    errors = _errors(_validator("TypedObject"), event, path)
    if errors:
        return errors
    return _errors(_validator(schema_name(event["type"])), event, path)


def character_errors(value: Any, path: str) -> list[FieldError]:
    """A control character, a bidirectional override or a lone surrogate anywhere in the body, by field;
    the message names the code point, never the value."""
    if isinstance(value, str):
        found = forbidden_character(value)
        return [FieldError(path or ROOT, f"must not contain {found}")] if found else []
    if isinstance(value, list):
        return [
            error for index, item in enumerate(value) for error in character_errors(item, f"{path}[{index}]")
        ]
    if not isinstance(value, dict):
        return []
    errors = []
    for name, item in value.items():
        found = forbidden_character(name)
        if found:
            errors.append(FieldError(path or ROOT, f"a field name contains {found}"))
        else:
            errors += character_errors(item, _join(path, [name]))
    return errors


@cache
def _validator(name: str) -> Draft202012Validator:
    """A validator of one component; references resolve within the same components as the OpenAPI file's."""
    components = {"schemas": SCHEMAS | _PRELIMINARY}
    return Draft202012Validator(ref(name) | {"components": components})


def _errors(validator: Draft202012Validator, instance: Any, prefix: str) -> list[FieldError]:
    found: dict[tuple[str, str], FieldError] = {}
    for error in validator.iter_errors(instance):
        for field_error in _describe(error, _join(prefix, error.absolute_path)):
            found.setdefault((field_error.path, field_error.message), field_error)
    return sorted(found.values(), key=lambda e: e.path)


def _join(prefix: str, parts: Iterable[str | int]) -> str:
    path = prefix
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(error: ValidationError, path: str) -> list[FieldError]:
    """Plain messages that do not echo the value sent (it may be an email or a phone number)."""
    kind, expected, schema = error.validator, error.validator_value, error.schema
    instance = error.instance
    if kind == "required":
        return [FieldError(_join(path, [name]), "required") for name in expected if name not in instance]
    if kind == "additionalProperties":
        allowed = schema.get("properties", {})
        extra = [name for name in instance if name not in allowed]
        return [FieldError(_join(path, [name]), _not_allowed(name)) for name in extra]
    message = _message(kind, expected, schema, path)
    return [FieldError(path or ROOT, message if message is not None else error.message)]


def _not_allowed(name: str) -> str:
    if name.startswith("days_"):
        return "not accepted: day counts are derived from the dates"
    return "unknown field"


def _message(kind: str, expected: Any, schema: Schema, path: str) -> str | None:
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_NAMES.get(name, name) for name in names)
    if kind == "enum":
        if path.endswith("type") and list(expected) == list(EVENT_TYPES):
            return "unknown event type; expected one of: " + ", ".join(EVENT_TYPES)
        return "must be one of: " + ", ".join(map(str, expected))
    if kind == "pattern":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        if path.endswith("line_user_id"):
            return "must be a LINE user id (U followed by 32 hex digits)"
        return f"must match {expected}"
    if kind == "anyOf" and all(set(option) == {"required"} for option in expected):
        names = [name for option in expected for name in option["required"]]
        return "give at least one of: " + ", ".join(names)
    limits = {
        "minLength": f"must be at least {expected} characters long",
        "maxLength": f"must be at most {expected} characters long",
        "minimum": f"must be at least {expected}",
        "minItems": f"must hold at least {expected}",
        "maxItems": f"must hold at most {expected}",
    }
    if kind in ("minLength", "minItems") and expected == 1:
        return "must not be empty"
    return limits.get(kind)
