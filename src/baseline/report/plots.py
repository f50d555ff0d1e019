"""The report's charts as standalone SVG: titled, labelled, legible in print (``baseline.report.svg`` draws them).

Each function takes plain data from results.json and returns SVG text, or ``None`` when there is
nothing to draw. The HTML report embeds the SVGs as data URIs; the run folder keeps them as files.
Drawn here rather than with a plotting library: the report renders in a few milliseconds a chart, with no
library import (matplotlib's took about half a second of every run).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from baseline.decide import metric_name
from baseline.report.svg import (
    FONT_SIZE,
    Axes,
    Figure,
    LegendItem,
    Scale,
    blend,
    legend_height,
    log_padded,
    padded,
    text_width,
    tick_text,
)

COST_FLOOR = 1e-6          # USD per 1k: smaller costs (including $0) are drawn here on the log axis
CHOSEN, OTHER, FRONT, BAR = "#1b7f3b", "#4a5a75", "#d0661b", "#b3261e"
PALETTE = [CHOSEN, "#3b5bdb", FRONT, "#7b3fa0", "#0b7285", "#5c940d", OTHER]
# ColorBrewer "Blues", 9 classes (colorbrewer2.org): the confusion matrix's shares, white to dark blue
BLUES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
WIDTH = 760.0              # px: every full-width chart
TITLE_H = 40.0             # px above the plot area: the title
TICKS_H = 22.0             # px under the plot area: tick labels
LABEL_H = 22.0             # px for an axis label


def _usd_tick(v: float) -> str:
    if v <= COST_FLOOR * 1.0001:
        return "≤$" + f"{COST_FLOOR:.6f}".rstrip("0")
    if v >= 1:
        return f"${v:,.0f}"
    return f"${v:.{max(0, -math.floor(math.log10(v)))}f}"


def _plain_tick(v: float) -> str:
    """A log axis's tick: 0.01, 1, 1,000 (no exponent)."""
    return f"{v:,.0f}" if v >= 1 else f"{v:.{max(0, -math.floor(math.log10(v) + 1e-9))}f}"


def _left(labels: Sequence[str], ylabel: bool = True) -> float:
    """The left margin that fits the y tick labels (and the turned axis label)."""
    return 14 + (LABEL_H if ylabel else 0) + max((text_width(s, FONT_SIZE - 1) for s in labels), default=0) + 10


def _chart(plot_h: float, x: Scale, y: Scale, ylabels: Sequence[str], legend: Sequence[LegendItem] = (),
           ncol: int = 2, xlabel: bool = True, ylabel: bool = True, below: float = 0.0, width: float = WIDTH,
           right: float = 24.0, label: str = "chart", plot_w: float | None = None) -> tuple[Figure, Axes, float]:
    """A one-plot figure laid out around its tick labels, axis labels and legend; returns it, its axes and where
    the legend goes. ``plot_w``: a plot area this wide (the figure at least ``width``), else all the width left."""
    left = _left(ylabels, ylabel)
    if plot_w is not None:
        width = max(width, left + plot_w + right)
    under = TICKS_H + below + (LABEL_H if xlabel else 0) + 8
    leg = legend_height(legend, width, ncol)
    fig = Figure(width, TITLE_H + plot_h + under + leg + (10 if leg else 4), label=label)
    ax = fig.add_axes(left, TITLE_H, plot_w or width - left - right, plot_h, x, y)
    return fig, ax, TITLE_H + plot_h + under


def _labels(ax: Axes, xlabel: str | None, ylabel: str | None, below: float = 0.0) -> None:
    if xlabel:
        ax.xlabel(xlabel, TICKS_H + below + 2)
    if ylabel:
        ax.ylabel(ylabel, ax.left - 14 - FONT_SIZE / 2)


def _y_ticks_text(y: Scale) -> list[str]:
    t = y.ticks()
    return [tick_text(v, t) for v in t]


