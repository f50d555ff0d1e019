"""The verdict rule on constructed results: pass, pivot, tie within margin, bar by bar, learning-curve advice."""

from __future__ import annotations

import numpy as np
import pytest

from baseline.decide import Bar, check_bars, curve_advice, curve_trend, decide, pivot_advice
from baseline.metrics import evaluate


def cand(name: str, rank: int, metric: float, *, p95: float | None = 5.0, per_1k: float | None = 0.01,
         one_off: float | None = 0.0, family: str = "trivial", status: str = "ok",
         ci: tuple[float, float] | None = None) -> dict:
    """A scored candidate shaped like an entry of results.json ``adapters``."""
    lo, hi = ci or (metric - 0.03, metric + 0.03)
    return {"name": name, "family": family, "simplicity": rank, "status": status, "reason": "",
            "metrics": {"macro_f1": metric, "accuracy": metric, "ci": {"macro_f1": [lo, hi], "accuracy": [lo, hi]}},
            "timing": {"item_latency_ms": {"p50": (p95 or 0) / 2, "p95": p95, "p99": p95}},
            "cost": {"per_1k_usd": per_1k, "one_off_usd": one_off}}


def pair(a: str, b: str, diff: float, lo: float, hi: float) -> dict:
    """pairwise[a][b] for a − b, and the mirrored entry."""
    return {a: {b: {"difference": diff, "ci": [lo, hi], "mcnemar_p": 0.5, "indistinguishable": lo <= 0 <= hi}},
            b: {a: {"difference": -diff, "ci": [-hi, -lo], "mcnemar_p": 0.5, "indistinguishable": lo <= 0 <= hi}}}


def row(d: dict, name: str) -> dict:
    return next(r for r in d["candidates"] if r["name"] == name)


# ---- pass ------------------------------------------------------------------------------------------

def test_single_passing_candidate_is_adopted():
    adapters = [cand("majority", 0, 0.33), cand("tfidf-logreg", 40, 0.86)]
    d = decide(adapters, pair("majority", "tfidf-logreg", -0.53, -0.58, -0.48), Bar(min_metric=0.8))
    assert d["verdict"] == "ADOPT"
    assert d["choice"] == "tfidf-logreg" and d["best_passing"] == "tfidf-logreg"
    assert "tfidf-logreg clears every bar" in d["reason"]
    assert row(d, "majority")["passes"] is False and row(d, "majority")["checks"]["metric"]["pass"] is False
    assert row(d, "tfidf-logreg")["role"] == "chosen (best passing)"
    assert d["nearest_miss"] is None


def test_simpler_candidate_significantly_worse_loses_to_best():
    adapters = [cand("api", 10, 0.84, family="cloud"), cand("automl", 60, 0.92, family="automl")]
    d = decide(adapters, pair("api", "automl", -0.08, -0.11, -0.05), Bar(min_metric=0.8))
    assert d["verdict"] == "ADOPT" and d["choice"] == "automl"
    assert "significantly worse" in d["reason"] and "api" in d["reason"]
    v = row(d, "api")["vs_best_passing"]
    assert v["not_significantly_worse"] is False and v["against"] == "automl"


# ---- tie within margin ------------------------------------------------------------------------------

def test_tie_within_margin_picks_the_simplest():
    adapters = [cand("automl", 60, 0.905, family="automl"), cand("api", 10, 0.900, family="cloud"),
                cand("probe", 50, 0.903, family="pretrained")]
    pw = pair("api", "automl", -0.005, -0.008, 0.003)
    pw["probe"] = {"automl": {"difference": -0.002, "ci": [-0.006, 0.002], "mcnemar_p": 0.8}}
    d = decide(adapters, pw, Bar(min_metric=0.8, margin=0.01))
    assert d["verdict"] == "ADOPT" and d["choice"] == "api" and d["best_passing"] == "automl"
    assert "tie within the 0.01 margin" in d["reason"]
    v = row(d, "api")["vs_best_passing"]
    assert v["non_inferiority_shown"] is True and v["not_significantly_worse"] is True
    assert row(d, "automl")["role"] == "best passing"


