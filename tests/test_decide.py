"""The verdict rule on constructed results: each case of the rule, bar by bar, learning-curve advice."""

from __future__ import annotations

import numpy as np
import pytest

from baseline.decide import (
    ADOPT,
    PIVOT,
    TOO_CLOSE,
    Bar,
    check_bars,
    curve_advice,
    curve_trend,
    decide,
    pivot_advice,
    rows_to_settle,
    standing_text,
)
from baseline.metrics import evaluate


def cand(name: str, rank: int, metric: float, *, p95: float | None = 5.0, per_1k: float | None = 0.01,
         one_off: float | None = 0.0, family: str = "trivial", status: str = "ok",
         ci: tuple[float, float] | None = None, n: int = 400) -> dict:
    """A scored candidate shaped like an entry of results.json ``adapters``."""
    lo, hi = ci or (metric - 0.03, metric + 0.03)
    return {"name": name, "family": family, "simplicity": rank, "status": status, "reason": "",
            "metrics": {"macro_f1": metric, "accuracy": metric, "ci": {"macro_f1": [lo, hi], "accuracy": [lo, hi]},
                        "confusion": {"matrix": [[n, 0], [0, 0]]}},
            "timing": {"item_latency_ms": {"p50": (p95 or 0) / 2, "p95": p95, "p99": p95}},
            "cost": {"per_1k_usd": per_1k, "one_off_usd": one_off}}


def pair(a: str, b: str, diff: float, lo: float, hi: float, n: int = 500, discordant: int = 60) -> dict:
    """pairwise[a][b] for a − b, and the mirrored entry."""
    e = {"mcnemar_p": 0.5, "indistinguishable": lo <= 0 <= hi, "n": n, "discordant": discordant}
    return {a: {b: {"difference": diff, "ci": [lo, hi], **e}}, b: {a: {"difference": -diff, "ci": [-hi, -lo], **e}}}


def pairs(*ps: dict) -> dict:
    """Merge several ``pair`` results into one pairwise table."""
    out: dict = {}
    for p in ps:
        for a, d in p.items():
            out.setdefault(a, {}).update(d)
    return out


def row(d: dict, name: str) -> dict:
    return next(r for r in d["candidates"] if r["name"] == name)


# ---- no bar: the relative question --------------------------------------------------------------------

def test_simpler_shown_within_margin_replaces_the_best():
    adapters = [cand("automl", 60, 0.905, family="automl"), cand("api", 10, 0.900, family="cloud"),
                cand("probe", 50, 0.903, family="pretrained")]
    pw = pairs(pair("api", "automl", -0.005, -0.012, 0.003), pair("probe", "automl", -0.002, -0.006, 0.002),
               pair("api", "probe", -0.003, -0.01, 0.004))
    d = decide(adapters, pw, Bar(margin=0.02))
    assert d["verdict"] == ADOPT and d["settled"] and d["choice"] == "api" and d["best_passing"] == "automl"
    assert "shown within the 0.02 margin" in d["reason"] and "[-0.012, +0.003]" in d["reason"]
    assert row(d, "api")["vs_best_passing"]["standing"] == "shown within the margin"
    assert row(d, "automl")["role"] == "best passing"


def test_significantly_worse_simpler_candidate_is_never_adopted():
    """The demo regression: hf-embeddings −0.054 [−0.104, −0.007] vs flaml was adopted by the old rule."""
    adapters = [cand("majority", 0, 0.19), cand("tfidf-logreg", 40, 0.64), cand("hf-embeddings", 50, 0.698),
                cand("flaml", 60, 0.752)]
    pw = pairs(pair("hf-embeddings", "flaml", -0.054, -0.104, -0.007), pair("tfidf-logreg", "flaml", -0.11, -0.16, -0.06),
               pair("majority", "flaml", -0.56, -0.6, -0.52))
    for margin in (0.0, 0.01, 0.02, 0.005):
        d = decide(adapters, pw, Bar(margin=margin))
        assert d["choice"] == "flaml", margin
    d = decide(adapters, pw, Bar(margin=0.02))
    # hf-embeddings: upper end −0.007 is above −0.02 but its lower end is not: too close, flaml named
    assert d["verdict"] == TOO_CLOSE and d["choice"] == "flaml" and not d["settled"]
    assert [c["name"] for c in d["contenders"]] == ["hf-embeddings"]
    assert "too close to call on 500 test rows" in d["reason"] and "labeled test rows would settle it" in d["reason"]
    d = decide(adapters, pw, Bar(margin=0.005))   # with a small margin it is shown worse: settled
    assert d["verdict"] == ADOPT and d["settled"] and "shown worse by more than the 0.005 margin" in d["reason"]