def cost_chart(points: list[dict[str, Any]], metric: str, front: list[str], chosen: str | None,
               min_metric: float | None = None, max_cost: float | None = None, name: str | None = None,
               lower_is_better: bool = False) -> str | None:
    """Headline metric (with CI) against cost per 1,000 predictions on a log axis; Pareto front joined.

    ``name``: the metric's display name (default ``metric_name``); ``lower_is_better`` (RMSE, MAE): the y axis
    follows the values instead of 0–1, and the labels say that lower is better.
    """
    pts = [p for p in points if p.get("cost") is not None and p.get("metric") is not None]
    if not pts:
        return None
    label = name or metric_name(metric)
    better = "scores better" if lower_is_better else "scores higher"
    xs = {p["name"]: max(p["cost"], COST_FLOOR) for p in pts}
    lo_x = min(xs.values()) / 3
    hi_x = max(max(xs.values()), max_cost or 0) * 6
    x = Scale(lo_x, max(hi_x, lo_x * 100), log=True)
    ymin = min([(p.get("ci") or (p["metric"],))[0] for p in pts] + ([min_metric] if min_metric else []))
    ymax = max([(p.get("ci") or (p["metric"], p["metric"]))[1] for p in pts] + ([min_metric] if min_metric else []))
    if lower_is_better or ymax > 1.0 or ymin < 0.0:   # numbers in the target's units: follow the values
        pad = 0.08 * max(ymax - ymin, abs(ymax), 1e-9)
        y = Scale(ymin - pad if ymin < 0 else max(0.0, ymin - pad), ymax + pad)
        ylabel = f"{label} (95% CI)" + (", lower is better" if lower_is_better else "")
    else:
        y = Scale(max(0.0, ymin - 0.08), 1.0)
        ylabel = f"{label} (95% CI)"
    fr = [p for p in sorted(pts, key=lambda p: xs[p["name"]]) if p["name"] in front]
    legend = []
    if len(fr) > 1:
        legend.append(LegendItem(f"Pareto front (no cheaper candidate {better})", FRONT, dash="dashed"))
    elif fr:
        legend.append(LegendItem("Pareto front: " + fr[0]["name"], FRONT, dash="dashed"))
    if min_metric is not None:
        legend.append(LegendItem(f"bar: {label} {'≤' if lower_is_better else '≥'} {min_metric:g}", BAR, dash="dotted"))
    if max_cost is not None:
        legend.append(LegendItem(f"bar: ≤ ${max_cost:g} per 1k", BAR, dash="dashdot"))
    fig, ax, leg_top = _chart(300, x, y, _y_ticks_text(y), legend, ncol=2, right=24, label=f"{label} against cost")
    ax.grid_and_ticks(xformat=_usd_tick)
    if len(fr) > 1:
        ax.line([xs[p["name"]] for p in fr], [p["metric"] for p in fr], FRONT, width=1.5, dash="dashed", step=True)
    if min_metric is not None:
        ax.hline(min_metric, BAR, dash="dotted")
    if max_cost is not None:
        ax.vline(max(max_cost, COST_FLOOR), BAR, dash="dashdot")
    for p in pts:
        px, py = xs[p["name"]], p["metric"]
        lo, hi = p.get("ci") or (py, py)
        colour = CHOSEN if p["name"] == chosen else (FRONT if p["name"] in front else OTHER)
        ax.errorbar(px, lo, hi, colour)
        ax.markers([px], [py], colour, size=4.5)
        ax.text(px, py, p["name"] + (" (chosen)" if p["name"] == chosen else ""), dx=7, dy=-8, color=colour)
    _labels(ax, "cost per 1,000 predictions (USD, log scale)", ylabel)
    ax.title(f"{label} against cost")
    fig.legend(legend, leg_top, ncol=2)
    return fig.svg()


