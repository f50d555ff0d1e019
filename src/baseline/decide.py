"""The verdict: the simplest option that is shown good enough — or TOO CLOSE TO CALL, or PIVOT.

Pure functions over the scored results; nothing here runs a model. The burden of proof is on the
simpler option, as in a non-inferiority trial. The rule, stated once (``decide`` returns it in words
for the report):

*No metric bar* (the relative question: is something simpler as good as the best?)

1. candidates that fail a latency or cost bar the user set are out;
2. the best is the one with the highest headline metric;
3. a simpler candidate replaces the best only when it is **shown within the margin**: the lower
   end of the 95% paired-bootstrap CI of (candidate − best) is at or above −margin;
4. the verdict is settled (ADOPT) when every simpler candidate is either shown within the margin or
   **shown worse** (upper end below −margin), and the choice is shown within the margin of every
   more complex one. Otherwise it is TOO CLOSE TO CALL: the leading candidate is named, and the
   number of labeled test rows that would settle it is estimated from the width of the interval
   (that is, from how often the two disagree on a row).

*A metric bar* (the user's "good enough")

1. a candidate **clears** the metric bar when the lower end of its 95% CI is at or above it; a CI
   that straddles the bar is **borderline**, which does not count as clearing; latency and cost
   bars are checked on the measured figures;
2. the verdict is the simplest candidate that clears every bar, even when a more complex one scores
   higher; the report says what the extra complexity would buy;
3. no candidate clears but one is borderline → TOO CLOSE TO CALL, with the rows that would settle
   it; none reaches the bar → PIVOT, naming the nearest miss and the learning curve's advice.

*Either way*, a candidate that is worse on the headline metric, dearer per 1,000 and slower at p95
than another passing candidate is never the verdict unless it is simpler by rank and shown within
the margin of that candidate.

The error rates of this rule are checked by simulation (tests/test_decide_simulation.py and
bench/simulate_decision.py), not argued from one example.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

METRIC_NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "weighted_f1": "weighted-F1", "micro_f1": "micro-F1",
                "samples_f1": "samples-F1"}
RISING_PER_DOUBLING = 0.01   # learning-curve gain per doubling of train below which it counts as flat
MAX_LABEL_FACTOR = 16        # beyond this many times the labels, "collect more labels" is not advice
DEFAULT_MARGIN = 0.02        # see the README ("The decision"): 2 points of the headline metric
MAX_SETTLE_FACTOR = 100      # beyond this many times the test rows, "label more" is not advice

ADOPT, TOO_CLOSE, PIVOT = "ADOPT", "TOO CLOSE TO CALL", "PIVOT"
WITHIN, WORSE, UNSETTLED = "shown within the margin", "shown worse", "too close to call"


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
    margin: float = DEFAULT_MARGIN   # non-inferiority margin on the headline metric
    level: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Bar:
        """The bar a run stored (``settings.bar``); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})

    def is_set(self) -> bool:
        """Whether any pass/fail bar (not just the volume) was given."""
        return any(v is not None for v in (self.min_metric, self.max_p95_ms, self.max_cost_per_1k,
                                           self.max_one_off))


def metric_standing(value: float | None, ci: Any, limit: float) -> str:
    """``clear`` (whole CI at or above the bar), ``borderline`` (CI straddles it) or ``below``."""
    if value is None:
        return "below"
    lo, hi = (ci if ci is not None else (value, value))
    if lo >= limit:
        return "clear"
    if hi >= limit:
        return "borderline"
    return "below"


STANDING_WHY = {
    "clear": "the whole {ci} is at or above the bar: the verdict's rule for clearing",
    "borderline": "the {ci} straddles the bar; the verdict's rule counts only a CI wholly at or above the bar as clearing",
    "below": "the whole {ci} is below the bar",
}


