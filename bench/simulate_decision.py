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

    python bench/simulate_decision.py                       # 500 runs per cell, 1,000 resamples
    python bench/simulate_decision.py --runs 200 --sizes 100,1000,5000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from baseline.decide import ADOPT, DEFAULT_MARGIN, Bar, decide
from baseline.metrics import evaluate

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    a = ap.parse_args()
    sizes = tuple(int(x) for x in a.sizes.split(","))
    t0 = time.perf_counter()
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
