"""Coverage of the regression metrics' 95% bootstrap CIs (RMSE, MAE) on simulated test sets with known true values.

A CI's promise is judged by its error rate: for each error distribution and test size, ``--reps`` test sets are drawn,
scored by ``evaluate_regression`` exactly as a run scores them (percentile bootstrap on rows, 1,000 resamples, the
run's seed stream), and the share of CIs that contain the population value is reported with its own Wilson 95%
interval. Nominal is 0.95. Error distributions: normal (sd 1), Student t with 3 degrees of freedom (heavy tails,
finite variance), and a centred log-normal (skewed, heavy right tail). Population values: RMSE = the error's root mean
square, MAE = its mean absolute value (closed forms for normal and t3, a 20M-draw Monte Carlo for the log-normal).

Run: python bench/simulate_regression_ci.py [--reps 400] [--sizes 100 1000]
Writes bench/results/regression_ci_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from baseline.tasks.regression_metrics import evaluate_regression

OUT = Path(__file__).resolve().parent / "results" / "regression_ci_coverage.json"


def _lognormal(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.exp(rng.normal(size=n)) - math.exp(0.5)


DISTRIBUTIONS = {
    "normal": (lambda rng, n: rng.normal(size=n), {"rmse": 1.0, "mae": math.sqrt(2 / math.pi)}),
    "student_t3": (lambda rng, n: rng.standard_t(3, size=n), {"rmse": math.sqrt(3.0), "mae": 2 * math.sqrt(3) / math.pi}),
    "lognormal_centred": (_lognormal, None),
}


def _truth(draw, seed: int = 123) -> dict[str, float]:
    e = draw(np.random.default_rng(seed), 20_000_000)
    return {"rmse": float(np.sqrt(np.mean(e ** 2))), "mae": float(np.mean(np.abs(e)))}


def _wilson(k: int, n: int, z: float = 1.959964) -> list[float]:
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [c - h, c + h]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    out: dict = {"what": __doc__.split("\n")[0], "reps": a.reps, "nominal": 0.95, "results": {}}
    t0 = time.perf_counter()
    for name, (draw, truth) in DISTRIBUTIONS.items():
        truth = truth or _truth(draw)
        for n in a.sizes:
            hits = {"rmse": 0, "mae": 0}
            widths = {"rmse": [], "mae": []}
            for r in range(a.reps):
                rng = np.random.default_rng(1_000 * n + r)
                y = rng.normal(100, 20, size=n)
                pred = y - draw(rng, n)          # error = y - prediction
                ev = evaluate_regression([repr(float(v)) for v in y], {"m": [repr(float(v)) for v in pred]},
                                         seed=r)
                m = ev.metrics["m"]
                for k in hits:
                    lo, hi = m["ci"][k]
                    hits[k] += lo <= truth[k] <= hi
                    widths[k].append(hi - lo)
            res = {k: {"coverage": hits[k] / a.reps, "coverage_ci": _wilson(hits[k], a.reps),
                       "median_width": float(np.median(widths[k])), "true": truth[k]} for k in hits}
            out["results"][f"{name}/n={n}"] = res
            print(f"{name:18s} n={n:5d}  " + "  ".join(
                f"{k}: {v['coverage']:.3f} [{v['coverage_ci'][0]:.3f}, {v['coverage_ci'][1]:.3f}]" for k, v in res.items()),
                flush=True)
    out["seconds"] = time.perf_counter() - t0
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
