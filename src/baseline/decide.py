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

*Lower is better* (``Bar.lower_is_better``: RMSE, MAE, MAPE) — the same rule in the metric's own
units, mirrored: the best has the lowest value; the metric bar is a maximum (``Bar.max_metric``),
cleared when the whole CI is at or below it; shown within the margin means the upper end of the CI
of (candidate − best) is at or below +margin, shown worse that its lower end is above +margin. Every
comparison goes through one helper, ``Orient``, which turns a figure into "goodness" (higher is
better either way), so the rule above is written once. The default margin for such a metric is
``DEFAULT_MARGIN`` of its no-model error on the test set (``regression_margin``: for RMSE, 2% of the
test target's standard deviation), fixed before any candidate is scored.

The error rates of this rule are checked by simulation (tests/test_decide_simulation.py,
tests/test_decide_regression.py and bench/simulate_decision.py), not argued from one example.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

METRIC_NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "weighted_f1": "weighted-F1", "micro_f1": "micro-F1",
                "samples_f1": "samples-F1", "rmse": "RMSE", "mae": "MAE", "r2": "R²", "mape": "MAPE"}
RISING_PER_DOUBLING = 0.01   # learning-curve gain per doubling of train below which it counts as flat (× Bar.scale)
MAX_LABEL_FACTOR = 16        # beyond this many times the labels, "collect more labels" is not advice
DEFAULT_MARGIN = 0.02        # see the README ("The decision"): 2 points of the headline metric (× Bar.scale)
MAX_SETTLE_FACTOR = 100      # beyond this many times the test rows, "label more" is not advice
# the no-model error each scale-bound metric is measured against (``regression_margin``): what it is, and why
NO_MODEL_ERROR = {
    "rmse": ("the test target's standard deviation", "the RMSE of predicting its mean for every row"),
    "mae": ("the test target's mean absolute deviation from its median", "the MAE of predicting its median"),
    "mape": ("the MAPE of the best constant prediction on the test set", "predicting its median weighted by 1/|y|"),
}

ADOPT, TOO_CLOSE, PIVOT = "ADOPT", "TOO CLOSE TO CALL", "PIVOT"
WITHIN, WORSE, UNSETTLED = "shown within the margin", "shown worse", "too close to call"


def metric_name(metric: str) -> str:
    """Human name of a headline metric key."""
    return METRIC_NAMES.get(metric, metric)


@dataclass(frozen=True)
class Orient:
    """Which way is better on the headline metric, and how its figures are written: the one place a sign flips.

    The rule compares ``up(x)``, the figure as "goodness" (higher is better either way), so it is written once;
    texts print the metric's own values. Higher is better: three decimals, as ever. Lower is better (an error in
    the target's units): decimals that show ``unit`` (the margin) to three significant digits.
    """

    lower: bool = False
    unit: float | None = None

    def up(self, x: float) -> float:
        """The figure as goodness: itself, or its negative when lower is better."""
        return -x if self.lower else x

    def up_ci(self, ci: Any) -> tuple[float, float]:
        """An interval as goodness, low end first."""
        lo, hi = ci
        return (-hi, -lo) if self.lower else (lo, hi)

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return self.up(a) > self.up(b)

    def line(self, margin: float) -> float:
        """The margin's line for (candidate − reference) in the metric's own units: −margin, or +margin."""
        return margin if self.lower else -margin

    def _decimals(self) -> int | None:
        u = self.unit
        if u is None or not math.isfinite(u) or u <= 0:
            return None
        return max(0, min(12, 2 - math.floor(math.log10(u))))

    def num(self, x: float) -> str:
        """A figure of the metric."""
        if not self.lower:
            return f"{x:.3f}"
        d = self._decimals()
        return f"{x:.4g}" if d is None else f"{x:.{d}f}"

    def diff(self, x: float) -> str:
        """A signed difference of the metric."""
        if not self.lower:
            return f"{x:+.3f}"
        d = self._decimals()
        return f"{x:+.4g}" if d is None else f"{x:+.{d}f}"

    def margin(self, m: float) -> str:
        """The margin as the texts state it."""
        return f"{m:g}" if not self.lower else f"{m:.3g}"

    @property
    def clears(self) -> str:
        """The relation a clearing figure has to the bar."""
        return "≤" if self.lower else "≥"


