"""Multi-label metrics equal scikit-learn's on binarised matrices; CIs and paired comparisons behave."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

from baseline.metrics import bootstrap_weights, evaluate, percentile_ci
from baseline.tasks.labelsets import binarize, encode
from baseline.tasks.multilabel_metrics import CI_METRICS, evaluate_multilabel


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    """scikit-learn warns on every undefined ratio (zero_division); the default (0) is what is compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _strings(M: np.ndarray, labels: list[str]) -> list[str]:
    return [encode([labels[j] for j in np.flatnonzero(r)]) for r in M]


def _data(n: int, k: int, seed: int, density: float = 0.2, flip: float = 0.1, abstain: float = 0.0,
          absent: bool = True):
    """Truth and one noisy prediction as canonical strings; the last label (if ``absent``) is never used."""
    rng = np.random.default_rng(seed)
    labels = [f"lab{j:02d}" for j in range(k)]
    Y = (rng.random((n, k)) < density * rng.random(k) * 2).astype(np.uint8)
    P = Y ^ (rng.random((n, k)) < flip).astype(np.uint8)
    if absent:
        Y[:, -1] = P[:, -1] = 0
    pred: list[str | None] = _strings(P, labels)
    pred = [None if rng.random() < abstain else p for p in pred]
    return labels, _strings(Y, labels), pred


def _sklearn_figures(labels, y_true, pred) -> dict:
    Y, _ = binarize(y_true, labels)
    P, abst = binarize(pred, labels)
    present = (Y.sum(0) > 0) | (P.sum(0) > 0)
    # an abstention never matches, not even an empty truth: an extra column only abstained rows predict
    Ya, Pa = np.column_stack([Y, np.zeros(len(Y), np.uint8)]), np.column_stack([P, abst.astype(np.uint8)])
    return {
        "micro_f1": f1_score(Y, P, average="micro"),
        # labels= picks the present columns (slicing to one column would turn the matrix into a binary target)
        "macro_f1": f1_score(Y, P, labels=np.flatnonzero(present), average="macro") if present.any() else 0.0,
        "samples_f1": f1_score(Y, P, average="samples"),
        "weighted_f1": f1_score(Y, P, average="weighted"),
        "hamming_loss": hamming_loss(Y, P),
        "accuracy": accuracy_score(Ya, Pa),
        "prfs": precision_recall_fscore_support(Y, P),
        "present": present,
        "Y": Y, "P": P, "abstained": abst,
    }


SHAPES = [(200, 3, 0.3, 0.0), (500, 12, 0.15, 0.1), (300, 40, 0.05, 0.2), (50, 2, 0.5, 0.0), (400, 8, 0.02, 0.3)]


@pytest.mark.parametrize(("n", "k", "density", "abstain"), SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_point_metrics_match_sklearn(n, k, density, abstain, seed):
    labels, y, pred = _data(n, k, seed, density=density, abstain=abstain)
    m = evaluate_multilabel(labels, y, {"c": pred}, resamples=20).metrics["c"]
    ref = _sklearn_figures(labels, y, pred)
    Y, P, present = ref["Y"], ref["P"], ref["present"]
    assert (Y.sum(1) == 0).any()   # every shape has rows with the empty set
    for met in CI_METRICS:
        assert m[met] == pytest.approx(ref[met], abs=1e-12), met
    assert m["subset_accuracy"] == m["accuracy"]
    if present.sum() >= 2:   # the same as averaging the present columns alone
        assert m["macro_f1"] == pytest.approx(f1_score(Y[:, present], P[:, present], average="macro"), abs=1e-12)
    p, r, f, s = ref["prfs"]
    assert list(m["per_class"]) == [lab for j, lab in enumerate(labels) if present[j]]
    for j, lab in enumerate(labels):
        if present[j]:
            got = m["per_class"][lab]
            assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p[j], r[j], f[j]), abs=1e-12)
            assert got["support"] == s[j]
    assert m["absent_labels"] == [lab for j, lab in enumerate(labels) if not present[j]]
    assert labels[-1] in m["absent_labels"]
    abst = ref["abstained"]
    assert m["abstained"] == int(abst.sum()) == sum(x is None for x in pred)
    assert m["coverage"] == pytest.approx(1 - abst.mean())
    assert m["cardinality"]["true"] == pytest.approx(Y.sum(1).mean())
    assert m["cardinality"]["predicted"] == pytest.approx(P[~abst].sum(1).mean() if (~abst).any() else 0.0)
    assert m["confusion"] is None


