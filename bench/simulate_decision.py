"""The decision rule's error rates, by simulation: how often it adopts what it should not, and vice versa.

Each simulated run draws a test set of n rows with balanced classes and paired predictions from two
candidates whose true accuracy is known; errors go uniformly to the other classes, so the true
macro-F1 equals the true accuracy. The two candidates share row difficulty (correlation ``rho``), as
real models do, so they disagree on roughly 10% of rows. The real scoring and decision code then
decides, on that test set:

- ``worse``:  the simpler candidate is truly worse than the best by 2× the margin → adopted rate (≤ 5%).
- ``equal``:  the simpler candidate is truly as good as the best → adopted rate (≥ 80% from some size on).
- ``below``:  one candidate whose true metric sits just below the user's bar → declared clear (≤ 5%).
- ``at``:     the same at exactly the bar (the worst case for a false "clear").

Regression (``--regression``): a numeric target (mean 100, standard deviation 10) and two candidates whose
errors are correlated (``rho``) with known true RMSE; the best's true RMSE is half the target's standard
deviation (R² 0.75). The margin is the rule's regression default, 2% of the test target's standard
deviation (``decide.regression_margin``, from each simulated test set), scored by the real regression scorer
(``evaluate_regression``) and decided by the real rule with ``lower_is_better``:

- ``at margin``: the simpler candidate's true RMSE is exactly the margin above the best's: the boundary, where a
  "shown within the margin" is wrong and the nominal rate of that error is 2.5% (the CI's one end).
- ``worse``:  2× the margin above → adopted rate (≤ 2.5%).
- ``equal``:  the same true RMSE → adopted rate (the power; it grows with the test set).
- ``above`` / ``at``: one candidate whose true RMSE is 1% above / exactly at a ``--max-rmse`` bar → declared clear.

``--tails t5`` draws the errors from a Student t with 5 degrees of freedom (heavy tails, as real residuals
often are) instead of a normal; ``t4`` and below have no finite fourth moment, so no bootstrap CI of an RMSE
can be trusted there.

    python bench/simulate_decision.py                       # 500 runs per cell, 1,000 resamples
    python bench/simulate_decision.py --runs 200 --sizes 100,1000,5000
    python bench/simulate_decision.py --regression          # the same table for RMSE
    python bench/simulate_decision.py --regression --tails t5
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from baseline.decide import ADOPT, DEFAULT_MARGIN, Bar, decide, task_bar
from baseline.metrics import evaluate
from baseline.tasks.regression_metrics import evaluate_regression
from baseline.tasks.rows import encode_number

LABELS = ["a", "b", "c"]
SIZES = (100, 300, 1000, 2000, 5000)


def paired_predictions(n: int, p_simple: float, p_best: float, rho: float, rng: np.random.Generator
                       ) -> tuple[list[str], list[str], list[str]]:
    """Truth and two candidates' predictions with known accuracies and shared row difficulty."""
    k = len(LABELS)
    truth = rng.integers(0, k, n)
    u = rng.random(n)
    shared = rng.random(n) < rho
    v = np.where(shared, u, rng.random(n))
    best_ok, simple_ok = u < p_best, v < p_simple

    def predict(ok: np.ndarray) -> np.ndarray:
        wrong = (truth + rng.integers(1, k, n)) % k   # uniformly one of the other classes
        return np.where(ok, truth, wrong)

    lab = np.array(LABELS)
    return lab[truth].tolist(), lab[predict(simple_ok)].tolist(), lab[predict(best_ok)].tolist()


def _candidate(name: str, rank: int, metrics: dict[str, Any], p95: float, per_1k: float) -> dict[str, Any]:
    return {"name": name, "family": "sim", "simplicity": rank, "status": "ok", "metrics": metrics,
            "timing": {"item_latency_ms": {"p95": p95}}, "cost": {"per_1k_usd": per_1k, "one_off_usd": 0.0}}


def relative_run(n: int, p_simple: float, p_best: float, margin: float, resamples: int, seed: int,
                 rho: float = 0.7) -> dict[str, Any]:
    """One run of the no-bar rule: the simpler (cheaper, faster) candidate against a more complex one."""
    rng = np.random.default_rng(seed)
    truth, simple, best = paired_predictions(n, p_simple, p_best, rho, rng)
    ev = evaluate(LABELS, truth, {"simple": simple, "complex": best}, resamples=resamples, seed=seed)
    adapters = [_candidate("simple", 10, ev.metrics["simple"], 50.0, 0.5),
                _candidate("complex", 60, ev.metrics["complex"], 80.0, 1.0)]
    return decide(adapters, ev.pairwise, Bar(margin=margin))


