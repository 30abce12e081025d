"""Lazy loading of LINE's OpenAPI document and preparation of its schemas for validation.

The YAML (``spec/messaging-api.yml``) is read on first use only, never at import time.  The
component schemas are then adjusted in memory so that plain JSON Schema validation behaves like
LINE's server:

* OpenAPI ``discriminator`` objects are kept for the emulator's own ``discriminator`` keyword
  (see ``validation.py``); every ``allOf`` reference from a subtype back to its discriminating
  base is redirected to a copy of the base without the discriminator, so dispatching cannot
  recurse.
* ``OVERLAY`` adds the limits LINE documents but the YAML does not state (text ≤ 5000,
  altText ≤ 400, buttons template ≤ 4 actions, …).  Existing YAML limits are only ever
  tightened, never relaxed.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(__file__).resolve().parent / "spec"
SPEC_FILE = SPEC_DIR / "messaging-api.yml"
REF_PREFIX = "#/components/schemas/"
BASE_SUFFIX = "__base"

_MAX_KEYS = ("maxLength", "maxItems", "maximum")
_MIN_KEYS = ("minLength", "minItems", "minimum")

# Documented LINE limits that messaging-api.yml does not express (schema -> property -> keywords).
# A property named "" means the schema itself (used for "required").
OVERLAY: dict[str, dict[str, dict[str, Any]]] = {
    "TextMessage": {
        "": {"required": ["text"]},
        "text": {"minLength": 1, "maxLength": 5000},
        "emojis": {"maxItems": 20},
    },
    "TextMessageV2": {"text": {"minLength": 1, "maxLength": 5000}, "substitution": {"maxProperties": 100}},
    "TemplateMessage": {"altText": {"minLength": 1, "maxLength": 400}},
    "FlexMessage": {"altText": {"minLength": 1, "maxLength": 400}},
    "ImagemapMessage": {
        "altText": {"minLength": 1, "maxLength": 400},
        "baseUrl": {"maxLength": 2000},
        "actions": {"maxItems": 50},
    },
    "ImageMessage": {"originalContentUrl": {"maxLength": 2000}, "previewImageUrl": {"maxLength": 2000}},
    "VideoMessage": {"originalContentUrl": {"maxLength": 2000}, "previewImageUrl": {"maxLength": 2000}},
    "AudioMessage": {"originalContentUrl": {"maxLength": 2000}},
    "LocationMessage": {"title": {"maxLength": 100}, "address": {"maxLength": 100}},
    "QuickReply": {"": {"required": ["items"]}, "items": {"minItems": 1, "maxItems": 13}},
    "QuickReplyItem": {"": {"required": ["action"]}},
    "PostbackAction": {
        "": {"required": ["data"]},
        "data": {"maxLength": 300},
        "displayText": {"maxLength": 300},
        "text": {"maxLength": 300},
        "fillInText": {"maxLength": 300},
    },
    "MessageAction": {"": {"required": ["text"]}, "text": {"minLength": 1, "maxLength": 300}},
    "URIAction": {"": {"required": ["uri"]}, "uri": {"maxLength": 1000}},
    "DatetimePickerAction": {"": {"required": ["data", "mode"]}},
    "ButtonsTemplate": {
        "actions": {"minItems": 1, "maxItems": 4},
        "title": {"maxLength": 40},
        "text": {"minLength": 1, "maxLength": 160},
    },
    "ConfirmTemplate": {
        "actions": {"minItems": 2, "maxItems": 2},
        "text": {"minLength": 1, "maxLength": 240},
    },
    "CarouselTemplate": {"columns": {"minItems": 1, "maxItems": 10}},
    "CarouselColumn": {
        "actions": {"minItems": 1, "maxItems": 3},
        "title": {"maxLength": 40},
        "text": {"minLength": 1, "maxLength": 120},
    },
    "ImageCarouselTemplate": {"columns": {"minItems": 1, "maxItems": 10}},
    "FlexCarousel": {"contents": {"minItems": 1, "maxItems": 12}},
    "ShowLoadingAnimationRequest": {"loadingSeconds": {"multipleOf": 5}},
    "RichMenuRequest": {
        "": {"required": ["size", "selected", "name", "chatBarText", "areas"]},
        "areas": {"maxItems": 20},
    },
    "RichMenuSize": {
        "": {"required": ["width", "height"]},
        "width": {"minimum": 800, "maximum": 2500},
        "height": {"minimum": 250},
    },
    "RichMenuArea": {"": {"required": ["bounds", "action"]}},
    "RichMenuBounds": {"": {"required": ["x", "y", "width", "height"]}},
    "PushMessageRequest": {"customAggregationUnits": {"maxItems": 1}},
}


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """Parse messaging-api.yml (once per process)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_FILE.open("r", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def request_schema_name(path_template: str, method: str) -> str | None:
    """Name of the JSON request-body schema of an operation in messaging-api.yml, if any."""
    operation = load_spec()["paths"].get(path_template, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref[len(REF_PREFIX) :] if ref.startswith(REF_PREFIX) else None


def _property_schema(schema: dict[str, Any], prop: str) -> dict[str, Any]:
    """The schema of ``prop`` inside ``schema`` or its inline ``allOf`` parts (created if absent)."""
    candidates = [schema] + [part for part in schema.get("allOf", []) if "$ref" not in part]
    for candidate in candidates:
        if prop in candidate.get("properties", {}):
            return candidate["properties"][prop]
    return schema.setdefault("properties", {}).setdefault(prop, {})


def _tighten(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if key == "required":
            target["required"] = sorted(set(target.get("required", [])) | set(value))
        elif key in _MAX_KEYS and key in target:
            target[key] = min(target[key], value)
        elif key in _MIN_KEYS and key in target:
            target[key] = max(target[key], value)
        else:
            target[key] = value


def _redirect_base_refs(node: Any, discriminated: set[str]) -> None:
    """Point ``allOf`` references to discriminating bases at their discriminator-free copies."""
    if isinstance(node, dict):
        for part in node.get("allOf", []):
            ref = part.get("$ref", "") if isinstance(part, dict) else ""
            if ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX) :] in discriminated:
                part["$ref"] = ref + BASE_SUFFIX
        for value in node.values():
            _redirect_base_refs(value, discriminated)
    elif isinstance(node, list):
        for value in node:
            _redirect_base_refs(value, discriminated)


@functools.lru_cache(maxsize=1)
def component_schemas() -> dict[str, Any]:
    """Component schemas of messaging-api.yml, prepared for the emulator's validator."""
    schemas = copy.deepcopy(load_spec()["components"]["schemas"])
    for name, props in OVERLAY.items():
        for prop, extra in props.items():
            _tighten(schemas[name] if prop == "" else _property_schema(schemas[name], prop), extra)
    discriminated = {name for name, schema in schemas.items() if "discriminator" in schema}
    _redirect_base_refs(schemas, discriminated)
    for name in discriminated:
        base = copy.deepcopy(schemas[name])
        del base["discriminator"]
        schemas[name + BASE_SUFFIX] = base
    return schemas
