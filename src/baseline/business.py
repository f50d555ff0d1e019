"""The business case per candidate: how much of the work it takes off people, what that saves a month,
and when the one-off cost is paid back — each with a bootstrap interval.

The user states what an item is worth: the cost of handling one item by hand (``manual_cost_per_item``),
the cost of one wrong automatic decision (``error_cost``), the monthly volume, and optionally a precision
target for automation. Pure functions over predictions.csv and results.json; nothing here runs a model.

The arithmetic, for a test set of ``n`` rows, a monthly volume ``V``, manual cost ``m``, error cost ``e``:

- a candidate *automates* an item when it answers it with a score at or above its threshold (candidates
  without scores: every answered item — full coverage at the measured error rate);
- items the service never answered (item errors) are not abstentions: the case is valued on the answered
  items (``n`` is their count) and the unanswered are counted apart, with a note;
- the value of an automated item is ``m`` (the manual work avoided) minus ``e`` when it is wrong;
  items not automated go to people exactly as today (value 0);
- monthly saving = V × (Σ value of automated test items) / n − running cost, where the running cost is
  the candidate's cost per 1,000 predictions × V / 1,000 (it scores every item, automated or not);
- break-even = one-off cost / monthly saving (0 when there is no one-off cost; never when the saving is
  not positive).

Regression (numbers, not decisions): ``--error-cost`` is USD per unit of absolute error in the target's units. The
monthly error cost is V × MAE × e (on the share of rows answered), with MAE's bootstrap interval from the leaderboard;
plus the running cost; with ``--manual-cost-per-item`` the saving against doing the items by hand (V × m − error cost
− running cost) and the months to break even (``value_regression``).

The threshold: with a precision target, the lowest score cut whose automated items keep at least that
precision (the coverage-vs-precision curve); without one, the cut with the highest saving. It is read
off the test set itself, so the point figures are optimistic; the interval resamples the test rows at
that fixed threshold (``metrics.bootstrap_weights``' resamples, a chunk at a time: ``resampler``), so it shows
sampling noise, not the selection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.metrics import bootstrap_chunks, percentile_ci

FLAGS = {"manual_cost_per_item": "--manual-cost-per-item", "error_cost": "--error-cost",
         "monthly_volume": "--monthly-volume"}
REGRESSION_FLAGS = {"error_cost": "--error-cost", "monthly_volume": "--monthly-volume"}  # manual cost optional


@dataclass
class ValueInputs:
    """What an item is worth to the user; ``None`` = not given."""

    manual_cost_per_item: float | None = None
    error_cost: float | None = None
    monthly_volume: int | None = None
    precision_target: float | None = None

    def missing(self, regression: bool = False) -> list[str]:
        """The flags still needed for a business case (regression: the manual cost is optional)."""
        return [flag for key, flag in (REGRESSION_FLAGS if regression else FLAGS).items() if getattr(self, key) is None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def choose_cut(scores: np.ndarray, correct: np.ndarray, manual: float, error: float,
               target: float | None) -> tuple[int, float | None]:
    """How many of the score-sorted items to automate, and the score threshold there.

    ``scores``/``correct`` are sorted by descending score. Only cuts between different scores count
    (a threshold cannot split a tie). With a ``target``: the deepest cut whose precision is ≥ target;
    without: the cut with the largest total value (k × manual − wrong × error); 0 when nothing pays.
    """
    n = len(scores)
    if n == 0:
        return 0, None
    k = np.arange(1, n + 1)
    cuts = np.flatnonzero(np.r_[scores[1:] < scores[:-1], True])
    if target is not None:
        prec = np.cumsum(correct) / k
        good = cuts[prec[cuts] >= target - 1e-12]
        if not good.size:
            return 0, None
        j = int(good.max())
    else:
        value = k * manual - np.cumsum(~correct) * error
        j = int(cuts[np.argmax(value[cuts])])
        if value[j] <= 0:
            return 0, None
    return j + 1, float(scores[j])


def _ci(samples: np.ndarray) -> list[float]:
    lo, hi = percentile_ci(samples)
    return [lo, hi]


# per-row values (n × v) → their sums on every bootstrap resample (B × v)
Resample = Callable[[np.ndarray], np.ndarray]


def resampler(n: int, resamples: int, seed: int) -> Resample:
    """Sums of per-row values on every bootstrap resample of n rows, a chunk of resamples at a time: the resamples of
    ``metrics.bootstrap_weights(n, resamples, seed)`` without ever holding its B × n matrix (4 GB at 500k test
    rows)."""
    def sums(values: np.ndarray) -> np.ndarray:
        out = np.empty((resamples, values.shape[1]))
        for start, w in bootstrap_chunks(n, resamples, seed):
            out[start:start + w.shape[0]] = w @ values
        return out

    return sums


def value_candidate(truth: list[str], preds: list[str | None], scores: list[float | None] | None,
                    inputs: ValueInputs, per_1k_usd: float | None, one_off_usd: float | None,
                    weights: np.ndarray | Resample, unanswered: np.ndarray | None = None) -> dict[str, Any]:
    """The business case of one candidate on its answered test rows (``unanswered``: item errors); ``weights``: the
    B × n resample weights, or a ``resampler`` of them."""
    notes: list[str] = []
    resample: Resample = weights.__matmul__ if isinstance(weights, np.ndarray) else weights
    n_all = len(truth)
    miss = np.zeros(n_all, dtype=bool) if unanswered is None else np.asarray(unanswered, dtype=bool)
    keep = ~miss
    if miss.any():
        notes.append(f"{int(miss.sum()):,} of {len(truth):,} test items went unanswered (item errors, not abstentions): "
                     f"valued on the {int(keep.sum()):,} answered; rerun or --resume the run to answer them")
        truth = list(np.asarray(truth, dtype=object)[keep])
        preds = list(np.asarray(preds, dtype=object)[keep])
        scores = None if scores is None else list(np.asarray(scores, dtype=float)[keep])
    n = len(truth)
    m, e, vol = float(inputs.manual_cost_per_item), float(inputs.error_cost), int(inputs.monthly_volume)
    p = np.asarray(preds, dtype=object)
    answered = pd.notna(p)
    correct = answered & (p == np.asarray(truth, dtype=object))
    s = None
    if scores is not None:
        s = np.asarray(scores, dtype=float)  # None → NaN
        if not (~np.isnan(s) & answered).any():
            s = None
    if s is not None:
        how = "scores"
        ok = np.flatnonzero(~np.isnan(s) & answered)
        order = ok[np.argsort(-s[ok], kind="stable")]
        k, thr = choose_cut(s[order], correct[order], m, e, inputs.precision_target)
        auto = np.zeros(n, dtype=bool)
        auto[order[:k]] = True
        if k == 0:
            notes.append("no score threshold " + (f"keeps ≥{inputs.precision_target:.0%} precision"
                                                  if inputs.precision_target is not None else "pays") +
                         ": nothing is automated")
    else:
        how = "full coverage (no scores)"
        thr = None
        auto = answered.copy()
        full_prec = correct[answered].mean() if answered.any() else 0.0
        notes.append("gives no scores: valued at full coverage with its measured error rate")
        if inputs.precision_target is not None and full_prec < inputs.precision_target:
            auto[:] = False
            notes.append(f"its precision {full_prec:.3f} is below the {inputs.precision_target:.0%} target: "
                         "nothing is automated")
    item_value = np.where(auto, m - np.where(correct, 0.0, e), 0.0)
    running = (per_1k_usd or 0.0) * vol / 1000.0
    if per_1k_usd is None:
        notes.append("running cost unknown: counted as $0")
    one_off = float(one_off_usd or 0.0)

    def saving_of(total_value: np.ndarray | float, rows: np.ndarray | float) -> np.ndarray | float:
        return vol * total_value / rows - running

    saving = float(saving_of(item_value.sum(), n))
    # per resample: answered rows drawn (n for every resample of the whole test set; it varies over the answered
    # subset), automated rows, automated wrong rows, total item value; unanswered rows count nowhere
    values = np.zeros((n_all, 4))
    values[keep] = np.column_stack([np.ones(n), auto, auto & ~correct, item_value])
    sums = resample(values)
    b_rows = np.maximum(sums[:, 0], 1.0)
    w_auto, w_wrong = sums[:, 1], sums[:, 2]
    b_saving = saving_of(sums[:, 3], b_rows)
    b_cov = w_auto / b_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        b_prec = np.where(w_auto > 0, 1 - w_wrong / w_auto, np.nan)
    saving_ci = _ci(b_saving)
    cov = float(auto.mean())
    prec = float(correct[auto].mean()) if auto.any() else None
    prec_ok = b_prec[~np.isnan(b_prec)]
    out: dict[str, Any] = {
        "valued_by": how, "threshold": thr, "automated_share": cov, "automated_share_ci": _ci(b_cov),
        "automated_items_per_month": cov * vol,
        "precision_automated": prec, "precision_automated_ci": _ci(prec_ok) if prec_ok.size and prec is not None else None,
        "errors_per_month": float((auto & ~correct).mean() * vol),
        "manual_saved_usd": float(cov * vol * m), "error_cost_usd": float((auto & ~correct).mean() * vol * e),
        "running_usd": running, "monthly_saving_usd": saving, "monthly_saving_ci": saving_ci,
        "one_off_usd": one_off, "notes": notes, "answered": n, "unanswered": int(miss.sum()),
    }
    out.update(break_even(one_off, saving, saving_ci))
    return out


def break_even(one_off: float, saving: float, saving_ci: list[float]) -> dict[str, Any]:
    """Months to pay back the one-off cost, with the interval mapped from the saving's (None = never)."""
    def months(s: float) -> float | None:
        if one_off <= 0:
            return 0.0 if s > 0 else None
        return one_off / s if s > 0 else None

    lo_s, hi_s = saving_ci
    return {"break_even_months": months(saving),
            "break_even_ci": [months(hi_s), months(lo_s)],   # more saving, sooner; None at the top = may never
            "pays_back": saving > 0, "pays_back_surely": lo_s > 0}