def test_shown_worse_leaves_the_best_settled():
    adapters = [cand("api", 10, 0.84, family="cloud"), cand("automl", 60, 0.92, family="automl")]
    d = decide(adapters, pair("api", "automl", -0.08, -0.11, -0.05), Bar())
    assert d["verdict"] == ADOPT and d["choice"] == "automl" and d["settled"]
    v = row(d, "api")["vs_best_passing"]
    assert v["standing"] == "shown worse" and v["against"] == "automl"


def test_too_close_to_call_names_the_best_not_the_noisiest():
    """TREC regression: the wider interval must not win; the best is named and the rows to settle estimated."""
    adapters = [cand("tfidf-logreg", 40, 0.70), cand("hf-embeddings", 50, 0.71), cand("flaml", 60, 0.75)]
    pw = pairs(pair("hf-embeddings", "flaml", -0.04, -0.09, 0.01), pair("tfidf-logreg", "flaml", -0.05, -0.075, -0.025))
    d = decide(adapters, pw, Bar(margin=0.02))
    assert d["verdict"] == TOO_CLOSE and d["choice"] == "flaml"
    need = d["contenders"][0]["rows_to_settle"]
    # half-width 0.05 must shrink to |−0.04 + 0.02| = 0.02: (0.05/0.02)² × 500 = 3,125
    assert need == 3125 and "about 3,125 labeled test rows would settle it" in d["reason"]
    assert "(one is right and the other wrong on 60 of them)" in d["reason"]
    assert row(d, "flaml")["role"] == "leading (best)"


def test_simpler_observed_best_must_still_be_shown_within_margin_of_the_complex():
    """Burden of proof on the simpler: a noisy lead on few rows does not settle it."""
    adapters = [cand("api", 10, 0.80, family="cloud"), cand("automl", 60, 0.79, family="automl")]
    d = decide(adapters, pair("api", "automl", 0.01, -0.05, 0.07, n=100), Bar(margin=0.02))
    assert d["verdict"] == TOO_CLOSE and d["choice"] == "api"
    assert d["contenders"][0]["name"] == "automl" and not d["contenders"][0]["simpler"]
    d = decide(adapters, pair("api", "automl", 0.01, -0.015, 0.035, n=2000), Bar(margin=0.02))
    assert d["verdict"] == ADOPT and d["choice"] == "api" and d["settled"]


def test_dominated_candidate_is_not_chosen_unless_simpler_and_shown_within():
    """Worse, dearer and slower than another passing candidate."""
    adapters = [cand("probe", 50, 0.698, p95=30, per_1k=0.05), cand("flaml", 60, 0.752, p95=5, per_1k=0.01)]
    shown_within = pair("probe", "flaml", -0.005, -0.015, 0.005)
    d = decide(adapters, shown_within, Bar(margin=0.02))
    assert d["choice"] == "probe" and row(d, "probe")["dominated_by"] is None   # simpler and shown within
    d = decide(adapters, pair("probe", "flaml", -0.015, -0.035, 0.005), Bar(margin=0.02))
    assert d["choice"] == "flaml" and row(d, "probe")["dominated_by"] == "flaml"
    # dominated by a *simpler* candidate: never the verdict, even when shown within the margin
    adapters = [cand("api", 10, 0.80, p95=5, per_1k=0.01, family="cloud"), cand("automl", 60, 0.79, p95=50, per_1k=1.0)]
    d = decide(adapters, pair("automl", "api", -0.01, -0.015, -0.005), Bar(min_metric=0.7, margin=0.02))
    assert row(d, "automl")["dominated_by"] == "api" and d["choice"] == "api"


def test_real_bootstrap_tie_picks_the_simpler_on_a_large_test_set():
    """Two rows apart on 3,000 items: shown within a 0.02 margin through evaluate()'s paired bootstrap."""
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    truth = rng.choice(labels, 3000).tolist()
    good = [t if rng.random() < 0.9 else "a" for t in truth]
    better = list(good)
    fixed = [i for i, (g, t) in enumerate(zip(good, truth, strict=True)) if g != t][:2]
    for i in fixed:
        better[i] = truth[i]
    ev = evaluate(labels, truth, {"simple": good, "complex": better, "floor": ["a"] * 3000}, resamples=300)
    adapters = [cand("complex", 60, ev.metrics["complex"]["macro_f1"]), cand("simple", 10, ev.metrics["simple"]["macro_f1"]),
                cand("floor", 0, ev.metrics["floor"]["macro_f1"])]
    d = decide(adapters, ev.pairwise, Bar(margin=0.02))
    assert d["verdict"] == ADOPT and d["best_passing"] == "complex" and d["choice"] == "simple"
    v = row(d, "simple")["vs_best_passing"]
    assert -0.02 < v["difference"] < 0 and v["non_inferiority_shown"] and v["n"] == 3000


