"""A small SVG canvas for the report's charts: axes on linear or log scales, ticks, grid, lines, markers, bars,
cells, text and a legend, written out as standalone SVG 1.1.

Text stays text (searchable, selectable, legible in print) and the output depends only on the data, so a
re-render of the same run folder writes the same bytes. Layout needs text widths before any font is known: an
average glyph width per font size stands in for them (``text_width``), generous enough for the common sans fonts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
GLYPH_WIDTH = 0.6       # average glyph width over font size (DejaVu Sans: ~0.55-0.63 for mixed text)
FONT_SIZE = 13.0        # px: 10 pt at the 96-100 px an inch screens and printers assume
GRID = "#dddddd"
INK = "#222222"
DASHES = {"solid": None, "dashed": "6,4", "dotted": "1.5,3", "dashdot": "7,3,1.5,3"}


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """The width ``text`` is laid out for at ``size`` px: the widest of its lines."""
    return max((len(line) for line in text.split("\n")), default=0) * size * GLYPH_WIDTH


def num(v: float) -> str:
    """A coordinate as short text: two decimals at most, no trailing zeros."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) inside [lo, hi], at most ``most`` of them."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(most - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 12))
        k += 1
    return out


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten inside [lo, hi]; with fewer than two, the 2 and 5 multiples too."""
    decades = [10.0 ** k for k in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1)]
    if len(decades) >= 2:
        return decades
    more = [m * 10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    return [v for v in more if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]


def tick_text(v: float, ticks: Sequence[float]) -> str:
    """A tick value with the fewest decimals that show every tick of its axis exactly (0.25 beside 0.5, not 0.2),
    thousands separated."""
    if v == 0:
        return "0"
    if abs(v) >= 1000 and float(v).is_integer():
        return f"{v:,.0f}"
    scale = max((abs(t) for t in ticks), default=abs(v)) or 1.0
    digits = next((d for d in range(9) if all(abs(round(t, d) - t) <= 1e-9 * scale for t in ticks)), 8)
    return f"{v:,.{digits}f}"


@dataclass
class Scale:
    """Data to a 0-1 fraction of the axis, linearly or on log10."""

    lo: float
    hi: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.log:
            self.lo, self.hi = max(self.lo, 1e-12), max(self.hi, 1e-12)
        if not self.hi > self.lo:   # one value: a span around it
            pad = abs(self.lo) * 0.1 or 1.0
            self.lo, self.hi = (self.lo / 2, self.lo * 2) if self.log else (self.lo - pad, self.hi + pad)

    def frac(self, v: float) -> float:
        if self.log:
            v = max(v, 1e-12)
            return (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def ticks(self) -> list[float]:
        return log_ticks(self.lo, self.hi) if self.log else nice_ticks(self.lo, self.hi)


@dataclass
class LegendItem:
    """One legend entry: a line (``dash``), a marker (``marker``) or a filled patch (neither)."""

    label: str
    color: str
    dash: str | None = None
    marker: str | None = None
    line: bool = True


def padded(lo: float, hi: float, share: float = 0.05) -> tuple[float, float]:
    """[lo, hi] widened by ``share`` of its span on each side (a single value by 5% of itself, or 1)."""
    span = hi - lo or abs(hi) or 1.0
    return lo - share * span, hi + share * span


def log_padded(lo: float, hi: float, factor: float = 1.5) -> tuple[float, float]:
    """[lo, hi] widened by ``factor`` on each side of a log axis."""
    return max(lo, 1e-12) / factor, max(hi, 1e-12) * factor


@dataclass
class Axes:
    """A plot area at (left, top) of width × height px, with its scales; drawing calls take data coordinates."""

    left: float
    top: float
    width: float
    height: float
    x: Scale
    y: Scale
    clip_id: str
    body: list[str] = field(default_factory=list)     # the data, clipped to the plot area
    frame: list[str] = field(default_factory=list)    # ticks, labels, spines and titles, on top
    grid: list[str] = field(default_factory=list)     # grid lines, under everything

    def px(self, v: float) -> float:
        return self.left + self.x.frac(v) * self.width

    def py(self, v: float) -> float:
        return self.top + (1 - self.y.frac(v)) * self.height

    # ---- data -----------------------------------------------------------------------------------------------------

    def line(self, xs: Sequence[float], ys: Sequence[float], color: str, width: float = 1.5, dash: str = "solid",
             step: bool = False, opacity: float = 1.0) -> None:
        """A polyline through the points; ``step``: horizontal then vertical (each value holds until the next x)."""
        pts = [(self.px(x), self.py(y)) for x, y in zip(xs, ys, strict=True)]
        if step:
            stepped = []
            for i, (x, y) in enumerate(pts):
                if i:
                    stepped.append((x, pts[i - 1][1]))
                stepped.append((x, y))
            pts = stepped
        if len(pts) < 2:
            return
        self.body.append(f'<polyline points="{" ".join(f"{num(a)},{num(b)}" for a, b in pts)}" fill="none" '
                         f'stroke="{color}" stroke-width="{num(width)}"{_dash(dash)}{_opacity(opacity)}/>')

    def segment(self, x0: float, y0: float, x1: float, y1: float, color: str, width: float = 1.0,
                dash: str = "solid") -> None:
        self.body.append(rule(self.px(x0), self.py(y0), self.px(x1), self.py(y1), color, width, dash))

    def hline(self, y: float, color: str, width: float = 1.0, dash: str = "solid") -> None:
        """A line across the whole plot at ``y``."""
        self.body.append(rule(self.left, self.py(y), self.left + self.width, self.py(y), color, width, dash))

    def vline(self, x: float, color: str, width: float = 1.0, dash: str = "solid") -> None:
        """A line up the whole plot at ``x``."""
        self.body.append(rule(self.px(x), self.top, self.px(x), self.top + self.height, color, width, dash))

    def markers(self, xs: Sequence[float], ys: Sequence[float], color: str, shape: str = "circle",
                size: float | Sequence[float] = 4.0, edge: str | None = None, opacity: float = 1.0) -> None:
        """Markers at the points (``marker``'s shapes); ``size``: half-width in px, one for all or one per point."""
        sizes = [size] * len(xs) if isinstance(size, int | float) else list(size)
        for x, y, r in zip(xs, ys, sizes, strict=True):
            self.body.append(marker(self.px(x), self.py(y), shape, r, color, edge, opacity))

    def errorbar(self, x: float, lo: float, hi: float, color: str, cap: float = 3.0, width: float = 1.2) -> None:
        """A vertical bar from ``lo`` to ``hi`` at ``x``, with caps."""
        px, a, b = self.px(x), self.py(lo), self.py(hi)
        self.body.append(f'<path d="M{num(px)},{num(a)}V{num(b)}M{num(px - cap)},{num(a)}H{num(px + cap)}'
                         f'M{num(px - cap)},{num(b)}H{num(px + cap)}" stroke="{color}" stroke-width="{num(width)}" '
                         'fill="none"/>')

    def band(self, xs: Sequence[float], lo: Sequence[float], hi: Sequence[float], color: str,
             opacity: float = 0.15) -> None:
        """The area between two lines over the same xs."""
        top = [(self.px(x), self.py(y)) for x, y in zip(xs, hi, strict=True)]
        bottom = [(self.px(x), self.py(y)) for x, y in zip(xs, lo, strict=True)][::-1]
        self.body.append(f'<polygon points="{" ".join(f"{num(a)},{num(b)}" for a, b in top + bottom)}" '
                         f'fill="{color}" fill-opacity="{num(opacity)}" stroke="none"/>')

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: str, edge: str | None = None) -> None:
        """A filled rectangle between two data corners."""
        a, b = sorted((self.px(x0), self.px(x1)))
        c, d = sorted((self.py(y0), self.py(y1)))
        stroke = f' stroke="{edge}" stroke-width="0.6"' if edge else ""
        self.body.append(f'<rect x="{num(a)}" y="{num(c)}" width="{num(b - a)}" height="{num(d - c)}" '
                         f'fill="{color}"{stroke}/>')

    def text(self, x: float, y: float, s: str, dx: float = 0.0, dy: float = 0.0, size: float = 12.0,
             color: str = INK, anchor: str = "start", clip: bool = False) -> None:
        """Text at a data point, moved by (dx, dy) px; its lines stacked and centred on the point vertically."""
        (self.body if clip else self.frame).append(
            text(self.px(x) + dx, self.py(y) + dy, s, size=size, color=color, anchor=anchor))

    # ---- frame ----------------------------------------------------------------------------------------------------

    def grid_and_ticks(self, xticks: Sequence[float] | None = None, yticks: Sequence[float] | None = None,
                       xlabels: Sequence[str] | None = None, ylabels: Sequence[str] | None = None,
                       xformat: Callable[[float], str] | None = None, grid_x: bool = True, grid_y: bool = True,
                       rotate_x: bool = False, spines: bool = True) -> None:
        """Tick marks, their labels and grid lines; the left and bottom spines."""
        xt = list(self.x.ticks() if xticks is None else xticks)
        yt = list(self.y.ticks() if yticks is None else yticks)
        xs = list(xlabels) if xlabels is not None else [(xformat or (lambda v: tick_text(v, xt)))(v) for v in xt]
        ys = list(ylabels) if ylabels is not None else [tick_text(v, yt) for v in yt]
        bottom, right = self.top + self.height, self.left + self.width
        small = FONT_SIZE - 1
        for p, lab in self._inside(xt, xs, self.px, self.left, right):
            if grid_x:
                self.grid.append(rule(p, self.top, p, bottom, GRID, 0.8))
            self.frame.append(rule(p, bottom, p, bottom + 4, INK, 0.8))
            if rotate_x:
                at = bottom + 8 + 0.7 * small
                self.frame.append(f'<text x="{num(p)}" y="{num(at)}" font-size="{num(small)}" text-anchor="end" '
                                  f'fill="{INK}" transform="rotate(-30 {num(p)} {num(at)})">{escape(lab)}</text>')
            else:
                self.frame.append(text(p, bottom + 6, lab, size=small, anchor="middle", baseline="hanging"))
        for p, lab in self._inside(yt, ys, self.py, self.top, bottom):
            if grid_y:
                self.grid.append(rule(self.left, p, right, p, GRID, 0.8))
            self.frame.append(rule(self.left - 4, p, self.left, p, INK, 0.8))
            self.frame.append(text(self.left - 7, p, lab, size=small, anchor="end"))
        if spines:
            self.frame.append(f'<path d="M{num(self.left)},{num(self.top)}V{num(bottom)}H{num(right)}" fill="none" '
                              f'stroke="{INK}" stroke-width="0.9"/>')

    @staticmethod
    def _inside(ticks: Sequence[float], labels: Sequence[str], to_px: Callable[[float], float], lo: float,
                hi: float) -> list[tuple[float, str]]:
        """(pixel, label) of the ticks that fall on the axis (half a pixel of slack)."""
        at = [(to_px(v), lab) for v, lab in zip(ticks, labels, strict=True)]
        return [(p, lab) for p, lab in at if lo - 0.5 <= p <= hi + 0.5]

    def xlabel(self, s: str, below: float) -> None:
        """The x axis's label, ``below`` px under the plot area."""
        self.frame.append(text(self.left + self.width / 2, self.top + self.height + below, s, anchor="middle",
                               baseline="hanging"))

    def ylabel(self, s: str, left: float) -> None:
        """The y axis's label, turned, ``left`` px left of the plot area."""
        x, y = self.left - left, self.top + self.height / 2
        self.frame.append(f'<text x="{num(x)}" y="{num(y)}" font-size="{num(FONT_SIZE)}" text-anchor="middle" '
                          f'fill="{INK}" transform="rotate(-90 {num(x)} {num(y)})">{escape(s)}</text>')

    def title(self, s: str, size: float = 15.0, bold: bool = True) -> None:
        self.frame.append(text(self.left + self.width / 2, self.top - 12, s, size=size, anchor="middle",
                               bold=bold))

    def svg(self) -> str:
        clip = (f'<clipPath id="{self.clip_id}"><rect x="{num(self.left - 6)}" y="{num(self.top - 6)}" '
                f'width="{num(self.width + 12)}" height="{num(self.height + 12)}"/></clipPath>')
        return "\n".join([clip, *self.grid, f'<g clip-path="url(#{self.clip_id})">', *self.body, "</g>", *self.frame])


