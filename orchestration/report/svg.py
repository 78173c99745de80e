"""Small pure-Python SVG charts for a report that must open offline.

No JavaScript and no chart library: every helper returns one `<svg>` element as a string,
ready to be inlined in HTML. All text passes through `html.escape`; fonts fall back through
a CJK-capable list, so Chinese labels render on Linux, macOS and Windows alike. Charts carry
a `<title>` and `role="img"` with an `aria-label` for screen readers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", sans-serif'
)
# Okabe–Ito colours, distinguishable with the common colour-vision deficiencies, less its
# yellow (#F0E442, contrast 1.2:1 on white) and with its orange and sky blue darkened to
# keep a line readable on white (contrast at least 3:1, WCAG's figure for graphics).
PALETTE = (
    "#0072B2",
    "#B87E00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#2F86B8",
    "#6A3D9A",
    "#000000",
)
AXIS_COLOUR = "#444444"
GRID_COLOUR = "#dddddd"
TEXT_COLOUR = "#222222"
FONT_SIZE = 12

Formatter = Callable[[float], str]


def esc(value: object) -> str:
    """Text escaped for SVG and HTML, quotes included."""
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate with at most two decimals, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _plain(value: float) -> str:
    """A tick written exactly, up to four decimals (never rounded to another value)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _percent(value: float) -> str:
    return f"{_plain(round(value * 100, 10))}%"


def _text(
    x: float,
    y: float,
    content: object,
    *,
    anchor: str = "start",
    size: int = FONT_SIZE,
    weight: str | None = None,
    rotate: float | None = None,
    colour: str = TEXT_COLOUR,
    baseline: str | None = None,
) -> str:
    attributes = [f'x="{_num(x)}"', f'y="{_num(y)}"', f'font-size="{size}"', f'fill="{colour}"']
    if anchor != "start":
        attributes.append(f'text-anchor="{anchor}"')
    if weight:
        attributes.append(f'font-weight="{weight}"')
    if baseline:
        attributes.append(f'dominant-baseline="{baseline}"')
    if rotate is not None:
        attributes.append(f'transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"')
    return f"<text {' '.join(attributes)}>{esc(content)}</text>"


def _svg(width: float, height: float, title: str, body: Sequence[str]) -> str:
    return (
        f'<svg class="chart" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" role="img" aria-label="{esc(title)}" '
        f"font-family='{FONT_FAMILY}'>"
        f"<title>{esc(title)}</title>" + "".join(body) + "</svg>"
    )


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten
    (whole steps only when `integer`, for counts)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(low / step + 1e-9) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


@dataclass(frozen=True)
class _Frame:
    """The plotting area of a chart and the mapping of data to pixels."""

    left: float
    top: float
    width: float
    height: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float

    def x(self, value: float) -> float:
        span = (self.x_high - self.x_low) or 1.0
        return self.left + (value - self.x_low) / span * self.width

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1.0
        return self.top + self.height - (value - self.y_low) / span * self.height


def _y_axis(frame: _Frame, ticks: Sequence[float], fmt: Formatter, title: str) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{_num(frame.left)}" y1="{_num(y)}" x2="{_num(frame.left + frame.width)}" '
            f'y2="{_num(y)}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(_text(frame.left - 6, y + 4, fmt(tick), anchor="end", size=11))
    parts.append(
        f'<line x1="{_num(frame.left)}" y1="{_num(frame.top)}" x2="{_num(frame.left)}" '
        f'y2="{_num(frame.top + frame.height)}" stroke="{AXIS_COLOUR}"/>'
    )
    if title:
        parts.append(
            _text(14, frame.top + frame.height / 2, title, anchor="middle", rotate=-90, size=11)
        )
    return parts


def _x_axis_line(frame: _Frame) -> str:
    bottom = frame.top + frame.height
    return (
        f'<line x1="{_num(frame.left)}" y1="{_num(bottom)}" '
        f'x2="{_num(frame.left + frame.width)}" y2="{_num(bottom)}" stroke="{AXIS_COLOUR}"/>'
    )


def _legend(names: Sequence[str], x: float, y: float, colours: Sequence[str]) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        row_y = y + index * 18
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(row_y - 9)}" width="12" height="12" '
            f'fill="{colours[index % len(colours)]}"/>'
        )
        parts.append(_text(x + 18, row_y + 1, name, size=11))
    return parts


