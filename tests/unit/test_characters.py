"""The one rule for characters from outside: controls, bidi overrides and lone surrogates out, all text in."""

from __future__ import annotations

from bot.platform.characters import forbidden_character
from bot.platform.json_input import MAX_DEPTH, TooDeep, read_json


def test_every_c0_c1_and_del_is_refused_except_tab_and_line_ends():
    """All 65 control characters but \\t, \\n and \\r are refused, each named by its code point."""
    controls = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
    refused = {point for point in controls if forbidden_character(f"a{chr(point)}b")}
    assert refused == set(controls) - {0x09, 0x0A, 0x0D}
    assert forbidden_character("x\x00") == "U+0000 (a control character)"


def test_bidi_overrides_and_isolates_are_refused_but_marks_and_text_are_not():
    """Embeddings, overrides and isolates go; direction marks, emoji sequences and Japanese stay."""
    assert all(forbidden_character(chr(p)) for p in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
    allowed = "山田　太郎 ﾔﾏﾀﾞ 〒100-0001\t\r\n\u200e\u200f\u061c 👨\u200d👩\u200d👧 ①"
    assert forbidden_character(allowed) is None


def test_json_nested_past_the_limit_is_a_value_error():
    """MAX_DEPTH levels read; one more, or deep enough for RecursionError, is TooDeep (a ValueError)."""
    assert read_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert read_json('{"a": {"b": [1, {"c": 2}]}}') == {"a": {"b": [1, {"c": 2}]}}
    for depth in (MAX_DEPTH + 1, 100_000):
        try:
            read_json("[" * depth + "]" * depth)
        except ValueError as exc:
            assert isinstance(exc, TooDeep)
        else:
            raise AssertionError(f"{depth} levels were read")
