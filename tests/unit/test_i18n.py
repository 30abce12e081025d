"""Customer-facing texts: Japanese by default, English complete, no text missing in either."""

from __future__ import annotations

import yaml

from bot.platform.i18n import LOCALES_DIR, configure_i18n, text


def flatten(tree: dict, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        keys |= flatten(value, path) if isinstance(value, dict) else {path}
    return keys


def test_both_locales_have_the_same_keys():
    """Every Japanese text has an English one and vice versa."""
    ja = flatten(yaml.safe_load((LOCALES_DIR / "ja.yml").read_text())["ja"])
    en = flatten(yaml.safe_load((LOCALES_DIR / "en.yml").read_text())["en"])
    assert ja == en and ja


def test_japanese_is_the_default():
    """Without a locale the Japanese text is given; an unsupported locale falls back to Japanese."""
    configure_i18n()
    assert text("common.service_name") == "お客さまサポート"
    assert text("common.service_name", "en") == "Customer Support"
    assert text("common.service_name", "fr") == "お客さまサポート"