def latency_chart(rows: list[dict[str, Any]], max_p95_ms: float | None = None) -> str | None:
    """Per-item latency p50–p95–p99 (and max) per candidate on a log axis."""
    rows = [r for r in rows if r.get("p50") is not None]
    if not rows:
        return None
    values = [v for r in rows for v in (r["p50"], r["p95"], r["p99"], r.get("max") or r["p99"])]
    values += [max_p95_ms] if max_p95_ms is not None else []
    x = Scale(*log_padded(min(values), max(values)), log=True)
    y = Scale(-0.6, len(rows) - 0.4)
    names = [f"{r['name']}{' *' if r.get('batched') else ''}" for r in rows]
    legend = [LegendItem("p50", OTHER, marker="hollow", line=False), LegendItem("p95", FRONT, marker="diamond",
                                                                                 line=False),
              LegendItem("p99", "black", marker="|", line=False)]
    if max_p95_ms is not None:
        legend.append(LegendItem(f"bar: p95 ≤ {max_p95_ms:g} ms", BAR, dash="dotted"))
    fig, ax, leg_top = _chart(38 * len(rows) + 30, x, y, names, legend, ncol=4, ylabel=False,
                              label="Latency per item: p50, p95, p99")
    ax.grid_and_ticks(yticks=[len(rows) - 1 - i for i in range(len(rows))], ylabels=names, xformat=_plain_tick,
                      grid_y=False)
    if max_p95_ms is not None:
        ax.vline(max_p95_ms, BAR, width=1.2, dash="dotted")
    for i, r in enumerate(rows):
        at = len(rows) - 1 - i
        ax.segment(r["p50"], at, r.get("max") or r["p99"], at, "#bbbbbb", width=1.2)
        ax.segment(r["p50"], at, r["p99"], at, OTHER, width=5)
        ax.markers([r["p50"]], [at], "white", size=4.5, edge=OTHER)
        ax.markers([r["p95"]], [at], FRONT, shape="diamond", size=5)
        ax.markers([r["p99"]], [at], "black", shape="|", size=7)
    _labels(ax, "per-item latency (ms, log scale); grey line runs to the slowest item", None)
    ax.title("Latency per item: p50, p95, p99")
    fig.legend(legend, leg_top, ncol=4)
    return fig.svg()


def confusion_chart(name: str, confusion: dict[str, Any]) -> str | None:
    """Confusion matrix as row shares (recall per true class) with counts; abstentions and unanswered items last."""
    import numpy as np

    m = np.asarray(confusion["matrix"], dtype=float)
    labels, cols = [str(s) for s in confusion["labels"]], [str(c) for c in confusion["columns"]]
    if m.size == 0:
        return None
    keep = [j for j in range(len(cols)) if j < len(labels) or m[:, j].any()]  # no abstentions / unanswered: no column
    m, cols = m[:, keep], [cols[j] for j in keep]
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = len(labels)
    side = min(600.0, 120 + 55 * max(k, 3))
    cell_w, cell_h = side / len(cols), side / k
    rotate = k > 3
    below = max(text_width(c, FONT_SIZE - 1) for c in cols) * 0.5 if rotate else 0.0
    x, y = Scale(-0.5, len(cols) - 0.5), Scale(-0.5, k - 0.5)
    title = f"{name}: confusion (count, share of true class)"
    fig, ax, _ = _chart(side, x, y, labels, below=below, width=text_width(title, 15) + 40, right=40, label=title,
                        plot_w=side)
    # many classes: every n-th label, so that labels do not overprint each other (the cells keep their colour)
    every_y, every_x = math.ceil(15 / cell_h), math.ceil((28 if rotate else 60) / cell_w)
    last = k - every_x if len(cols) > k else k - 1   # the abstention / no-answer columns always keep their label
    ax.grid_and_ticks(xticks=list(range(len(cols))), yticks=[k - 1 - i for i in range(k)],
                      xlabels=[c if j >= k or (j % every_x == 0 and j <= last) else "" for j, c in enumerate(cols)],
                      ylabels=[lab if i % every_y == 0 else "" for i, lab in enumerate(labels)],
                      grid_x=False, grid_y=False, rotate_x=rotate, spines=False)
    size = 10.0 if k > 6 else 12.0
    legible = cell_h >= 2.4 * size and cell_w >= text_width("0000", size)   # too small for two lines: colour only
    for i in range(m.shape[0]):
        row = k - 1 - i
        for j in range(m.shape[1]):
            ax.rect(j - 0.5, row - 0.5, j + 0.5, row + 0.5, blend(share[i, j], BLUES), edge="white")
            if legible:
                ax.text(j, row, f"{int(m[i, j])}\n{share[i, j]:.0%}", size=size, anchor="middle", clip=True,
                        color="white" if share[i, j] > 0.55 else "black")
    _labels(ax, "predicted label", "true label", below=below)
    ax.title(title)
    return fig.svg()


