"""Regression metrics equal scikit-learn's; CIs, abstentions and paired comparisons behave as documented."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
)

from baseline.metrics import bootstrap_weights, evaluate, percentile_ci
from baseline.tasks.regression_metrics import CI_METRICS, HIGHER_IS_BETTER, evaluate_regression
from baseline.tasks.rows import encode_number


def _strings(a) -> list[str | None]:
    return [encode_number(x) if x is not None and np.isfinite(x) else None for x in a]


def _data(n: int, seed: int, noise: float = 1.0, abstain: float = 0.0, loc: float = 50.0, scale: float = 10.0):
    """Truth (no zeros) and one noisy prediction as number strings; ``abstain`` of the rows answer ``None``."""
    rng = np.random.default_rng(seed)
    y = rng.normal(loc, scale, n)
    p = y + rng.normal(0, noise, n)
    p[rng.random(n) < abstain] = np.nan
    return y, p, _strings(y), _strings(p)


def _sklearn(y, p) -> dict[str, float]:
    return {"rmse": float(np.sqrt(mean_squared_error(y, p))), "mae": mean_absolute_error(y, p),
            "r2": r2_score(y, p), "mape": mean_absolute_percentage_error(y, p),
            "median_ae": median_absolute_error(y, p)}


SHAPES = [(2, 0.0, 50.0), (7, 0.0, 50.0), (60, 0.2, 0.0), (1000, 0.05, 1e6), (100_000, 0.01, 3.0)]


@pytest.mark.parametrize(("n", "abstain", "loc"), SHAPES)
def test_point_figures_match_sklearn_on_answered_rows(n, abstain, loc):
    y, p, ys, ps = _data(n, n, abstain=abstain, loc=loc)
    m = evaluate_regression(ys, {"c": ps}, resamples=20).metrics["c"]
    ok = ~np.isnan(p)
    for met, ref in _sklearn(y[ok], p[ok]).items():
        assert m[met] == pytest.approx(ref, rel=1e-12, abs=1e-12), met
    assert m["mape_skipped"] is None
    assert (m["n"], m["rows"], m["abstained"]) == (int(ok.sum()), n, int((~ok).sum()))
    assert m["coverage"] == pytest.approx(ok.mean()) and m["partial"] == (not ok.all())
    e = y[ok] - p[ok]   # residual = true − predicted
    rs = m["residual_summary"]
    assert rs["mean"] == pytest.approx(e.mean()) and rs["median"] == pytest.approx(np.median(e))
    assert (rs["min"], rs["max"]) == (e.min(), e.max())
    assert m["higher_is_better"] == HIGHER_IS_BETTER and HIGHER_IS_BETTER["r2"] and not HIGHER_IS_BETTER["rmse"]


def test_degenerate_truths_follow_sklearn():
    ys = _strings([3.0, 3.0, 3.0])
    ev = evaluate_regression(ys, {"exact": ys, "off": _strings([3.0, 4.0, 3.0])}, resamples=50)
    assert ev.metrics["exact"]["r2"] == r2_score([3, 3, 3], [3, 3, 3]) == 1.0   # force_finite
    assert ev.metrics["off"]["r2"] == r2_score([3, 3, 3], [3, 4, 3]) == 0.0
    assert ev.metrics["exact"]["ci"]["r2"] == (1.0, 1.0)
    one = evaluate_regression(["2.0"], {"c": ["1.0"]}, resamples=10).metrics["c"]
    assert one["r2"] is None and one["ci"]["r2"] is None and one["rmse"] == 1.0


def test_mape_is_skipped_when_the_truth_holds_a_zero():
    y = _strings([0.0, 1.0, 2.0, 4.0])
    ev = evaluate_regression(y, {"c": _strings([0.5, 1.0, 2.5, 3.0])}, resamples=20)
    m = ev.metrics["c"]
    assert m["mape"] is None and m["ci"]["mape"] is None and "1 zero" in m["mape_skipped"]
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error([0, 1, 2, 4], [0.5, 1, 2.5, 3])))
    with pytest.raises(ValueError, match="MAPE"):
        evaluate_regression(y, {"c": y}, headline="mape")


def test_abstentions_are_counted_excluded_and_compared_on_shared_rows():
    y, p, ys, ps = _data(400, 3, noise=2.0)
    q = y + np.random.default_rng(4).normal(0, 1.0, 400)   # a better candidate than p
    junk = _strings(q)
    for i, bad in zip(range(0, 400, 10), [None, "", "n/a", "inf", "nan"] * 8, strict=True):
        junk[i] = bad
    ev = evaluate_regression(ys, {"full": ps, "partial": junk}, resamples=300)
    m = ev.metrics["partial"]
    assert m["abstained"] == 40 and m["n"] == 360 and m["coverage"] == 0.9 and m["partial"]
    ok = np.ones(400, bool)
    ok[::10] = False
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y[ok], q[ok])))
    # lower RMSE on the rows it chose, but it answered fewer: the candidate that answered every row is best
    assert m["rmse"] < ev.metrics["full"]["rmse"] and ev.best == "full"
    c = ev.comparisons["partial"]
    assert c["n"] == 360 and c["against"] == "full" and c["better"] == "lower"
    ref = np.sqrt(mean_squared_error(y[ok], q[ok])) - np.sqrt(mean_squared_error(y[ok], p[ok]))
    assert c["difference"] == pytest.approx(ref) and c["ci"][1] < 0 and not c["indistinguishable"]
    assert c["mcnemar_p"] is None and c["discordant"] == 360
    # nobody answered everything: the partial candidates are ranked on their figures
    ev2 = evaluate_regression(ys, {"partial": junk, "silent": [None] * 400}, resamples=50)
    assert ev2.best == "partial" and ev2.metrics["silent"]["rmse"] is None
    assert ev2.metrics["silent"]["coverage"] == 0.0 and ev2.pairwise["silent"] == {}
    assert ev2.metrics["silent"]["ci"] == dict.fromkeys(CI_METRICS)


def test_cis_contain_the_point_and_shrink_with_more_rows():
    widths = []
    for n in (200, 3200):
        y, p, ys, ps = _data(n, 5, abstain=0.02)
        m = evaluate_regression(ys, {"c": ps}, resamples=400, seed=1).metrics["c"]
        assert m["ci_level"] == 0.95
        for met in CI_METRICS:
            lo, hi = m["ci"][met]
            assert lo <= m[met] <= hi, met
        widths.append({met: m["ci"][met][1] - m["ci"][met][0] for met in CI_METRICS})
    for met in CI_METRICS:
        assert widths[1][met] < widths[0][met] / 2, met   # 16x the rows: about a quarter of the width


def test_bootstrap_matches_brute_force_sklearn_on_the_shared_resamples():
    y, p, ys, ps = _data(150, 6, noise=3.0)
    R = 60
    m = evaluate_regression(ys, {"c": ps}, resamples=R, seed=3).metrics["c"]
    W = bootstrap_weights(len(y), R, 3)
    refs = {met: [] for met in CI_METRICS}
    for w in W:
        refs["rmse"].append(np.sqrt(mean_squared_error(y, p, sample_weight=w)))
        refs["mae"].append(mean_absolute_error(y, p, sample_weight=w))
        refs["r2"].append(r2_score(y, p, sample_weight=w))
        refs["mape"].append(mean_absolute_percentage_error(y, p, sample_weight=w))
    for met in CI_METRICS:
        assert m["ci"][met] == pytest.approx(percentile_ci(np.array(refs[met])), rel=1e-10), met


def test_resamples_are_the_classification_scorers_own():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    p = np.where(rng.random(500) < 0.8, y, 1 - y)
    reg = evaluate_regression(_strings(y.astype(float)), {"c": _strings(p.astype(float))}, resamples=300, seed=9)
    cls = evaluate(["0", "1"], [str(v) for v in y], {"c": [str(v) for v in p]}, headline="accuracy",
                   resamples=300, seed=9)
    lo, hi = cls.metrics["c"]["ci"]["accuracy"]
    assert reg.metrics["c"]["mae"] == pytest.approx(1 - cls.metrics["c"]["accuracy"])
    assert reg.metrics["c"]["ci"]["mae"] == pytest.approx((1 - hi, 1 - lo), abs=1e-12)   # mae = error rate


@pytest.mark.parametrize("headline", ["rmse", "mae", "r2", "mape"])
def test_paired_against_itself_is_zero_and_the_better_candidate_is_best(headline):
    y, p, ys, ps = _data(400, 8, noise=2.0)
    ev = evaluate_regression(ys, {"noisy": ps, "twin": list(ps), "oracle": _strings(y + 0.1)},
                             headline=headline, resamples=200)
    assert ev.best == "oracle" and ev.headline == headline
    same = ev.pairwise["noisy"]["twin"]
    assert same["difference"] == 0 and same["ci"] == (0.0, 0.0) and same["discordant"] == 0
    assert same["indistinguishable"] and same["p_bootstrap"] == 1.0 and same["n"] == 400
    c = ev.comparisons["noisy"]
    better = "higher" if headline == "r2" else "lower"
    assert c["metric"] == headline and c["better"] == better
    worse_sign = -1 if headline == "r2" else 1
    assert worse_sign * c["difference"] > 0 and worse_sign * (c["ci"][0] if worse_sign > 0 else c["ci"][1]) > 0
    assert c["difference"] == pytest.approx(ev.metrics["noisy"][headline] - ev.metrics["oracle"][headline])
    back = ev.pairwise["oracle"]["noisy"]
    assert back["ci"] == (-c["ci"][1], -c["ci"][0]) and back["difference"] == -c["difference"]
    assert set(ev.comparisons) == {"noisy", "twin"}


def test_chunking_gives_identical_figures():
    _, _, ys, ps = _data(300, 9, abstain=0.1)
    _, _, _, qs = _data(300, 10)
    preds = {"a": ps, "b": qs}
    ref = evaluate_regression(ys, preds, resamples=101, seed=2)
    for chunk in (1, 300, 1000, 7777):
        ev = evaluate_regression(ys, preds, resamples=101, seed=2, chunk_elements=chunk)
        assert ev.metrics == ref.metrics
        assert ev.pairwise == ref.pairwise


def test_bad_inputs():
    with pytest.raises(ValueError, match="headline"):
        evaluate_regression(["1.0"], {"c": ["1.0"]}, headline="accuracy")
    with pytest.raises(ValueError, match="non-numeric"):
        evaluate_regression(["1.0", "x"], {"c": ["1.0", "2.0"]})
    with pytest.raises(ValueError, match="predictions for"):
        evaluate_regression(["1.0", "2.0"], {"c": ["1.0"]})
    assert evaluate_regression(["1.0"], {}).best is None
    empty = evaluate_regression([], {"c": []}, resamples=10)
    assert empty.best is None and empty.metrics["c"]["coverage"] == 0.0 and empty.metrics["c"]["rmse"] is None


def test_100k_rows_3_candidates_1000_resamples_in_seconds():
    y, _, ys, _ = _data(100_000, 0)
    rng = np.random.default_rng(1)
    preds = {f"c{i}": _strings(y + rng.normal(0, 1 + i, len(y))) for i in range(3)}
    t = time.perf_counter()
    ev = evaluate_regression(ys, preds, resamples=1000)
    elapsed = time.perf_counter() - t
    assert ev.best == "c0" and not ev.comparisons["c1"]["indistinguishable"]
    assert elapsed < 60, elapsed   # ~3-4 s on two shared cores: generous for slow CI