class Figure:
    """A chart of ``width`` × ``height`` px: axes, a title and a legend, as one SVG document."""

    def __init__(self, width: float, height: float, label: str = "chart") -> None:
        self.width, self.height, self.label = width, height, label
        self.axes: list[Axes] = []
        self.extra: list[str] = []

    def add_axes(self, left: float, top: float, width: float, height: float, x: Scale, y: Scale) -> Axes:
        ax = Axes(left, top, width, height, x, y, clip_id=f"plot{len(self.axes)}")
        self.axes.append(ax)
        return ax

    def title(self, s: str, y: float = 22.0, size: float = 15.0) -> None:
        self.extra.append(text(self.width / 2, y, s, size=size, anchor="middle", bold=True))

    def legend(self, items: Sequence[LegendItem], top: float, ncol: int = 2, size: float = 12.0) -> float:
        """Legend rows centred under ``top``, ``ncol`` entries a row (fewer when they would not fit); returns the
        height used (``legend_height``)."""
        if not items:
            return 0.0
        swatch, gap, row_h = 26.0, 16.0, size + 7
        col_w, ncol = _legend_columns(items, self.width, ncol, size)
        rows = [items[i:i + ncol] for i in range(0, len(items), ncol)]
        for r, row in enumerate(rows):
            x = (self.width - col_w * len(row) + gap) / 2
            y = top + r * row_h + row_h / 2
            for it in row:
                self.extra.append(_swatch(it, x, y, swatch))
                self.extra.append(text(x + swatch + 6, y, it.label, size=size))
                x += col_w
        return len(rows) * row_h

    def svg(self) -> str:
        head = ('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
                f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{num(self.width)}" '
                f'height="{num(self.height)}" viewBox="0 0 {num(self.width)} {num(self.height)}" '
                f'font-family="{FONT}" role="img" aria-label="{escape(self.label, {chr(34): "&quot;"})}">')
        body = [f'<rect width="{num(self.width)}" height="{num(self.height)}" fill="white"/>',
                *(ax.svg() for ax in self.axes), *self.extra]
        return "\n".join([head, *body, "</svg>\n"])


