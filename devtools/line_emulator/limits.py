"""Context-dependent LINE limits that a per-schema JSON Schema cannot express.

An action object means different things depending on where it sits, so its label limit and its
allowed types are checked here by walking the request body:

* quick reply buttons: label required, ≤ 20; ``camera``/``cameraRoll``/``location`` allowed;
* template actions (buttons/confirm/carousel): label required, ≤ 20; image carousel: ≤ 12;
* Flex buttons: label required, ≤ 40; other Flex actions: ≤ 40;
* rich menu areas: ≤ 20; ``richmenuswitch`` allowed only there.

Also: a buttons template's ``text`` is ≤ 60 when it has an image or title, and every column of a
carousel template must have the same number of actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Detail = dict[str, str]

GENERAL = frozenset({"postback", "message", "uri", "datetimepicker", "clipboard"})
ALL_ACTIONS = GENERAL | {"camera", "cameraRoll", "location", "richmenuswitch"}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how LINE counts characters)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class ActionContext:
    """Where an action appears: its label limit, whether a label is required, allowed types."""

    max_label: int
    label_required: bool
    allowed: frozenset[str]


QUICK_REPLY = ActionContext(20, True, ALL_ACTIONS - {"richmenuswitch"})
TEMPLATE = ActionContext(20, True, GENERAL)
TEMPLATE_DEFAULT = ActionContext(20, False, GENERAL)
IMAGE_CAROUSEL = ActionContext(12, False, GENERAL)
FLEX_BUTTON = ActionContext(40, True, GENERAL)
FLEX_OTHER = ActionContext(40, False, GENERAL)
RICH_MENU = ActionContext(20, False, GENERAL | {"richmenuswitch"})


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def _check_action(action: Any, path: str, ctx: ActionContext, out: list[Detail]) -> None:
    if not isinstance(action, dict):
        return
    kind = action.get("type")
    if isinstance(kind, str) and kind in ALL_ACTIONS and kind not in ctx.allowed:
        out.append({"message": f"The action type '{kind}' can't be used here", "property": f"{path}.type"})
    label = action.get("label")
    if label is None:
        if ctx.label_required:
            out.append({"message": "Must be specified", "property": f"{path}.label"})
    elif isinstance(label, str) and utf16_len(label) > ctx.max_label:
        out.append({"message": f"Length must be between 0 and {ctx.max_label}", "property": f"{path}.label"})


def _check_template(template: dict[str, Any], path: str, out: list[Detail]) -> None:
    kind = template.get("type")
    if kind in ("buttons", "confirm"):
        for i, action in _dicts(template.get("actions")):
            _check_action(action, f"{path}.actions[{i}]", TEMPLATE, out)
    if kind == "buttons":
        _check_action(template.get("defaultAction"), f"{path}.defaultAction", TEMPLATE_DEFAULT, out)
        text = template.get("text")
        has_header = bool(template.get("thumbnailImageUrl") or template.get("title"))
        if has_header and isinstance(text, str) and utf16_len(text) > 60:
            out.append({"message": "Length must be between 1 and 60", "property": f"{path}.text"})
    elif kind == "carousel":
        counts = set()
        for c, column in _dicts(template.get("columns")):
            actions = column.get("actions")
            counts.add(len(actions) if isinstance(actions, list) else 0)
            _check_action(
                column.get("defaultAction"), f"{path}.columns[{c}].defaultAction", TEMPLATE_DEFAULT, out
            )
            for i, action in _dicts(actions):
                _check_action(action, f"{path}.columns[{c}].actions[{i}]", TEMPLATE, out)
        if len(counts) > 1:
            out.append(
                {"message": "All columns must have the same number of actions", "property": f"{path}.columns"}
            )
    elif kind == "image_carousel":
        for c, column in _dicts(template.get("columns")):
            _check_action(column.get("action"), f"{path}.columns[{c}].action", IMAGE_CAROUSEL, out)


def _check_flex_component(node: Any, path: str, out: list[Detail]) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    ctx = FLEX_BUTTON if kind == "button" else FLEX_OTHER
    if "action" in node or kind == "button":
        _check_action(node.get("action"), f"{path}.action", ctx, out)
    if kind == "box":
        for i, child in _dicts(node.get("contents")):
            _check_flex_component(child, f"{path}.contents[{i}]", out)
    elif kind == "video":
        _check_flex_component(node.get("altContent"), f"{path}.altContent", out)


def _check_flex_container(container: Any, path: str, out: list[Detail]) -> None:
    if not isinstance(container, dict):
        return
    if container.get("type") == "carousel":
        for i, bubble in _dicts(container.get("contents")):
            _check_flex_container(bubble, f"{path}.contents[{i}]", out)
        return
    for block in ("header", "hero", "body", "footer"):
        _check_flex_component(container.get(block), f"{path}.{block}", out)
    _check_action(container.get("action"), f"{path}.action", FLEX_OTHER, out)


def _check_message(message: dict[str, Any], path: str, out: list[Detail]) -> None:
    quick_reply = message.get("quickReply")
    if isinstance(quick_reply, dict):
        for i, item in _dicts(quick_reply.get("items")):
            _check_action(item.get("action"), f"{path}.quickReply.items[{i}].action", QUICK_REPLY, out)
    kind = message.get("type")
    if kind == "template" and isinstance(message.get("template"), dict):
        _check_template(message["template"], f"{path}.template", out)
    elif kind == "flex":
        _check_flex_container(message.get("contents"), f"{path}.contents", out)


def context_errors(schema_name: str, body: dict[str, Any]) -> list[Detail]:
    """Errors for limits that depend on where an object sits in the request body."""
    out: list[Detail] = []
    if schema_name == "RichMenuRequest":
        for i, area in _dicts(body.get("areas")):
            _check_action(area.get("action"), f"areas[{i}].action", RICH_MENU, out)
        return out
    for i, message in _dicts(body.get("messages")):
        _check_message(message, f"messages[{i}]", out)
    return out
