"""Metrics agree with scikit-learn; bootstrap CIs have the coverage they claim."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from baseline.metrics import (
    bootstrap_chunks,
    bootstrap_metrics,
    bootstrap_weights,
    encode,
    evaluate,
    mcnemar,
    percentile_ci,
    score,
)

LABELS = ["bird", "cat", "dog"]


def _random_preds(n: int, seed: int, abstain: float = 0.0):
    rng = np.random.default_rng(seed)
    y = rng.choice(LABELS, size=n, p=[0.2, 0.3, 0.5]).tolist()
    pred = [t if rng.random() < 0.7 else rng.choice(LABELS) for t in y]
    pred = [None if rng.random() < abstain else p for p in pred]
    return y, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_metrics_match_sklearn(seed):
    y, pred = _random_preds(500, seed)
    m = score(LABELS, y, pred)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, labels=LABELS, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, pred, labels=LABELS, average="weighted", zero_division=0))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=LABELS, zero_division=0)
    for i, lab in enumerate(LABELS):
        assert m["per_class"][lab]["precision"] == pytest.approx(p[i])
        assert m["per_class"][lab]["recall"] == pytest.approx(r[i])
        assert m["per_class"][lab]["f1"] == pytest.approx(f[i])
        assert m["per_class"][lab]["support"] == s[i]
    cm = np.asarray(m["confusion"]["matrix"])
    assert (cm[:, :3] == confusion_matrix(y, pred, labels=LABELS)).all()
    assert cm[:, 3].sum() == 0 and m["coverage"] == 1.0


def test_abstentions_count_as_wrong_and_lower_coverage():
    y, pred = _random_preds(400, 5, abstain=0.2)
    m = score(LABELS, y, pred)
    filled = [p if p is not None else "__abstain__" for p in pred]
    assert m["accuracy"] == pytest.approx(accuracy_score(y, filled))
    assert m["macro_f1"] == pytest.approx(f1_score(y, filled, labels=LABELS, average="macro", zero_division=0))
    assert m["abstained"] == sum(p is None for p in pred)
    assert m["coverage"] == pytest.approx(1 - m["abstained"] / 400)


def test_vectorised_bootstrap_equals_explicit_resampling():
    y, pred = _random_preds(300, 9)
    yt, yp = encode(LABELS, y), encode(LABELS, pred)
    w = bootstrap_weights(300, 20, seed=3)
    vec = bootstrap_metrics(yt, yp, 3, w)
    for b in range(20):
        idx = np.repeat(np.arange(300), w[b].astype(int))
        ys, ps = [y[i] for i in idx], [pred[i] for i in idx]
        assert vec["accuracy"][b] == pytest.approx(accuracy_score(ys, ps))
        assert vec["macro_f1"][b] == pytest.approx(f1_score(ys, ps, labels=LABELS, average="macro", zero_division=0))


def test_bootstrap_ci_coverage_by_simulation():
    """95% intervals cover the true accuracy in 92–98% of 300 simulated test sets."""
    rng = np.random.default_rng(2026)
    true_acc, n, sims = 0.8, 400, 300
    covered = 0
    for s in range(sims):
        correct = rng.random(n) < true_acc
        y = ["a"] * n
        pred = ["a" if c else "b" for c in correct]
        yt, yp = encode(["a", "b"], y), encode(["a", "b"], pred)
        acc = bootstrap_metrics(yt, yp, 2, bootstrap_weights(n, 1000, seed=s))["accuracy"]
        lo, hi = percentile_ci(acc)
        covered += lo <= true_acc <= hi
    assert 0.92 <= covered / sims <= 0.98


def test_mcnemar_exact_and_chi2():
    a = np.array([True] * 10 + [False] * 2 + [True] * 5)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5)
    # 10 vs 2 discordant: exact two-sided binomial p = 2 * P(X <= 2 | n=12, 0.5)
    from math import comb
    expected = 2 * sum(comb(12, k) for k in range(3)) / 2 ** 12
    assert mcnemar(a, b) == pytest.approx(expected)
    a2 = np.array([True] * 40 + [False] * 20)
    b2 = np.array([False] * 40 + [True] * 20)
    # chi2 = (|40-20|-1)^2/60 = 6.0167 with 1 df: p = erfc(sqrt(chi2/2))
    from math import erfc, sqrt
    assert mcnemar(a2, b2) == pytest.approx(erfc(sqrt(361 / 60 / 2)))
    assert mcnemar(a, a) == 1.0


def test_evaluate_pairs_and_flags_indistinguishable():
    rng = np.random.default_rng(1)
    n = 600
    y = rng.choice(LABELS, n).tolist()
    good = [t if rng.random() < 0.85 else rng.choice(LABELS) for t in y]
    twin = list(good)  # same quality, different rows: 15 fixed, 15 broken
    right = [i for i in range(n) if good[i] == y[i]][:15]
    wrong = [i for i in range(n) if good[i] != y[i]][:15]
    for i in right:
        twin[i] = next(lab for lab in LABELS if lab != y[i])
    for i in wrong:
        twin[i] = y[i]
    bad = [t if rng.random() < 0.4 else rng.choice(LABELS) for t in y]
    ev = evaluate(LABELS, y, {"good": good, "twin": twin, "bad": bad}, resamples=500, seed=0)
    assert ev.best in {"good", "twin"}
    other = "twin" if ev.best == "good" else "good"
    assert ev.comparisons[other]["indistinguishable"]
    assert not ev.comparisons["bad"]["indistinguishable"]
    assert ev.comparisons["bad"]["ci"][1] < 0 and ev.comparisons["bad"]["mcnemar_p"] < 1e-6
    lo, hi = ev.metrics["good"]["ci"]["macro_f1"]
    assert lo <= ev.metrics["good"]["macro_f1"] <= hi
    ab, ba = ev.pairwise["good"]["bad"], ev.pairwise["bad"]["good"]
    assert ab["difference"] == pytest.approx(-ba["difference"]) and ab["ci"][0] == pytest.approx(-ba["ci"][1])


# ---- scikit-learn's default label set: classes absent from the test split ------------------------------

MANY = [f"intent_{i:02d}" for i in range(26)]


def _absent_case(seed: int):
    """26 declared labels; 6 have no test rows; one of those 6 is still predicted (a false positive)."""
    rng = np.random.default_rng(seed)
    present = MANY[:20]
    y = rng.choice(present, size=300).tolist()
    pred = [t if rng.random() < 0.6 else rng.choice(present) for t in y]
    pred[0] = MANY[20] if y[0] != MANY[20] else MANY[21]   # a label with no test rows, predicted once
    return y, pred


@pytest.mark.parametrize("seed", [0, 1])
def test_macro_f1_uses_sklearns_default_label_set(seed):
    """ATIS regression: classes with no test rows and no predictions are not scored as F1 = 0."""
    y, pred = _absent_case(seed)
    m = score(MANY, y, pred)
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    assert m["macro_f1"] > f1_score(y, pred, labels=MANY, average="macro", zero_division=0)  # the old, wrong figure
    assert m["weighted_f1"] == pytest.approx(f1_score(y, pred, average="weighted", zero_division=0))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert set(m["absent_labels"]) == set(MANY[20:]) - {pred[0]}
    assert MANY[20] in m["per_class"] or MANY[21] in m["per_class"]     # predicted, so scored (F1 0)
    assert all(lab not in m["per_class"] for lab in m["absent_labels"])


def test_macro_f1_with_absent_labels_and_abstentions_matches_sklearn():
    y, pred = _absent_case(3)
    pred = [None if i % 7 == 0 else p for i, p in enumerate(pred)]
    m = score(MANY, y, pred)
    seen = sorted(set(y) | {p for p in pred if p is not None})
    filled = [p if p is not None else "__abstain__" for p in pred]
    assert m["macro_f1"] == pytest.approx(f1_score(y, filled, labels=seen, average="macro", zero_division=0))


def test_bootstrap_resamples_use_the_same_label_set_as_sklearn():
    """Each resample's macro-F1 equals f1_score on that resample (labels present in it)."""
    y, pred = _absent_case(4)
    n = len(y)
    w = bootstrap_weights(n, 5, seed=9)
    yt, yp = encode(MANY, y), encode(MANY, pred)
    b = bootstrap_metrics(yt, yp, len(MANY), w)
    for r in range(5):
        idx = np.repeat(np.arange(n), w[r].astype(int))
        yr, pr = [y[i] for i in idx], [pred[i] for i in idx]
        assert b["macro_f1"][r] == pytest.approx(f1_score(yr, pr, average="macro", zero_division=0))