def bar_run(n: int, p: float, bar: float, resamples: int, seed: int) -> dict[str, Any]:
    """One run of the bar rule with a single candidate of true metric ``p``."""
    rng = np.random.default_rng(seed)
    truth, pred, _ = paired_predictions(n, p, p, 1.0, rng)
    ev = evaluate(LABELS, truth, {"x": pred}, resamples=resamples, seed=seed)
    return decide([_candidate("x", 40, ev.metrics["x"], 5.0, 0.1)], ev.pairwise, Bar(min_metric=bar))


def rates(sizes: tuple[int, ...], runs: int, resamples: int, margin: float = DEFAULT_MARGIN, p: float = 0.8,
          seed0: int = 0) -> list[dict[str, Any]]:
    """Per test size: adopted-when-worse, adopted-when-equal, clear-when-below and clear-at-the-bar rates."""
    out = []
    for n in sizes:
        worse = equal = below = at = 0
        for i in range(runs):
            s = seed0 + i * 7919 + n
            d = relative_run(n, p - 2 * margin, p, margin, resamples, s)
            worse += d["verdict"] == ADOPT and d["choice"] == "simple"
            d = relative_run(n, p, p, margin, resamples, s + 1)
            equal += d["verdict"] == ADOPT and d["choice"] == "simple"
            d = bar_run(n, p - 0.01, p, resamples, s + 2)
            below += d["candidates"][0]["checks"]["metric"]["pass"]
            d = bar_run(n, p, p, resamples, s + 3)
            at += d["candidates"][0]["checks"]["metric"]["pass"]
        out.append({"n": n, "runs": runs, "adopt_worse": worse / runs, "adopt_equal": equal / runs,
                    "clear_below": below / runs, "clear_at_bar": at / runs})
    return out


# ---- regression: RMSE, lower is better, the margin a share of the test target's standard deviation ----------------

Y_MEAN, Y_SD = 100.0, 10.0
LOWER = frozenset({"rmse", "mae", "mape"})   # TabularRegression.lower_is_better


