"""The floor's binary Newton-CG: scikit-learn's optimum and stopping rule, without scikit-learn's copy of X (issue 22:
the default run's memory at 1M rows)."""

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
