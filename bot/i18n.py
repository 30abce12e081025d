"""Customer-facing texts from `locales/` (python-i18n): Japanese by default, English second."""

from __future__ import annotations

from pathlib import Path

import i18n
import yaml

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED = ("ja", "en")


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


def text(key: str, locale: str | None = None, **fields: object) -> str:
    """The text for `key` in `locale` (the default when None), with `%{name}` fields filled in."""
    chosen = locale if locale in SUPPORTED else None
    return i18n.t(key, locale=chosen, **fields) if chosen else i18n.t(key, **fields)


def template_links(locale: str) -> dict[str, str]:
    """{`scenario.message`: link name} for the templates that carry a link (`messages.*.*.link`)."""
    document = yaml.safe_load((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))
    return {
        f"{scenario}.{name}": parts["link"]
        for scenario, templates in document[locale].get("messages", {}).items()
        for name, parts in templates.items()
        if isinstance(parts, dict) and parts.get("link")
    }


def template_keys(locale: str) -> set[str]:
    """The message templates a locale file defines: `scenario.message` for each `messages.*.*` with a text."""
    if locale not in SUPPORTED:
        raise ValueError(f"unsupported locale {locale!r}; choose one of {SUPPORTED}")
    document = yaml.safe_load((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))
    messages = document[locale].get("messages", {})
    return {
        f"{scenario}.{name}"
        for scenario, templates in messages.items()
        for name, parts in templates.items()
        if isinstance(parts, dict) and parts.get("text")
    }