def standing_text(label: str, value: float | None, ci: Any, limit: float, level: float = 0.95,
                  bar: str | None = None) -> tuple[str, str]:
    """A metric against a bar by the verdict's rule (``metric_standing``): the standing and one clause saying why."""
    st = metric_standing(value, ci, limit)
    against = bar or f"{limit:g}"
    if value is None:
        return st, f"{label} n/a vs {against}: {st} (no figure)"
    if ci is None:
        return st, (f"{label} {value:.3f} (no CI) vs {against}: {st} (judged on the point estimate, standing in for "
                    "the CI the verdict's rule uses)")
    lo, hi = ci
    why = STANDING_WHY[st].format(ci=f"{level:.0%} CI")
    return st, f"{label} {value:.3f} [{lo:.3f}, {hi:.3f}] vs {against}: {st} ({why})"


def check_bars(a: dict[str, Any], bar: Bar) -> dict[str, dict[str, Any]]:
    """Pass/fail of one scored candidate against each bar that is set (a missing value fails).

    The metric bar is judged on the 95% CI: only ``clear`` passes; ``borderline`` is marked as such.
    """
    out: dict[str, dict[str, Any]] = {}
    m = a.get("metrics") or {}
    if bar.min_metric is not None:
        v = m.get(bar.metric)
        ci = (m.get("ci") or {}).get(bar.metric)
        st = metric_standing(v, ci, bar.min_metric)
        out["metric"] = {"value": v, "ci": ci, "limit": bar.min_metric, "pass": st == "clear", "standing": st,
                         "label": f"{metric_name(bar.metric)} ≥ {bar.min_metric:g}", "better": "higher"}
    if bar.max_p95_ms is not None:
        lat = (a.get("timing") or {}).get("item_latency_ms") or {}
        v, ci = lat.get("p95"), lat.get("p95_ci")
        out["p95_ms"] = {"value": v, "limit": bar.max_p95_ms, "pass": v is not None and v <= bar.max_p95_ms,
                         "label": f"p95 latency ≤ {bar.max_p95_ms:g} ms", "better": "lower", "ci": ci,
                         "unsure": bool(ci and ci[0] <= bar.max_p95_ms < ci[1])}
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


def rows_to_settle(n: int | None, estimate: float, ci: Any, threshold: float) -> int | None:
    """Test rows at which a CI of today's width, shrinking as 1/√n, would sit wholly on one side of ``threshold``.

    Assumes the observed estimate holds. ``None`` when it cannot be estimated or would take more
    than ``MAX_SETTLE_FACTOR`` times the current test set (the two are, in effect, equal at the threshold).
    """
    if not n or ci is None:
        return None
    lo, hi = ci
    half = (hi - lo) / 2
    gap = abs(estimate - threshold)
    if half <= 0:
        return n
    if gap <= 0 or (half / gap) ** 2 > MAX_SETTLE_FACTOR:
        return None
    return max(n, math.ceil(n * (half / gap) ** 2))


def _rows_text(rows: int | None, n: int | None) -> str:
    if rows is None:
        return f"more than {MAX_SETTLE_FACTOR}× the {n:,} test rows would be needed to settle it" if n else \
            "the test set cannot settle it"
    return f"about {rows:,} labeled test rows would settle it (now {n:,})"


def standing(cmp: dict[str, Any], margin: float) -> str:
    """Where a paired CI of (candidate − reference) puts the candidate against −margin."""
    lo, hi = cmp["ci"]
    if lo >= -margin:
        return WITHIN
    if hi < -margin:
        return WORSE
    return UNSETTLED


def _versus(pairwise: dict[str, Any], r: dict[str, Any], ref: dict[str, Any], margin: float) -> dict[str, Any] | None:
    cmp = _paired(pairwise, r["name"], ref["name"])
    if cmp is None:
        return None
    lo, hi = cmp["ci"]
    st = standing(cmp, margin)
    out = {"against": ref["name"], "difference": cmp["difference"], "ci": [lo, hi], "standing": st,
           "non_inferiority_shown": st == WITHIN, "shown_worse": st == WORSE,
           "mcnemar_p": cmp.get("mcnemar_p"), "n": cmp.get("n"), "discordant": cmp.get("discordant")}
    if st == UNSETTLED:
        out["rows_to_settle"] = rows_to_settle(cmp.get("n"), cmp["difference"], (lo, hi), -margin)
    return out


