"""Charts for staff pages, rendered on the server as SVG from plain data: bars (grouped or stacked, upright or
lying) and lines. No script and nothing fetched: the page shows them as they come.

Every label is escaped here and the result is `Markup`, so a template inserts it as is. Japanese labels are
measured as full-width (one em a character): a lying bar's long label (a scenario's full title) wraps onto as
many lines as it needs, never cut; each bar and point carries a <title> (its series, category and value: the
browser's tooltip) and `data-value`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#06c755", "#2f6fb3", "#e07b24", "#8a5cc2", "#d2457d", "#6b7785", "#1f9e89", "#b8860b")
FONT = "'Hiragino Sans','Hiragino Kaku Gothic ProN','Noto Sans CJK JP','Yu Gothic',Meiryo,sans-serif"
WIDTH = 720
SIZE = 12  # label font size
LEGEND = 28  # room above the plot for the legend


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def number(value: float) -> str:
    """1234 → 1,234; 12.5 → 12.5."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def text_width(label: str, size: float = SIZE) -> float:
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in label)


def clip(label: str, room: float, size: float = SIZE) -> str:
    """The label, cut with … to fit `room` pixels."""
    if text_width(label, size) <= room:
        return label
    while label and text_width(label + "…", size) > room:
        label = label[:-1]
    return label + "…"


def wrap(label: str, room: float, size: float = SIZE) -> list[str]:
    """The label in lines of at most `room` pixels, broken at spaces where a word fits on a line, else inside
    the word (Japanese has no spaces); every character but the spaces at the breaks kept."""
    lines: list[str] = []
    current = ""
    for word in label.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size) <= room:
            current = candidate
            continue
        if text_width(word, size) <= room:  # the word fits a line of its own
            lines.append(current)
            current = word
            continue
        current = f"{current} " if current else ""  # too long for any line: fill this one, then go on
        for character in word:
            if current.strip() and text_width(current + character, size) > room:
                lines.append(current.rstrip())
                current = ""
            current += character
    if current or not lines:
        lines.append(current)
    return lines


def _lines(x: float, y: float, lines: list[str], anchor: str, line_height: float) -> str:
    """Lines of one label, the first at `y`, as one <text> (a screen reader reads it whole)."""
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if n == 0 else line_height:.1f}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{spans}</text>'


def axis(value: float) -> tuple[float, int]:
    """The axis' top and its number of steps (3 or 4), each 1, 2, 2.5 or 5 times a power of ten; whole steps
    for whole numbers."""
    if value <= 0:
        return 4, 4
    rough = value / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= rough)
    if float(value).is_integer() and step < 1:
        step = 1
    steps = math.ceil(value / step - 1e-9)
    return step * steps, steps


def _svg(title: str, height: float, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-label="{escape(title)}" font-family="{FONT}" font-size="{SIZE}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, label: str, anchor: str = "start", **extra: str) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{escape(value)}"' for key, value in extra.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attributes}>{escape(label)}</text>'


def _head(title: str, series: Sequence[Series]) -> tuple[list[str], float]:
    """The title, then swatches and names (wrapped onto more lines when they do not fit); and their room."""
    parts = [_text(0, 15, title, font_size="14", font_weight="bold", fill="#1f2933")]
    x, y = 0.0, 24.0
    for index, one in enumerate(series):
        room = 28 + text_width(one.name)
        if x and x + room > WIDTH:
            x, y = 0.0, y + 18
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y + 6:.1f}" width="12" height="12" fill="{color}"/>')
        parts.append(_text(x + 16, y + 16, one.name))
        x += room
    return parts, y + LEGEND


def _empty(title: str, message: str) -> Markup:
    head, _ = _head(title, ())
    return _svg(title, 80, [*head, _text(WIDTH / 2, 55, message, "middle", fill="#6b7785")])


def _bar(x: float, y: float, w: float, h: float, color: str, tip: str, value: float) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}" '
        f'data-value="{value:g}"><title>{escape(tip)}</title></rect>'
    )