def business_case(results: dict[str, Any], run_dir: str | Path, inputs: ValueInputs,
                  resamples: int = 1000, seed: int = 42) -> dict[str, Any]:
    """The business case of every scored candidate, or the flags that would produce it."""
    from baseline.analysis import (
        _score_array,
        is_regression,
        label_array,
        load_predictions,
        scored_names,
        unanswered_of,
    )

    if is_regression(results):
        return regression_case(results, inputs)
    base: dict[str, Any] = {"inputs": inputs.to_json(), "missing": inputs.missing(), "rows": [],
                            "choice": (results.get("decision") or {}).get("choice")}
    if base["missing"]:
        return base
    df = load_predictions(run_dir)
    if df is None:
        base["missing"] = ["predictions.csv"]
        return base
    by = {a["name"]: a for a in results.get("adapters", [])}
    truth = df["label"].astype(str).to_numpy(dtype=object)
    weights = resampler(len(truth), resamples, seed)
    for name in scored_names(results):
        if name not in df.columns:
            continue
        col = f"{name}:score"
        sc = _score_array(df[col]) if col in df.columns else None
        cost = by[name].get("cost") or {}
        row = value_candidate(truth, label_array(df[name]), sc, inputs, cost.get("per_1k_usd"), cost.get("one_off_usd"),
                              weights, unanswered_of(df, name))
        row["name"] = name
        base["rows"].append(row)
    base["rows"].sort(key=lambda r: -r["monthly_saving_usd"])
    base["best_value"] = base["rows"][0]["name"] if base["rows"] else None
    base["resamples"] = resamples
    base["assumptions"] = assumptions(inputs)
    return base


