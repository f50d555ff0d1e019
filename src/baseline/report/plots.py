"""The report's charts, drawn with matplotlib (Agg) as standalone SVG: titled, labelled, legible in print.

Each function takes plain data from results.json and returns SVG text, or ``None`` when there is
nothing to draw. The HTML report embeds the SVGs as data URIs; the run folder keeps them as files.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator  # noqa: E402

from baseline.decide import metric_name  # noqa: E402

COST_FLOOR = 1e-6          # USD per 1k: smaller costs (including $0) are drawn here on the log axis
CHOSEN, OTHER, FRONT, BAR = "#1b7f3b", "#4a5a75", "#d0661b", "#b3261e"
STYLE = {
    "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#dddddd",
    "grid.linewidth": 0.6, "svg.fonttype": "path", "svg.hashsalt": "baseline", "figure.dpi": 100,
    "legend.fontsize": 9, "legend.frameon": False,
}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "baseline"})
    plt.close(fig)
    return buf.getvalue()


def _usd_tick(v: float, _pos: Any = None) -> str:
    if v <= COST_FLOOR * 1.0001:
        return "≤$" + f"{COST_FLOOR:.6f}".rstrip("0")
    if v >= 1:
        return f"${v:,.0f}"
    return f"${v:.{max(0, -math.floor(math.log10(v)))}f}"


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
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 4.4))
        xs = {p["name"]: max(p["cost"], COST_FLOOR) for p in pts}
        for p in pts:
            x, y = xs[p["name"]], p["metric"]
            lo, hi = p.get("ci") or (y, y)
            colour = CHOSEN if p["name"] == chosen else (FRONT if p["name"] in front else OTHER)
            ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="o", color=colour, ms=7, capsize=3, lw=1.2,
                        zorder=3)
            ax.annotate(p["name"] + (" (chosen)" if p["name"] == chosen else ""), (x, y), xytext=(6, 5),
                        textcoords="offset points", fontsize=9, color=colour)
        fr = [p for p in sorted(pts, key=lambda p: xs[p["name"]]) if p["name"] in front]
        if len(fr) > 1:
            ax.step([xs[p["name"]] for p in fr], [p["metric"] for p in fr], where="post", color=FRONT, lw=1.5,
                    ls="--", zorder=2, label=f"Pareto front (no cheaper candidate {better})")
        elif fr:
            ax.plot([], [], color=FRONT, ls="--", label="Pareto front: " + fr[0]["name"])
        if min_metric is not None:
            ax.axhline(min_metric, color=BAR, lw=1, ls=":",
                       label=f"bar: {label} {'≤' if lower_is_better else '≥'} {min_metric:g}")
        if max_cost is not None:
            ax.axvline(max(max_cost, COST_FLOOR), color=BAR, lw=1, ls="-.", label=f"bar: ≤ ${max_cost:g} per 1k")
        ax.set_xscale("log")
        lo_x = min(xs.values()) / 3
        hi_x = max(max(xs.values()), max_cost or 0) * 6
        ax.set_xlim(lo_x, max(hi_x, lo_x * 100))
        ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
        ax.xaxis.set_major_formatter(FuncFormatter(_usd_tick))
        ax.set_xlabel("cost per 1,000 predictions (USD, log scale)")
        ymin = min([(p.get("ci") or (p["metric"],))[0] for p in pts] + ([min_metric] if min_metric else []))
        ymax = max([(p.get("ci") or (p["metric"], p["metric"]))[1] for p in pts] + ([min_metric] if min_metric else []))
        if lower_is_better or ymax > 1.0 or ymin < 0.0:   # numbers in the target's units: follow the values
            pad = 0.08 * max(ymax - ymin, abs(ymax), 1e-9)
            ax.set_ylim(ymin - pad if ymin < 0 else max(0.0, ymin - pad), ymax + pad)
            ax.set_ylabel(f"{label} (95% CI)" + (", lower is better" if lower_is_better else ""))
        else:
            ax.set_ylabel(f"{label} (95% CI)")
            ax.set_ylim(max(0.0, ymin - 0.08), 1.0)
        ax.set_title(f"{label} against cost")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        return _svg(fig)


def latency_chart(rows: list[dict[str, Any]], max_p95_ms: float | None = None) -> str | None:
    """Per-item latency p50–p95–p99 (and max) per candidate on a log axis."""
    rows = [r for r in rows if r.get("p50") is not None]
    if not rows:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 0.55 * len(rows) + 1.5))
        for i, r in enumerate(rows):
            y = len(rows) - 1 - i
            ax.plot([r["p50"], r.get("max") or r["p99"]], [y, y], color="#bbbbbb", lw=1.2, zorder=1)
            ax.plot([r["p50"], r["p99"]], [y, y], color=OTHER, lw=4, solid_capstyle="butt", zorder=2)
            ax.scatter([r["p50"]], [y], marker="o", color="white", edgecolor=OTHER, s=45, zorder=3,
                       label="p50" if i == 0 else None)
            ax.scatter([r["p95"]], [y], marker="D", color=FRONT, s=40, zorder=4, label="p95" if i == 0 else None)
            ax.scatter([r["p99"]], [y], marker="|", color="black", s=120, zorder=4, label="p99" if i == 0 else None)
        if max_p95_ms is not None:
            ax.axvline(max_p95_ms, color=BAR, ls=":", lw=1.2, label=f"bar: p95 ≤ {max_p95_ms:g} ms")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([f"{r['name']}{' *' if r.get('batched') else ''}" for r in reversed(rows)])
        ax.set_xscale("log")
        ax.set_xlabel("per-item latency (ms, log scale); grey line runs to the slowest item")
        ax.set_title("Latency per item: p50, p95, p99")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32 if len(rows) < 4 else -0.18), ncol=4)
        return _svg(fig)


def confusion_chart(name: str, confusion: dict[str, Any]) -> str | None:
    """Confusion matrix as row shares (recall per true class) with counts; abstentions and unanswered items last."""
    import numpy as np

    m = np.asarray(confusion["matrix"], dtype=float)
    labels, cols = confusion["labels"], list(confusion["columns"])
    if m.size == 0:
        return None
    keep = [j for j in range(len(cols)) if j < len(labels) or m[:, j].any()]  # no abstentions / unanswered: no column
    m, cols = m[:, keep], [cols[j] for j in keep]
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = len(labels)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        side = min(6.0, 1.2 + 0.55 * max(k, 3))
        fig, ax = plt.subplots(figsize=(side + 1.2, side))
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{int(m[i, j])}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8 if k > 6 else 9,
                        color="white" if share[i, j] > 0.55 else "black")
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels(cols, rotation=30 if k > 3 else 0, ha="right" if k > 3 else "center")
        ax.set_yticks(range(k))
        ax.set_yticklabels(labels)
        ax.set_xlabel("predicted label")
        ax.set_ylabel("true label")
        ax.set_title(f"{name}: confusion (count, share of true class)")
        for s in ax.spines.values():
            s.set_visible(False)
        return _svg(fig)


def coverage_chart(curves: dict[str, dict[str, Any]], chosen: str | None = None) -> str | None:
    """Precision of the most confident answers against the share of items automated."""
    if not curves:
        return None
    palette = [CHOSEN, "#3b5bdb", FRONT, "#7b3fa0", "#0b7285", "#5c940d", OTHER]
    target = next(iter(curves.values()))["target"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 4.2))
        order = sorted(curves, key=lambda n: (n != chosen, n))
        for i, name in enumerate(order):
            c = curves[name]
            xs = [0.0] + [p[0] for p in c["curve"]]
            ys = [c["curve"][0][1]] + [p[1] for p in c["curve"]]
            col = palette[i % len(palette)]
            at = c.get("at_target")
            lab = f"{name}: {at['coverage']:.0%} at ≥{target:.0%}" if at else f"{name}: never ≥{target:.0%}"
            ax.step([x * 100 for x in xs], ys, where="post", color=col, lw=1.8, label=lab)
            if at:
                ax.plot([at["coverage"] * 100], [at["precision"]], "o", color=col, ms=6)
        ax.axhline(target, color=BAR, ls=":", lw=1.2, label=f"target: {target:.0%} precision")
        ax.set_xlim(0, 100)
        lo = min(min(p[1] for p in c["curve"]) for c in curves.values())
        ax.set_ylim(max(0.0, min(lo, target) - 0.05), 1.01)
        ax.set_xlabel("items automated (%, most confident first)")
        ax.set_ylabel("precision of the automated items")
        ax.set_title("How much can be automated at a given precision")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        return _svg(fig)


def learning_chart(curve: dict[str, Any], metric: str, min_metric: float | None = None, name: str | None = None,
                   lower_is_better: bool = False) -> str | None:
    """Headline metric with CI band against train size (log axis), one line per trainable adapter."""
    series = {n: [p for p in pts if p.get(metric) is not None] for n, pts in (curve.get("adapters") or {}).items()}
    series = {n: s for n, s in series.items() if s}
    if not series:
        return None
    label = name or metric_name(metric)
    values = [v for pts in series.values() for p in pts for v in [p[metric], *(p.get("ci") or ())]]
    unit_range = not lower_is_better and 0.0 <= min(values) and max(values) <= 1.0
    palette = [CHOSEN, "#3b5bdb", FRONT, "#7b3fa0", "#0b7285", OTHER]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 4.2))
        for i, (name, pts) in enumerate(sorted(series.items())):
            col = palette[i % len(palette)]
            x = [p["n_train"] for p in pts]
            ax.plot(x, [p[metric] for p in pts], "o-", color=col, lw=1.8, label=name)
            ax.fill_between(x, [p["ci"][0] for p in pts], [p["ci"][1] for p in pts], color=col, alpha=0.15, lw=0)
        if min_metric is not None:
            ax.axhline(min_metric, color=BAR, ls=":", lw=1.2,
                       label=f"bar: {label} {'≤' if lower_is_better else '≥'} {min_metric:g}")
        ax.set_xscale("log")
        ticks = sorted({p["n_train"] for pts in series.values() for p in pts})
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        ax.set_xlabel("train rows used (log scale; 10%, 25%, 50%, 100% of train)")
        ax.set_ylabel(f"{label} on the test set (95% CI)" + (", lower is better" if lower_is_better else ""))
        if unit_range:
            ax.set_ylim(0, 1.0)
        ax.set_title("Learning curve: does more labelled data help?")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4)
        return _svg(fig)


# ---- tables: target, residuals, calibration, importance --------------------------------------------------

PALETTE = [CHOSEN, "#3b5bdb", FRONT, "#7b3fa0", "#0b7285", "#5c940d", OTHER]


def class_balance_chart(counts: dict[str, int], title: str = "Target: class balance") -> str | None:
    """Rows per class as horizontal bars with their share (the largest classes first, at most 30)."""
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    total = sum(counts.values()) or 1
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 0.38 * len(items) + 1.4))
        ys = list(range(len(items)))[::-1]
        ax.barh(ys, [v for _, v in items], color=OTHER, height=0.6)
        for y, (_, v) in zip(ys, items, strict=True):
            ax.annotate(f"{v:,} ({v / total:.1%})", (v, y), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=9)
        ax.set_yticks(ys)
        ax.set_yticklabels([str(k) for k, _ in items])
        ax.set_xlim(0, max(v for _, v in items) * 1.25)
        ax.set_xlabel("rows (train and test)")
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        return _svg(fig)


def target_histogram(hist: dict[str, Any], target: str, summary: dict[str, Any] | None = None) -> str | None:
    """Histogram of the test rows' true values, with the mean and median marked."""
    counts, edges = hist.get("counts") or [], hist.get("edges") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 3.8))
        widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
        ax.bar(edges[:-1], counts, width=widths, align="edge", color=OTHER, edgecolor="white", lw=0.5)
        if summary:
            if summary.get("mean") is not None:
                ax.axvline(summary["mean"], color=FRONT, ls="--", lw=1.3, label=f"mean of all rows {summary['mean']:.4g}")
            med = (summary.get("quantiles") or {}).get("median")
            if med is not None:
                ax.axvline(med, color=CHOSEN, ls=":", lw=1.5, label=f"median of all rows {med:.4g}")
            ax.legend(loc="upper right")
        ax.set_xlabel(f"{target} (true value)")
        ax.set_ylabel("test rows")
        ax.set_title(f"Target: distribution of {target} in the test set")
        return _svg(fig)


