"""The business case: value arithmetic against figures worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from baseline.business import ValueInputs, break_even, choose_cut, fmt_months, value_candidate
from baseline.metrics import bootstrap_weights

# ten items, most confident first: right, right, right, wrong, right, right, wrong, wrong, right, wrong
SCORES = [0.99, 0.95, 0.90, 0.85, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30]
RIGHT = [1, 1, 1, 0, 1, 1, 0, 0, 1, 0]
TRUTH = ["a"] * 10
PREDS = ["a" if r else "b" for r in RIGHT]
W = bootstrap_weights(10, 400, seed=0)


def inputs(target=None):
    return ValueInputs(manual_cost_per_item=2.0, error_cost=10.0, monthly_volume=1000, precision_target=target)


def test_best_value_cut_by_hand():
    # cumulative value k×2 − wrong×10: 2, 4, 6, −2, 0, 2, −6, ... → the best cut automates the top 3
    r = value_candidate(TRUTH, PREDS, SCORES, inputs(), per_1k_usd=1.0, one_off_usd=120.0, weights=W)
    assert r["valued_by"] == "scores"
    assert r["automated_share"] == pytest.approx(0.3)
    assert r["threshold"] == pytest.approx(0.90)
    assert r["precision_automated"] == pytest.approx(1.0)
    assert r["running_usd"] == pytest.approx(1.0)                    # $1 per 1k × 1,000 items
    assert r["monthly_saving_usd"] == pytest.approx(1000 * 6 / 10 - 1)  # 599
    assert r["break_even_months"] == pytest.approx(120 / 599)
    lo, hi = r["monthly_saving_ci"]
    assert lo <= 599 <= hi
    assert r["automated_items_per_month"] == pytest.approx(300)


def test_precision_target_cut_by_hand():
    # precision of the top k: 1, 1, 1, .75, .8, .833, .714, ... → deepest cut at ≥ 0.8 is k = 6
    r = value_candidate(TRUTH, PREDS, SCORES, inputs(0.8), per_1k_usd=1.0, one_off_usd=120.0, weights=W)
    assert r["automated_share"] == pytest.approx(0.6)
    assert r["precision_automated"] == pytest.approx(5 / 6)
    assert r["errors_per_month"] == pytest.approx(100)              # 1 wrong in 10 automated → 100 a month
    assert r["manual_saved_usd"] == pytest.approx(600 * 2)
    assert r["error_cost_usd"] == pytest.approx(100 * 10)
    assert r["monthly_saving_usd"] == pytest.approx(1000 * (12 - 10) / 10 - 1)   # 199
    assert r["break_even_months"] == pytest.approx(120 / 199)


def test_without_scores_full_coverage_and_says_so():
    # 6 right, 4 wrong, all automated: 10×2 − 4×10 = −20 per 10 items → −2,000 − $1 running a month
    r = value_candidate(TRUTH, PREDS, None, inputs(), per_1k_usd=1.0, one_off_usd=0.0, weights=W)
    assert r["valued_by"].startswith("full coverage")
    assert any("no scores" in n for n in r["notes"])
    assert r["automated_share"] == 1.0
    assert r["monthly_saving_usd"] == pytest.approx(-2001)
    assert r["break_even_months"] is None and fmt_months(r["break_even_months"]) == "never"
    # with a precision target above its precision it automates nothing
    r2 = value_candidate(TRUTH, PREDS, None, inputs(0.9), per_1k_usd=1.0, one_off_usd=0.0, weights=W)
    assert r2["automated_share"] == 0.0 and r2["monthly_saving_usd"] == pytest.approx(-1.0)


def test_ties_are_never_split_and_abstentions_never_automated():
    s = np.array([0.9, 0.9, 0.5])
    c = np.array([True, False, True])
    assert choose_cut(s, c, manual=1.0, error=0.5, target=None) == (3, 0.5)   # 1.5 at k=2, 2.5 at k=3
    assert choose_cut(s, c, manual=1.0, error=0.5, target=0.9) == (0, None)   # k=2: 0.5, k=3: 0.667
    r = value_candidate(["a", "a", "a"], ["a", None, "a"], [0.9, 0.8, None], inputs(), 0.0, 0.0,
                        bootstrap_weights(3, 200, 0))
    assert r["automated_share"] == pytest.approx(1 / 3)


def test_break_even_interval_maps_the_saving_interval():
    assert break_even(100.0, 50.0, [25.0, 100.0]) == {"break_even_months": 2.0, "break_even_ci": [1.0, 4.0],
                                                      "pays_back": True, "pays_back_surely": True}
    b = break_even(100.0, 50.0, [-10.0, 100.0])
    assert b["break_even_ci"] == [1.0, None] and not b["pays_back_surely"]
    assert break_even(0.0, 5.0, [1.0, 9.0])["break_even_months"] == 0.0
    assert fmt_months(0.0) == "now" and fmt_months(2.345) == "2.3"


def test_missing_inputs_name_their_flags():
    assert ValueInputs(monthly_volume=10).missing() == ["--manual-cost-per-item", "--error-cost"]


# ---- regression: --error-cost is USD per unit of absolute error --------------------------------------------------

def _reg_inputs(manual=3.0):
    return ValueInputs(manual_cost_per_item=manual, error_cost=0.5, monthly_volume=1000)


def test_regression_error_cost_and_saving_by_hand():
    from baseline.business import value_regression

    metrics = {"mae": 2.0, "ci": {"mae": [1.5, 2.5]}, "coverage": 1.0}
    r = value_regression("m", metrics, _reg_inputs(), per_1k_usd=1.0, one_off_usd=100.0)
    assert r["error_cost_usd"] == pytest.approx(1000 * 2.0 * 0.5)               # 1,000 a month
    assert r["error_cost_ci"] == pytest.approx([750, 1250])                      # MAE's CI × V × e
    assert r["running_usd"] == pytest.approx(1.0)
    assert r["monthly_cost_usd"] == pytest.approx(1001) and r["monthly_cost_ci"] == pytest.approx([751, 1251])
    assert r["manual_usd"] == pytest.approx(3000)
    assert r["monthly_saving_usd"] == pytest.approx(3000 - 1000 - 1)             # 1,999
    assert r["monthly_saving_ci"] == pytest.approx([3000 - 1250 - 1, 3000 - 750 - 1])
    assert r["break_even_months"] == pytest.approx(100 / 1999)
    assert r["break_even_ci"] == pytest.approx([100 / 2249, 100 / 1749])
    assert r["pays_back_surely"]


def test_regression_partial_coverage_and_no_manual_cost():
    from baseline.business import value_regression

    metrics = {"mae": 2.0, "ci": {"mae": [1.5, 2.5]}, "coverage": 0.8}
    r = value_regression("m", metrics, _reg_inputs(), per_1k_usd=1.0, one_off_usd=0.0)
    assert r["error_cost_usd"] == pytest.approx(800 * 2.0 * 0.5)                # errors only on the answered 80%
    assert r["monthly_saving_usd"] == pytest.approx(800 * 3 - 800 - 1)          # the rest still done by hand
    assert r["break_even_months"] == 0.0 and any("answers 80.0%" in n for n in r["notes"])
    r2 = value_regression("m", {"mae": 2.0, "ci": {"mae": None}, "coverage": 1.0}, _reg_inputs(None), None, None)
    assert r2["monthly_saving_usd"] is None and r2["break_even_months"] is None
    assert r2["error_cost_ci"] == pytest.approx([1000, 1000]) and r2["running_usd"] == 0.0
    assert any("no interval" in n for n in r2["notes"]) and any("running cost unknown" in n for n in r2["notes"])


def test_regression_case_needs_only_error_cost_and_volume():
    from baseline.business import regression_case

    assert ValueInputs(error_cost=1.0, monthly_volume=10).missing(regression=True) == []
    assert ValueInputs(monthly_volume=10).missing(regression=True) == ["--error-cost"]
    assert ValueInputs(error_cost=1.0, monthly_volume=10).missing() == ["--manual-cost-per-item"]
    results = {"task": "tabular-regression", "dataset": {"label_col": "price"}, "leaderboard": ["a", "b"],
               "adapters": [{"name": n, "metrics": {"mae": mae, "ci": {"mae": [mae - 1, mae + 1]}, "coverage": 1.0},
                             "cost": {"per_1k_usd": 0.0, "one_off_usd": 0.0}} for n, mae in (("a", 5.0), ("b", 3.0))]}
    b = regression_case(results, ValueInputs(error_cost=2.0, monthly_volume=100))
    assert [x["name"] for x in b["rows"]] == ["b", "a"] and b["best_value"] == "b"   # lowest monthly cost first
    assert b["rows"][0]["error_cost_usd"] == pytest.approx(100 * 3.0 * 2.0)
    assert any("unit of absolute error in price costs $2" in a for a in b["assumptions"])


def test_the_resampler_gives_the_weight_matrix_figures_without_holding_it():
    """value_case's resampler: the same resamples as bootstrap_weights, a chunk at a time (its B × n matrix was 4 GB
    at 500k test rows); with unanswered rows too."""
    import tracemalloc

    from baseline.business import resampler

    rng = np.random.default_rng(4)
    n = 3000
    truth = rng.choice(["a", "b"], n).tolist()
    preds = [t if rng.random() < 0.85 else "b" for t in truth]
    preds[:40] = [None] * 40
    scores = rng.random(n).tolist()
    miss = np.zeros(n, dtype=bool)
    miss[100:160] = True
    full = value_candidate(truth, preds, scores, inputs(0.8), 1.0, 120.0, bootstrap_weights(n, 300, 5), miss)
    chunked = value_candidate(truth, preds, scores, inputs(0.8), 1.0, 120.0, resampler(n, 300, 5), miss)
    assert full["unanswered"] == chunked["unanswered"] == 60
    for key in ("monthly_saving_ci", "automated_share_ci", "precision_automated_ci"):
        assert np.allclose(full[key], chunked[key], rtol=1e-12), key
    big = 200_000   # 400 resamples as one matrix: 640 MB
    tracemalloc.start()
    value_candidate(["a"] * big, ["a"] * big, [0.9] * big, inputs(), 1.0, 0.0, resampler(big, 400, 1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 120e6, f"peak {peak / 1e6:.0f} MB"