@dataclass
class Bar:
    """The user's bar. ``None`` means that bar is not set.

    ``min_metric`` is the metric bar when higher is better; ``max_metric`` when ``lower_is_better`` (RMSE, MAE,
    MAPE: a maximum, in the metric's own units). ``scale``: the metric's no-model error on the test set
    (``regression_margin``), ``None`` for a 0–1 metric; ``margin_basis``: where the margin came from, in words.
    """

    metric: str = "macro_f1"
    min_metric: float | None = None
    max_p95_ms: float | None = None
    max_cost_per_1k: float | None = None
    max_one_off: float | None = None
    monthly_volume: int | None = None
    margin: float = DEFAULT_MARGIN   # non-inferiority margin on the headline metric, in its own units
    level: float = 0.95
    max_metric: float | None = None
    lower_is_better: bool = False
    scale: float | None = None
    margin_basis: str | None = None

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
                                           self.max_one_off, self.max_metric))

    @property
    def metric_limit(self) -> float | None:
        """The metric bar in its direction: ``max_metric`` when lower is better, else ``min_metric``."""
        return self.max_metric if self.lower_is_better else self.min_metric

    @property
    def orient(self) -> Orient:
        """The orientation and number format of the headline metric."""
        unit = self.margin if self.margin > 0 else (DEFAULT_MARGIN * self.scale if self.scale else None)
        return Orient(self.lower_is_better, unit)

    @property
    def flat_below(self) -> float:
        """Learning-curve gain per doubling of train below which a curve counts as flat, in the metric's units."""
        return RISING_PER_DOUBLING * (self.scale or 1.0)


def no_model_error(y_true: Sequence[Any], metric: str) -> float:
    """The headline metric's error of the best constant prediction on ``y_true`` (numbers or number strings).

    RMSE: the standard deviation (ddof 0; predicting the mean); MAE: the mean absolute deviation from the median;
    MAPE: at the weighted median (weights 1/|y|); R²: 1 (a constant scores 0, a perfect fit 1).
    """
    import numpy as np

    if metric == "r2":
        return 1.0
    y = np.asarray([float(v) for v in y_true], dtype=np.float64)
    if not len(y) or not np.isfinite(y).all():
        raise ValueError("the test target must be a non-empty list of finite numbers")
    if metric == "rmse":
        return float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    if metric == "mae":
        return float(np.mean(np.abs(y - np.median(y))))
    if metric == "mape":
        if (y == 0).any():
            raise ValueError("MAPE has no margin when the test target holds a zero")
        w = 1 / np.abs(y)
        order = np.argsort(y)
        cum = np.cumsum(w[order])
        c = y[order][int(np.searchsorted(cum, cum[-1] / 2))]
        return float(np.mean(np.abs(y - c) * w))
    raise ValueError(f"no no-model error is defined for {metric!r}")


def regression_margin(y_true: Sequence[Any], metric: str = "rmse", share: float = DEFAULT_MARGIN) -> float:
    """The default non-inferiority margin of a regression headline, in its own units: ``share`` (2%) of its no-model
    error on the test set (RMSE: of the test target's standard deviation).

    It reads the test truth only, never a prediction, so it is fixed before any candidate is scored; for R² it is
    ``share`` itself, as for a 0–1 classification metric.
    """
    return share * no_model_error(y_true, metric)


def task_bar(bar: Bar, lower_is_better: Iterable[str], y_test: Sequence[Any] | None = None,
             margin_explicit: bool = False) -> Bar:
    """The bar fitted to the task: its direction from the task's ``lower_is_better`` metrics, and, unless the user
    set the margin, the regression default (``regression_margin``) when the headline is scale-bound (RMSE, MAE, MAPE).

    A ``--min-`` bar on a lower-is-better metric, or a ``--max-`` bar on a higher-is-better one, is bad input.
    """
    from baseline.errors import BadInput

    lower = bar.metric in set(lower_is_better)
    flag = bar.metric.replace("_", "-")
    if lower and bar.min_metric is not None:
        raise BadInput(f"less is better for {metric_name(bar.metric)}: its bar is a maximum, --max-{flag} "
                       f"(got a minimum, {bar.min_metric:g})")
    if not lower and bar.max_metric is not None:
        raise BadInput(f"more is better for {metric_name(bar.metric)}: its bar is a minimum, --min-{flag} "
                       f"(got a maximum, {bar.max_metric:g})")
    out = replace(bar, lower_is_better=lower)
    if bar.metric in NO_MODEL_ERROR and y_test is not None:
        scale = no_model_error(y_test, bar.metric)
        out = replace(out, scale=scale)
        if not margin_explicit:
            what, why = NO_MODEL_ERROR[bar.metric]
            out = replace(out, margin=DEFAULT_MARGIN * scale,
                          margin_basis=f"{DEFAULT_MARGIN:.0%} of {what}, {scale:.4g} ({why})")
    return out