def test_not_significantly_worse_but_not_shown_equivalent_says_so():
    adapters = [cand("api", 10, 0.88, family="cloud"), cand("automl", 60, 0.90, family="automl")]
    d = decide(adapters, pair("api", "automl", -0.02, -0.05, 0.01), Bar(min_metric=0.8, margin=0.01))
    assert d["choice"] == "api"
    assert "too small to show the two are equivalent" in d["reason"]
    assert row(d, "api")["vs_best_passing"]["non_inferiority_shown"] is False


def test_margin_decides_borderline_case():
    adapters = [cand("api", 10, 0.87, family="cloud"), cand("automl", 60, 0.90, family="automl")]
    pw = pair("api", "automl", -0.03, -0.05, -0.015)  # upper end −0.015
    assert decide(adapters, pw, Bar(min_metric=0.8, margin=0.01))["choice"] == "automl"
    assert decide(adapters, pw, Bar(min_metric=0.8, margin=0.02))["choice"] == "api"


def test_ties_with_real_bootstrap_comparisons():
    """A complex candidate two rows better is a tie; the simpler wins through evaluate()'s paired bootstrap."""
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    truth = rng.choice(labels, 300).tolist()
    good = [t if rng.random() < 0.9 else "a" for t in truth]
    better = list(good)
    fixed = [i for i, (g, t) in enumerate(zip(good, truth, strict=True)) if g != t][:2]
    for i in fixed:
        better[i] = truth[i]
    ev = evaluate(labels, truth, {"simple": good, "complex": better, "floor": ["a"] * 300}, resamples=300)
    adapters = [cand("complex", 60, ev.metrics["complex"]["macro_f1"]), cand("simple", 10, ev.metrics["simple"]["macro_f1"]),
                cand("floor", 0, ev.metrics["floor"]["macro_f1"])]
    d = decide(adapters, ev.pairwise, Bar(min_metric=0.5, margin=0.02))
    assert d["best_passing"] == "complex" and d["choice"] == "simple"
    v = row(d, "simple")["vs_best_passing"]
    assert -0.02 < v["difference"] < 0 and v["ci"][1] >= 0 and v["non_inferiority_shown"]


# ---- pivot --------------------------------------------------------------------------------------------

def test_pivot_names_nearest_miss_and_reason():
    adapters = [cand("majority", 0, 0.33), cand("tfidf-logreg", 40, 0.71, ci=(0.65, 0.76))]
    d = decide(adapters, pair("majority", "tfidf-logreg", -0.38, -0.43, -0.33), Bar(min_metric=0.85))
    assert d["verdict"] == "PIVOT" and d["choice"] is None
    assert d["nearest_miss"] == "tfidf-logreg"
    assert "macro-F1 0.710 < 0.85" in d["reason"]
    assert "a larger test set" not in d["reason"]  # the CI stays under the bar
    assert row(d, "tfidf-logreg")["role"] == "nearest miss"


def test_pivot_mentions_when_the_ci_reaches_the_bar():
    d = decide([cand("x", 40, 0.78, ci=(0.74, 0.82))], {}, Bar(min_metric=0.8))
    assert d["verdict"] == "PIVOT" and "a larger test set might still clear the bar" in d["reason"]


def test_nearest_miss_is_smallest_relative_shortfall_not_best_metric():
    adapters = [cand("fast", 40, 0.78, p95=5), cand("slow", 50, 0.95, p95=400)]
    d = decide(adapters, pair("fast", "slow", -0.17, -0.2, -0.14), Bar(min_metric=0.8, max_p95_ms=100))
    assert d["verdict"] == "PIVOT" and d["nearest_miss"] == "fast"   # 2.5% short vs 75% of the latency to cut
    assert "the best macro-F1 overall is slow (0.950)" in d["reason"]


def test_floor_is_not_the_nearest_miss_when_a_real_candidate_was_scored():
    adapters = [cand("majority", 0, 0.004, p95=0.01), cand("tfidf", 40, 0.96, p95=2.0)]
    d = decide(adapters, pair("majority", "tfidf", -0.95, -0.97, -0.93), Bar(min_metric=0.9, max_p95_ms=1))
    assert d["nearest_miss"] == "tfidf" and "p95 2 ms > 1 ms" in d["reason"]
    d = decide(adapters[:1], {}, Bar(min_metric=0.9))
    assert d["nearest_miss"] == "majority"