def _unchunked_reference(labels, y, preds, resamples, seed, headline="macro_f1"):
    """The whole resamples × n matrix at once, drawn in one call: what ``evaluate`` did before chunking."""
    k = len(labels)
    n = len(y)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples, dtype=np.int64) * n)[:, None]
    w = np.bincount(idx.ravel(), minlength=resamples * n).reshape(resamples, n).astype(np.float64)
    yt = encode(labels, y)
    return {name: bootstrap_metrics(yt, encode(labels, p), k, w) for name, p in preds.items()}


@pytest.mark.parametrize("chunk", [None, 1, 777, 10**9])
def test_chunked_bootstrap_equals_unchunked_for_the_same_seed(chunk):
    rng = np.random.default_rng(5)
    n = 1001
    y = rng.choice(LABELS, n).tolist()
    preds = {f"m{j}": [t if rng.random() < 0.5 + 0.15 * j else rng.choice(LABELS) for t in y] for j in range(3)}
    preds["m0"][3] = None
    ref = _unchunked_reference(LABELS, y, preds, 150, seed=11)
    ev = evaluate(LABELS, y, preds, resamples=150, seed=11, chunk_elements=chunk)
    for name in preds:
        for met in ("accuracy", "macro_f1", "weighted_f1"):
            assert ev.metrics[name]["ci"][met] == percentile_ci(ref[name][met])
    d = ref["m0"]["macro_f1"] - ref["m2"]["macro_f1"]
    assert ev.pairwise["m0"]["m2"]["ci"] == percentile_ci(d)
    w = bootstrap_weights(n, 150, seed=11)
    assert np.array_equal(w, np.vstack([c for _, c in bootstrap_chunks(n, 150, seed=11, max_elements=chunk)]))