def test_rows_to_settle_arithmetic():
    assert rows_to_settle(500, -0.04, (-0.09, 0.01), -0.02) == 3125
    assert rows_to_settle(400, 0.83, (0.79, 0.87), 0.8) == 712   # (0.04 / 0.03)² × 400 = 711.1
    assert rows_to_settle(500, -0.02, (-0.05, 0.01), -0.02) is None    # exactly at the margin: never settles
    assert rows_to_settle(None, 0.1, (0.0, 0.2), 0.0) is None


# ---- a metric bar: good enough ---------------------------------------------------------------------------

def test_single_passing_candidate_is_adopted():
    adapters = [cand("majority", 0, 0.33), cand("tfidf-logreg", 40, 0.86)]
    d = decide(adapters, pair("majority", "tfidf-logreg", -0.53, -0.58, -0.48), Bar(min_metric=0.8))
    assert d["verdict"] == ADOPT
    assert d["choice"] == "tfidf-logreg" and d["best_passing"] == "tfidf-logreg"
    assert "tfidf-logreg is the simplest candidate that clears every bar" in d["reason"]
    assert row(d, "majority")["passes"] is False and row(d, "majority")["checks"]["metric"]["pass"] is False
    assert row(d, "tfidf-logreg")["role"] == "chosen (best passing)"
    assert d["nearest_miss"] is None


def test_bar_cleared_by_a_simpler_one_wins_and_says_what_complexity_buys():
    adapters = [cand("api", 10, 0.86, family="cloud", p95=40, per_1k=0.01, ci=(0.83, 0.89)),
                cand("automl", 60, 0.92, family="automl", p95=8, per_1k=0.02, ci=(0.90, 0.94))]
    d = decide(adapters, pair("api", "automl", -0.06, -0.09, -0.03), Bar(min_metric=0.8))
    assert d["verdict"] == ADOPT and d["choice"] == "api" and d["best_passing"] == "automl"
    assert d["extra"]["candidate"] == "automl" and d["extra"]["difference"] == pytest.approx(0.06)
    assert d["extra"]["ci"] == pytest.approx([0.03, 0.09])
    assert "automl would add +0.060 macro-F1 [+0.030, +0.090] for +$0.01 per 1k, -32 ms at p95" in d["reason"]


def test_borderline_does_not_clear_and_the_next_clear_one_is_chosen():
    adapters = [cand("api", 10, 0.81, family="cloud", ci=(0.78, 0.84)), cand("automl", 60, 0.90, ci=(0.88, 0.92))]
    d = decide(adapters, pair("api", "automl", -0.09, -0.12, -0.06, n=400), Bar(min_metric=0.8))
    r = row(d, "api")
    assert r["checks"]["metric"]["standing"] == "borderline" and not r["passes"] and r["borderline"]
    assert d["verdict"] == ADOPT and d["choice"] == "automl"
    assert "the simpler api is borderline" in d["reason"] and "straddles 0.8" in d["reason"]


def test_only_borderline_candidates_is_too_close_to_call():
    adapters = [cand("majority", 0, 0.3, ci=(0.25, 0.35)), cand("api", 10, 0.83, family="cloud", ci=(0.79, 0.87)),
                cand("automl", 60, 0.84, ci=(0.78, 0.90))]
    d = decide(adapters, pair("api", "automl", -0.01, -0.04, 0.02, n=400), Bar(min_metric=0.8))
    assert d["verdict"] == TOO_CLOSE and d["choice"] == "api" and not d["settled"]
    assert "api is borderline" in d["reason"] and "labeled test rows would settle it" in d["reason"]
    # point estimate below the bar but CI reaching it: still borderline, not clear
    d = decide([cand("x", 40, 0.78, ci=(0.74, 0.82))], {}, Bar(min_metric=0.8))
    assert d["verdict"] == TOO_CLOSE and d["choice"] == "x"


# ---- pivot --------------------------------------------------------------------------------------------

def test_pivot_names_nearest_miss_and_reason():
    adapters = [cand("majority", 0, 0.33), cand("tfidf-logreg", 40, 0.71, ci=(0.65, 0.76))]
    d = decide(adapters, pair("majority", "tfidf-logreg", -0.38, -0.43, -0.33), Bar(min_metric=0.85))
    assert d["verdict"] == PIVOT and d["choice"] is None
    assert d["nearest_miss"] == "tfidf-logreg"
    assert "macro-F1 0.710 < 0.85" in d["reason"]
    assert row(d, "tfidf-logreg")["role"] == "nearest miss"