def test_degenerate_candidates_match_sklearn():
    labels, y, _ = _data(300, 6, 11)
    everything = encode(labels[:-1])
    preds = {"empty": ["(none)"] * 300, "everything": [everything] * 300, "silent": [None] * 300,
             "truth": list(y)}
    ev = evaluate_multilabel(labels, y, preds, resamples=50)
    for name, pred in preds.items():
        ref = _sklearn_figures(labels, y, pred)
        for met in CI_METRICS:
            assert ev.metrics[name][met] == pytest.approx(ref[met], abs=1e-12), (name, met)
    assert ev.metrics["silent"]["coverage"] == 0.0 and ev.metrics["silent"]["cardinality"]["predicted"] == 0.0
    assert ev.metrics["empty"]["cardinality"]["predicted"] == 0.0
    assert ev.metrics["everything"]["cardinality"]["predicted"] == 5.0
    assert ev.best == "truth" and ev.metrics["truth"]["ci"]["accuracy"] == (1.0, 1.0)


def test_absent_label_is_outside_macro_but_sklearn_all_columns_scores_it_zero():
    labels, y, pred = _data(300, 5, 3, absent=True)
    m = evaluate_multilabel(labels, y, {"c": pred}, resamples=10).metrics["c"]
    Y, _ = binarize(y, labels)
    P, _ = binarize(pred, labels)
    assert m["absent_labels"] == [labels[-1]]
    assert m["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro") * 5 / 4)


def test_empty_truth_and_empty_prediction_score_zero_in_samples_f1_as_sklearn_default():
    labels = ["a", "b"]
    y = ["a", "(none)", "(none)", "a|b"]
    pred = ["a", "(none)", "a", "b"]
    m = evaluate_multilabel(labels, y, {"c": pred}, resamples=10).metrics["c"]
    # rows: 1, 0 (empty/empty: zero_division default), 0, 2/3
    assert m["samples_f1"] == pytest.approx((1 + 0 + 0 + 2 / 3) / 4)
    Y, _ = binarize(y, labels)
    P, _ = binarize(pred, labels)
    assert m["samples_f1"] == pytest.approx(f1_score(Y, P, average="samples"))
    assert m["accuracy"] == pytest.approx(accuracy_score(Y, P)) == 0.5   # the empty/empty row is an exact match


def test_abstention_is_wrong_even_on_an_empty_truth():
    labels = ["a", "b"]
    y = ["(none)", "(none)", "a"]
    m = evaluate_multilabel(labels, y, {"c": [None, "(none)", "a"]}, resamples=10).metrics["c"]
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["abstained"] == 1 and m["coverage"] == pytest.approx(2 / 3)
    assert m["hamming_loss"] == 0.0   # an abstention is an all-zero row for the label-wise figures


def test_headline_must_be_higher_is_better():
    labels, y, pred = _data(50, 3, 0)
    for bad in ("hamming_loss", "weighted_f1", "nope"):
        with pytest.raises(ValueError):
            evaluate_multilabel(labels, y, {"c": pred}, headline=bad)
    for good in ("micro_f1", "macro_f1", "samples_f1", "accuracy"):
        assert evaluate_multilabel(labels, y, {"c": pred}, headline=good, resamples=10).headline == good


def test_cis_contain_the_point_and_shrink_with_more_rows():
    widths = []
    for n in (200, 3200):
        labels, y, pred = _data(n, 6, 4, abstain=0.05)
        m = evaluate_multilabel(labels, y, {"c": pred}, resamples=400, seed=1).metrics["c"]
        assert m["ci_level"] == 0.95
        for met in CI_METRICS:
            lo, hi = m["ci"][met]
            assert lo <= m[met] <= hi, met
        widths.append({met: m["ci"][met][1] - m["ci"][met][0] for met in CI_METRICS})
    for met in CI_METRICS:
        assert widths[1][met] < widths[0][met] / 2, met   # 16x the rows: about a quarter of the width