def assumptions(inputs: ValueInputs) -> list[str]:
    """The assumptions behind every figure, printed beside them."""
    t = inputs.precision_target
    return [
        f"handling one item by hand costs ${inputs.manual_cost_per_item:,.4g}; one wrong automatic decision costs "
        f"${inputs.error_cost:,.4g}; {inputs.monthly_volume:,} items a month",
        "items the candidate does not decide go to people exactly as today; people's own errors are not counted",
        ("the score threshold is the lowest that keeps the automated items at ≥" + f"{t:.0%} precision"
         if t is not None else "the score threshold is the one with the highest saving (no --precision-target)"),
        "the threshold is read off this test set, so the point figures are optimistic; intervals (95%, bootstrap "
        "over test rows at that threshold) show sampling noise, not the choice of threshold",
        "running cost = measured cost per 1,000 predictions × the monthly volume (every item is scored); one-off = "
        "training/setup measured in this run; neither includes engineering time or hosting beyond it",
        "the test set's class mix and difficulty are taken to match production traffic",
    ]


# ---- regression: the cost of errors in the user's units ---------------------------------------------------------

def value_regression(name: str, metrics: dict[str, Any], inputs: ValueInputs, per_1k_usd: float | None,
                     one_off_usd: float | None) -> dict[str, Any]:
    """The business case of one regression candidate, from its MAE and MAE's bootstrap CI.

    With volume ``V``, error cost ``e`` (USD per unit of absolute error), the share of rows answered ``c`` and manual
    cost ``m``: error cost = V × c × MAE × e (interval: MAE's CI × V × c × e); running = cost per 1k × V / 1,000;
    with ``m``: saving = V × c × m − error cost − running (the answered items are no longer done by hand; abstentions
    still are), break-even = one-off / saving.
    """
    notes: list[str] = []
    vol, e = int(inputs.monthly_volume), float(inputs.error_cost)
    mae = metrics.get("mae")
    cov = float(metrics.get("coverage") if metrics.get("coverage") is not None else 1.0)
    if mae is None:
        return {"name": name, "kind": "regression", "mae": None, "notes": ["answered no row: no error figure"],
                "monthly_cost_usd": None, "monthly_saving_usd": None}
    ci = (metrics.get("ci") or {}).get("mae")
    if not ci:
        ci = [mae, mae]
        notes.append("MAE has no interval (too few rows): the point figure is used for both ends")
    if cov < 1:
        notes.append(f"answers {cov:.1%} of rows: the error cost is on those; the rest go to people"
                     + ("" if inputs.manual_cost_per_item is not None else " (not priced without --manual-cost-per-item)"))
    answered = vol * cov
    err = answered * mae * e
    err_ci = [answered * ci[0] * e, answered * ci[1] * e]
    running = (per_1k_usd or 0.0) * vol / 1000.0
    if per_1k_usd is None:
        notes.append("running cost unknown: counted as $0")
    one_off = float(one_off_usd or 0.0)
    out: dict[str, Any] = {
        "name": name, "kind": "regression", "valued_by": "MAE × error cost", "mae": float(mae), "mae_ci": list(ci),
        "coverage": cov, "predictions_per_month": vol, "answered_per_month": answered,
        "error_cost_usd": err, "error_cost_ci": err_ci, "running_usd": running,
        "monthly_cost_usd": err + running, "monthly_cost_ci": [err_ci[0] + running, err_ci[1] + running],
        "one_off_usd": one_off, "manual_usd": None, "monthly_saving_usd": None, "monthly_saving_ci": None,
        "break_even_months": None, "break_even_ci": None, "pays_back": None, "pays_back_surely": None, "notes": notes,
    }
    if inputs.manual_cost_per_item is not None:
        m = float(inputs.manual_cost_per_item)
        avoided = answered * m
        saving = avoided - err - running
        saving_ci = [avoided - err_ci[1] - running, avoided - err_ci[0] - running]
        out.update({"manual_usd": vol * m, "manual_avoided_usd": avoided, "monthly_saving_usd": saving,
                    "monthly_saving_ci": saving_ci})
        out.update(break_even(one_off, saving, saving_ci))
    return out