def test_rule_is_stated_in_words():
    assert "simplest option that clears every bar" in decide([cand("x", 40, 0.9)], {}, Bar(min_metric=0.8))["rule"]
    r = decide([cand("x", 40, 0.9)], {}, Bar())["rule"]
    assert "at most 0.02 macro-F1 worse" in r and "too close to call" in r


def test_nearest_miss_is_smallest_relative_shortfall_not_best_metric():
    adapters = [cand("fast", 40, 0.78, p95=5, ci=(0.76, 0.795)), cand("slow", 50, 0.95, p95=400)]
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
    a = cand("x", 40, 0.87, p95=20.0, per_1k=1.0, one_off=5.0, ci=(0.855, 0.885))
    checks = check_bars(a, bar)
    assert list(checks) == [key]
    assert checks[key]["pass"] is (not fails)
    d = decide([a], {}, bar)
    assert d["verdict"] == (PIVOT if fails else ADOPT)


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
    adapters = [cand("majority", 0, 0.30, ci=(0.29, 0.31)), cand("zero-shot", 20, 0.32, ci=(0.31, 0.33))]
    pw = pair("zero-shot", "majority", 0.02, -0.01, 0.05)
    d = decide(adapters, pw, Bar(min_metric=0.28))
    assert d["choice"] == "majority"  # the floor clears the bar: simplest wins, no warning about itself
    assert not d["warnings"]
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
    adapters = [cand("tfidf-logreg", 40, 0.78, ci=(0.76, 0.795)), cand("flaml", 60, 0.79, p95=1000)]
    d = decide(adapters, pair("tfidf-logreg", "flaml", -0.01, -0.03, 0.01), Bar(min_metric=0.8, max_p95_ms=100), c)
    assert d["nearest_miss"] == "tfidf-logreg" and d["advice"]["adapter"] == "tfidf-logreg"
    assert pivot_advice(c, "macro_f1") .startswith("the learning curve of flaml")  # best final metric otherwise


def test_curve_trend_needs_two_points():
    assert curve_trend([{"fraction": 1.0, "n_train": 10, "macro_f1": 0.5}], "macro_f1") is None
    t = curve_trend(curve([0.5, 0.6, 0.7, 0.8])["adapters"]["tfidf-logreg"], "macro_f1")
    assert t["rising"] and t["gain_per_doubling"] == pytest.approx(0.1, abs=0.03)


def test_best_that_is_also_simplest_says_so():
    adapters = [cand("tfidf", 40, 0.813), cand("probe", 50, 0.811)]
    d = decide(adapters, pair("probe", "tfidf", -0.002, -0.015, 0.01), Bar())
    assert d["verdict"] == ADOPT and d["choice"] == "tfidf" and "it is also the simplest" in d["reason"]
    adapters.append(cand("majority", 0, 0.33))
    pw = pairs(pair("probe", "tfidf", -0.002, -0.015, 0.01), pair("majority", "tfidf", -0.48, -0.52, -0.44))
    d = decide(adapters, pw, Bar())
    assert "shown worse by more than the 0.02 margin: majority" in d["reason"] and "simplest" not in d["reason"]
    assert row(d, "probe")["vs_best_passing"]["standing"] == "shown within the margin"


def test_latency_bar_straddled_by_a_noisy_p95_is_warned():
    a = cand("x", 40, 0.9, p95=80, ci=(0.88, 0.92))
    a["timing"]["item_latency_ms"].update(p95_ci=[40.0, 400.0], unstable=True)
    d = decide([a], {}, Bar(min_metric=0.8, max_p95_ms=100))
    assert d["verdict"] == ADOPT and any("straddles the 100 ms bar" in w for w in d["warnings"])


def test_standing_text_states_the_verdicts_rule_for_each_standing():
    """The sentence the gate prints is decide's own judgement of the bar, for every standing."""
    a = cand("x", 40, 0.842, ci=(0.811, 0.870))
    for limit, st in ((0.80, "clear"), (0.85, "borderline"), (0.90, "below")):
        got, text = standing_text("macro-F1", 0.842, (0.811, 0.870), limit)
        assert got == st == check_bars(a, Bar(min_metric=limit))["metric"]["standing"]
        assert text.startswith(f"macro-F1 0.842 [0.811, 0.870] vs {limit:g}: {st} (")
    assert standing_text("macro-F1", 0.842, (0.811, 0.870), 0.85)[1].endswith(
        "(the 95% CI straddles the bar; the verdict's rule counts only a CI wholly at or above the bar as clearing)")
    assert standing_text("micro-F1", 0.9, None, 0.85)[0] == "clear"   # no CI: the point stands in for it