def test_pivot_on_latency_and_cost_only_says_serve_it_differently():
    adapters = [cand("big", 50, 0.95, p95=300, per_1k=2.0)]
    d = decide(adapters, {}, Bar(min_metric=0.8, max_p95_ms=100, max_cost_per_1k=1.0))
    assert d["verdict"] == "PIVOT"
    assert "p95 300 ms > 100 ms" in d["reason"] and "$2 per 1k > $1" in d["reason"]
    assert "latency and running cost" in d["reason"] and "cheaper or faster" in d["reason"]


def test_no_scored_candidate_pivots_and_lists_exclusions():
    adapters = [cand("api", 10, 0.9, status="failed")]
    adapters[0]["metrics"] = None
    adapters[0]["reason"] = "ConnectionError: boom"
    d = decide(adapters, {}, Bar(min_metric=0.8))
    assert d["verdict"] == "PIVOT" and "no candidate produced a complete set of predictions" in d["reason"]
    assert d["excluded"] == [{"name": "api", "status": "failed", "reason": "ConnectionError: boom"}]


def test_stopped_candidate_is_not_chosen():
    adapters = [cand("api", 10, 0.95, status="stopped"), cand("tfidf", 40, 0.85)]
    d = decide(adapters, {}, Bar(min_metric=0.8))
    assert d["choice"] == "tfidf"
    assert [e["name"] for e in d["excluded"]] == ["api"]


# ---- bar by bar ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("bar", "key", "fails"), [
    (Bar(min_metric=0.9), "metric", True),
    (Bar(min_metric=0.85), "metric", False),
    (Bar(max_p95_ms=10), "p95_ms", True),
    (Bar(max_p95_ms=20), "p95_ms", False),
    (Bar(max_cost_per_1k=0.5), "cost_per_1k", True),
    (Bar(max_cost_per_1k=1.0), "cost_per_1k", False),
    (Bar(max_one_off=1.0), "one_off", True),
    (Bar(max_one_off=5.0), "one_off", False),
])
def test_each_bar_passes_or_fails_on_its_own(bar, key, fails):
    a = cand("x", 40, 0.85, p95=20.0, per_1k=1.0, one_off=5.0)
    checks = check_bars(a, bar)
    assert list(checks) == [key]
    assert checks[key]["pass"] is (not fails)
    d = decide([a], {}, bar)
    assert d["verdict"] == ("PIVOT" if fails else "ADOPT")


def test_missing_measurement_fails_its_bar():
    a = cand("x", 40, 0.9, p95=None, per_1k=None)
    checks = check_bars(a, Bar(max_p95_ms=100, max_cost_per_1k=1))
    assert checks["p95_ms"]["pass"] is False and checks["cost_per_1k"]["pass"] is False


def test_bar_table_rows_cover_every_set_bar():
    a = cand("x", 40, 0.9, p95=50, per_1k=0.2, one_off=3)
    d = decide([a], {}, Bar(min_metric=0.8, max_p95_ms=100, max_cost_per_1k=0.1, max_one_off=10, monthly_volume=1000))
    r = row(d, "x")
    assert {k: c["pass"] for k, c in r["checks"].items()} == {"metric": True, "p95_ms": True, "cost_per_1k": False,
                                                              "one_off": True}
    assert d["verdict"] == "PIVOT" and "$0.2 per 1k > $0.1" in d["reason"]


def test_no_bar_set_adopts_on_statistics_and_warns():
    adapters = [cand("majority", 0, 0.3), cand("tfidf", 40, 0.8)]
    d = decide(adapters, pair("majority", "tfidf", -0.5, -0.55, -0.45), Bar())
    assert d["verdict"] == "ADOPT" and d["choice"] == "tfidf"
    assert any("no bar was set" in w for w in d["warnings"])


def test_choice_no_better_than_floor_is_flagged():
    adapters = [cand("majority", 0, 0.30), cand("zero-shot", 20, 0.31)]
    pw = pair("zero-shot", "majority", 0.01, -0.02, 0.04)
    d = decide(adapters, pw, Bar(min_metric=0.3, margin=0.0))
    assert d["choice"] == "majority"  # the floor itself ties: simplest wins, no warning about itself
    d2 = decide(adapters, pw, Bar(min_metric=0.305))
    assert d2["choice"] == "zero-shot"
    assert any("not significantly better than the floor majority" in w for w in d2["warnings"])