def coverage_chart(curves: dict[str, dict[str, Any]], chosen: str | None = None) -> str | None:
    """Precision of the most confident answers against the share of items automated."""
    if not curves:
        return None
    target = next(iter(curves.values()))["target"]
    order = sorted(curves, key=lambda n: (n != chosen, n))
    lo = min(min(p[1] for p in c["curve"]) for c in curves.values())
    x, y = Scale(0, 100), Scale(max(0.0, min(lo, target) - 0.05), 1.01)
    legend = []
    for i, name in enumerate(order):
        at = curves[name].get("at_target")
        lab = f"{name}: {at['coverage']:.0%} at ≥{target:.0%}" if at else f"{name}: never ≥{target:.0%}"
        legend.append(LegendItem(lab, PALETTE[i % len(PALETTE)]))
    legend.append(LegendItem(f"target: {target:.0%} precision", BAR, dash="dotted"))
    fig, ax, leg_top = _chart(290, x, y, _y_ticks_text(y), legend, ncol=2,
                              label="How much can be automated at a given precision")
    ax.grid_and_ticks()
    ax.hline(target, BAR, width=1.2, dash="dotted")
    for i, name in enumerate(order):
        c, col = curves[name], PALETTE[i % len(PALETTE)]
        xs = [0.0] + [p[0] * 100 for p in c["curve"]]
        ys = [c["curve"][0][1]] + [p[1] for p in c["curve"]]
        ax.line(xs, ys, col, width=1.8, step=True)
        at = c.get("at_target")
        if at:
            ax.markers([at["coverage"] * 100], [at["precision"]], col, size=4)
    _labels(ax, "items automated (%, most confident first)", "precision of the automated items")
    ax.title("How much can be automated at a given precision")
    fig.legend(legend, leg_top, ncol=2)
    return fig.svg()


def learning_chart(curve: dict[str, Any], metric: str, min_metric: float | None = None, name: str | None = None,
                   lower_is_better: bool = False) -> str | None:
    """Headline metric with CI band against train size (log axis), one line per trainable adapter."""
    series = {n: [p for p in pts if p.get(metric) is not None] for n, pts in (curve.get("adapters") or {}).items()}
    series = {n: s for n, s in series.items() if s}
    if not series:
        return None
    label = name or metric_name(metric)
    values = [v for pts in series.values() for p in pts for v in [p[metric], *(p.get("ci") or ())]]
    values += [min_metric] if min_metric is not None else []
    unit_range = not lower_is_better and 0.0 <= min(values) and max(values) <= 1.0
    ticks = sorted({p["n_train"] for pts in series.values() for p in pts})
    x = Scale(*log_padded(ticks[0], ticks[-1], 1.25), log=True)
    y = Scale(0.0, 1.0) if unit_range else Scale(*padded(min(values), max(values)))
    legend = [LegendItem(n, PALETTE[i % len(PALETTE)], marker="circle") for i, n in enumerate(sorted(series))]
    if min_metric is not None:
        legend.append(LegendItem(f"bar: {label} {'≤' if lower_is_better else '≥'} {min_metric:g}", BAR, dash="dotted"))
    fig, ax, leg_top = _chart(290, x, y, _y_ticks_text(y), legend, ncol=4,
                              label="Learning curve: does more labelled data help?")
    ax.grid_and_ticks(xticks=ticks, xformat=lambda v: f"{v:,.0f}")
    if min_metric is not None:
        ax.hline(min_metric, BAR, width=1.2, dash="dotted")
    for i, (_name, pts) in enumerate(sorted(series.items())):
        col = PALETTE[i % len(PALETTE)]
        xs = [p["n_train"] for p in pts]
        if all(p.get("ci") for p in pts):
            ax.band(xs, [p["ci"][0] for p in pts], [p["ci"][1] for p in pts], col)
        ax.line(xs, [p[metric] for p in pts], col, width=1.8)
        ax.markers(xs, [p[metric] for p in pts], col, size=4)
    _labels(ax, "train rows used (log scale; 10%, 25%, 50%, 100% of train)",
            f"{label} on the test set (95% CI)" + (", lower is better" if lower_is_better else ""))
    ax.title("Learning curve: does more labelled data help?")
    fig.legend(legend, leg_top, ncol=4)
    return fig.svg()