def _rows(m: dict[str, Any]) -> int | None:
    """Test rows behind a candidate's metrics (from its confusion matrix)."""
    mat = (m.get("confusion") or {}).get("matrix")
    if not mat:  # a task without a confusion matrix (multi-label) states its rows
        return m.get("rows")
    return int(sum(map(sum, mat)))


def _dominator(r: dict[str, Any], pool: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A passing candidate that is better on the metric, cheaper per 1k and faster at p95 than ``r``."""
    for y in sorted(pool, key=lambda y: -y["metric"]):
        if y is r or None in (r.get("per_1k"), y.get("per_1k"), r.get("p95"), y.get("p95")):
            continue
        if y["metric"] > r["metric"] and y["per_1k"] < r["per_1k"] and y["p95"] < r["p95"]:
            return y
    return None


def _dominance_excludes(r: dict[str, Any], pool: list[dict[str, Any]], pairwise: dict[str, Any],
                        margin: float) -> dict[str, Any] | None:
    """The candidate whose dominance rules ``r`` out, unless ``r`` is simpler and shown within the margin of it."""
    y = _dominator(r, pool)
    if y is None:
        return None
    if r["simplicity"] < y["simplicity"]:
        cmp = _paired(pairwise, r["name"], y["name"])
        if cmp is not None and standing(cmp, margin) == WITHIN:
            return None
    return y


def rule_text(bar: Bar) -> str:
    """The decision rule in words a product manager reads (printed once in the report)."""
    mname, m = metric_name(bar.metric), bar.margin
    dom = (f"An option that is worse, dearer and slower than another passing one is never chosen unless it is "
           f"simpler and shown within {m:g} of it.")
    if bar.min_metric is not None:
        return (f"The simplest option that clears every bar you set wins, even if a more complex one scores higher. "
                f"Clearing the {mname} bar means the whole 95% interval is at or above {bar.min_metric:g}; an interval "
                f"that straddles it is borderline and does not count as clearing (more test rows can settle it). " + dom)
    return (f"A simpler option replaces the best one only when the test shows it is at most {m:g} {mname} worse "
            f"(the whole 95% interval of the paired difference sits above −{m:g}). When the interval is too wide to "
            f"tell, the verdict is too close to call and says how many labeled test rows would settle it. " + dom)


def decide(adapters: list[dict[str, Any]], pairwise: dict[str, dict[str, dict[str, Any]]], bar: Bar,
           learning_curve: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the decision rule to scored candidates (``adapters`` as in results.json).

    ``pairwise[a][b]`` holds the paired comparison of a against b: ``difference`` (a − b), its ``ci``
    and ``n`` (test rows). Returns the verdict (ADOPT / TOO CLOSE TO CALL / PIVOT), the choice, a short
    reason, the rule in words, and a row per candidate with its bar checks and its comparison with
    the best passing candidate.
    """
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
                     "n": _rows(m),
                     "per_1k": (a.get("cost") or {}).get("per_1k_usd"),
                     "p95": ((a.get("timing") or {}).get("item_latency_ms") or {}).get("p95"),
                     "checks": checks, "passes": all(c["pass"] for c in checks.values()),
                     "borderline": bool(checks.get("metric", {}).get("standing") == "borderline"
                                        and all(c["pass"] for k, c in checks.items() if k != "metric")),
                     "shortfall": _shortfall(checks), "role": None, "vs_best_passing": None, "dominated_by": None})
    rows.sort(key=lambda r: (r["simplicity"], -r["metric"], r["name"]))
    result: dict[str, Any] = {"bar": bar.to_json(), "metric": bar.metric, "candidates": rows, "margin": bar.margin,
                              "rule": rule_text(bar), "excluded": excluded, "warnings": [], "advice": None,
                              "best_passing": None, "nearest_miss": None, "choice": None, "settled": False,
                              "contenders": [], "extra": None}
    if not bar.is_set():
        result["warnings"].append("no bar was set (--min-metric, --max-p95-ms, --max-cost-per-1k, --max-one-off): "
                                  "the verdict rests on the paired comparisons alone")
    if not scored:
        result.update(verdict=PIVOT, reason="no candidate produced a complete set of predictions"
                      + (f" ({len(excluded)} tried: see the reasons listed)" if excluded else ""))
        return result

    passing = [r for r in rows if r["passes"]]
    if passing:
        best = max(passing, key=lambda r: (r["metric"], -r["simplicity"]))
        best["role"] = "best passing"
        for r in passing:
            if r is not best:
                r["vs_best_passing"] = _versus(pairwise, r, best, bar.margin)
            y = _dominance_excludes(r, passing, pairwise, bar.margin)
            r["dominated_by"] = y["name"] if y is not None else None
        if bar.min_metric is not None:
            _decide_bar(result, rows, passing, best, pairwise, bar)
        else:
            _decide_relative(result, passing, best, pairwise, bar)
        _floor_warning(result, rows, pairwise, bar)
        return result

    borderline = [r for r in rows if r["borderline"]]
    if borderline:
        _decide_borderline(result, borderline, bar)
        return result
    _decide_pivot(result, rows, bar, learning_curve)
    return result


