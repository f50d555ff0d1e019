"""The verdict: the simplest candidate that clears every bar and is not significantly worse
than the best that does — or PIVOT, with the nearest miss and why.

Pure functions over the scored results; nothing here runs a model.

The rule, stated once (the report prints it):

1. every scored candidate is checked against each bar the user set (minimum headline metric,
   maximum p95 latency, maximum cost per 1,000 predictions, maximum one-off cost);
2. among the candidates that clear every bar, the *best passing* one has the highest headline
   metric;
3. the verdict is the simplest passing candidate (lowest simplicity rank) that is **not
   significantly worse** than the best passing one: the upper end of the paired-bootstrap CI of
   (candidate − best) reaches above −margin. When the lower end is above −margin too, the
   candidate is *shown* non-inferior (a tie within the margin); otherwise the test set is too
   small to tell, and the reason says so;
4. when no candidate clears every bar: PIVOT, naming the nearest miss (the smallest shortfall
   summed over the bars it misses, each as the share of the way still to go; the trivial floor
   only when nothing else was scored) and, with a learning curve, whether more labels would
   help (curve still rising) or the approach must change (curve flat).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

METRIC_NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "weighted_f1": "weighted-F1"}
RISING_PER_DOUBLING = 0.01   # learning-curve gain per doubling of train below which it counts as flat
MAX_LABEL_FACTOR = 16        # beyond this many times the labels, "collect more labels" is not advice


def metric_name(metric: str) -> str:
    """Human name of a headline metric key."""
    return METRIC_NAMES.get(metric, metric)


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

    def is_set(self) -> bool:
        """Whether any pass/fail bar (not just the volume) was given."""
        return any(v is not None for v in (self.min_metric, self.max_p95_ms, self.max_cost_per_1k,
                                           self.max_one_off))


def check_bars(a: dict[str, Any], bar: Bar) -> dict[str, dict[str, Any]]:
    """Pass/fail of one scored candidate against each bar that is set (a missing value fails)."""
    out: dict[str, dict[str, Any]] = {}
    m = a.get("metrics") or {}
    if bar.min_metric is not None:
        v = m.get(bar.metric)
        out["metric"] = {"value": v, "limit": bar.min_metric, "pass": v is not None and v >= bar.min_metric,
                         "label": f"{metric_name(bar.metric)} ≥ {bar.min_metric:g}", "better": "higher"}
    if bar.max_p95_ms is not None:
        v = ((a.get("timing") or {}).get("item_latency_ms") or {}).get("p95")
        out["p95_ms"] = {"value": v, "limit": bar.max_p95_ms, "pass": v is not None and v <= bar.max_p95_ms,
                         "label": f"p95 latency ≤ {bar.max_p95_ms:g} ms", "better": "lower"}
    if bar.max_cost_per_1k is not None:
        v = (a.get("cost") or {}).get("per_1k_usd")
        out["cost_per_1k"] = {"value": v, "limit": bar.max_cost_per_1k,
                              "pass": v is not None and v <= bar.max_cost_per_1k,
                              "label": f"cost per 1k ≤ ${bar.max_cost_per_1k:g}", "better": "lower"}
    if bar.max_one_off is not None:
        v = (a.get("cost") or {}).get("one_off_usd")
        out["one_off"] = {"value": v, "limit": bar.max_one_off, "pass": v is not None and v <= bar.max_one_off,
                          "label": f"one-off cost ≤ ${bar.max_one_off:g}", "better": "lower"}
    return out


def _miss(c: dict[str, Any]) -> float:
    """Share of the way still to go on one failed check, in [0, 1]; a missing value counts 1.

    A metric of 0.72 against 0.80 misses by 0.1 (10% of the bar); a p95 of 400 ms against 100 ms
    misses by 0.75 (three quarters of the latency must go); the same for costs.
    """
    v, lim = c["value"], c["limit"]
    if v is None:
        return 1.0
    if c.get("better") == "higher":
        return min(1.0, max(0.0, (lim - v) / lim)) if lim > 0 else 0.0
    return min(1.0, max(0.0, (v - lim) / v)) if v > 0 else 0.0


def _shortfall(checks: dict[str, dict[str, Any]]) -> float:
    """How far a candidate misses, as the sum of relative misses (0 = passes)."""
    return sum(_miss(c) for c in checks.values() if not c["pass"])


def _fmt(key: str, v: float | None, metric: str) -> str:
    if v is None:
        return "n/a"
    if key == "metric":
        return f"{metric_name(metric)} {v:.3f}"
    if key == "p95_ms":
        return f"p95 {v:.3g} ms"
    if key == "cost_per_1k":
        return f"${v:.4g} per 1k"
    return f"one-off ${v:.2f}"


def _limit(key: str, c: dict[str, Any]) -> str:
    lim = c["limit"]
    if key == "metric":
        return f"< {lim:g}"
    if key == "p95_ms":
        return f"> {lim:g} ms"
    return f"> ${lim:g}"


def _paired(pairwise: dict[str, dict[str, dict[str, Any]]], a: str, b: str) -> dict[str, Any] | None:
    """The paired comparison of a against b (a − b), from either direction of ``pairwise``."""
    cmp = (pairwise.get(a) or {}).get(b)
    if cmp is not None:
        return cmp
    rev = (pairwise.get(b) or {}).get(a)
    if rev is None:
        return None
    lo, hi = rev["ci"]
    return {**rev, "difference": -rev["difference"], "ci": [-hi, -lo]}


def decide(adapters: list[dict[str, Any]], pairwise: dict[str, dict[str, dict[str, Any]]], bar: Bar,
           learning_curve: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the decision rule to scored candidates (``adapters`` as in results.json).

    ``pairwise[a][b]`` holds the paired comparison of a against b: ``difference`` (a − b) and its ``ci``.
    Returns the verdict (``ADOPT``/``PIVOT``), the choice, a one-sentence reason, and a row per
    candidate with its bar checks and its comparison with the best passing candidate.
    """
    mname = metric_name(bar.metric)
    level = f"{round(bar.level * 100)}%"
    scored = [a for a in adapters if a.get("status") == "ok" and a.get("metrics")]
    excluded = [{"name": a["name"], "status": a.get("status"),
                 "reason": a.get("reason") or ("no predictions" if not a.get("metrics") else "")}
                for a in adapters if a not in scored]
    rows = []
    for a in scored:
        checks = check_bars(a, bar)
        m = a["metrics"]
        rows.append({"name": a["name"], "simplicity": a["simplicity"], "family": a["family"],
                     "metric": m[bar.metric], "ci": (m.get("ci") or {}).get(bar.metric),
                     "checks": checks, "passes": all(c["pass"] for c in checks.values()),
                     "shortfall": _shortfall(checks), "role": None, "vs_best_passing": None})
    rows.sort(key=lambda r: (r["simplicity"], -r["metric"], r["name"]))
    rule = (f"the simplest candidate that clears every bar and is not significantly worse than the best one that "
            f"does by more than the margin: the upper end of the {level} paired-bootstrap CI of ({mname} candidate − best) must reach "
            f"above −{bar.margin:g} (non-inferiority margin)")
    result: dict[str, Any] = {"bar": bar.to_json(), "metric": bar.metric, "candidates": rows, "margin": bar.margin,
                              "rule": rule, "excluded": excluded, "warnings": [], "advice": None,
                              "best_passing": None, "nearest_miss": None, "choice": None}
    if not bar.is_set():
        result["warnings"].append("no bar was set (--min-metric, --max-p95-ms, --max-cost-per-1k, --max-one-off): "
                                  "every candidate passes and the verdict rests on the statistics alone")
    if not scored:
        result.update(verdict="PIVOT", reason="no candidate produced a complete set of predictions"
                      + (f" ({len(excluded)} tried: see the reasons listed)" if excluded else ""))
        return result

    passing = [r for r in rows if r["passes"]]
    if passing:
        best = max(passing, key=lambda r: (r["metric"], -r["simplicity"]))
        best["role"] = "best passing"
        for r in passing:
            if r is best:
                continue
            cmp = _paired(pairwise, r["name"], best["name"])
            if cmp is None:
                continue
            lo, hi = cmp["ci"]
            r["vs_best_passing"] = {"against": best["name"], "difference": cmp["difference"], "ci": [lo, hi],
                                    "not_significantly_worse": hi >= -bar.margin,
                                    "non_inferiority_shown": lo >= -bar.margin,
                                    "mcnemar_p": cmp.get("mcnemar_p")}
        viable = [r for r in passing if r is best or (r["vs_best_passing"] or {}).get("not_significantly_worse")]
        choice = min(viable, key=lambda r: (r["simplicity"], -r["metric"], r["name"]))
        choice["role"] = "chosen" if choice is not best else "chosen (best passing)"
        bars_txt = "clears every bar" if bar.is_set() else "is scored (no bar set)"
        if choice is best:
            why = f"{choice['name']} {bars_txt} and has the best {mname} among those that do ({choice['metric']:.3f})"
            worse = [r["name"] for r in passing if r["simplicity"] < choice["simplicity"]]
            if worse:
                why += (f"; every simpler passing candidate is significantly worse by more than the "
                        f"{bar.margin:g} margin ({', '.join(worse)})")
            elif len(passing) > 1:
                why += "; it is also the simplest of them"
        else:
            v = choice["vs_best_passing"]
            lo, hi = v["ci"]
            why = (f"{choice['name']} {bars_txt} and is the simplest candidate not significantly worse than the best "
                   f"passing one ({best['name']}, {mname} {best['metric']:.3f}) by more than the {bar.margin:g} "
                   f"margin: difference {v['difference']:+.3f}, "
                   f"{level} CI [{lo:+.3f}, {hi:+.3f}]")
            if v["non_inferiority_shown"]:
                why += f", a tie within the {bar.margin:g} margin"
            else:
                why += (f" reaches above −{bar.margin:g}, but its lower end is below it: the test set is too small to "
                        f"show the two are equivalent")
        floor = next((r for r in rows if r["simplicity"] == 0 and r is not choice), None)
        if floor is not None:
            f = _paired(pairwise, choice["name"], floor["name"])
            if f is not None and f["ci"][0] <= 0:
                result["warnings"].append(f"{choice['name']} is not significantly better than the floor "
                                          f"{floor['name']} ({mname} {floor['metric']:.3f})")
        result.update(verdict="ADOPT", choice=choice["name"], best_passing=best["name"], reason=why)
        return result

    # PIVOT: name the nearest miss and why, in one sentence
    pool = [r for r in rows if r["simplicity"] > 0] or rows   # the floor is a reference, not a near miss
    near = min(pool, key=lambda r: (r["shortfall"], -r["metric"], r["simplicity"]))
    near["role"] = "nearest miss"
    misses = [f"{_fmt(k, c['value'], bar.metric)} {_limit(k, c)}" for k, c in near["checks"].items() if not c["pass"]]
    reason = f"no candidate clears every bar; the nearest miss is {near['name']}: " + ", ".join(misses)
    metric_missed = "metric" in near["checks"] and not near["checks"]["metric"]["pass"]
    if metric_missed and near["ci"] is not None and near["ci"][1] >= bar.min_metric:
        reason += f" (its {level} CI reaches {near['ci'][1]:.3f}, so a larger test set might still clear the bar)"
    best_metric = max(rows, key=lambda r: r["metric"])
    if metric_missed and best_metric is not near:
        reason += f"; the best {mname} overall is {best_metric['name']} ({best_metric['metric']:.3f})"
    if metric_missed and learning_curve:
        prefer = near["name"] if near["name"] in (learning_curve.get("adapters") or {}) else None
        advice = curve_advice(learning_curve, bar.metric, target=bar.min_metric, prefer=prefer)
        if advice:
            result["advice"] = advice
            reason += f"; {advice['text']}"
    elif not metric_missed:
        kinds = {"p95_ms": "latency", "cost_per_1k": "running cost", "one_off": "one-off cost"}
        missed = [kinds[k] for k, c in near["checks"].items() if not c["pass"] and k in kinds]
        reason += f"; the accuracy is there but the {' and '.join(missed)} is not: look for a cheaper or faster way to serve it"
    result.update(verdict="PIVOT", nearest_miss=near["name"], reason=reason)
    return result