# ---- tables: target, residuals, calibration, importance --------------------------------------------------


def class_balance_chart(counts: dict[str, int], title: str = "Target: class balance") -> str | None:
    """Rows per class as horizontal bars with their share (the largest classes first, at most 30)."""
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    total = sum(counts.values()) or 1
    names = [str(k) for k, _ in items]
    x, y = Scale(0, max(v for _, v in items) * 1.25), Scale(-0.6, len(items) - 0.4)
    fig, ax, _ = _chart(26 * len(items) + 24, x, y, names, ylabel=False, label=title)
    ys = list(range(len(items)))[::-1]
    ax.grid_and_ticks(yticks=ys, ylabels=names, grid_y=False)
    for at, (_, v) in zip(ys, items, strict=True):
        ax.rect(0, at - 0.3, v, at + 0.3, OTHER)
        ax.text(v, at, f"{v:,} ({v / total:.1%})", dx=5, size=12)
    _labels(ax, "rows (train and test)", None)
    ax.title(title)
    return fig.svg()


def target_histogram(hist: dict[str, Any], target: str, summary: dict[str, Any] | None = None) -> str | None:
    """Histogram of the test rows' true values, with the mean and median marked."""
    counts, edges = hist.get("counts") or [], hist.get("edges") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    summary = summary or {}
    mean, med = summary.get("mean"), (summary.get("quantiles") or {}).get("median")
    legend = []
    if mean is not None:
        legend.append(LegendItem(f"mean of all rows {mean:.4g}", FRONT, dash="dashed"))
    if med is not None:
        legend.append(LegendItem(f"median of all rows {med:.4g}", CHOSEN, dash="dotted"))
    marks = [v for v in (mean, med) if v is not None]
    x = Scale(*padded(min([edges[0], *marks]), max([edges[-1], *marks]), 0.03))
    y = Scale(0, max(counts) * 1.05 or 1)
    title = f"Target: distribution of {target} in the test set"
    fig, ax, leg_top = _chart(260, x, y, _y_ticks_text(y), legend, ncol=2, label=title)
    ax.grid_and_ticks()
    for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True):
        if c:
            ax.rect(a, 0, b, c, OTHER, edge="white")
    if mean is not None:
        ax.vline(mean, FRONT, width=1.3, dash="dashed")
    if med is not None:
        ax.vline(med, CHOSEN, width=1.5, dash="dotted")
    _labels(ax, f"{target} (true value)", "test rows")
    ax.title(title)
    fig.legend(legend, leg_top, ncol=2)
    return fig.svg()


def _points(res: dict[str, Any], name: str) -> tuple[list[float], list[float]]:
    truth, pred = res["truth"], res["predicted"].get(name) or []
    pairs = [(t, p) for t, p in zip(truth, pred, strict=False) if t is not None and p is not None]
    return [t for t, _ in pairs], [p for _, p in pairs]