def legend_height(items: Sequence[LegendItem], width: float, ncol: int = 2, size: float = 12.0) -> float:
    """The height ``Figure.legend`` takes for ``items`` in a figure ``width`` px wide."""
    if not items:
        return 0.0
    _, ncol = _legend_columns(items, width, ncol, size)
    return math.ceil(len(items) / ncol) * (size + 7)


def _legend_columns(items: Sequence[LegendItem], width: float, ncol: int, size: float) -> tuple[float, int]:
    col_w = max(text_width(it.label, size) for it in items) + 26.0 + 6 + 16.0
    return col_w, max(1, min(ncol, len(items), int((width - 20) // col_w) or 1))


def text(x: float, y: float, s: str, size: float = FONT_SIZE, color: str = INK, anchor: str = "start",
         baseline: str = "central", bold: bool = False) -> str:
    """A ``<text>`` whose lines are centred on ``y`` (``baseline="central"``) or hang below it (``"hanging"``).

    Placed on the alphabetic baseline by arithmetic (a capital is ~0.72 of the font size tall), not with
    ``dominant-baseline``, which some viewers and converters ignore."""
    lines = s.split("\n")
    weight = ' font-weight="bold"' if bold else ""
    attrs = f'font-size="{num(size)}" text-anchor="{anchor}" fill="{color}"{weight}'
    step = size * 1.15
    first = y + 0.78 * size if baseline == "hanging" else y + 0.36 * size - step * (len(lines) - 1) / 2
    if len(lines) == 1:
        return f'<text x="{num(x)}" y="{num(first)}" {attrs}>{escape(s)}</text>'
    spans = "".join(f'<tspan x="{num(x)}" y="{num(first + i * step)}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text {attrs}>{spans}</text>'


def rule(x1: float, y1: float, x2: float, y2: float, color: str, width: float = 1.0, dash: str = "solid") -> str:
    """A straight ``<line>`` between two pixel points."""
    return (f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{color}" '
            f'stroke-width="{num(width)}"{_dash(dash)}/>')


def marker(x: float, y: float, shape: str, r: float, color: str, edge: str | None = None,
           opacity: float = 1.0) -> str:
    """One marker centred on (x, y): circle (also 'hollow', in a legend), diamond or a vertical bar ('|'), ``r`` px from its centre."""
    stroke = f' stroke="{edge}" stroke-width="1.2"' if edge else ""
    op = _opacity(opacity)
    if shape == "diamond":
        return (f'<path d="M{num(x)},{num(y - r)}L{num(x + r)},{num(y)}L{num(x)},{num(y + r)}L{num(x - r)},{num(y)}Z" '
                f'fill="{color}"{stroke}{op}/>')
    if shape == "|":
        return rule(x, y - r, x, y + r, color, 1.6).replace("/>", f"{op}/>")
    return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(r)}" fill="{color}"{stroke}{op}/>'


def _swatch(it: LegendItem, x: float, y: float, w: float) -> str:
    if it.marker is None and not it.line:
        return f'<rect x="{num(x + 4)}" y="{num(y - 6)}" width="{num(w - 8)}" height="12" fill="{it.color}"/>'
    parts = []
    if it.line:
        parts.append(rule(x, y, x + w, y, it.color, 1.8, it.dash or "solid"))
    if it.marker:
        parts.append(marker(x + w / 2, y, it.marker, 4.5, it.color if it.marker != "hollow" else "white",
                            it.color if it.marker == "hollow" else None))
    return "".join(parts)


def _dash(style: str) -> str:
    pattern = DASHES.get(style, style)
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def _opacity(opacity: float) -> str:
    return f' opacity="{num(opacity)}"' if opacity < 1 else ""


def blend(share: float, stops: Sequence[str]) -> str:
    """The colour at ``share`` (0-1) along evenly spaced hex ``stops``, interpolated in RGB."""
    share = min(max(share, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(share), len(stops) - 2)
    t = share - i
    a, b = (tuple(int(h[k:k + 2], 16) for k in (1, 3, 5)) for h in (stops[i], stops[i + 1]))
    return "#" + "".join(f"{round(p + (q - p) * t):02x}" for p, q in zip(a, b, strict=True))