def _slope(points: list[dict[str, Any]], metric: str) -> float:
    """Least-squares gain in the metric per doubling of train over the last three points."""
    pts = points[-3:]
    xs = [math.log2(p["fraction"]) for p in pts]
    ys = [p[metric] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def curve_trend(points: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """Whether one adapter's learning curve is still rising: gain per doubling of the train set."""
    pts = sorted((p for p in points if p.get(metric) is not None and p.get("fraction")), key=lambda p: p["fraction"])
    if len(pts) < 2:
        return None
    slope = _slope(pts, metric)
    return {"rising": slope >= RISING_PER_DOUBLING, "gain_per_doubling": slope, "first": pts[0], "last": pts[-1],
            "points": len(pts)}


def curve_advice(curve: dict[str, Any], metric: str, target: float | None = None,
                 prefer: str | None = None) -> dict[str, Any] | None:
    """From a learning curve: still rising → collect more labels (and roughly how many); flat → change the approach.

    Reads the curve of ``prefer`` when given, else of the adapter with the best metric at full size.
    """
    trends = {}
    for name, pts in (curve.get("adapters") or {}).items():
        t = curve_trend(pts, metric)
        if t is not None:
            trends[name] = t
    if not trends:
        return None
    name = prefer if prefer in trends else max(trends, key=lambda n: trends[n]["last"][metric])
    t = trends[name]
    first, last, g = t["first"], t["last"], t["gain_per_doubling"]
    mname = metric_name(metric)
    span = f"{first[metric]:.3f} at {first['fraction']:.0%} → {last[metric]:.3f} at {last['fraction']:.0%} of train"
    out = {"adapter": name, "trend": "rising" if t["rising"] else "flat", "gain_per_doubling": g,
           "label_factor": None}
    if t["rising"]:
        text = f"the learning curve of {name} is still rising (+{g:.3f} {mname} per doubling of train; {span})"
        if target is not None and last[metric] < target:
            factor = 2 ** ((target - last[metric]) / g)
            out["label_factor"] = factor
            if factor <= MAX_LABEL_FACTOR:
                text += f": collect more labels — at this rate about {math.ceil(factor)}× the labels would reach {target:g}"
            else:
                text += (f", but at this rate it would take more than {MAX_LABEL_FACTOR}× the labels to reach {target:g}: "
                         "collect more labels and change the approach")
                out["trend"] = "rising slowly"
        else:
            text += ": collect more labels"
    else:
        text = (f"the learning curve of {name} is flat ({g:+.3f} {mname} per doubling of train; {span}): "
                "more labels of this kind will not close the gap; change the approach")
    out["text"] = text
    return out


def pivot_advice(curve: dict[str, Any], metric: str, target: float | None = None,
                 prefer: str | None = None) -> str | None:
    """The learning-curve advice as one clause (``None`` without a usable curve)."""
    a = curve_advice(curve, metric, target, prefer)
    return a["text"] if a else None
