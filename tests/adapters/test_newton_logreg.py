"""The floor's Newton-CG: scikit-learn's optimum and stopping rule, without scikit-learn's copy of X (binary) or its
n × K arrays (multinomial) (issue 22: the default run's memory at 1M rows)."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from baseline.adapters import newton_logreg, trivial
from baseline.adapters.newton_logreg import newton_cg
from baseline.adapters.trivial import fit_logreg, objective


def problem(n: int = 3000, d: int = 400, seed: int = 0, dtype=np.float32) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = sparse.random(n, d, density=0.03, format="csr", dtype=dtype, random_state=seed)
    w = rng.standard_normal(d) * 3
    y = np.where(X @ w + rng.logistic(size=n) > 0.4, "yes", "no")
    return X, y


def sklearn_fit(X, y, c: float, cw: str | None, tol: float = 1e-10):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(C=c, solver="newton-cg", tol=tol, max_iter=500, class_weight=cw).fit(X, y)


@pytest.mark.parametrize("cw", [None, "balanced"])
@pytest.mark.parametrize("c", [0.5, 10.0])
def test_the_same_optimum_as_scikit_learn(cw, c, monkeypatch):
    monkeypatch.setattr(newton_logreg, "ROWS_PER_SLICE", 701)   # several slices, the last one short
    X, y = problem()
    if cw:
        y[:1200] = "no"   # unbalanced, so the class weights matter
    ref = sklearn_fit(X.astype(np.float64), y, c, cw)
    ours, info = fit_logreg(X, y, c, cw, 0, tol=1e-9)
    assert info["converged"] and "refit" not in info and ours.n_iter_[0] == info["iterations"] >= 3
    assert list(ours.classes_) == ["no", "yes"] and ours.coef_.shape == (1, X.shape[1])
    # weakly regularised weights are pinned by the gradient test only to ~ tol * C * n: compare the objective tightly
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    assert info["objective"] == pytest.approx(objective(ref, X, y, c, cw), rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X[:50]), ref.predict_proba(X[:50]), atol=1e-6)


def test_stops_at_scikit_learns_gradient_test_and_reports_the_cap():
    X, y = problem(seed=1)
    yi = (y == "yes").astype(int)
    fit = newton_cg(X, yi, np.ones(len(y)), 10.0, 1e-6, 100)
    prob = newton_logreg._Binary(X, yi.astype(float), np.ones(len(y)), 10.0)
    x = np.concatenate([fit.coef.ravel(), fit.intercept])
    assert fit.converged and np.abs(prob.gradient(x, prob.scores(x))[0]).max() <= 1e-6
    short = newton_cg(X, yi, np.ones(len(y)), 10.0, 1e-12, 1)
    assert not short.converged and short.n_iter == 1 and "failed to converge in 1" in short.messages[0]


def test_a_binary_fit_that_stops_short_is_refitted_with_lbfgs_from_where_it_stopped(monkeypatch):
    monkeypatch.setattr(trivial, "NEWTON_MAX_ITER", 1)
    X, y = problem(seed=2)
    clf, info = fit_logreg(X, y, 10.0, None, 0)
    assert info["first_fit"].startswith("newton-cg, 1 of 1 iterations") and info["refit"].startswith("lbfgs")
    assert info["converged"] and 0 < info["refit_iterations"]
    one_step = LogisticRegression(C=10.0, solver="newton-cg", max_iter=1)
    trivial.newton_fit(one_step, X, y)
    ref = sklearn_fit(X.astype(np.float64), y, 10.0, None)
    # lbfgs went on from the one Newton step (warm start), to near the optimum
    assert objective(ref, X, y, 10.0) < info["objective"] < objective(one_step, X, y, 10.0)
    assert info["objective"] == pytest.approx(objective(ref, X, y, 10.0), rel=1e-3)


def test_a_failed_line_search_is_reported_and_refitted_not_taken_as_converged(monkeypatch):
    monkeypatch.setattr(newton_logreg, "BACKTRACKS", 0)   # no trial step is ever accepted
    X, y = problem(seed=4)
    stopped = newton_cg(X, (y == "yes").astype(int), np.ones(len(y)), 10.0, 1e-8, 100)
    assert not stopped.converged and stopped.n_iter == 0 and stopped.messages == ["Line Search failed"]
    clf, info = fit_logreg(X, y, 10.0, None, 0)
    assert "Line Search failed" in info["first_fit"] and info["refit"].startswith("lbfgs") and info["converged"]
    ref = sklearn_fit(X.astype(np.float64), y, 10.0, None)
    assert info["objective"] == pytest.approx(objective(ref, X, y, 10.0), rel=1e-3)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_no_copy_of_the_matrix_where_scikit_learn_makes_one(monkeypatch):
    """Beyond X, the fit holds vectors and one slice of rows: its peak is a fraction of X's arrays; scikit-learn's
    newton-cg holds a second copy of X (``diag(h) @ X``), so its peak exceeds them (the check can fail)."""
    monkeypatch.setattr(newton_logreg, "ROWS_PER_SLICE", 2000)   # slices as small a share of X as at 1M rows
    monkeypatch.setattr(trivial, "CHUNK_ROWS", 2000)
    X, y = problem(n=60_000, d=2000, seed=3)
    x_bytes = X.data.nbytes + X.indices.nbytes
    assert x_bytes > 25e6
    ours = _peak_bytes(lambda: fit_logreg(X, y, 10.0, None, 0))
    theirs = _peak_bytes(lambda: sklearn_fit(X, y, 10.0, None, tol=1e-6))
    assert theirs > x_bytes > 4 * ours


def multi_problem(n: int = 3000, d: int = 300, k: int = 5, seed: int = 0) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = sparse.random(n, d, density=0.04, format="csr", dtype=np.float32, random_state=seed)
    scores = X @ (rng.standard_normal((d, k)) * 3) + rng.gumbel(size=(n, k))
    return X, np.array([f"c{j}" for j in range(k)])[np.argmax(scores, axis=1)]


@pytest.mark.parametrize("cw", [None, "balanced"])
def test_multinomial_reaches_scikit_learns_optimum_in_its_iterations(cw, monkeypatch):
    """The same driver as scikit-learn's multinomial newton-cg on slice-wise products: the same optimum (objective to
    1e-9 relative at a tight tolerance) and, at the floor's own tolerance, the same number of Newton iterations."""
    monkeypatch.setattr(trivial, "MULTINOMIAL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(newton_logreg, "SLICE_MIN_ROWS", 701)
    monkeypatch.setattr(newton_logreg, "SLICE_ELEMENTS", 701 * 5)   # several slices, the last one short
    X, y = multi_problem()
    if cw:
        y[:900] = "c0"
    ref = sklearn_fit(X.astype(np.float64), y, 10.0, cw)
    ours, info = fit_logreg(X, y, 10.0, cw, 0, tol=1e-9)
    assert info["solver"] == "newton-cg" and info["converged"] and "refit" not in info
    assert list(ours.classes_) == [f"c{j}" for j in range(5)] and ours.coef_.shape == (5, X.shape[1])
    assert info["objective"] == pytest.approx(objective(ref, X, y, 10.0, cw), rel=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X[:50]), ref.predict_proba(X[:50]), atol=1e-5)
    loose = sklearn_fit(X, y, 10.0, cw, tol=1e-4)
    _, at_rule = fit_logreg(X, y, 10.0, cw, 0, tol=1e-4)
    assert at_rule["iterations"] == int(loose.n_iter_[0])


