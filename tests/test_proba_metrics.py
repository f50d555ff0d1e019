"""Probability metrics equal scikit-learn's (ROC-AUC, log loss, Brier); CIs, skips and calibration behave."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from baseline.metrics import bootstrap_weights, percentile_ci
from baseline.tasks.proba_metrics import probability_metrics


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    """scikit-learn warns when y_prob rows do not sum to one exactly (rounded inputs); the figures are compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _data(n: int, k: int, seed: int, decimals: int | None = None, signal: float = 1.5):
    """Labels, truth and probability rows (ties when ``decimals`` rounds them), with the (n, k) matrix."""
    rng = np.random.default_rng(seed)
    labels = [f"c{j}" for j in range(k)]
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += signal
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    if decimals is not None:
        P = np.round(P, decimals)
        P /= P.sum(axis=1, keepdims=True)
    return labels, [labels[i] for i in y], [dict(zip(labels, map(float, r), strict=True)) for r in P], P


def _sklearn(labels, y, P) -> dict[str, float]:
    if len(labels) == 2:
        pos = np.array(y) == labels[1]
        return {"roc_auc": roc_auc_score(pos, P[:, 1]), "log_loss": log_loss(y, P[:, 1], labels=labels),
                "brier": brier_score_loss(y, P[:, 1], pos_label=labels[1])}
    return {"roc_auc": roc_auc_score(y, P, multi_class="ovr", average="macro", labels=labels),
            "log_loss": log_loss(y, P, labels=labels), "brier": brier_score_loss(y, P, labels=labels)}


SHAPES = [(30, 2, 1), (500, 2, None), (400, 3, 2), (2000, 6, 3), (100_000, 2, None), (100_000, 4, 2)]


@pytest.mark.parametrize(("n", "k", "decimals"), SHAPES)
def test_point_figures_match_sklearn(n, k, decimals):
    labels, y, scores, P = _data(n, k, n + k, decimals)
    r = probability_metrics(labels, y, scores, resamples=20)
    for met, ref in _sklearn(labels, y, P).items():
        assert r[met] == pytest.approx(ref, rel=1e-12, abs=1e-12), met
    assert (r["rows"], r["scored"], r["unscored"], r["reason"]) == (n, n, 0, None)
    assert r["kind"] == ("binary" if k == 2 else "multiclass")
    if k == 2:   # 2-d form: the other class's column is 1 - p, the same figure
        assert r["log_loss"] == pytest.approx(log_loss(y, P, labels=labels), rel=1e-12)


def test_positive_class_is_the_second_label_in_sorted_order():
    rng = np.random.default_rng(0)
    y = rng.choice(["yes", "no"], 300).tolist()
    p_yes = np.clip(np.where(np.array(y) == "yes", 0.7, 0.4) + rng.normal(0, 0.2, 300), 0, 1)
    scores = [{"yes": float(p), "no": float(1 - p)} for p in p_yes]
    r = probability_metrics(["yes", "no"], y, scores, resamples=20)
    assert r["positive_label"] == "yes" and r["roc_auc_labels"] == ["yes"]
    assert r["roc_auc"] == pytest.approx(roc_auc_score(y, p_yes))   # scikit-learn's own pick for string labels
    assert r["brier"] == pytest.approx(brier_score_loss(y, p_yes, pos_label="yes"))
    only_yes = probability_metrics(["yes", "no"], y, [{"yes": float(p)} for p in p_yes], resamples=20)
    assert only_yes["roc_auc"] == r["roc_auc"] and only_yes["log_loss"] == pytest.approx(r["log_loss"])


def test_clipping_of_certain_answers_follows_sklearn():
    labels = ["a", "b", "c"]
    y = ["a", "b", "c", "a", "b"]
    P = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0], [0.5, 0.5, 0], [0, 0, 1.0]])
    scores = [dict(zip(labels, map(float, row), strict=True)) for row in P]
    r = probability_metrics(labels, y, scores, resamples=20)
    assert r["log_loss"] == pytest.approx(log_loss(y, P, labels=labels), rel=1e-12)
    assert np.isfinite(r["log_loss"]) and r["log_loss"] > 10   # a sure, wrong answer costs -log(eps)/n


