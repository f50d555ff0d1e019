"""The verdict: the simplest candidate that clears every bar and is not significantly worse
than the best that does — or PIVOT, with the nearest miss and why.

Pure functions over the scored results; nothing here runs a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

METRIC_NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "weighted_f1": "weighted-F1"}


@dataclass
class Bar:
    """The user's bar. ``None`` means that bar is not set."""

    metric: str = "macro_f1"
    min_metric: float | None = None
    max_p95_ms: float | None = None
    max_cost_per_1k: float | None = None
    max_one_off: float | None = None
    monthly_volume: int | None = None
    margin: float = 0.01          # non-inferiority margin on the headline metric
    level: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_bars(a: dict[str, Any], bar: Bar) -> dict[str, dict[str, Any]]:
    """Pass/fail of one scored candidate against each bar that is set."""
    out: dict[str, dict[str, Any]] = {}
    m = a.get("metrics") or {}
    if bar.min_metric is not None:
        v = m.get(bar.metric)
        out["metric"] = {"value": v, "limit": bar.min_metric, "pass": v is not None and v >= bar.min_metric,
                         "label": f"{METRIC_NAMES.get(bar.metric, bar.metric)} ≥ {bar.min_metric:g}"}
    if bar.max_p95_ms is not None:
        v = (a.get("timing", {}).get("item_latency_ms") or {}).get("p95")
        out["p95_ms"] = {"value": v, "limit": bar.max_p95_ms, "pass": v is not None and v <= bar.max_p95_ms,
                         "label": f"p95 latency ≤ {bar.max_p95_ms:g} ms"}
    if bar.max_cost_per_1k is not None:
        v = a.get("cost", {}).get("per_1k_usd")
        out["cost_per_1k"] = {"value": v, "limit": bar.max_cost_per_1k, "pass": v is not None and v <= bar.max_cost_per_1k,
                              "label": f"cost per 1k ≤ ${bar.max_cost_per_1k:g}"}
    if bar.max_one_off is not None:
        v = a.get("cost", {}).get("one_off_usd")
        out["one_off"] = {"value": v, "limit": bar.max_one_off, "pass": v is not None and v <= bar.max_one_off,
                          "label": f"one-off cost ≤ ${bar.max_one_off:g}"}
    return out


def _shortfall(checks: dict[str, dict[str, Any]]) -> float:
    """How far a candidate misses, as the sum of relative misses (0 = passes)."""
    total = 0.0
    for c in checks.values():
        if c["pass"]:
            continue
        v, lim = c["value"], c["limit"]
        if v is None:
            total += 1.0
        elif lim == 0:
            total += 1.0
        else:
            total += abs(v - lim) / abs(lim)
    return total


def _fmt(key: str, v: float | None, metric: str) -> str:
    if v is None:
        return "n/a"
    if key == "metric":
        return f"{METRIC_NAMES.get(metric, metric)} {v:.3f}"
    if key == "p95_ms":
        return f"p95 {v:.0f} ms"
    if key == "cost_per_1k":
        return f"${v:.4f} per 1k"
    return f"one-off ${v:.2f}"


def decide(adapters: list[dict[str, Any]], pairwise: dict[str, dict[str, dict[str, Any]]], bar: Bar,
           learning_curve: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the decision rule to scored candidates (``adapters`` as in results.json).

    ``pairwise[a][b]`` holds the paired comparison of a against b: ``difference`` (a − b) and its ``ci``.
    """
    scored = [a for a in adapters if a.get("status") == "ok" and a.get("metrics")]
    rows = []
    for a in scored:
        checks = check_bars(a, bar)
        rows.append({"name": a["name"], "simplicity": a["simplicity"], "family": a["family"],
                     "metric": a["metrics"][bar.metric], "checks": checks,
                     "passes": all(c["pass"] for c in checks.values())})
    passing = [r for r in rows if r["passes"]]
    result: dict[str, Any] = {"bar": bar.to_json(), "candidates": rows, "margin": bar.margin}
    if not scored:
        result.update(verdict="PIVOT", choice=None, nearest_miss=None,
                      reason="no candidate produced a complete set of predictions")
        return result
    if passing:
        best = max(passing, key=lambda r: r["metric"])
        viable = []
        for r in sorted(passing, key=lambda r: (r["simplicity"], -r["metric"])):
            if r["name"] == best["name"]:
                viable.append((r, None))
                continue
            cmp = pairwise.get(r["name"], {}).get(best["name"])
            if cmp is None:
                continue
            hi = cmp["ci"][1]
            if hi >= -bar.margin:
                viable.append((r, cmp))
        choice, cmp = viable[0]
        mname = METRIC_NAMES.get(bar.metric, bar.metric)
        if choice["name"] == best["name"]:
            why = (f"{choice['name']} clears every bar and has the best {mname} ({choice['metric']:.3f}) among those that do;"
                   " no simpler passing candidate is within the margin")
            simpler_worse = [r["name"] for r in passing if r["simplicity"] < choice["simplicity"]]
            if simpler_worse:
                why += f" (simpler but significantly worse: {', '.join(simpler_worse)})"
        else:
            lo, hi = cmp["ci"]
            why = (f"{choice['name']} clears every bar and is the simplest candidate not significantly worse than the best "
                   f"({best['name']}, {mname} {best['metric']:.3f}): difference {cmp['difference']:+.3f}, "
                   f"{int(bar.level * 100)}% CI [{lo:+.3f}, {hi:+.3f}] reaches above −{bar.margin:g}")
        result.update(verdict="ADOPT", choice=choice["name"], best_passing=best["name"], reason=why,
                      nearest_miss=None)
        return result
    # PIVOT: name the nearest miss and why
    near = min(rows, key=lambda r: (_shortfall(r["checks"]), -r["metric"]))
    misses = [f"{_fmt(k, c['value'], bar.metric)} vs bar {c['label']}" for k, c in near["checks"].items() if not c["pass"]]
    best_metric = max(rows, key=lambda r: r["metric"])
    reason = f"no candidate clears every bar; nearest miss {near['name']}: " + "; ".join(misses)
    if "metric" in near["checks"] and not near["checks"]["metric"]["pass"] and best_metric["name"] != near["name"]:
        reason += f" (best {METRIC_NAMES.get(bar.metric, bar.metric)} overall: {best_metric['name']} {best_metric['metric']:.3f})"
    advice = pivot_advice(learning_curve, bar.metric) if learning_curve else None
    if advice:
        reason += f"; {advice}"
    result.update(verdict="PIVOT", choice=None, nearest_miss=near["name"], reason=reason)
    return result


def pivot_advice(curve: dict[str, Any], metric: str) -> str | None:
    """From a learning curve: still rising → collect more labels; flat → change the approach."""
    best = None
    for name, pts in (curve.get("adapters") or {}).items():
        pts = [p for p in pts if p.get(metric) is not None]
        if len(pts) < 2:
            continue
        last, prev = pts[-1], pts[-2]
        slope = last[metric] - prev[metric]
        if best is None or last[metric] > best[1]:
            best = (name, last[metric], slope, prev, last)
    if best is None:
        return None
    name, _, slope, prev, last = best
    if slope > 0.01:
        return (f"the learning curve of {name} is still rising ({prev[metric]:.3f} at {prev['fraction']:.0%} → "
                f"{last[metric]:.3f} at {last['fraction']:.0%} of train): collect more labels")
    return (f"the learning curve of {name} is flat ({prev[metric]:.3f} → {last[metric]:.3f} from {prev['fraction']:.0%} "
            "to 100% of train): more labels of this kind will not close the gap; change the approach")