@dataclass(frozen=True)
class Series:
    """One line: its name and one value per x label (None leaves a gap)."""

    name: str
    values: Sequence[float | None]


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def line_chart(
    series: Sequence[Series],
    x_labels: Sequence[str],
    *,
    title: str,
    y_format: Formatter = _plain,
    x_title: str = "",
    y_title: str = "",
    y_range: tuple[float | None, float | None] = (None, None),
    width: float = 680,
    height: float = 300,
) -> str:
    """Several series over the same categorical x axis (periods), with a legend on the right."""
    values = [v for s in series for v in _finite(s.values)] or [0.0, 1.0]
    y_low = min(values) if y_range[0] is None else y_range[0]
    y_high = max(values) if y_range[1] is None else y_range[1]
    ticks = nice_ticks(y_low, y_high)
    legend_width = 200 if len(series) > 1 else 0
    frame = _Frame(
        left=70,
        top=30,
        width=width - 70 - 45 - legend_width,
        height=height - 30 - 60,
        x_low=0,
        x_high=max(len(x_labels) - 1, 1),
        y_low=min(ticks),
        y_high=max(ticks),
    )
    body = [_text(width / 2, 18, title, anchor="middle", weight="bold", size=13)]
    body += _y_axis(frame, ticks, y_format, y_title)
    body.append(_x_axis_line(frame))
    fit = max(int(frame.width // 64), 2)  # x labels that fit side by side
    step = max(1, math.ceil(len(x_labels) / fit))
    bottom = frame.top + frame.height
    for index, x_label in enumerate(x_labels):
        if (len(x_labels) - 1 - index) % step == 0:  # counted back from the latest period
            body.append(_text(frame.x(index), bottom + 16, x_label, anchor="middle", size=11))
    if x_title:
        body.append(_text(frame.left + frame.width / 2, height - 10, x_title, anchor="middle"))
    for number, line in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(line.values):
            if value is None or not math.isfinite(float(value)):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            point = f"{_num(frame.x(index))},{_num(frame.y(float(value)))}"
            segment.append(point)
            body.append(
                f'<circle cx="{_num(frame.x(index))}" cy="{_num(frame.y(float(value)))}" r="2.5" '
                f'fill="{colour}"><title>{esc(line.name)} {esc(x_labels[index])}: '
                f"{esc(y_format(float(value)))}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                body.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"/>'
                )
    if legend_width:
        body += _legend([s.name for s in series], width - legend_width + 10, frame.top + 6, PALETTE)
    return _svg(width, height, title, body)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    y_format: Formatter = _plain,
    x_title: str = "",
    y_title: str = "",
    width: float = 680,
    height: float = 300,
    colour: str = PALETTE[0],
) -> str:
    """Vertical bars, one per label, from zero."""
    finite = _finite(values) or [0.0]
    ticks = nice_ticks(min(0.0, min(finite)), max(0.0, max(finite)))
    frame = _Frame(70, 30, width - 90, height - 90, 0, max(len(labels), 1), min(ticks), max(ticks))
    body = [_text(width / 2, 18, title, anchor="middle", weight="bold", size=13)]
    body += _y_axis(frame, ticks, y_format, y_title)
    slot = frame.width / max(len(labels), 1)
    zero = frame.y(0.0)
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = frame.left + index * slot + slot * 0.15
        y_value = frame.y(float(value))
        body.append(
            f'<rect x="{_num(x)}" y="{_num(min(y_value, zero))}" width="{_num(slot * 0.7)}" '
            f'height="{_num(abs(zero - y_value))}" fill="{colour}">'
            f"<title>{esc(name)}: {esc(y_format(float(value)))}</title></rect>"
        )
        body.append(
            _text(x + slot * 0.35, frame.top + frame.height + 16, name, anchor="middle", size=11)
        )
    body.append(_x_axis_line(frame))
    if x_title:
        body.append(_text(frame.left + frame.width / 2, height - 10, x_title, anchor="middle"))
    return _svg(width, height, title, body)


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_format: Formatter = _plain,
    tick_format: Formatter | None = None,
    x_title: str = "",
    intervals: Sequence[tuple[float, float] | None] | None = None,
    x_range: tuple[float | None, float | None] = (None, None),
    width: float = 680,
    label_width: float = 190,
    colour: str = PALETTE[0],
) -> str:
    """Horizontal bars with the value printed at the end (`x_format`; ticks in
    `tick_format`, default the same); optional interval whiskers."""
    tick_format = tick_format or x_format
    row_height = 24
    height = 50 + row_height * max(len(labels), 1) + 40
    spread = list(_finite(values))
    for interval in intervals or []:
        if interval is not None:
            spread += _finite(list(interval))
    spread = spread or [0.0]
    low = min(0.0, min(spread)) if x_range[0] is None else x_range[0]
    high = max(0.0, max(spread)) if x_range[1] is None else x_range[1]
    ticks = nice_ticks(low, high)
    frame = _Frame(
        label_width, 30, width - label_width - 80, row_height * max(len(labels), 1),
        min(ticks), max(ticks), 0, 1,
    )  # fmt: skip
    body = [_text(width / 2, 18, title, anchor="middle", weight="bold", size=13)]
    bottom = frame.top + frame.height
    for tick in ticks:
        x = frame.x(tick)
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(frame.top)}" x2="{_num(x)}" y2="{_num(bottom)}" '
            f'stroke="{GRID_COLOUR}"/>'
        )
        body.append(_text(x, bottom + 16, tick_format(tick), anchor="middle", size=11))
    zero = frame.x(0.0)
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = frame.top + index * row_height + 4
        x_value = frame.x(float(value))
        body.append(
            f'<rect x="{_num(min(zero, x_value))}" y="{_num(y)}" '
            f'width="{_num(abs(x_value - zero))}" height="{row_height - 8}" fill="{colour}">'
            f"<title>{esc(name)}: {esc(x_format(float(value)))}</title></rect>"
        )
        body.append(_text(frame.left - 8, y + row_height / 2, name, anchor="end", size=11))
        end = x_value
        interval = intervals[index] if intervals else None
        if interval is not None and all(math.isfinite(float(v)) for v in interval):
            x_lo, x_hi = frame.x(float(interval[0])), frame.x(float(interval[1]))
            mid = y + (row_height - 8) / 2
            body.append(
                f'<path d="M{_num(x_lo)} {_num(mid)}H{_num(x_hi)}M{_num(x_lo)} {_num(mid - 5)}'
                f'V{_num(mid + 5)}M{_num(x_hi)} {_num(mid - 5)}V{_num(mid + 5)}" '
                f'stroke="{AXIS_COLOUR}" stroke-width="1.5" fill="none"/>'
            )
            end = max(end, x_hi)
        if float(value) < 0 and interval is None:
            body.append(
                _text(
                    x_value - 6, y + row_height / 2, x_format(float(value)), anchor="end", size=11
                )
            )
        else:
            body.append(_text(end + 6, y + row_height / 2, x_format(float(value)), size=11))
    body.append(
        f'<line x1="{_num(zero)}" y1="{_num(frame.top)}" x2="{_num(zero)}" y2="{_num(bottom)}" '
        f'stroke="{AXIS_COLOUR}"/>'
    )
    if x_title:
        body.append(_text(frame.left + frame.width / 2, height - 8, x_title, anchor="middle"))
    return _svg(width, height, title, body)