def metric_standing(value: float | None, ci: Any, limit: float, lower_is_better: bool = False) -> str:
    """``clear`` (whole CI on the bar's good side: at or above it, or at or below it when lower is better),
    ``borderline`` (CI straddles it) or ``below`` (whole CI on the wrong side: short of the bar)."""
    if value is None:
        return "below"
    o = Orient(lower_is_better)
    lo, hi = o.up_ci(ci if ci is not None else (value, value))
    lim = o.up(limit)
    if lo >= lim:
        return "clear"
    if hi >= lim:
        return "borderline"
    return "below"


STANDING_WHY = {
    "clear": "the whole {ci} is at or above the bar: the verdict's rule for clearing",
    "borderline": "the {ci} straddles the bar; the verdict's rule counts only a CI wholly at or above the bar as clearing",
    "below": "the whole {ci} is below the bar",
}
STANDING_WHY_LOWER = {
    "clear": "the whole {ci} is at or below the bar, lower being better: the verdict's rule for clearing",
    "borderline": "the {ci} straddles the bar; the verdict's rule counts only a CI wholly at or below the bar as clearing",
    "below": "the whole {ci} is above the bar, lower being better",
}
STANDING_WORD_LOWER = {"clear": "clear", "borderline": "borderline", "below": "misses"}


def standing_text(label: str, value: float | None, ci: Any, limit: float, level: float = 0.95,
                  bar: str | None = None, lower_is_better: bool = False) -> tuple[str, str]:
    """A metric against a bar by the verdict's rule (``metric_standing``): the standing and one clause saying why.

    Lower is better: the bar is a maximum; the standing ``below`` reads "misses" (the whole CI is above it).
    """
    st = metric_standing(value, ci, limit, lower_is_better)
    against = bar or f"{limit:g}"
    word = STANDING_WORD_LOWER[st] if lower_is_better else st
    if lower_is_better and ci is not None:
        o = Orient(True, (ci[1] - ci[0]) / 2 or (abs(value) if value else None))
    else:
        o = Orient(lower_is_better, abs(value) / 100 if value else None)
    if value is None:
        return st, f"{label} n/a vs {against}: {word} (no figure)"
    if ci is None:
        return st, (f"{label} {o.num(value)} (no CI) vs {against}: {word} (judged on the point estimate, standing in "
                    "for the CI the verdict's rule uses)")
    lo, hi = ci
    why = (STANDING_WHY_LOWER if lower_is_better else STANDING_WHY)[st].format(ci=f"{level:.0%} CI")
    return st, f"{label} {o.num(value)} [{o.num(lo)}, {o.num(hi)}] vs {against}: {word} ({why})"


def check_bars(a: dict[str, Any], bar: Bar) -> dict[str, dict[str, Any]]:
    """Pass/fail of one scored candidate against each bar that is set (a missing value fails).

    The metric bar is judged on the 95% CI: only ``clear`` passes; ``borderline`` is marked as such. When lower is
    better, the metric bar is a maximum (``max_metric``).
    """
    out: dict[str, dict[str, Any]] = {}
    m = a.get("metrics") or {}
    limit = bar.metric_limit
    if limit is not None:
        v = m.get(bar.metric)
        ci = (m.get("ci") or {}).get(bar.metric)
        st = metric_standing(v, ci, limit, bar.lower_is_better)
        out["metric"] = {"value": v, "ci": ci, "limit": limit, "pass": st == "clear", "standing": st,
                         "label": f"{metric_name(bar.metric)} {bar.orient.clears} {limit:g}",
                         "better": "lower" if bar.lower_is_better else "higher"}
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
    misses by 0.75 (three quarters of the latency must go); the same for costs and for a lower-is-better
    metric (an RMSE of 40 against a maximum of 30 misses by 0.25).
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