def _panels(n: int, x: list[Scale], y: list[Scale], ylabels: Sequence[str], legend: Sequence[LegendItem],
            title: str, square: bool = False) -> tuple[Figure, list[Axes], float]:
    """``n`` plots side by side under one title (each 240 px wide), the y tick labels on the first only."""
    left, gap, panel = _left(ylabels), 26.0, 240.0
    width = left + n * panel + (n - 1) * gap + 20
    plot_h = panel if square else 250.0
    leg = legend_height(legend, width, 3)
    fig = Figure(width, TITLE_H + 26 + plot_h + TICKS_H + LABEL_H + 12 + leg + (10 if leg else 0), label=title)
    axes = [fig.add_axes(left + i * (panel + gap), TITLE_H + 26, panel, plot_h, x[i], y[i]) for i in range(n)]
    fig.title(title)
    return fig, axes, TITLE_H + 26 + plot_h + TICKS_H + LABEL_H + 12


def residual_chart(res: dict[str, Any], names: list[str], target: str) -> str | None:
    """Residual (true − predicted) against predicted, one panel per candidate, zero line and a running median."""
    import numpy as np

    names = [n for n in names if _points(res, n)[0]]
    if not names:
        return None
    data = []
    for n in names:
        t, p = (np.asarray(v, dtype=float) for v in _points(res, n))
        data.append((p, t - p))
    e_all = np.concatenate([e for _, e in data])
    y = Scale(*padded(float(min(e_all.min(), 0.0)), float(max(e_all.max(), 0.0))))
    xs = [Scale(*padded(float(p.min()), float(p.max()))) for p, _ in data]
    medians = [len(np.unique(p)) > 10 for p, _ in data]   # a running median shows a bias that depends on the answer
    legend = [LegendItem("running median", BAR)] if any(medians) else []
    fig, axes, leg_top = _panels(len(names), xs, [y] * len(names), _y_ticks_text(y), legend,
                                 "Residuals against predicted value (above 0: predicted too low)")
    for i, (ax, n, (p, e)) in enumerate(zip(axes, names, data, strict=True)):
        ax.grid_and_ticks(ylabels=None if i == 0 else [""] * len(y.ticks()))
        ax.markers(p.tolist(), e.tolist(), PALETTE[i % len(PALETTE)], size=2.2, opacity=0.45)
        ax.hline(0, "black")
        if medians[i]:
            order = np.argsort(p, kind="stable")
            k = max(5, len(p) // 15)
            starts = range(0, len(p) - k + 1, max(1, k // 2))
            ax.line([float(np.median(p[order[j:j + k]])) for j in starts],
                    [float(np.median(e[order[j:j + k]])) for j in starts], BAR, width=1.4)
        ax.title(n, size=13, bold=False)
        _labels(ax, f"predicted {target}", "residual = true − predicted" if i == 0 else None)
    fig.legend(legend, leg_top, ncol=3)
    return fig.svg()


def predicted_true_chart(res: dict[str, Any], names: list[str], target: str) -> str | None:
    """Predicted against true value, one panel per candidate, with the diagonal of perfect answers."""
    names = [n for n in names if _points(res, n)[0]]
    if not names:
        return None
    allv = [v for n in names for v in sum(_points(res, n), [])]
    lo, hi = min(allv), max(allv)
    pad = 0.04 * (hi - lo or 1.0)
    s = Scale(lo - pad, hi + pad)
    legend = [LegendItem("predicted = true", "black", dash="dashed")]
    fig, axes, leg_top = _panels(len(names), [s] * len(names), [s] * len(names), _y_ticks_text(s), legend,
                                 "Predicted against true value", square=True)
    for i, (ax, n) in enumerate(zip(axes, names, strict=True)):
        t, p = _points(res, n)
        ax.grid_and_ticks(ylabels=None if i == 0 else [""] * len(s.ticks()))
        ax.segment(lo - pad, lo - pad, hi + pad, hi + pad, "black", dash="dashed")
        ax.markers(t, p, PALETTE[i % len(PALETTE)], size=2.2, opacity=0.45)
        ax.title(n, size=13, bold=False)
        _labels(ax, f"true {target}", f"predicted {target}" if i == 0 else None)
    fig.legend(legend, leg_top, ncol=3)
    return fig.svg()


def calibration_chart(curves: dict[str, dict[str, Any]], chosen: str | None = None) -> str | None:
    """Reliability diagram: accuracy of the top class against its mean probability per bin; marker area ∝ rows."""
    curves = {n: c for n, c in curves.items() if any(b.get("count") for b in c.get("bins") or [])}
    if not curves:
        return None
    order = sorted(curves, key=lambda n: (n != chosen, n))
    total = max(sum(b["count"] for b in curves[n]["bins"]) for n in order) or 1
    legend = [LegendItem("perfectly calibrated", "black", dash="dashed")]
    for i, n in enumerate(order):
        ece = curves[n].get("ece")
        legend.append(LegendItem(f"{n}" + (f" (ECE {ece:.3f})" if ece is not None else ""), PALETTE[i % len(PALETTE)],
                                 marker="circle"))
    x, y = Scale(0, 1), Scale(0, 1.02)
    fig, ax, leg_top = _chart(360, x, y, _y_ticks_text(y), legend, ncol=2, width=640,
                              label="Calibration: are the probabilities honest?")
    ax.grid_and_ticks()
    ax.segment(0, 0, 1, 1, "black", dash="dashed")
    for i, n in enumerate(order):
        bins = [b for b in curves[n]["bins"] if b.get("count")]
        col = PALETTE[i % len(PALETTE)]
        xs, ys = [b["confidence"] for b in bins], [b["accuracy"] for b in bins]
        ax.line(xs, ys, col, width=1.5)
        # marker area in proportion to the bin's rows (matplotlib's s = 20 + 400 × share, in points²)
        ax.markers(xs, ys, col, size=[0.7 * math.sqrt(20 + 400 * b["count"] / total) for b in bins], opacity=0.6)
    _labels(ax, "mean predicted probability of the top class (per bin)", "share of those answers that were right")
    ax.title("Calibration: are the probabilities honest?")
    fig.legend(legend, leg_top, ncol=2)
    return fig.svg()


def importance_chart(features: list[dict[str, Any]], name: str, meaning: str, top: int = 20) -> str | None:
    """Permutation importance (mean ± sd over repeats) of one candidate's features, largest first."""
    feats = features[:top]
    if not feats or not any(f.get("mean") for f in feats):
        return None
    means = [f["mean"] for f in feats]
    sds = [f.get("std") or 0.0 for f in feats]
    lo = min([0.0] + [m - s for m, s in zip(means, sds, strict=True)])
    hi = max([0.0] + [m + s for m, s in zip(means, sds, strict=True)])
    x, y = Scale(*padded(lo, hi)), Scale(-0.6, len(feats) - 0.4)
    names = [str(f["feature"]) for f in feats]
    title = f"Permutation importance: {name}" + (f" (top {top})" if len(features) > top else "")
    fig, ax, _ = _chart(24 * len(feats) + 24, x, y, names, ylabel=False, label=title)
    ys = list(range(len(feats)))[::-1]
    ax.grid_and_ticks(yticks=ys, ylabels=names, grid_y=False)
    for at, m, s in zip(ys, means, sds, strict=True):
        ax.rect(0, at - 0.3, m, at + 0.3, CHOSEN if m > 0 else OTHER)
        if s:
            ax.segment(m - s, at, m + s, at, "black")
            ax.segment(m - s, at - 0.12, m - s, at + 0.12, "black")
            ax.segment(m + s, at - 0.12, m + s, at + 0.12, "black")
    ax.vline(0, "black", width=0.8)
    _labels(ax, meaning, None)
    ax.title(title)
    return fig.svg()