def test_unscored_rows_are_excluded_and_counted():
    labels, y, scores, P = _data(600, 3, 7, 2)
    scores = list(scores)
    holes = list(range(0, 600, 7))
    for i, bad in zip(holes, [None, {}, {"zz": 1.0}, {"c0": float("nan")}, {"c0": -0.2, "c1": 1.2}] * 18,
                      strict=False):
        scores[i] = bad
    r = probability_metrics(labels, y, scores, resamples=50)
    ok = np.ones(600, bool)
    ok[holes] = False
    assert (r["scored"], r["unscored"]) == (int(ok.sum()), len(holes))
    ref = _sklearn(labels, [t for t, o in zip(y, ok, strict=True) if o], P[ok])
    for met, v in ref.items():
        assert r[met] == pytest.approx(v, rel=1e-12), met


def test_no_scores_give_none_with_a_reason():
    r = probability_metrics(["a", "b"], ["a", "b", "a"], [None, None, None])
    assert r["roc_auc"] is None and r["log_loss"] is None and r["calibration"] is None
    assert "no class probabilities" in r["reason"] and r["unscored"] == 3
    with pytest.raises(ValueError):
        probability_metrics(["a", "b"], ["a", "c"], [None, None])
    with pytest.raises(ValueError):
        probability_metrics(["a", "b"], ["a"], [None, None])


def test_one_class_in_the_truth_has_no_auc_but_a_log_loss():
    y = ["b"] * 20
    scores = [{"a": 0.3, "b": 0.7}] * 20
    r = probability_metrics(["a", "b"], y, scores, resamples=30)
    assert r["roc_auc"] is None and "one class" in r["roc_auc_reason"] and r["ci"]["roc_auc"] is None
    assert r["log_loss"] == pytest.approx(log_loss(y, [0.7] * 20, labels=["a", "b"]))


def test_multiclass_auc_averages_the_labels_present_in_the_truth():
    labels, y, scores, P = _data(500, 4, 11, 2)
    keep = np.array([t != "c3" for t in y])
    y2 = [t for t, k in zip(y, keep, strict=True) if k]
    r = probability_metrics(labels, y2, [s for s, k in zip(scores, keep, strict=True) if k], resamples=20)
    assert r["roc_auc_absent_labels"] == ["c3"] and r["roc_auc_labels"] == ["c0", "c1", "c2"]
    per = [roc_auc_score(np.array(y2) == c, P[keep, j]) for j, c in enumerate(labels[:3])]
    assert r["roc_auc"] == pytest.approx(np.mean(per), rel=1e-12)
    assert r["log_loss"] == pytest.approx(log_loss(y2, P[keep], labels=labels), rel=1e-12)


@pytest.mark.parametrize(("k", "decimals"), [(2, 1), (2, None), (3, 1)])
def test_bootstrap_matches_brute_force_sklearn_on_the_shared_resamples(k, decimals):
    labels, y, scores, P = _data(80, k, 5, decimals, signal=0.8)
    R = 60
    r = probability_metrics(labels, y, scores, resamples=R, seed=3)
    refs = {"roc_auc": [], "log_loss": [], "brier": []}
    for w in bootstrap_weights(len(y), R, 3):
        if k == 2:
            pos = np.array(y) == labels[1]
            refs["roc_auc"].append(roc_auc_score(pos, P[:, 1], sample_weight=w))
        else:
            refs["roc_auc"].append(np.mean([roc_auc_score(np.array(y) == c, P[:, j], sample_weight=w)
                                            for j, c in enumerate(labels)]))
        refs["log_loss"].append(log_loss(y, P, labels=labels, sample_weight=w))
        refs["brier"].append(brier_score_loss(y, P[:, 1], pos_label=labels[1], sample_weight=w) if k == 2 else
                             brier_score_loss(y, P, labels=labels, sample_weight=w))
    for met, ref in refs.items():
        assert r["ci"][met] == pytest.approx(percentile_ci(np.array(ref)), rel=1e-10), met
    assert r["roc_auc_skipped_resamples"] == 0 and r["ci_level"] == 0.95