def regression_case(results: dict[str, Any], inputs: ValueInputs) -> dict[str, Any]:
    """The business case of every scored regression candidate, or the flags that would produce it."""
    from baseline.analysis import scored_names

    base: dict[str, Any] = {"kind": "regression", "inputs": inputs.to_json(), "missing": inputs.missing(regression=True),
                            "rows": [], "choice": (results.get("decision") or {}).get("choice"),
                            "target": (results.get("dataset") or {}).get("label_col")}
    if base["missing"]:
        return base
    by = {a["name"]: a for a in results.get("adapters", [])}
    for name in scored_names(results):
        cost = by[name].get("cost") or {}
        row = value_regression(name, by[name]["metrics"], inputs, cost.get("per_1k_usd"), cost.get("one_off_usd"))
        if row.get("mae") is not None:
            base["rows"].append(row)
    if inputs.manual_cost_per_item is not None:
        base["rows"].sort(key=lambda r: -r["monthly_saving_usd"])
    else:
        base["rows"].sort(key=lambda r: r["monthly_cost_usd"])
    base["best_value"] = base["rows"][0]["name"] if base["rows"] else None
    base["assumptions"] = regression_assumptions(inputs, base["target"])
    return base


def regression_assumptions(inputs: ValueInputs, target: str | None) -> list[str]:
    """The assumptions behind a regression business case, one line each."""
    unit = f"unit of absolute error in {target}" if target else "unit of absolute error in the target"
    m = inputs.manual_cost_per_item
    out = [
        f"every {unit} costs ${inputs.error_cost:,.4g} (--error-cost), too high and too low alike, "
        f"in proportion to its size; {inputs.monthly_volume:,} predictions a month",
        "monthly error cost = predictions a month × MAE × error cost; its 95% interval is MAE's bootstrap interval "
        "over the test rows (the leaderboard's) times the same factors",
        "running cost = measured cost per 1,000 predictions × the monthly volume; one-off = training/setup measured "
        "in this run; neither includes engineering time or hosting beyond it",
        "the test rows' target distribution and difficulty are taken to match production traffic",
    ]
    if m is not None:
        out += [f"doing it by hand costs ${m:,.4g} an item and is taken as exact (people's own errors are not counted); "
                "saving = predictions a month × manual cost − error cost − running cost",
                "break-even = one-off cost ÷ monthly saving (now without a one-off cost; never when the saving is not "
                "positive)",
                "rows a candidate does not answer go to people at the manual cost"]
    else:
        out.append("no --manual-cost-per-item: no saving against doing it by hand and no break-even; rows a candidate "
                   "does not answer carry no cost here")
    return out


def fmt_months(v: float | None) -> str:
    """Break-even months for people: 'now', '< 0.1', '3.2', 'never'."""
    if v is None or (isinstance(v, float) and math.isinf(v)):
        return "never"
    if v == 0:
        return "now"
    if v < 0.1:
        return "< 0.1"
    return f"{v:,.1f}"
