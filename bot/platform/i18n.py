"""Customer-facing texts from `locales/` (python-i18n): Japanese by default, English second.

`locales/<locale>.yml` holds the service's own texts; `locales/messages/<scenario>.<locale>.yml` holds one
scenario's message templates (`messages.<scenario>.<message>.{subject,text,sms,link,buttons}`), so that a
marketer reads one scenario's messages in one file per language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import i18n
import yaml

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
MESSAGES_DIR = LOCALES_DIR / "messages"
SUPPORTED = ("ja", "en")


def load_yaml(document: str) -> Any:
    """`yaml.safe_load` by libyaml's parser when PyYAML has it: the same result, a tenth of the time (the
    locale files are read at every start)."""
    return yaml.load(document, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def configure_i18n(default_locale: str = "ja") -> None:
    """Point python-i18n at the locale files; missing English texts fall back to Japanese."""
    if default_locale not in SUPPORTED:
        raise ValueError(f"unsupported locale {default_locale!r}; choose one of {SUPPORTED}")
    if str(LOCALES_DIR) not in i18n.load_path:
        i18n.load_path.append(str(LOCALES_DIR))
    i18n.set("filename_format", "{locale}.{format}")
    i18n.set("file_format", "yml")
    i18n.set("enable_memoization", True)
    i18n.set("locale", default_locale)
    i18n.set("fallback", "ja")
    i18n.set("error_on_missing_translation", True)
    for locale in SUPPORTED:
        for key, value in flatten(message_document(locale)).items():
            if not isinstance(value, list):
                i18n.add_translation(key, value, locale=locale)


def text(key: str, locale: str | None = None, **fields: object) -> str:
    """The text for `key` in `locale` (the default when None), with `%{name}` fields filled in."""
    chosen = locale if locale in SUPPORTED else None
    return i18n.t(key, locale=chosen, **fields) if chosen else i18n.t(key, **fields)


@cache
def fixed_text(key: str, locale: str) -> str:
    """A text without fields (a button's label, a template's link name), looked up once: python-i18n's look-up
    costs as much as a rendering, and a push carries several such texts."""
    return text(key, locale)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, path) if isinstance(value, dict) else {path: value})
    return out


@cache
def message_document(locale: str) -> dict[str, Any]:
    """{"messages": {scenario: {message: parts}}} from every `messages/*.<locale>.yml` and the base file."""
    if locale not in SUPPORTED:
        raise ValueError(f"unsupported locale {locale!r}; choose one of {SUPPORTED}")
    base = load_yaml((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))[locale]
    messages: dict[str, Any] = dict(base.get("messages", {}))
    for path in sorted(MESSAGES_DIR.glob(f"*.{locale}.yml")):
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
        for scenario, templates in (document.get(locale) or {}).get("messages", {}).items():
            if scenario in messages:
                raise ValueError(f"{path.name}: messages of {scenario} are defined twice")
            messages[scenario] = templates
    return {"messages": messages}


def _templates(locale: str) -> dict[str, dict[str, Any]]:
    return {
        f"{scenario}.{name}": parts
        for scenario, templates in message_document(locale)["messages"].items()
        for name, parts in templates.items()
        if isinstance(parts, dict)
    }


def template_links(locale: str) -> dict[str, str]:
    """{`scenario.message`: link name} for the templates that carry a link (`messages.*.*.link`)."""
    return {key: parts["link"] for key, parts in _templates(locale).items() if parts.get("link")}


@cache
def template_buttons(locale: str) -> dict[str, tuple[str, ...]]:
    """{`scenario.message`: the actions its LINE version offers as buttons}."""
    return {key: tuple(parts.get("buttons") or ()) for key, parts in _templates(locale).items()}


@cache
def template_choices(locale: str) -> dict[str, tuple[str, ...]]:
    """{`scenario.message`: the options of its numbered question} for the templates that have `choices`."""
    return {key: tuple(parts["choices"]) for key, parts in _templates(locale).items() if parts.get("choices")}


def template_keys(locale: str) -> set[str]:
    """The message templates a locale defines: `scenario.message` for each `messages.*.*` with a text."""
    return {key for key, parts in _templates(locale).items() if parts.get("text")}