def test_resamples_with_one_class_are_skipped_and_counted():
    y = ["a"] * 29 + ["b"]
    scores = [{"b": 0.1 + 0.02 * i} for i in range(30)]
    R = 400
    r = probability_metrics(["a", "b"], y, scores, resamples=R, seed=1)
    W = bootstrap_weights(30, R, 1)
    assert r["roc_auc_skipped_resamples"] == int((W[:, -1] == 0).sum()) > 50   # the lone positive not drawn
    assert r["roc_auc"] == 1.0 and r["ci"]["roc_auc"] == (1.0, 1.0) and r["empty_resamples"] == 0


def test_cis_contain_the_point_and_shrink_with_more_rows():
    widths = []
    for n in (300, 4800):
        labels, y, scores, _ = _data(n, 3, 4, 2, signal=1.0)
        r = probability_metrics(labels, y, scores, resamples=400, seed=1)
        for met in ("roc_auc", "log_loss", "brier"):
            lo, hi = r["ci"][met]
            assert lo <= r[met] <= hi, met
        widths.append({met: r["ci"][met][1] - r["ci"][met][0] for met in ("roc_auc", "log_loss", "brier")})
    for met in widths[0]:
        assert widths[1][met] < widths[0][met] / 2, met   # 16x the rows: about a quarter of the width


def test_chunking_gives_identical_figures():
    labels, y, scores, _ = _data(300, 3, 9, 2)
    scores = [None if i % 11 == 0 else s for i, s in enumerate(scores)]
    ref = probability_metrics(labels, y, scores, resamples=101, seed=2)
    for chunk in (1, 300, 1000, 7777):
        assert probability_metrics(labels, y, scores, resamples=101, seed=2, chunk_elements=chunk) == ref


def test_unnormalised_rows_are_renormalised_and_counted():
    labels, y, scores, P = _data(200, 3, 12, 2)
    doubled = [{k: 2 * v for k, v in s.items()} if i % 2 else s for i, s in enumerate(scores)]
    r = probability_metrics(labels, y, doubled, resamples=20)
    assert r["renormalised"] == 100
    P = P.copy()
    P[1::2] = 2 * P[1::2] / (2 * P[1::2]).sum(axis=1, keepdims=True)   # as renormalised (ties may shift by an ulp)
    for met, ref in _sklearn(labels, y, P).items():
        assert r[met] == pytest.approx(ref, rel=1e-12), met


def test_calibration_bins_the_top_class_probability():
    labels, y, scores, P = _data(1000, 3, 13, 2, signal=1.0)
    cal = probability_metrics(labels, y, scores, resamples=10)["calibration"]
    conf, right = P.max(axis=1), P.argmax(axis=1) == np.array([labels.index(t) for t in y])
    assert len(cal["bins"]) == 10 and sum(b["count"] for b in cal["bins"]) == 1000
    ece = 0.0
    for b in cal["bins"]:
        inside = (conf >= b["lower"]) & ((conf < b["upper"]) | (b["upper"] == 1.0))
        assert b["count"] == int(inside.sum())
        if b["count"]:
            assert b["confidence"] == pytest.approx(conf[inside].mean())
            assert b["accuracy"] == pytest.approx(right[inside].mean())
            ece += inside.mean() * abs(right[inside].mean() - conf[inside].mean())
        else:
            assert b["confidence"] is None and b["accuracy"] is None
    assert cal["ece"] == pytest.approx(ece) and cal["basis"] == "top-class probability"


def test_100k_rows_3_candidates_1000_resamples_in_seconds():
    labels, y, _, _ = _data(100_000, 2, 0)
    cands = [_data(100_000, 2, 0, signal=s)[2] for s in (1.0, 1.5, 2.0)]
    t = time.perf_counter()
    out = [probability_metrics(labels, y, sc, resamples=1000) for sc in cands]
    elapsed = time.perf_counter() - t
    assert all(r["ci"]["roc_auc"][0] <= r["roc_auc"] <= r["ci"]["roc_auc"][1] for r in out)
    assert elapsed < 60, elapsed   # ~4-5 s on two shared cores: generous for slow CI
