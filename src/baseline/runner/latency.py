"""Latency figures: percentiles with a CI on p95, and the single-item probe of a free adapter."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import numpy as np

from baseline.runner.state import AdapterRun

UNSTABLE_P95_SPREAD = 0.5   # p95's 95% CI wider than half of p95 itself: the figure is noise-dominated


def percentiles(values_ms: list[float] | np.ndarray) -> dict[str, Any]:
    """p50/p95/p99 with a distribution-free 95% CI on p95, and whether p95 is too noisy to judge a bar by.

    The CI comes from order statistics (the ranks a Binomial(n, 0.95) count puts around p95), so it
    costs one sort whatever the number of items.
    """
    v = np.asarray(values_ms, dtype=float)
    if v.size == 0:
        return {"n": 0}
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    out: dict[str, Any] = {"n": int(v.size), "p50": float(p50), "p95": float(p95), "p99": float(p99),
                           "mean": float(v.mean()), "max": float(v.max())}
    if v.size >= 20:
        n = v.size
        half = 1.96 * math.sqrt(n * 0.95 * 0.05)
        lo_i, hi_i = max(0, math.floor(n * 0.95 - half) - 1), min(n - 1, math.ceil(n * 0.95 + half) - 1)
        srt = np.sort(v)
        lo, hi = float(srt[lo_i]), float(srt[hi_i])
        out["p95_ci"] = [lo, hi]
        # sub-millisecond figures are below any latency bar worth setting: never "unstable"
        out["unstable"] = bool(hi >= 1.0 and p95 > 0 and (hi - lo) / p95 > UNSTABLE_P95_SPREAD)
    return out


def probe_latency(run: AdapterRun) -> None:
    """Per-item latency: single-item requests for free adapters (a paid one would bill twice), else the batch's."""
    opts, n, timing = run.opts, run.n, run.timing
    if not run.cls.paid and opts.latency_probe > 0 and n:
        rng = random.Random(opts.seed)
        sample = rng.sample(range(n), min(opts.latency_probe, n))
        probe = []
        t0 = time.perf_counter()
        for i in sample:
            t = time.perf_counter()
            run.adapter.predict_batch([run.test_texts[i]])
            probe.append((time.perf_counter() - t) * 1000)
        timing["probe_s"] = time.perf_counter() - t0
        timing["item_latency_ms"] = {**percentiles(probe), "mode": "single-item requests"}
    else:
        item_ms = run.latency.item
        timing["item_latency_ms"] = {**percentiles(item_ms[~np.isnan(item_ms)]),
                                     "mode": "latency of the batched request carrying each item"}