def _scale(categories: Sequence[str], series: Sequence[Series], stacked: bool) -> tuple[float, int]:
    if stacked:
        totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    else:
        totals = [v for s in series for v in s.values]
    return axis(max(totals, default=0))


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    empty: str = "",
    fmt: Callable[[float], str] = number,
) -> Markup:
    """Upright bars, one group (or stack) per category: for a few categories such as months."""
    if not categories or not any(v for s in series for v in s.values):
        return _empty(title, empty)
    body, legend = _head(title, series)
    left, bottom, height = 64.0, 28.0, 252.0 + legend
    plot_w, plot_h = WIDTH - left - 8, height - legend - bottom
    scale = _scale(categories, series, stacked)
    top = scale[0]
    body += _grid_y(left, legend, plot_w, plot_h, scale, fmt)
    band = plot_w / len(categories)
    width = band * 0.6 / (1 if stacked else len(series))
    for i, category in enumerate(categories):
        x0, base = left + band * i + band * 0.2, legend + plot_h
        body.append(_text(left + band * (i + 0.5), height - 10, clip(category, band - 4), "middle"))
        for j, one in enumerate(series):
            value = one.values[i]
            h = plot_h * value / top
            x = x0 if stacked else x0 + width * j
            y = base - h
            tip = f"{one.name} {category}: {fmt(value)}"
            body.append(_bar(x, y, width, h, PALETTE[j % len(PALETTE)], tip, value))
            if stacked:
                base = y
    return _svg(title, height, body)


def _grid_y(
    left: float, top_y: float, plot_w: float, plot_h: float, scale: tuple[float, int], fmt
) -> list[str]:
    (top, steps), parts = scale, []
    for step in range(steps + 1):
        value = top * step / steps
        y = top_y + plot_h - plot_h * step / steps
        parts.append(
            f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
        )
        parts.append(_text(left - 6, y + 4, fmt(value), "end", fill="#4a5560"))
    return parts


def hbar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    empty: str = "",
    fmt: Callable[[float], str] = number,
) -> Markup:
    """Lying bars, one row per category: for many categories or long labels (scenarios, reasons), each label
    whole, on as many lines as it needs."""
    if not categories or not any(v for s in series for v in s.values):
        return _empty(title, empty)
    label_w = min(max(text_width(c) for c in categories) + 12, 280)
    labels = [wrap(c, label_w - 12) for c in categories]
    line_height = SIZE + 3
    bar_row = 22.0 if stacked else 6.0 + 9.0 * len(series)
    rows = [max(bar_row, line_height * len(lines) + 8) for lines in labels]
    plot_w = WIDTH - label_w - 56
    body, legend = _head(title, series)
    height = legend + sum(rows) + 24
    top, steps = _scale(categories, series, stacked)
    for step in range(steps + 1):
        x = label_w + plot_w * step / steps
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{legend:.1f}" y2="{height - 20:.1f}" stroke="#e3e6ea"/>'
        )
        body.append(_text(x, height - 6, fmt(top * step / steps), "middle", fill="#4a5560"))
    y0 = legend + 3
    for i, category in enumerate(categories):
        row, lines = rows[i], labels[i]
        first = y0 + row / 2 + 4 - line_height * (len(lines) - 1) / 2
        body.append(_lines(label_w - 8, first, lines, "end", line_height))
        bar_top = y0 + (row - bar_row) / 2
        start, height_each = label_w, (bar_row - 6) / (1 if stacked else len(series))
        for j, one in enumerate(series):
            value = one.values[i]
            w = plot_w * value / top
            y = bar_top if stacked else bar_top + height_each * j
            tip = f"{category} {one.name}: {fmt(value)}"
            body.append(_bar(start, y, w, height_each, PALETTE[j % len(PALETTE)], tip, value))
            if stacked:
                start += w
            elif value:
                body.append(_text(start + w + 4, y + height_each - 1, fmt(value), font_size="10"))
        if stacked:
            total = sum(s.values[i] for s in series)
            body.append(_text(start + 4, bar_top + bar_row / 2 + 1, fmt(total), font_size="11"))
        y0 += row
    return _svg(title, height, body)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    empty: str = "",
    every: int = 5,
    fmt: Callable[[float], str] = number,
) -> Markup:
    """One line per series over `labels` (days), every `every`-th label written under the axis."""
    if not labels or not series:
        return _empty(title, empty)
    body, legend = _head(title, series)
    left, bottom, height = 64.0, 28.0, 272.0 + legend
    plot_w, plot_h = WIDTH - left - 16, height - legend - bottom
    scale = axis(max((v for s in series for v in s.values), default=0))
    top = scale[0]
    body += _grid_y(left, legend, plot_w, plot_h, scale, fmt)
    step = plot_w / max(len(labels) - 1, 1)
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if i % every == last % every:  # the latest day is always labelled
            body.append(_text(left + step * i, height - 10, label, "middle", fill="#4a5560"))
    for j, one in enumerate(series):
        color = PALETTE[j % len(PALETTE)]
        points = [(left + step * i, legend + plot_h - plot_h * v / top) for i, v in enumerate(one.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), label, value in zip(points, labels, one.values, strict=True):
            tip = f"{one.name} {label}: {fmt(value)}"
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}" data-value="{value:g}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    return _svg(title, height, body)