def lorenz_curve(
    customer_share: Sequence[float],
    value_share: Sequence[float],
    *,
    title: str,
    x_title: str,
    y_title: str,
    equality_label: str,
    size: float = 360,
) -> str:
    """The Lorenz curve (cumulative share of customers, smallest first, against cumulative
    share of value) with the diagonal of equal shares. Inputs run from 0 to 1."""
    frame = _Frame(70, 30, size - 100, size - 100, 0, 1, 0, 1)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    body = [_text(size / 2, 18, title, anchor="middle", weight="bold", size=13)]
    body += _y_axis(frame, ticks, _percent, y_title)
    bottom = frame.top + frame.height
    for tick in ticks:
        body.append(_text(frame.x(tick), bottom + 16, _percent(tick), anchor="middle", size=11))
    body.append(_x_axis_line(frame))
    body.append(_text(frame.left + frame.width / 2, size - 22, x_title, anchor="middle"))
    body.append(
        f'<line x1="{_num(frame.x(0))}" y1="{_num(frame.y(0))}" x2="{_num(frame.x(1))}" '
        f'y2="{_num(frame.y(1))}" stroke="{AXIS_COLOUR}" stroke-dasharray="4 3">'
        f"<title>{esc(equality_label)}</title></line>"
    )
    points = " ".join(
        f"{_num(frame.x(float(x)))},{_num(frame.y(float(y)))}"
        for x, y in zip(customer_share, value_share, strict=True)
    )
    body.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    body += _legend([equality_label], frame.left + 10, frame.top + 8, [AXIS_COLOUR])
    return _svg(size, size, title, body)