def test_bootstrap_matches_brute_force_sklearn_on_the_shared_resamples():
    labels, y, pred = _data(120, 4, 5, abstain=0.1, absent=False)
    R = 60
    m = evaluate_multilabel(labels, y, {"c": pred}, resamples=R, seed=3).metrics["c"]
    Y, _ = binarize(y, labels)
    P, _ = binarize(pred, labels)
    W = bootstrap_weights(len(y), R, 3)
    micro, macro, samples = [], [], []
    for w in W:
        micro.append(f1_score(Y, P, average="micro", sample_weight=w))
        present = np.flatnonzero(((Y + P) * w[:, None]).sum(0) > 0)
        macro.append(f1_score(Y, P, labels=present, average="macro", sample_weight=w))
        samples.append(f1_score(Y, P, average="samples", sample_weight=w))
    for met, ref in (("micro_f1", micro), ("macro_f1", macro), ("samples_f1", samples)):
        assert m["ci"][met] == pytest.approx(percentile_ci(np.array(ref)), abs=1e-12), met


def test_one_label_per_row_shares_the_single_label_resample_stream():
    rng = np.random.default_rng(0)
    labels = ["x", "y", "z"]
    y = rng.choice(labels, 400).tolist()
    pred = [t if rng.random() < 0.7 else str(rng.choice(labels)) for t in y]
    ml = evaluate_multilabel(labels, y, {"c": pred}, headline="accuracy", resamples=300, seed=7)
    sl = evaluate(labels, y, {"c": pred}, headline="accuracy", resamples=300, seed=7)
    assert ml.metrics["c"]["accuracy"] == sl.metrics["c"]["accuracy"]
    assert ml.metrics["c"]["ci"]["accuracy"] == sl.metrics["c"]["ci"]["accuracy"]


def test_paired_against_itself_is_zero_and_the_better_candidate_is_best():
    labels, y, pred = _data(400, 6, 8, abstain=0.05)
    ev = evaluate_multilabel(labels, y, {"noisy": pred, "twin": list(pred), "oracle": y}, resamples=200)
    assert ev.best == "oracle" and ev.metrics["oracle"]["micro_f1"] == 1.0
    same = ev.pairwise["noisy"]["twin"]
    assert same["difference"] == 0 and same["ci"] == (0.0, 0.0)
    assert same["discordant"] == 0 and same["mcnemar_p"] == 1.0 and same["indistinguishable"]
    c = ev.comparisons["noisy"]
    assert c["against"] == "oracle" and c["metric"] == "micro_f1" and c["difference"] < 0
    assert c["ci"][1] < 0 and not c["indistinguishable"]
    assert ev.pairwise["oracle"]["noisy"]["ci"] == (-c["ci"][1], -c["ci"][0])
    assert c["discordant"] == sum(p != t for p, t in zip(pred, y, strict=True))
    assert set(ev.comparisons) == {"noisy", "twin"}


def test_chunking_gives_identical_figures():
    labels, y, pred = _data(300, 7, 9, abstain=0.1)
    _, _, other = _data(300, 7, 10, abstain=0.0)
    preds = {"a": pred, "b": other}
    ref = evaluate_multilabel(labels, y, preds, resamples=101, seed=2)
    for chunk in (1, 300, 1000, 7777):
        ev = evaluate_multilabel(labels, y, preds, resamples=101, seed=2, chunk_elements=chunk)
        assert ev.metrics == ref.metrics
        assert ev.pairwise == ref.pairwise


def test_empty_inputs():
    ev = evaluate_multilabel(["a"], [], {"c": []}, resamples=10)
    assert ev.metrics["c"]["micro_f1"] == 0.0 and ev.metrics["c"]["coverage"] == 0.0
    assert evaluate_multilabel(["a"], ["a"], {}).best is None
    with pytest.raises(ValueError):
        evaluate_multilabel(["a"], ["a", "a"], {"c": ["a"]})


def test_100k_rows_50_labels_1000_resamples_in_seconds():
    rng = np.random.default_rng(0)
    n, k = 100_000, 50
    labels = [f"l{j}" for j in range(k)]
    Y = rng.random((n, k)) < 0.05
    P = Y ^ (rng.random((n, k)) < 0.02)
    y, pred = _strings(Y, labels), _strings(P, labels)
    t = time.perf_counter()
    ev = evaluate_multilabel(labels, y, {"a": pred, "b": y}, resamples=1000)
    elapsed = time.perf_counter() - t
    assert ev.best == "b"
    assert elapsed < 60, elapsed   # ~2-3 s on two shared cores: generous for slow CI