def test_multinomial_cap_small_fits_and_missing_driver_fall_back_as_before(monkeypatch):
    """A 1-iteration cap is reported and refitted by lbfgs; below MULTINOMIAL_MIN_ELEMENTS, or with a scikit-learn
    without the driver, scikit-learn's own newton-cg fits (bit for bit its model; the same optimum as ours)."""
    X, y = multi_problem(seed=1)
    assert X.shape[0] * 5 < trivial.MULTINOMIAL_MIN_ELEMENTS
    small, _ = fit_logreg(X, y, 10.0, None, 0, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = LogisticRegression(C=10.0, solver="newton-cg", tol=1e-8, max_iter=trivial.NEWTON_MAX_ITER,
                                   random_state=0).fit(X, y)
    assert np.array_equal(small.coef_, plain.coef_)
    monkeypatch.setattr(trivial, "MULTINOMIAL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(trivial, "NEWTON_MAX_ITER", 1)
    _, info = fit_logreg(X, y, 10.0, None, 0)
    assert info["first_fit"].startswith("newton-cg, 1 of 1 iterations: newton-cg failed to converge")
    assert info["refit"].startswith("lbfgs") and info["converged"]
    monkeypatch.setattr(trivial, "NEWTON_MAX_ITER", 100)
    monkeypatch.setattr(newton_logreg, "multinomial_available", lambda: False)
    _, info2 = fit_logreg(X, y, 10.0, None, 0, tol=1e-8)
    monkeypatch.setattr(newton_logreg, "multinomial_available", lambda: True)
    ours, info3 = fit_logreg(X, y, 10.0, None, 0, tol=1e-8)
    assert not np.array_equal(ours.coef_, plain.coef_)   # this one is ours
    assert info2["objective"] == pytest.approx(info3["objective"], rel=1e-7)
    yi = np.unique(y, return_inverse=True)[1]
    short = newton_logreg.newton_cg_multinomial(X, yi, np.ones(len(y)), 10.0, 5, 1e-12, 1)
    assert not short.converged and short.n_iter == 1 and "failed to converge" in short.messages[0]


def test_multinomial_holds_no_n_by_k_array_beyond_the_probabilities(monkeypatch):
    """scikit-learn's multinomial newton-cg holds several n × K float arrays at once; ours one in half precision and
    per-row vectors, so its peak is under half of scikit-learn's and under 1.5 n × K float32 arrays (the checks can
    fail: scikit-learn's exceeds 3 such arrays, and ours with the probabilities kept in float32 was 1.85)."""
    monkeypatch.setattr(trivial, "MULTINOMIAL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(newton_logreg, "HALF_MIN_ELEMENTS", 1)
    monkeypatch.setattr(newton_logreg, "SLICE_MIN_ROWS", 2000)
    monkeypatch.setattr(newton_logreg, "SLICE_ELEMENTS", 2000 * 20)
    monkeypatch.setattr(trivial, "CHUNK_ROWS", 2000)
    X, y = multi_problem(n=40_000, d=400, k=20, seed=4)
    nk = 40_000 * 20 * 4   # one n × K float32 array
    ours = _peak_bytes(lambda: fit_logreg(X, y, 10.0, None, 0))
    theirs = _peak_bytes(lambda: sklearn_fit(X, y, 10.0, None, tol=1e-4))
    assert theirs > 3 * nk and ours < 1.5 * nk and ours < theirs / 2


def test_multinomial_hessian_product_from_half_precision_probabilities(monkeypatch):
    """The Hessian products read the probabilities kept in half precision: each product is within 5e-5 (relative norm)
    of the exact float64 one (1e-5 here; keeping the row-weighted probabilities in half precision instead, as the
    float32 array did, is 1e-4 at 2,000 rows and worse as rows grow, since the weights shrink below half precision's
    normal range), and shifting every class's weights alike (the softmax's flat direction) curves only by the penalty."""
    X, y = multi_problem(n=2000, d=60, k=40, seed=5)
    yi = np.unique(y, return_inverse=True)[1]
    k, d, c = 40, X.shape[1], 10.0
    small = newton_logreg._Multinomial(X, yi, np.ones(len(yi)), c, k)
    small.gradient_hessp(np.zeros((d + 1) * k))
    assert small.proba.dtype == np.float32   # 80k entries: below HALF_MIN_ELEMENTS
    monkeypatch.setattr(newton_logreg, "HALF_MIN_ELEMENTS", 1)
    prob = newton_logreg._Multinomial(X, yi, np.ones(len(yi)), c, k)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((d + 1) * k) * 2
    _, hessp = prob.gradient_hessp(x)
    assert prob.proba.dtype == np.float16
    Xa = np.hstack([X.toarray().astype(np.float64), np.ones((X.shape[0], 1))])
    z = Xa @ x.reshape(d + 1, k)
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    sw = np.full(len(yi), 1.0 / len(yi))

    def exact(v: np.ndarray) -> np.ndarray:
        vw = v.reshape(d + 1, k)
        q = Xa @ vw
        out = Xa.T @ (sw[:, None] * P * (q - (P * q).sum(axis=1, keepdims=True)))
        out[:d] += prob.lam * vw[:d]
        return out.reshape(-1)

    for _ in range(3):
        v = rng.standard_normal((d + 1) * k)
        want = exact(v)
        assert np.linalg.norm(hessp(v) - want) <= 5e-5 * np.linalg.norm(want)
    flat = np.repeat(rng.standard_normal(d + 1)[:, None], k, axis=1).reshape(-1)
    penalty = prob.lam * float(np.vdot(flat.reshape(d + 1, k)[:d], flat.reshape(d + 1, k)[:d]))
    assert float(hessp(flat) @ flat) >= penalty * (1 - 1e-4)


def test_multinomial_slices_hold_a_few_mb_of_scores_whatever_the_rows():
    """A loss or gradient pass over 40,000 rows × 50 classes at the shipped slice sizes holds under 6 MB beyond its
    inputs (a slice's float64 scores, exponentiated in place, and scipy's float64 copy of its values): 4.5 MB at 250k
    elements a slice; 500k-element slices held 9 MB here, 2M-element ones 21 MB."""
    X, y = multi_problem(n=40_000, d=400, k=50, seed=6)
    yi = np.unique(y, return_inverse=True)[1]
    prob = newton_logreg._Multinomial(X, yi, np.ones(len(yi)), 10.0, 50)
    x = np.random.default_rng(6).normal(size=prob.size) * 0.01
    bound = 6 * 2**20
    assert _peak_bytes(lambda: prob.loss(x)) < bound
    assert _peak_bytes(lambda: prob.gradient(x)) < bound
    assert len(prob.parts) > 1