def _points(res: dict[str, Any], name: str) -> tuple[list[float], list[float]]:
    truth, pred = res["truth"], res["predicted"].get(name) or []
    pairs = [(t, p) for t, p in zip(truth, pred, strict=False) if t is not None and p is not None]
    return [t for t, _ in pairs], [p for _, p in pairs]


def residual_chart(res: dict[str, Any], names: list[str], target: str) -> str | None:
    """Residual (true − predicted) against predicted, one panel per candidate, zero line and a running median."""
    import numpy as np

    names = [n for n in names if _points(res, n)[0]]
    if not names:
        return None
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names) + 0.8, 3.6), sharey=True, squeeze=False)
        for i, (ax, n) in enumerate(zip(axes[0], names, strict=True)):
            t, p = (np.asarray(v, dtype=float) for v in _points(res, n))
            e = t - p
            ax.scatter(p, e, s=9, alpha=0.45, color=PALETTE[i % len(PALETTE)], lw=0)
            ax.axhline(0, color="black", lw=1)
            if len(np.unique(p)) > 10:  # a running median shows a bias that depends on the prediction
                order = np.argsort(p, kind="stable")
                k = max(5, len(p) // 15)
                med = [np.median(e[order[j:j + k]]) for j in range(0, len(p) - k + 1, max(1, k // 2))]
                xs = [np.median(p[order[j:j + k]]) for j in range(0, len(p) - k + 1, max(1, k // 2))]
                ax.plot(xs, med, color=BAR, lw=1.4, label="running median")
                ax.legend(loc="lower left")
            ax.set_title(n, fontsize=11)
            ax.set_xlabel(f"predicted {target}")
        axes[0][0].set_ylabel("residual = true − predicted")
        fig.suptitle("Residuals against predicted value (above 0: predicted too low)", fontweight="bold", fontsize=12)
        fig.tight_layout()
        return _svg(fig)


def predicted_true_chart(res: dict[str, Any], names: list[str], target: str) -> str | None:
    """Predicted against true value, one panel per candidate, with the diagonal of perfect answers."""
    import numpy as np

    names = [n for n in names if _points(res, n)[0]]
    if not names:
        return None
    allv = [v for n in names for v in sum(_points(res, n), [])]
    lo, hi = float(np.min(allv)), float(np.max(allv))
    pad = 0.04 * (hi - lo or 1.0)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names) + 0.8, 3.7), squeeze=False)
        for i, (ax, n) in enumerate(zip(axes[0], names, strict=True)):
            t, p = _points(res, n)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=1, ls="--", label="predicted = true")
            ax.scatter(t, p, s=9, alpha=0.45, color=PALETTE[i % len(PALETTE)], lw=0)
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_aspect("equal", adjustable="box")
            ax.set_title(n, fontsize=11)
            ax.set_xlabel(f"true {target}")
            if i == 0:
                ax.set_ylabel(f"predicted {target}")
                ax.legend(loc="upper left")
        fig.suptitle("Predicted against true value", fontweight="bold", fontsize=12)
        fig.tight_layout()
        return _svg(fig)


def calibration_chart(curves: dict[str, dict[str, Any]], chosen: str | None = None) -> str | None:
    """Reliability diagram: accuracy of the top class against its mean probability per bin; marker area ∝ rows."""
    curves = {n: c for n, c in curves.items() if any(b.get("count") for b in c.get("bins") or [])}
    if not curves:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 5.0))
        ax.plot([0, 1], [0, 1], color="black", lw=1, ls="--", label="perfectly calibrated")
        order = sorted(curves, key=lambda n: (n != chosen, n))
        total = max(sum(b["count"] for b in curves[n]["bins"]) for n in order) or 1
        for i, n in enumerate(order):
            bins = [b for b in curves[n]["bins"] if b.get("count")]
            col = PALETTE[i % len(PALETTE)]
            x = [b["confidence"] for b in bins]
            y = [b["accuracy"] for b in bins]
            ece = curves[n].get("ece")
            ax.plot(x, y, "-", color=col, lw=1.5, label=f"{n}" + (f" (ECE {ece:.3f})" if ece is not None else ""))
            ax.scatter(x, y, s=[20 + 400 * b["count"] / total for b in bins], color=col, alpha=0.6, zorder=3)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("mean predicted probability of the top class (per bin)")
        ax.set_ylabel("share of those answers that were right")
        ax.set_title("Calibration: are the probabilities honest?")
        ax.legend(loc="upper left")
        return _svg(fig)


def importance_chart(features: list[dict[str, Any]], name: str, meaning: str, top: int = 20) -> str | None:
    """Permutation importance (mean ± sd over repeats) of one candidate's features, largest first."""
    feats = features[:top]
    if not feats or not any(f.get("mean") for f in feats):
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 0.36 * len(feats) + 1.6))
        ys = list(range(len(feats)))[::-1]
        means = [f["mean"] for f in feats]
        ax.barh(ys, means, xerr=[f.get("std") or 0.0 for f in feats], color=[CHOSEN if m > 0 else OTHER for m in means],
                height=0.6, capsize=2, error_kw={"lw": 1})
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels([f["feature"] for f in feats])
        ax.set_xlabel(meaning)
        ax.set_title(f"Permutation importance: {name}" + (f" (top {top})" if len(features) > top else ""))
        ax.grid(axis="y", visible=False)
        return _svg(fig)
