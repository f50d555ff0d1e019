"""tfidf-logreg's single-label floor: hashed TF-IDF in bounded memory, the solver rule, convergence checked and
recorded on every fit (issue 22)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from baseline.adapters import trivial
from baseline.adapters.base import AdapterContext
from baseline.adapters.trivial import HashedTfidf, TfidfLogReg, fit_logreg, objective, solver_plan

POS = ["great", "lovely", "superb", "fine", "excellent", "nice"]
NEG = ["awful", "bad", "poor", "terrible", "dull", "broken"]


def corpus(n: int = 300, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        lab = ("pos", "neg", "meh")[i % 3]
        words = list(rng.choice(["the", "a", "it", "was", "really", "item", "Café", "very"], 6))
        if lab != "meh":
            words[rng.integers(0, 6)] = str(rng.choice(POS if lab == "pos" else NEG))
        texts.append(" ".join(words))
        labels.append(lab if rng.random() > 0.1 else ("pos", "neg", "meh")[rng.integers(0, 3)])
    return texts, labels


def ctx(**options) -> AdapterContext:
    return AdapterContext(labels=["meh", "neg", "pos"], options=options, seed=7)


def test_hashed_features_equal_tfidf_vectorizer_when_no_bucket_is_shared():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.utils import murmurhash3_32

    texts, _ = corpus()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
    ref = vec.fit_transform(texts).toarray()
    h = HashedTfidf()
    X = h.fit_transform(texts).toarray()
    buckets = [abs(murmurhash3_32(t, seed=0)) % trivial.HASH_FEATURES for t in vec.get_feature_names_out()]
    assert len(set(buckets)) == len(buckets) == X.shape[1]   # no collision in so small a vocabulary
    cols = np.searchsorted(h.buckets_, buckets)
    np.testing.assert_allclose(X[:, cols], ref, atol=1e-12)
    np.testing.assert_allclose(h.transform(texts[:17]).toarray(), X[:17], atol=1e-12)  # predict-time features


def test_chunked_counting_grows_its_arrays_and_gives_the_same_matrix(monkeypatch):
    texts, _ = corpus(200)
    whole = HashedTfidf().fit_transform(texts)
    monkeypatch.setattr(trivial, "CHUNK_ROWS", 7)   # 29 chunks, arrays regrown as denser chunks arrive
    chunked = HashedTfidf().fit_transform(iter_column(texts))
    assert (whole != chunked).nnz == 0 and chunked.indices.dtype == np.int32


class iter_column:  # noqa: N801 - a lazy column: a length and one pass, no indexing (as baseline.data.TextColumn)
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)


def test_values_are_float32_and_counts_are_made_a_slice_at_a_time():
    texts, _ = corpus(200)
    h = HashedTfidf()
    X = h.fit_transform(texts)
    assert X.dtype == trivial.FEATURE_DTYPE == np.float32 and X.indices.dtype == np.int32   # 8 bytes a nonzero
    assert h.transform(texts[:3]).dtype == np.float32
    rng = np.random.default_rng(0)
    idx, w = rng.integers(0, 50, 1_001).astype(np.int32), rng.random(1_001)
    np.testing.assert_array_equal(trivial._bincount(idx, 64, step=10), np.bincount(idx, minlength=64))
    np.testing.assert_allclose(trivial._bincount(idx, 64, w, step=7), np.bincount(idx, w, minlength=64))


def test_bucket_sized_arrays_stay_one_count_array_and_a_mask_at_the_hashing_peak():
    """2**22 buckets: the document frequencies (int32, 16 MB) are the one bucket-sized array kept; the min_df search
    counts them a slice at a time (a whole ``bincount`` copied them to int64: +32 MB) and they become the remap
    (a second int32 array: +16 MB)."""
    import tracemalloc

    texts, _ = corpus(300)
    HashedTfidf().fit_transform(texts[:10])  # imports and caches first
    tracemalloc.start()
    try:
        X = HashedTfidf().fit_transform(texts, max_columns=50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    buckets = trivial.HASH_FEATURES
    assert X.shape[1] <= 50
    assert peak < buckets * (4 + 1) + 4 * 2**20, peak / buckets   # int32 counts + a bool mask + a few MB


def test_min_df_rises_until_the_weights_fit_and_an_explicit_min_df_wins():
    texts, _ = corpus(300)
    free = HashedTfidf().fit_transform(texts)
    h = HashedTfidf()
    bounded = h.fit_transform(texts, max_columns=free.shape[1] // 4)
    assert h.min_df_ > 1 and bounded.shape[1] <= free.shape[1] // 4
    df = np.bincount(HashedTfidf()._counts(texts, len(texts))[1], minlength=trivial.HASH_FEATURES)
    assert (df >= h.min_df_ - 1).sum() > free.shape[1] // 4   # the smallest min_df that fits
    assert HashedTfidf(min_df=0.5).fit_transform(texts).shape[1] < 10   # a share of rows, as the vectorizer's
    with pytest.raises(ValueError, match="min_df"):
        HashedTfidf(min_df=1000).fit_transform(texts)
    assert HashedTfidf(max_features=5).fit_transform(texts).shape[1] == 5


def test_tolerance_bounds_the_summed_gradient_so_it_tightens_with_rows():
    assert solver_plan(1_000, 10_000, 2, 10.0) == ("newton-cg", 1e-4, trivial.NEWTON_MAX_ITER)
    s, tol, _ = solver_plan(750_000, 800_000, 4, 10.0)
    assert s == "newton-cg" and tol == pytest.approx(1 / 7.5e6)
    assert solver_plan(10**12, 10, 2, 10.0)[1] == trivial.TOL_FLOOR
    assert solver_plan(100, 10, 2, 1.0, solver="lbfgs", tol=1e-3) == ("lbfgs", 1e-3, trivial.LBFGS_MAX_ITER)


def test_every_fit_records_solver_tol_iterations_convergence_and_objective():
    texts, labels = corpus()
    a = TfidfLogReg(ctx())
    d = a.fit(texts, labels).details
    assert d["solver"] == "newton-cg" and d["converged"] is True and 0 < d["iterations"] < d["max_iter"]
    assert d["dtype"] == "float32" and a.clf_.coef_.dtype == np.float32   # the solver stays in float32
    assert d["tol"] == pytest.approx(min(1e-4, 1 / (10 * len(texts)))) and d["objective"] > 0
    assert "refit" not in d and not a.notes
    # the recorded objective is the one the solver minimised: newton-cg at the rule's tol is at or below lbfgs's
    from sklearn.linear_model import LogisticRegression

    X, y = a.feat_.fit_transform(texts), np.asarray(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lb = LogisticRegression(C=10.0, max_iter=2000).fit(X, y)
    assert d["objective"] <= objective(lb, X, y, 10.0) + 1e-9
    out = a.predict_batch(texts[:5])
    assert len(out.labels) == 5 and set(out.scores[0]) == {"meh", "neg", "pos"}
    e = a.explain()["features"]
    assert set(e) == {"meh", "neg", "pos"} and any(w in POS for w in e["pos"]) and any(w in NEG for w in e["neg"])


def test_a_fit_that_stops_short_is_refitted_once_and_noted(monkeypatch):
    texts, labels = corpus()
    monkeypatch.setattr(trivial, "NEWTON_MAX_ITER", 1)
    a = TfidfLogReg(ctx())
    d = a.fit(texts, labels).details
    assert d["converged"] is True and d["refit"].startswith("lbfgs") and "1 of 1 iterations" in d["first_fit"]
    assert any("refitted" in n for n in a.notes)


def test_a_fit_that_never_converges_is_flagged_not_silently_shown(monkeypatch):
    texts, labels = corpus()
    monkeypatch.setattr(trivial, "NEWTON_MAX_ITER", 1)
    monkeypatch.setattr(trivial, "LBFGS_MAX_ITER", 1)
    a = TfidfLogReg(ctx())
    d = a.fit(texts, labels).details
    assert d["converged"] is False and d["refit_iterations"] == 5 and "warning" in d
    assert any("did NOT converge" in n for n in a.notes)


def test_binary_balanced_cv_and_pickle():
    texts, labels = corpus()
    keep = [i for i, lab in enumerate(labels) if lab != "meh"]
    tx, ty = [texts[i] for i in keep], [labels[i] for i in keep]
    a = TfidfLogReg(AdapterContext(labels=["neg", "pos"], options={"class_weight": "balanced", "C": "cv"}, seed=7))
    d = a.fit(tx, ty).details
    assert d["converged"] and d["C"] in (0.3, 1, 3, 10, 30) and a.clf_.coef_.shape[0] == 1
    feat, clf = pickle.loads(pickle.dumps((a.feat_, a.clf_)))   # ray sends the fitted model to its workers
    assert clf.predict(feat.transform(tx[:9])).tolist() == a.predict_batch(tx[:9]).labels
    assert len(a.explain()["features"]["pos"]) == 8


def test_fit_logreg_on_a_fixed_matrix_matches_the_rule():
    from scipy import sparse

    rng = np.random.default_rng(1)
    X = sparse.random(400, 50, density=0.2, random_state=1, format="csr")
    y = np.where(rng.random(400) < 0.5, "a", "b")
    clf, info = fit_logreg(X, y, 1.0, None, 0)
    assert info["solver"] == "newton-cg" and info["tol"] == pytest.approx(1 / 400 if 1 / 400 < 1e-4 else 1e-4)
    assert info["converged"] and info["objective"] == pytest.approx(objective(clf, X, y, 1.0), rel=1e-8)