def histogram(
    counts: Sequence[int],
    edges: Sequence[float],
    *,
    title: str,
    x_format: Formatter = _plain,
    x_title: str = "",
    y_title: str = "",
    width: float = 680,
    height: float = 300,
) -> str:
    """Bars over contiguous bins (`edges` has one more entry than `counts`)."""
    if len(edges) != len(counts) + 1:
        raise ValueError("a histogram needs one more edge than counts")
    ticks = nice_ticks(0.0, float(max(counts, default=0)) or 1.0, integer=True)
    frame = _Frame(
        70, 30, width - 90, height - 90, float(edges[0]), float(edges[-1]), 0.0, max(ticks)
    )
    body = [_text(width / 2, 18, title, anchor="middle", weight="bold", size=13)]
    body += _y_axis(frame, ticks, lambda v: f"{v:,.0f}", y_title)
    for count, low, high in zip(counts, edges[:-1], edges[1:], strict=True):
        x_low, x_high = frame.x(float(low)), frame.x(float(high))
        y = frame.y(float(count))
        body.append(
            f'<rect x="{_num(x_low)}" y="{_num(y)}" width="{_num(max(x_high - x_low - 1, 0.5))}" '
            f'height="{_num(frame.top + frame.height - y)}" fill="{PALETTE[0]}">'
            f"<title>{esc(x_format(float(low)))} – {esc(x_format(float(high)))}: "
            f"{count:,}</title></rect>"
        )
    bottom = frame.top + frame.height
    for tick in nice_ticks(float(edges[0]), float(edges[-1]), 6):
        if edges[0] <= tick <= edges[-1]:
            body.append(_text(frame.x(tick), bottom + 16, x_format(tick), anchor="middle", size=11))
    body.append(_x_axis_line(frame))
    if x_title:
        body.append(_text(frame.left + frame.width / 2, height - 10, x_title, anchor="middle"))
    return _svg(width, height, title, body)


def heat_grid(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float]],
    cell_text: Sequence[Sequence[str]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    cell: float = 150,
) -> str:
    """A matrix of shaded cells (2×2, 3×3, …): darker = larger value; the text of each cell
    is printed in it (several lines separated by newlines). Rows top to bottom."""
    rows, columns = len(row_labels), len(column_labels)
    width, height = 110 + columns * cell + 20, 40 + rows * cell + 60
    finite = [float(v) for row in values for v in row if math.isfinite(float(v))] or [0.0]
    top_value = max(finite) or 1.0
    body = [_text(width / 2, 18, title, anchor="middle", weight="bold", size=13)]
    for r, row_label in enumerate(row_labels):
        for c in range(columns):
            value = float(values[r][c])
            strength = value / top_value if math.isfinite(value) else 0.0
            x, y = 110 + c * cell, 40 + r * cell
            # from a pale to a deep blue
            red, green, blue = (
                round(235 - strength * (235 - 0)),
                round(243 - strength * (243 - 90)),
                round(250 - strength * (250 - 160)),
            )
            ink = "#ffffff" if strength > 0.55 else TEXT_COLOUR
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(cell - 4)}" '
                f'height="{_num(cell - 4)}" fill="rgb({red},{green},{blue})"/>'
            )
            lines = str(cell_text[r][c]).split("\n")
            for number, line in enumerate(lines):
                offset = (number - (len(lines) - 1) / 2) * 16
                body.append(
                    _text(x + (cell - 4) / 2, y + (cell - 4) / 2 + offset + 4, line,
                          anchor="middle", colour=ink, size=12)
                )  # fmt: skip
        body.append(_text(100, 40 + r * cell + cell / 2, row_label, anchor="end", size=12))
    for c, column_label in enumerate(column_labels):
        body.append(
            _text(110 + c * cell + cell / 2, 40 + rows * cell + 16, column_label, anchor="middle")
        )
    body.append(_text(110 + columns * cell / 2, height - 12, x_title, anchor="middle"))
    body.append(_text(14, 40 + rows * cell / 2, y_title, anchor="middle", rotate=-90))
    return _svg(width, height, title, body)


def sparkline(values: Sequence[float | None], *, title: str, width: float = 140) -> str:
    """A tiny trend line for a KPI card; the last point is marked."""
    height = 36
    finite = _finite(values)
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high == low:
        low, high = low - 1, high + 1
    frame = _Frame(4, 4, width - 8, height - 8, 0, max(len(values) - 1, 1), low, high)
    points = [
        (frame.x(i), frame.y(float(v)))
        for i, v in enumerate(values)
        if v is not None and math.isfinite(float(v))
    ]
    body = []
    if len(points) > 1:
        body.append(
            '<polyline points="'
            + " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            + f'" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>'
        )
    if points:
        x, y = points[-1]
        body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{PALETTE[3]}"/>')
    return _svg(width, height, title, body).replace('class="chart"', 'class="sparkline"', 1)