def _decide_relative(result: dict[str, Any], passing: list[dict[str, Any]], best: dict[str, Any],
                     pairwise: dict[str, Any], bar: Bar) -> None:
    """No metric bar: the simplest candidate shown within the margin of the best, else the best."""
    mname, m = metric_name(bar.metric), bar.margin
    order = sorted(passing, key=lambda r: (r["simplicity"], -r["metric"], r["name"]))

    def eligible(r: dict[str, Any]) -> bool:
        if r["dominated_by"]:
            return False
        return r is best or bool(r["vs_best_passing"] and r["vs_best_passing"]["standing"] == WITHIN)

    choice = next((r for r in order if eligible(r)), best)
    pos = order.index(choice)
    # unsettled: a simpler candidate that might be within the margin, or a more complex one the
    # choice is not shown within the margin of
    contenders = []
    for r in order[:pos]:
        v = r["vs_best_passing"]
        if not r["dominated_by"] and v is not None and v["standing"] == UNSETTLED:
            contenders.append({"name": r["name"], "against": best["name"], "difference": v["difference"],
                               "ci": v["ci"], "rows_to_settle": v.get("rows_to_settle"), "n": v.get("n"),
                               "discordant": v.get("discordant"), "simpler": True})
    for y in order[pos + 1:]:
        cmp = _paired(pairwise, choice["name"], y["name"])
        if cmp is not None and standing(cmp, m) != WITHIN:
            contenders.append({"name": y["name"], "against": choice["name"], "difference": -cmp["difference"],
                               "ci": [-cmp["ci"][1], -cmp["ci"][0]], "n": cmp.get("n"),
                               "discordant": cmp.get("discordant"), "simpler": False,
                               "rows_to_settle": rows_to_settle(cmp.get("n"), cmp["difference"], cmp["ci"], -m)})
    settled = not contenders
    choice["role"] = "chosen" if choice is not best else "chosen (best passing)"
    result.update(choice=choice["name"], best_passing=best["name"], settled=settled, contenders=contenders)
    if choice is not best:
        v = choice["vs_best_passing"]
        why = (f"{choice['name']} is simpler than the best, {best['name']} ({mname} {best['metric']:.3f}), and shown "
               f"within the {m:g} margin of it: difference {v['difference']:+.3f}, 95% CI "
               f"[{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}]")
    else:
        why = f"{best['name']} has the best {mname} ({best['metric']:.3f})"
        shown_worse = [r["name"] for r in order[:pos] if (r["vs_best_passing"] or {}).get("standing") == WORSE]
        dominated = [r["name"] for r in order[:pos] if r["dominated_by"]]
        if pos == 0 and len(passing) > 1:
            why += "; it is also the simplest"
        if shown_worse:
            why += f"; shown worse by more than the {m:g} margin: {', '.join(shown_worse)}"
        if dominated:
            why += f"; worse, dearer and slower than another: {', '.join(dominated)}"
    if settled:
        result.update(verdict=ADOPT, reason=why)
        return
    c = contenders[0]
    n = c.get("n")
    lead = choice["name"]
    if c["simpler"]:
        close = (f"{c['name']} is simpler and {c['difference']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}] behind "
                 f"{c['against']}: "
                 f"too close to call on {n:,} test rows" if n else f"{c['name']} is simpler and too close to call")
    else:
        close = (f"but it is not shown within {m:g} of the more complex {c['name']} "
                 f"({c['difference']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}] for {c['name']}): too close to call"
                 + (f" on {n:,} test rows" if n else ""))
    disc = (f" (one is right and the other wrong on {c['discordant']} of them)"
            if c.get("discordant") is not None and c["simpler"] else "")
    choice["role"] = "leading (best)" if choice is best else "leading"
    result.update(verdict=TOO_CLOSE, reason=f"{lead} leads: {why}; {close}{disc}; {_rows_text(c.get('rows_to_settle'), n)}")