def test_bootstrap_memory_does_not_grow_with_resamples_times_rows():
    """200k rows × 400 resamples would be 640 MB as one float64 matrix; chunked, evaluate stays far below."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 200_000
    y = rng.choice(LABELS, n).tolist()
    preds = {"a": [t if rng.random() < 0.8 else "b" for t in y], "b": ["a"] * n}
    tracemalloc.start()
    evaluate(LABELS, y, preds, resamples=400, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 80e6, f"peak {peak / 1e6:.0f} MB"


def test_bootstrap_by_row_patterns_holds_with_many_candidates():
    """25 candidates: the joint pattern key is renumbered before it overflows; figures still equal row weighting."""
    rng = np.random.default_rng(8)
    n = 400
    y = rng.choice(LABELS, n).tolist()
    preds = {f"c{j}": [t if rng.random() < 0.6 else rng.choice(LABELS) for t in y] for j in range(25)}
    ref = _unchunked_reference(LABELS, y, preds, 60, seed=2)
    ev = evaluate(LABELS, y, preds, resamples=60, seed=2)
    for name in preds:
        assert ev.metrics[name]["ci"]["macro_f1"] == percentile_ci(ref[name]["macro_f1"])


def _pattern_inv(n: int, shares, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(len(shares), size=n, p=shares).astype(np.int32)


def test_large_runs_draw_pattern_counts_from_the_row_bootstrap_distribution(monkeypatch):
    """From MULTINOMIAL_MIN_ROWS the counts are drawn directly: their mean and covariance are n·p and n(diag p − ppᵀ),
    what drawing n rows gives (checked against the row draws themselves on the same data)."""
    from baseline import metrics

    n, shares = 150_000, [0.6, 0.25, 0.1, 0.04, 0.01]
    inv = _pattern_inv(n, shares, 3)
    p = np.bincount(inv, minlength=5) / n
    assert metrics.draws_patterns(n, 5)
    fast = np.vstack([c for _, c in metrics._pattern_counts(inv, 5, 3000, 0, None)])
    assert fast.shape == (3000, 5) and np.all(fast.sum(axis=1) == n)
    cov = n * (np.diag(p) - np.outer(p, p))
    assert np.allclose(fast.mean(axis=0), n * p, atol=4 * np.sqrt(np.diag(cov) / 3000))
    assert np.allclose(np.cov(fast.T), cov, rtol=0.12, atol=0.12 * np.diag(cov).max())
    monkeypatch.setattr(metrics, "MULTINOMIAL_MIN_ROWS", 10**12)   # the row draws, on the same rows
    rows = np.vstack([c for _, c in metrics._pattern_counts(inv, 5, 600, 0, None)])
    ratio = fast.std(axis=0) / rows.std(axis=0)
    assert np.all((ratio > 0.85) & (ratio < 1.15)), ratio


@pytest.mark.parametrize("chunk", [1, 13, 10**9])
def test_pattern_count_draws_do_not_depend_on_chunking(chunk):
    from baseline import metrics

    inv = _pattern_inv(120_000, [0.5, 0.3, 0.2], 4)
    whole = np.vstack([c for _, c in metrics._pattern_counts(inv, 3, 200, 9, None)])
    chunked = np.vstack([c for _, c in metrics._pattern_counts(inv, 3, 200, 9, chunk)])
    assert np.array_equal(whole, chunked)


def test_small_runs_and_runs_with_many_patterns_keep_the_row_draws():
    """Below MULTINOMIAL_MIN_ROWS, or with fewer than ROWS_PER_PATTERN rows per pattern, rows are drawn as before."""
    from baseline import metrics

    assert not metrics.draws_patterns(metrics.MULTINOMIAL_MIN_ROWS - 1, 2)
    assert not metrics.draws_patterns(200_000, 200_000 // metrics.ROWS_PER_PATTERN + 1)
    inv = _pattern_inv(5_000, [0.7, 0.3], 5)
    got = np.vstack([c for _, c in metrics._pattern_counts(inv, 2, 40, 1, None)])
    w = bootstrap_weights(5_000, 40, seed=1)
    assert np.array_equal(got, np.stack([w[:, inv == j].sum(axis=1) for j in range(2)], axis=1))


def test_large_run_cis_agree_with_the_row_draws_within_monte_carlo_noise(monkeypatch):
    """A 200k-row run's CIs and paired CI from the pattern draws sit within Monte-Carlo noise of the row draws'."""
    from baseline import metrics

    rng = np.random.default_rng(12)
    n = 200_000
    y = rng.choice(LABELS, n, p=[0.2, 0.3, 0.5])
    a = np.where(rng.random(n) < 0.8, y, rng.choice(LABELS, n))
    b = np.where(rng.random(n) < 0.7, y, rng.choice(LABELS, n))
    preds = {"a": a.tolist(), "b": b.tolist()}
    fast = evaluate(LABELS, y.tolist(), preds, resamples=400, seed=0)
    monkeypatch.setattr(metrics, "MULTINOMIAL_MIN_ROWS", 10**12)
    slow = evaluate(LABELS, y.tolist(), preds, resamples=400, seed=0)
    for name in preds:
        lo, hi = slow.metrics[name]["ci"]["macro_f1"]
        width = hi - lo
        assert fast.metrics[name]["macro_f1"] == slow.metrics[name]["macro_f1"]
        assert np.allclose(fast.metrics[name]["ci"]["macro_f1"], (lo, hi), atol=0.15 * width)
    lo, hi = slow.pairwise["a"]["b"]["ci"]
    assert np.allclose(fast.pairwise["a"]["b"]["ci"], (lo, hi), atol=0.15 * (hi - lo))


def test_encode_maps_unknown_missing_and_numpy_strings_like_a_categorical():
    rng = np.random.default_rng(2)
    vals = rng.choice(np.array(LABELS + ["fish", None, np.nan, ""], dtype=object), 5000).tolist()
    vals[:3] = [np.str_("cat"), "dog", None]
    want = np.array([LABELS.index(v) if isinstance(v, str) and v in LABELS else len(LABELS) for v in vals])
    assert np.array_equal(encode(LABELS, vals), want)
    assert np.array_equal(encode(LABELS, np.asarray(vals, dtype=object)), want)
