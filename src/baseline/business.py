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

The threshold: with a precision target, the lowest score cut whose automated items keep at least that
precision (the coverage-vs-precision curve); without one, the cut with the highest saving. It is read
off the test set itself, so the point figures are optimistic; the interval resamples the test rows at
that fixed threshold (``metrics.bootstrap_weights``), so it shows sampling noise, not the selection.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.metrics import bootstrap_weights, percentile_ci

FLAGS = {"manual_cost_per_item": "--manual-cost-per-item", "error_cost": "--error-cost",
         "monthly_volume": "--monthly-volume"}


@dataclass
class ValueInputs:
    """What an item is worth to the user; ``None`` = not given."""

    manual_cost_per_item: float | None = None
    error_cost: float | None = None
    monthly_volume: int | None = None
    precision_target: float | None = None

    def missing(self) -> list[str]:
        """The flags still needed for a business case."""
        return [flag for key, flag in FLAGS.items() if getattr(self, key) is None]

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


def value_candidate(truth: list[str], preds: list[str | None], scores: list[float | None] | None,
                    inputs: ValueInputs, per_1k_usd: float | None, one_off_usd: float | None,
                    weights: np.ndarray, unanswered: np.ndarray | None = None) -> dict[str, Any]:
    """The business case of one candidate on its answered test rows (``unanswered``: item errors); ``weights``: B × n."""
    notes: list[str] = []
    miss = np.zeros(len(truth), dtype=bool) if unanswered is None else np.asarray(unanswered, dtype=bool)
    if miss.any():
        keep = ~miss
        notes.append(f"{int(miss.sum()):,} of {len(truth):,} test items went unanswered (item errors, not abstentions): "
                     f"valued on the {int(keep.sum()):,} answered; rerun or --resume the run to answer them")
        truth = list(np.asarray(truth, dtype=object)[keep])
        preds = list(np.asarray(preds, dtype=object)[keep])
        scores = None if scores is None else list(np.asarray(scores, dtype=float)[keep])
        weights = weights[:, keep]
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
    # rows drawn per resample: n for every resample of the whole test set; it varies over the answered subset
    b_rows = np.maximum(weights.sum(axis=1), 1.0)
    w_auto = weights @ auto.astype(float)                      # automated rows per resample
    w_wrong = weights @ (auto & ~correct).astype(float)
    b_saving = saving_of(weights @ item_value, b_rows)
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
    from baseline.report.analysis import (
        _label_array,
        _score_array,
        load_predictions,
        scored_names,
        unanswered_of,
    )

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
    weights = bootstrap_weights(len(truth), resamples, seed)
    for name in scored_names(results):
        if name not in df.columns:
            continue
        col = f"{name}:score"
        sc = _score_array(df[col]) if col in df.columns else None
        cost = by[name].get("cost") or {}
        row = value_candidate(truth, _label_array(df[name]), sc, inputs, cost.get("per_1k_usd"), cost.get("one_off_usd"),
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


def fmt_months(v: float | None) -> str:
    """Break-even months for people: 'now', '< 0.1', '3.2', 'never'."""
    if v is None or (isinstance(v, float) and math.isinf(v)):
        return "never"
    if v == 0:
        return "now"
    if v < 0.1:
        return "< 0.1"
    return f"{v:,.1f}"
