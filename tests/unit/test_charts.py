"""The dashboard's SVG charts keep every label whole: a long scenario title wraps onto more lines of a lying bar
chart's row instead of being cut with …, and the rows grow to hold it."""

from __future__ import annotations

import re
from html import unescape

from bot.staff.charts import Series, hbar_chart, text_width, wrap

LONG = "#18 契約者限定サービス利用促進シナリオ（ロードサービス・健康相談・提携施設の優待を含む長い名前）"


def test_wrap_keeps_every_character_within_the_room():
    """Japanese (no spaces) breaks anywhere, English at spaces; nothing but a space at a break is dropped, and
    no line overflows."""
    lines = wrap(LONG, 200)
    assert "".join(lines) == LONG and len(lines) > 1 and lines[0].startswith("#18 契約")
    assert all(text_width(line) <= 200 for line in lines)
    english = "#9 Contract promotion for site browsers who looked at the quote page twice"
    assert " ".join(wrap(english, 150)) == english


def test_lying_bars_show_whole_labels_on_more_lines():
    """A long category shows whole (its tspans join to the title), without …; a short one stays one line."""
    chart = str(hbar_chart("t", [LONG, "#1 短い"], [Series("送信", [3, 1])]))
    labels = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="end">(.*?)</text>', chart)
    whole = [
        "".join(unescape(part) for part in re.findall(r"<tspan[^>]*>(.*?)</tspan>", label))
        for label in labels
    ]
    assert whole == [LONG, "#1 短い"] and "…" not in chart
    assert labels[0].count("<tspan") > 1 and labels[1].count("<tspan") == 1