def _decide_bar(result: dict[str, Any], rows: list[dict[str, Any]], passing: list[dict[str, Any]],
                best: dict[str, Any], pairwise: dict[str, Any], bar: Bar) -> None:
    """A metric bar: the simplest candidate that clears every bar (dominance aside)."""
    mname = metric_name(bar.metric)
    order = sorted(passing, key=lambda r: (r["simplicity"], -r["metric"], r["name"]))
    choice = next((r for r in order if not r["dominated_by"]), best)
    choice["role"] = "chosen" if choice is not best else "chosen (best passing)"
    lo, hi = choice["ci"] or (choice["metric"], choice["metric"])
    why = (f"{choice['name']} is the simplest candidate that clears every bar: {mname} {choice['metric']:.3f}, "
           f"95% CI [{lo:.3f}, {hi:.3f}] ≥ {bar.min_metric:g}")
    skipped = [r["name"] for r in order[:order.index(choice)] if r["dominated_by"]]
    if skipped:
        why += f" ({', '.join(skipped)} clear it too but are worse, dearer and slower than another)"
    if choice is not best:
        v = _versus(pairwise, best, choice, bar.margin)
        extra = {"candidate": best["name"], "metric": best["metric"]}
        if v is not None:
            extra.update(difference=v["difference"], ci=v["ci"])
        if best.get("per_1k") is not None and choice.get("per_1k") is not None:
            extra["per_1k_delta"] = best["per_1k"] - choice["per_1k"]
        if best.get("p95") is not None and choice.get("p95") is not None:
            extra["p95_delta_ms"] = best["p95"] - choice["p95"]
        result["extra"] = extra
        buys = f"{best['name']} would add {extra['difference']:+.3f} {mname}" if "difference" in extra else \
            f"{best['name']} scores {best['metric']:.3f}"
        if "ci" in extra:
            buys += f" [{extra['ci'][0]:+.3f}, {extra['ci'][1]:+.3f}]"
        parts = []
        if "per_1k_delta" in extra:
            parts.append(f"{'+' if extra['per_1k_delta'] >= 0 else '−'}${abs(extra['per_1k_delta']):.4g} per 1k")
        if "p95_delta_ms" in extra:
            parts.append(f"{extra['p95_delta_ms']:+.3g} ms at p95")
        if parts:
            buys += " for " + ", ".join(parts)
        why += f"; {buys}"
    simpler_borderline = [r for r in rows if r["borderline"] and r["simplicity"] < choice["simplicity"]]
    if simpler_borderline:
        r = simpler_borderline[0]
        n = r.get("n")
        why += (f"; the simpler {r['name']} is borderline ({mname} {r['metric']:.3f}, 95% CI "
                f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] straddles {bar.min_metric:g}): "
                + _rows_text(rows_to_settle(n, r["metric"], r["ci"], bar.min_metric), n))
    result.update(verdict=ADOPT, choice=choice["name"], best_passing=best["name"], settled=True, reason=why)