def _fmt(key: str, v: float | None, metric: str, o: Orient) -> str:
    if v is None:
        return "n/a"
    if key == "metric":
        return f"{metric_name(metric)} {o.num(v)}"
    if key == "p95_ms":
        return f"p95 {v:.3g} ms"
    if key == "cost_per_1k":
        return f"${v:.4g} per 1k"
    return f"one-off ${v:.2f}"


def _limit(key: str, c: dict[str, Any]) -> str:
    lim = c["limit"]
    if key == "metric":
        return f"{'>' if c.get('better') == 'lower' else '<'} {lim:g}"
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
    Either direction of the metric: only the distance to the threshold and the width count.
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


def standing(cmp: dict[str, Any], margin: float, lower_is_better: bool = False) -> str:
    """Where a paired CI of (candidate − reference) puts the candidate against the margin: within when its worse end
    is at or above −margin (at or below +margin when lower is better), worse when its better end is beyond it."""
    lo, hi = Orient(lower_is_better).up_ci(cmp["ci"])
    if lo >= -margin:
        return WITHIN
    if hi < -margin:
        return WORSE
    return UNSETTLED


def _versus(pairwise: dict[str, Any], r: dict[str, Any], ref: dict[str, Any], margin: float,
            o: Orient) -> dict[str, Any] | None:
    cmp = _paired(pairwise, r["name"], ref["name"])
    if cmp is None:
        return None
    lo, hi = cmp["ci"]
    st = standing(cmp, margin, o.lower)
    out = {"against": ref["name"], "difference": cmp["difference"], "ci": [lo, hi], "standing": st,
           "non_inferiority_shown": st == WITHIN, "shown_worse": st == WORSE,
           "mcnemar_p": cmp.get("mcnemar_p"), "n": cmp.get("n"), "discordant": cmp.get("discordant")}
    if st == UNSETTLED:
        out["rows_to_settle"] = rows_to_settle(cmp.get("n"), cmp["difference"], (lo, hi), o.line(margin))
    return out


def _rows(m: dict[str, Any]) -> int | None:
    """Test rows behind a candidate's metrics (from its confusion matrix)."""
    mat = (m.get("confusion") or {}).get("matrix")
    if not mat:  # a task without a confusion matrix (multi-label, regression) states its rows
        return m.get("rows")
    return int(sum(map(sum, mat)))


def _dominator(r: dict[str, Any], pool: list[dict[str, Any]], o: Orient) -> dict[str, Any] | None:
    """A passing candidate that is better on the metric, cheaper per 1k and faster at p95 than ``r``."""
    for y in sorted(pool, key=lambda y: -o.up(y["metric"])):
        if y is r or None in (r.get("per_1k"), y.get("per_1k"), r.get("p95"), y.get("p95")):
            continue
        if o.better(y["metric"], r["metric"]) and y["per_1k"] < r["per_1k"] and y["p95"] < r["p95"]:
            return y
    return None


def _dominance_excludes(r: dict[str, Any], pool: list[dict[str, Any]], pairwise: dict[str, Any],
                        margin: float, o: Orient) -> dict[str, Any] | None:
    """The candidate whose dominance rules ``r`` out, unless ``r`` is simpler and shown within the margin of it."""
    y = _dominator(r, pool, o)
    if y is None:
        return None
    if r["simplicity"] < y["simplicity"]:
        cmp = _paired(pairwise, r["name"], y["name"])
        if cmp is not None and standing(cmp, margin, o.lower) == WITHIN:
            return None
    return y


def rule_text(bar: Bar) -> str:
    """The decision rule in words a product manager reads (printed once in the report)."""
    mname, m = metric_name(bar.metric), bar.margin
    if bar.lower_is_better:
        return _rule_text_lower(bar)
    dom = (f"An option that is worse, dearer and slower than another passing one is never chosen unless it is "
           f"simpler and shown within {m:g} of it.")
    if bar.min_metric is not None:
        return (f"The simplest option that clears every bar you set wins, even if a more complex one scores higher. "
                f"Clearing the {mname} bar means the whole 95% interval is at or above {bar.min_metric:g}; an interval "
                f"that straddles it is borderline and does not count as clearing (more test rows can settle it). " + dom)
    return (f"A simpler option replaces the best one only when the test shows it is at most {m:g} {mname} worse "
            f"(the whole 95% interval of the paired difference sits above −{m:g}). When the interval is too wide to "
            f"tell, the verdict is too close to call and says how many labeled test rows would settle it. " + dom)


