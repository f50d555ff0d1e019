"""The decision rule's error rates by simulation (bench/simulate_decision.py runs the full table).

Paired predictions with known true metrics, many seeds, small and large test sets, through the real
scoring (evaluate) and decision (decide) code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from simulate_decision import bar_run, rates, relative_run  # noqa: E402

from baseline.decide import ADOPT, DEFAULT_MARGIN  # noqa: E402


@pytest.mark.slow
def test_error_rates_of_the_rule():
    table = {r["n"]: r for r in rates((100, 300, 2000), runs=100, resamples=400)}
    for n, r in table.items():
        assert r["adopt_worse"] <= 0.05, (n, r)        # truly 2×margin worse: adopted in ≤ 5% of runs
        assert r["clear_below"] <= 0.05, (n, r)        # truly below the bar: declared clear in ≤ 5%
        assert r["clear_at_bar"] <= 0.05, (n, r)
    assert table[2000]["adopt_equal"] >= 0.80, table[2000]   # truly equal: adopted in ≥ 80% from 2,000 rows
    assert table[100]["adopt_equal"] < table[2000]["adopt_equal"]   # and the power grows with the test set


def test_one_simulated_run_of_each_kind_goes_through_the_real_code():
    d = relative_run(3000, 0.8, 0.8, DEFAULT_MARGIN, resamples=300, seed=1)
    v = next(c for c in d["candidates"] if c["name"] == "simple")["vs_best_passing"]
    assert v is None or v["n"] == 3000   # None when the simpler one is itself the observed best
    assert d["verdict"] in (ADOPT, "TOO CLOSE TO CALL")
    d = bar_run(3000, 0.70, 0.8, resamples=300, seed=1)
    assert d["candidates"][0]["checks"]["metric"]["standing"] == "below" and d["verdict"] == "PIVOT"
