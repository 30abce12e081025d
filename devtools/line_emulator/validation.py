"""Request-body validation that answers like LINE: JSON Schema from messaging-api.yml plus limits.

``validate_body(schema_name, body)`` returns a list of ``{"message", "property"}`` details
(empty when valid).  A jsonschema validator is extended with:

* ``discriminator``: OpenAPI 3.0 dispatch (the instance is also validated against the mapped
  subtype; an unknown value is an error),
* ``required``: reports the missing property's own path (``messages[0].text``),
* ``maxLength``/``minLength``: counted in UTF-16 code units, as LINE does.

Context-dependent limits (action labels, where an action type is allowed) are in ``limits.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from devtools.line_emulator import limits
from devtools.line_emulator.limits import utf16_len
from devtools.line_emulator.schema import REF_PREFIX, component_schemas

Detail = dict[str, str]


def _discriminator(validator: Any, disc: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator:
    if not validator.is_type(instance, "object"):
        return
    prop = disc["propertyName"]
    mapping: dict[str, str] = disc.get("mapping", {})
    if prop not in instance:
        if prop not in schema.get("required", []):
            yield ValidationError("Must be specified", path=[prop])
        return
    value = instance[prop]
    target = mapping.get(value) if isinstance(value, str) else None
    if target is None:
        yield ValidationError(f"Must be one of the following values: [{', '.join(mapping)}]", path=[prop])
        return
    yield from validator.descend(instance, {"$ref": target})


def _required(validator: Any, required: list[str], instance: Any, schema: dict[str, Any]) -> Iterator:
    if not validator.is_type(instance, "object"):
        return
    for prop in required:
        if prop not in instance:
            yield ValidationError("Must be specified", path=[prop])


def _length(schema: dict[str, Any]) -> str:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    return (
        f"Length must be between {low} and {high}" if high is not None else f"Length must be at least {low}"
    )


def _max_length(validator: Any, limit: int, instance: Any, schema: dict[str, Any]) -> Iterator:
    if validator.is_type(instance, "string") and utf16_len(instance) > limit:
        yield ValidationError(_length(schema))


def _min_length(validator: Any, limit: int, instance: Any, schema: dict[str, Any]) -> Iterator:
    if validator.is_type(instance, "string") and utf16_len(instance) < limit:
        yield ValidationError("May not be empty" if limit == 1 else _length(schema))


_format_checker = FormatChecker(formats=())


@_format_checker.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


_EmulatorValidator = validators.extend(
    Draft202012Validator,
    {
        "discriminator": _discriminator,
        "required": _required,
        "maxLength": _max_length,
        "minLength": _min_length,
    },
)


def _bounds(schema: dict[str, Any], low_key: str, high_key: str, noun: str) -> str:
    low, high = schema.get(low_key), schema.get(high_key)
    if low is not None and high is not None:
        return f"{noun} must be between {low} and {high}"
    if high is not None:
        return f"{noun} must be at most {high}"
    return f"{noun} must be at least {low}"


def _message(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind in ("maxItems", "minItems"):
        return _bounds(schema, "minItems", "maxItems", "Size")
    if kind in ("maximum", "minimum"):
        return _bounds(schema, "minimum", "maximum", "Value")
    if kind == "multipleOf":
        return f"Must be a multiple of {error.validator_value}"
    if kind == "enum":
        return f"Must be one of the following values: [{', '.join(map(str, error.validator_value))}]"
    if kind == "type":
        return f"Invalid type (expected {error.validator_value})"
    if kind == "pattern":
        return "Invalid format"
    if kind == "format":
        return f"Invalid {error.validator_value}"
    if kind == "maxProperties":
        return f"Size must be at most {error.validator_value}"
    return error.message


def property_path(parts: Iterable[str | int]) -> str:
    """Render a JSON path the way LINE does: ``messages[0].quickReply.items[2].action``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        if error.context:  # anyOf/oneOf wrappers: report the underlying causes
            yield from _leaf_errors(error.context)
        else:
            yield error


@functools.cache
def _validator(schema_name: str) -> Any:
    root = {"$ref": REF_PREFIX + schema_name, "components": {"schemas": component_schemas()}}
    return _EmulatorValidator(root, format_checker=_format_checker)


def schema_errors(schema_name: str, body: Any) -> list[Detail]:
    """Errors of ``body`` against the prepared component schema ``schema_name``."""
    details: list[Detail] = []
    seen: set[tuple[str, str]] = set()
    for error in _leaf_errors(_validator(schema_name).iter_errors(body)):
        detail = (_message(error), property_path(error.absolute_path))
        if detail not in seen:
            seen.add(detail)
            details.append({"message": detail[0], "property": detail[1]})
    details.sort(key=lambda d: d["property"])
    return details


def validate_body(schema_name: str, body: Any) -> list[Detail]:
    """All LINE-style errors for a request body: schema errors, then context-dependent limits."""
    details = schema_errors(schema_name, body)
    if isinstance(body, dict):
        known = {(d["message"], d["property"]) for d in details}
        for extra in limits.context_errors(schema_name, body):
            if (extra["message"], extra["property"]) not in known:
                details.append(extra)
        details.sort(key=lambda d: d["property"])
    return details


def error_body(details: list[Detail]) -> dict[str, Any]:
    """The 400 body LINE returns for invalid request bodies."""
    return {"message": f"The request body has {len(details)} error(s)", "details": details}