# ---- learning-curve advice -------------------------------------------------------------------------------

def curve(values: list[float], name: str = "tfidf-logreg") -> dict:
    fr = [0.1, 0.25, 0.5, 1.0]
    return {"fractions": fr, "adapters": {name: [
        {"fraction": f, "n_train": int(1000 * f), "macro_f1": v, "ci": [v - 0.03, v + 0.03]} for f, v in zip(fr, values, strict=True)]}}


def test_rising_curve_says_collect_more_labels_with_an_estimate():
    adapters = [cand("tfidf-logreg", 40, 0.74)]
    d = decide(adapters, {}, Bar(min_metric=0.8), curve([0.55, 0.63, 0.69, 0.74]))
    assert d["verdict"] == "PIVOT"
    assert d["advice"]["trend"] == "rising" and d["advice"]["adapter"] == "tfidf-logreg"
    assert "still rising" in d["reason"] and "collect more labels" in d["reason"]
    assert 1 < d["advice"]["label_factor"] <= 16
    assert "× the labels would reach 0.8" in d["reason"]


def test_flat_curve_says_change_the_approach():
    adapters = [cand("tfidf-logreg", 40, 0.70)]
    d = decide(adapters, {}, Bar(min_metric=0.85), curve([0.695, 0.70, 0.698, 0.70]))
    assert d["advice"]["trend"] == "flat"
    assert "flat" in d["reason"] and "change the approach" in d["reason"]
    assert "collect more labels" not in d["reason"]


def test_slowly_rising_curve_far_from_bar_says_both():
    a = curve_advice(curve([0.50, 0.52, 0.535, 0.55]), "macro_f1", target=0.95)
    assert a["trend"] == "rising slowly" and a["label_factor"] > 16
    assert "change the approach" in a["text"]


def test_curve_advice_only_when_the_metric_is_what_misses():
    adapters = [cand("tfidf-logreg", 40, 0.9, p95=500)]
    d = decide(adapters, {}, Bar(min_metric=0.8, max_p95_ms=100), curve([0.6, 0.7, 0.8, 0.9]))
    assert d["verdict"] == "PIVOT" and d["advice"] is None and "learning curve" not in d["reason"]


def test_curve_advice_reads_the_nearest_miss_curve():
    c = curve([0.5, 0.6, 0.7, 0.78], "tfidf-logreg")
    c["adapters"]["flaml"] = curve([0.79, 0.79, 0.79, 0.79], "flaml")["adapters"]["flaml"]
    adapters = [cand("tfidf-logreg", 40, 0.78), cand("flaml", 60, 0.79, p95=1000)]
    d = decide(adapters, pair("tfidf-logreg", "flaml", -0.01, -0.03, 0.01), Bar(min_metric=0.8, max_p95_ms=100), c)
    assert d["nearest_miss"] == "tfidf-logreg" and d["advice"]["adapter"] == "tfidf-logreg"
    assert pivot_advice(c, "macro_f1") .startswith("the learning curve of flaml")  # best final metric otherwise


def test_curve_trend_needs_two_points():
    assert curve_trend([{"fraction": 1.0, "n_train": 10, "macro_f1": 0.5}], "macro_f1") is None
    t = curve_trend(curve([0.5, 0.6, 0.7, 0.8])["adapters"]["tfidf-logreg"], "macro_f1")
    assert t["rising"] and t["gain_per_doubling"] == pytest.approx(0.1, abs=0.03)


def test_best_that_is_also_simplest_says_so():
    adapters = [cand("tfidf", 40, 0.813), cand("probe", 50, 0.811), cand("majority", 0, 0.33)]
    d = decide(adapters, pair("probe", "tfidf", -0.002, -0.024, 0.02), Bar(min_metric=0.8))
    assert d["choice"] == "tfidf" and d["reason"].endswith("it is also the simplest of them")
    assert row(d, "probe")["vs_best_passing"]["not_significantly_worse"] is True