def _decide_borderline(result: dict[str, Any], borderline: list[dict[str, Any]], bar: Bar) -> None:
    """No candidate clears the metric bar, but at least one CI straddles it: more test rows can settle it."""
    mname = metric_name(bar.metric)
    above = [r for r in borderline if r["metric"] >= bar.min_metric]
    lead = above[0] if above else max(borderline, key=lambda r: r["metric"])  # rows are in simplicity order
    lead["role"] = "borderline"
    n = lead.get("n")
    need = rows_to_settle(n, lead["metric"], lead["ci"], bar.min_metric)
    lo, hi = lead["ci"]
    why = (f"no candidate clears the bar with confidence; {lead['name']} is borderline: {mname} {lead['metric']:.3f}, "
           f"95% CI [{lo:.3f}, {hi:.3f}] straddles {bar.min_metric:g}; {_rows_text(need, n)}")
    result["contenders"] = [{"name": r["name"], "against": f"bar {bar.min_metric:g}", "difference": r["metric"] - bar.min_metric,
                             "ci": r["ci"], "n": r.get("n"),
                             "rows_to_settle": rows_to_settle(r.get("n"), r["metric"], r["ci"], bar.min_metric)}
                            for r in borderline]
    result.update(verdict=TOO_CLOSE, choice=lead["name"], settled=False, reason=why)


def _decide_pivot(result: dict[str, Any], rows: list[dict[str, Any]], bar: Bar,
                  learning_curve: dict[str, Any] | None) -> None:
    """Nothing clears the bar: name the nearest miss and why, in one sentence."""
    mname = metric_name(bar.metric)
    pool = [r for r in rows if r["simplicity"] > 0] or rows   # the floor is a reference, not a near miss
    near = min(pool, key=lambda r: (r["shortfall"], -r["metric"], r["simplicity"]))
    near["role"] = "nearest miss"
    misses = [f"{_fmt(k, c['value'], bar.metric)} {_limit(k, c)}" for k, c in near["checks"].items() if not c["pass"]]
    reason = f"no candidate clears every bar; the nearest miss is {near['name']}: " + ", ".join(misses)
    metric_missed = "metric" in near["checks"] and not near["checks"]["metric"]["pass"]
    if metric_missed and near["ci"] is not None and near["ci"][1] >= bar.min_metric:
        reason += " (its 95% CI reaches the bar, so a larger test set might still clear it)"
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
    result.update(verdict=PIVOT, nearest_miss=near["name"], reason=reason)


def _floor_warning(result: dict[str, Any], rows: list[dict[str, Any]], pairwise: dict[str, Any], bar: Bar) -> None:
    """Warn when the choice is not significantly better than the trivial floor."""
    choice = next((r for r in rows if r["name"] == result["choice"]), None)
    lat = (choice or {}).get("checks", {}).get("p95_ms")
    if lat and lat.get("unsure"):
        result["warnings"].append(f"{choice['name']}'s p95 latency {lat['value']:.3g} ms has a 95% CI of "
                                  f"{lat['ci'][0]:.3g}–{lat['ci'][1]:.3g} ms, which straddles the {lat['limit']:g} ms bar: "
                                  "measure it again on the serving machine before relying on it")
    floor = next((r for r in rows if r["simplicity"] == 0 and r is not choice), None)
    if choice is None or floor is None:
        return
    f = _paired(pairwise, choice["name"], floor["name"])
    if f is not None and f["ci"][0] <= 0:
        result["warnings"].append(f"{choice['name']} is not significantly better than the floor "
                                  f"{floor['name']} ({metric_name(bar.metric)} {floor['metric']:.3f})")


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