def _rule_text_lower(bar: Bar) -> str:
    mname, o = metric_name(bar.metric), bar.orient
    m = o.margin(bar.margin)
    basis = f" The margin is {bar.margin_basis}; --margin sets another." if bar.margin_basis else ""
    dom = (f"An option that is worse, dearer and slower than another passing one is never chosen unless it is "
           f"simpler and shown within {m} {mname} of it.")
    if bar.max_metric is not None:
        return (f"Lower {mname} is better. The simplest option that clears every bar you set wins, even if a more "
                f"complex one scores better. Clearing the {mname} bar means the whole 95% interval is at or below "
                f"{bar.max_metric:g}; an interval that straddles it is borderline and does not count as clearing "
                f"(more test rows can settle it). " + dom + basis)
    return (f"Lower {mname} is better. A simpler option replaces the best one only when the test shows its {mname} is "
            f"at most {m} higher (the whole 95% interval of the paired difference sits at or below +{m}). When the "
            f"interval is too wide to tell, the verdict is too close to call and says how many labeled test rows "
            f"would settle it. " + dom + basis)


def decide(adapters: list[dict[str, Any]], pairwise: dict[str, dict[str, dict[str, Any]]], bar: Bar,
           learning_curve: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the decision rule to scored candidates (``adapters`` as in results.json).

    ``pairwise[a][b]`` holds the paired comparison of a against b: ``difference`` (a − b), its ``ci``
    and ``n`` (test rows), in the units of ``bar.metric`` (the headline: the pairs must be on the metric
    the bar is on). Returns the verdict (ADOPT / TOO CLOSE TO CALL / PIVOT), the choice, a short
    reason, the rule in words, and a row per candidate with its bar checks and its comparison with
    the best passing candidate. ``bar.lower_is_better`` mirrors the rule for an error metric (RMSE).
    """
    o = bar.orient
    scored = [a for a in adapters if a.get("status") == "ok" and a.get("metrics")
              and a["metrics"].get(bar.metric) is not None]
    excluded = [{"name": a["name"], "status": a.get("status"),
                 "reason": a.get("reason") or ("no predictions" if not a.get("metrics")
                                               else f"no {metric_name(bar.metric)}" if a.get("status") == "ok" else "")}
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
    rows.sort(key=lambda r: (r["simplicity"], -o.up(r["metric"]), r["name"]))
    result: dict[str, Any] = {"bar": bar.to_json(), "metric": bar.metric, "candidates": rows, "margin": bar.margin,
                              "rule": rule_text(bar), "excluded": excluded, "warnings": [], "advice": None,
                              "best_passing": None, "nearest_miss": None, "choice": None, "settled": False,
                              "contenders": [], "extra": None}
    if not bar.is_set():
        first = f"--max-{bar.metric.replace('_', '-')}" if bar.lower_is_better else "--min-metric"
        result["warnings"].append(f"no bar was set ({first}, --max-p95-ms, --max-cost-per-1k, --max-one-off): "
                                  "the verdict rests on the paired comparisons alone")
    if not scored:
        result.update(verdict=PIVOT, reason="no candidate produced a complete set of predictions"
                      + (f" ({len(excluded)} tried: see the reasons listed)" if excluded else ""))
        return result

    passing = [r for r in rows if r["passes"]]
    if passing:
        best = max(passing, key=lambda r: (o.up(r["metric"]), -r["simplicity"]))
        best["role"] = "best passing"
        for r in passing:
            if r is not best:
                r["vs_best_passing"] = _versus(pairwise, r, best, bar.margin, o)
            y = _dominance_excludes(r, passing, pairwise, bar.margin, o)
            r["dominated_by"] = y["name"] if y is not None else None
        if bar.metric_limit is not None:
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
    mname, m, o = metric_name(bar.metric), bar.margin, bar.orient
    mm = o.margin(m)
    lower = " (lower is better)" if o.lower else ""
    order = sorted(passing, key=lambda r: (r["simplicity"], -o.up(r["metric"]), r["name"]))

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
        if cmp is not None and standing(cmp, m, o.lower) != WITHIN:
            contenders.append({"name": y["name"], "against": choice["name"], "difference": -cmp["difference"],
                               "ci": [-cmp["ci"][1], -cmp["ci"][0]], "n": cmp.get("n"),
                               "discordant": cmp.get("discordant"), "simpler": False,
                               "rows_to_settle": rows_to_settle(cmp.get("n"), cmp["difference"], cmp["ci"],
                                                                o.line(m))})
    settled = not contenders
    choice["role"] = "chosen" if choice is not best else "chosen (best passing)"
    result.update(choice=choice["name"], best_passing=best["name"], settled=settled, contenders=contenders)
    if choice is not best:
        v = choice["vs_best_passing"]
        why = (f"{choice['name']} is simpler than the best, {best['name']} ({mname} {o.num(best['metric'])}"
               f"{', lower is better' if o.lower else ''}), "
               f"and shown within the {mm} margin of it: difference {o.diff(v['difference'])}, 95% CI "
               f"[{o.diff(v['ci'][0])}, {o.diff(v['ci'][1])}]")
    else:
        best_word = "the best (lowest)" if o.lower else "the best"
        why = f"{best['name']} has {best_word} {mname} ({o.num(best['metric'])})"
        shown_worse = [r["name"] for r in order[:pos] if (r["vs_best_passing"] or {}).get("standing") == WORSE]
        dominated = [r["name"] for r in order[:pos] if r["dominated_by"]]
        if pos == 0 and len(passing) > 1:
            why += "; it is also the simplest"
        if shown_worse:
            why += f"; shown worse by more than the {mm} margin: {', '.join(shown_worse)}"
        if dominated:
            why += f"; worse, dearer and slower than another: {', '.join(dominated)}"
    if settled:
        result.update(verdict=ADOPT, reason=why)
        return
    c = contenders[0]
    n = c.get("n")
    lead = choice["name"]
    span = f"{o.diff(c['difference'])} [{o.diff(c['ci'][0])}, {o.diff(c['ci'][1])}]"
    if c["simpler"]:
        gap = f"{span} {mname} against" if o.lower else f"{span} behind"
        close = (f"{c['name']} is simpler and {gap} {c['against']}{lower}: "
                 f"too close to call on {n:,} test rows" if n else f"{c['name']} is simpler and too close to call")
    else:
        close = (f"but it is not shown within {mm} of the more complex {c['name']} "
                 f"({span} for {c['name']}): too close to call"
                 + (f" on {n:,} test rows" if n else ""))
    # rows where exactly one of the two is right: a classification count (a regression pair has no McNemar)
    paired_right = (next(r for r in order if r["name"] == c["name"])["vs_best_passing"] or {}).get("mcnemar_p") \
        is not None if c["simpler"] else False
    disc = (f" (one is right and the other wrong on {c['discordant']} of them)"
            if c.get("discordant") is not None and c["simpler"] and paired_right else "")
    choice["role"] = "leading (best)" if choice is best else "leading"
    result.update(verdict=TOO_CLOSE, reason=f"{lead} leads: {why}; {close}{disc}; {_rows_text(c.get('rows_to_settle'), n)}")


def _decide_bar(result: dict[str, Any], rows: list[dict[str, Any]], passing: list[dict[str, Any]],
                best: dict[str, Any], pairwise: dict[str, Any], bar: Bar) -> None:
    """A metric bar: the simplest candidate that clears every bar (dominance aside)."""
    mname, o, limit = metric_name(bar.metric), bar.orient, bar.metric_limit
    lower = " (lower is better)" if o.lower else ""
    order = sorted(passing, key=lambda r: (r["simplicity"], -o.up(r["metric"]), r["name"]))
    choice = next((r for r in order if not r["dominated_by"]), best)
    choice["role"] = "chosen" if choice is not best else "chosen (best passing)"
    lo, hi = choice["ci"] or (choice["metric"], choice["metric"])
    why = (f"{choice['name']} is the simplest candidate that clears every bar: {mname} {o.num(choice['metric'])}, "
           f"95% CI [{o.num(lo)}, {o.num(hi)}] {o.clears} {limit:g}{lower}")
    skipped = [r["name"] for r in order[:order.index(choice)] if r["dominated_by"]]
    if skipped:
        why += f" ({', '.join(skipped)} clear it too but are worse, dearer and slower than another)"
    if choice is not best:
        v = _versus(pairwise, best, choice, bar.margin, o)
        extra = {"candidate": best["name"], "metric": best["metric"]}
        if v is not None:
            extra.update(difference=v["difference"], ci=v["ci"])
        if best.get("per_1k") is not None and choice.get("per_1k") is not None:
            extra["per_1k_delta"] = best["per_1k"] - choice["per_1k"]
        if best.get("p95") is not None and choice.get("p95") is not None:
            extra["p95_delta_ms"] = best["p95"] - choice["p95"]
        result["extra"] = extra
        if "difference" in extra:
            buys = (f"{best['name']} would change {mname} by {o.diff(extra['difference'])}" if o.lower else
                    f"{best['name']} would add {extra['difference']:+.3f} {mname}")
        else:
            buys = f"{best['name']} scores {o.num(best['metric'])}"
        if "ci" in extra:
            buys += f" [{o.diff(extra['ci'][0])}, {o.diff(extra['ci'][1])}]"
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
        why += (f"; the simpler {r['name']} is borderline ({mname} {o.num(r['metric'])}, 95% CI "
                f"[{o.num(r['ci'][0])}, {o.num(r['ci'][1])}] straddles {limit:g}): "
                + _rows_text(rows_to_settle(n, r["metric"], r["ci"], limit), n))
    result.update(verdict=ADOPT, choice=choice["name"], best_passing=best["name"], settled=True, reason=why)


def _decide_borderline(result: dict[str, Any], borderline: list[dict[str, Any]], bar: Bar) -> None:
    """No candidate clears the metric bar, but at least one CI straddles it: more test rows can settle it."""
    mname, o, limit = metric_name(bar.metric), bar.orient, bar.metric_limit
    lower = " (lower is better)" if o.lower else ""
    above = [r for r in borderline if o.up(r["metric"]) >= o.up(limit)]   # the point estimate on the bar's good side
    lead = above[0] if above else max(borderline, key=lambda r: o.up(r["metric"]))  # rows are in simplicity order
    lead["role"] = "borderline"
    n = lead.get("n")
    need = rows_to_settle(n, lead["metric"], lead["ci"], limit)
    lo, hi = lead["ci"]
    why = (f"no candidate clears the bar with confidence; {lead['name']} is borderline: {mname} "
           f"{o.num(lead['metric'])}, 95% CI [{o.num(lo)}, {o.num(hi)}] straddles {limit:g}{lower}; "
           f"{_rows_text(need, n)}")
    result["contenders"] = [{"name": r["name"], "against": f"bar {limit:g}", "difference": r["metric"] - limit,
                             "ci": r["ci"], "n": r.get("n"),
                             "rows_to_settle": rows_to_settle(r.get("n"), r["metric"], r["ci"], limit)}
                            for r in borderline]
    result.update(verdict=TOO_CLOSE, choice=lead["name"], settled=False, reason=why)


def _decide_pivot(result: dict[str, Any], rows: list[dict[str, Any]], bar: Bar,
                  learning_curve: dict[str, Any] | None) -> None:
    """Nothing clears the bar: name the nearest miss and why, in one sentence."""
    mname, o, limit = metric_name(bar.metric), bar.orient, bar.metric_limit
    pool = [r for r in rows if r["simplicity"] > 0] or rows   # the floor is a reference, not a near miss
    near = min(pool, key=lambda r: (r["shortfall"], -o.up(r["metric"]), r["simplicity"]))
    near["role"] = "nearest miss"
    misses = [f"{_fmt(k, c['value'], bar.metric, o)} {_limit(k, c)}" for k, c in near["checks"].items()
              if not c["pass"]]
    reason = f"no candidate clears every bar; the nearest miss is {near['name']}: " + ", ".join(misses)
    metric_missed = "metric" in near["checks"] and not near["checks"]["metric"]["pass"]
    if metric_missed and near["ci"] is not None and o.up_ci(near["ci"])[1] >= o.up(limit):
        reason += " (its 95% CI reaches the bar, so a larger test set might still clear it)"
    best_metric = max(rows, key=lambda r: o.up(r["metric"]))
    if metric_missed and best_metric is not near:
        best_word = "the best (lowest)" if o.lower else "the best"
        reason += f"; {best_word} {mname} overall is {best_metric['name']} ({o.num(best_metric['metric'])})"
    if metric_missed and learning_curve:
        prefer = near["name"] if near["name"] in (learning_curve.get("adapters") or {}) else None
        advice = curve_advice(learning_curve, bar.metric, target=limit, prefer=prefer, bar=bar)
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
    o = bar.orient
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
    if f is not None and o.up_ci(f["ci"])[0] <= 0:
        result["warnings"].append(f"{choice['name']} is not significantly better than the floor "
                                  f"{floor['name']} ({metric_name(bar.metric)} {o.num(floor['metric'])})")


def _slope(points: list[dict[str, Any]], metric: str) -> float:
    """Least-squares change in the metric per doubling of train over the last three points."""
    pts = points[-3:]
    xs = [math.log2(p["fraction"]) for p in pts]
    ys = [p[metric] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def curve_trend(points: list[dict[str, Any]], metric: str, bar: Bar | None = None) -> dict[str, Any] | None:
    """Whether one adapter's learning curve is still rising (improving): change per doubling of the train set.

    ``gain_per_doubling`` is in the metric's own units (negative for an improving RMSE); with a lower-is-better
    ``bar`` a curve counts as rising when it falls by at least ``bar.flat_below`` per doubling.
    """
    pts = sorted((p for p in points if p.get(metric) is not None and p.get("fraction")), key=lambda p: p["fraction"])
    if len(pts) < 2:
        return None
    slope = _slope(pts, metric)
    o = bar.orient if bar is not None else Orient()
    flat = bar.flat_below if bar is not None else RISING_PER_DOUBLING
    return {"rising": o.up(slope) >= flat, "gain_per_doubling": slope, "first": pts[0], "last": pts[-1],
            "points": len(pts)}


def curve_advice(curve: dict[str, Any], metric: str, target: float | None = None,
                 prefer: str | None = None, bar: Bar | None = None) -> dict[str, Any] | None:
    """From a learning curve: still rising → collect more labels (and roughly how many); flat → change the approach.

    Reads the curve of ``prefer`` when given, else of the adapter with the best metric at full size. ``bar`` gives
    the direction (lower is better: "rising" means improving, i.e. the error falling) and the number format.
    """
    o = bar.orient if bar is not None else Orient()
    trends = {}
    for name, pts in (curve.get("adapters") or {}).items():
        t = curve_trend(pts, metric, bar)
        if t is not None:
            trends[name] = t
    if not trends:
        return None
    name = prefer if prefer in trends else max(trends, key=lambda n: o.up(trends[n]["last"][metric]))
    t = trends[name]
    first, last, g = t["first"], t["last"], t["gain_per_doubling"]
    mname = metric_name(metric)
    span = (f"{o.num(first[metric])} at {first['fraction']:.0%} → {o.num(last[metric])} at {last['fraction']:.0%} "
            "of train")
    out = {"adapter": name, "trend": "rising" if t["rising"] else "flat", "gain_per_doubling": g,
           "label_factor": None}
    if t["rising"]:
        if o.lower:
            text = (f"the learning curve of {name} is still improving ({o.diff(g)} {mname} per doubling of train, "
                    f"lower being better; {span})")
        else:
            text = f"the learning curve of {name} is still rising (+{g:.3f} {mname} per doubling of train; {span})"
        if target is not None and o.better(target, last[metric]):
            factor = 2 ** ((o.up(target) - o.up(last[metric])) / o.up(g))
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
        g_text = o.diff(g) if o.lower else f"{g:+.3f}"
        text = (f"the learning curve of {name} is flat ({g_text} {mname} per doubling of train; {span}): "
                "more labels of this kind will not close the gap; change the approach")
    out["text"] = text
    return out


def pivot_advice(curve: dict[str, Any], metric: str, target: float | None = None,
                 prefer: str | None = None, bar: Bar | None = None) -> str | None:
    """The learning-curve advice as one clause (``None`` without a usable curve)."""
    a = curve_advice(curve, metric, target, prefer, bar)
    return a["text"] if a else None