def _noise(n: int, tails: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance errors: ``normal``, or ``t<df>``, a Student t with df > 2 degrees of freedom (heavy tails)."""
    if tails == "normal":
        return rng.standard_normal(n)
    df = float(tails[1:])
    return rng.standard_t(df, n) / np.sqrt(df / (df - 2))


def regression_predictions(n: int, rmse_simple: float, rmse_best: float, rho: float, rng: np.random.Generator,
                           tails: str = "normal") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth and two candidates' predictions whose errors have true RMSE ``rmse_simple`` and ``rmse_best`` and
    correlation ``rho`` (they find the same rows hard)."""
    y = Y_MEAN + Y_SD * rng.standard_normal(n)
    z1, z2 = _noise(n, tails, rng), _noise(n, tails, rng)
    e_best = rmse_best * z1
    e_simple = rmse_simple * (rho * z1 + np.sqrt(1 - rho ** 2) * z2)
    return y, y - e_simple, y - e_best


def _strings(a: np.ndarray) -> list[str | None]:
    return [encode_number(float(x)) for x in a]


def regression_relative_run(n: int, rmse_simple: float, rmse_best: float, resamples: int, seed: int,
                            rho: float = 0.8, tails: str = "normal") -> dict[str, Any]:
    """One run of the no-bar rule on RMSE, the margin the regression default from this test set's target."""
    rng = np.random.default_rng(seed)
    y, simple, best = regression_predictions(n, rmse_simple, rmse_best, rho, rng, tails)
    ev = evaluate_regression(_strings(y), {"simple": _strings(simple), "complex": _strings(best)},
                             headline="rmse", resamples=resamples, seed=seed)
    adapters = [_candidate("simple", 10, ev.metrics["simple"], 50.0, 0.5),
                _candidate("complex", 60, ev.metrics["complex"], 80.0, 1.0)]
    return decide(adapters, ev.pairwise, task_bar(Bar(metric="rmse"), LOWER, y))


def regression_bar_run(n: int, rmse: float, max_rmse: float, resamples: int, seed: int,
                       tails: str = "normal") -> dict[str, Any]:
    """One run of the bar rule (``--max-rmse``) with a single candidate of true RMSE ``rmse``."""
    rng = np.random.default_rng(seed)
    y, pred, _ = regression_predictions(n, rmse, rmse, 1.0, rng, tails)
    ev = evaluate_regression(_strings(y), {"x": _strings(pred)}, headline="rmse", resamples=resamples, seed=seed)
    bar = task_bar(Bar(metric="rmse", max_metric=max_rmse), LOWER, y)
    return decide([_candidate("x", 40, ev.metrics["x"], 5.0, 0.1)], ev.pairwise, bar)


def regression_rates(sizes: tuple[int, ...], runs: int, resamples: int, share: float = DEFAULT_MARGIN,
                     best_rmse: float = 0.5 * Y_SD, tails: str = "normal", seed0: int = 0,
                     cells: tuple[str, ...] = ("at_margin", "worse", "equal", "above", "at_bar")
                     ) -> list[dict[str, Any]]:
    """Per test size, the share of runs in which the simpler candidate is adopted (true RMSE at the margin above
    the best, 2× the margin above, equal) and a single candidate clears a ``--max-rmse`` bar (true RMSE 1% above it,
    exactly at it). The true margin is ``share`` × the target's true standard deviation."""
    margin = share * Y_SD
    simple_rmse = {"at_margin": best_rmse + margin, "worse": best_rmse + 2 * margin, "equal": best_rmse}
    bar_rmse = {"above": best_rmse / 1.01, "at_bar": best_rmse}   # the bar against a true RMSE of best_rmse
    out = []
    for n in sizes:
        hits = dict.fromkeys(cells, 0)
        for i in range(runs):
            s = seed0 + i * 7919 + n
            for k, cell in enumerate(cells):
                if cell in simple_rmse:
                    d = regression_relative_run(n, simple_rmse[cell], best_rmse, resamples, s + k, tails=tails)
                    hits[cell] += d["verdict"] == ADOPT and d["choice"] == "simple"
                else:
                    d = regression_bar_run(n, best_rmse, bar_rmse[cell], resamples, s + k, tails=tails)
                    hits[cell] += d["candidates"][0]["checks"]["metric"]["pass"]
        out.append({"n": n, "runs": runs, **{f"adopt_{c}" if c in simple_rmse else f"clear_{c}": h / runs
                                            for c, h in hits.items()}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--regression", action="store_true", help="RMSE (lower is better), the regression margin")
    ap.add_argument("--tails", default="normal", help="regression errors: normal, or t<df> (Student t, df > 2)")
    a = ap.parse_args()
    sizes = tuple(int(x) for x in a.sizes.split(","))
    t0 = time.perf_counter()
    if a.regression:
        table = regression_rates(sizes, a.runs, a.resamples, a.margin, tails=a.tails)
        print(f"RMSE, lower is better; margin {a.margin:.0%} of the test target's SD (true: {a.margin * Y_SD:g}); "
              f"target SD {Y_SD:g}, best's true RMSE {0.5 * Y_SD:g}; {a.tails} errors, correlation 0.8; "
              f"{a.runs} runs per cell; {a.resamples} resamples; {time.perf_counter() - t0:.0f} s")
        print("| test rows | adopted when exactly the margin worse (nominal 2.5%) | adopted when 2×margin worse "
              "| adopted when equal | clear when 1% above a --max-rmse bar | clear when exactly at the bar |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in table:
            print(f"| {r['n']:,} | {r['adopt_at_margin']:.1%} | {r['adopt_worse']:.1%} | {r['adopt_equal']:.1%} "
                  f"| {r['clear_above']:.1%} | {r['clear_at_bar']:.1%} |")
        return
    table = rates(sizes, a.runs, a.resamples, a.margin)
    print(f"margin {a.margin:g}; true metric 0.80; {a.runs} runs per cell; {a.resamples} resamples; "
          f"{time.perf_counter() - t0:.0f} s")
    print("| test rows | adopted when 2×margin worse (≤ 5%) | adopted when equal (≥ 80%) "
          "| clear when 0.01 below the bar (≤ 5%) | clear when exactly at the bar |")
    print("|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['n']:,} | {r['adopt_worse']:.1%} | {r['adopt_equal']:.1%} | {r['clear_below']:.1%} "
              f"| {r['clear_at_bar']:.1%} |")


if __name__ == "__main__":
    main()
