"""scikit-learn's multinomial ``LogisticRegression`` fits, step for step, holding fewer large arrays.

``newton-cg``: scikit-learn's ``_newton_cg`` keeps |gradient| and the last step alive through each iteration, and its
conjugate gradients and its multinomial Hessian product and gradient make a fresh temporary for every vector
expression: about eleven arrays of the weights' size at its peak (90 MB traced at 421k columns × 4 classes, 75k rows
of the 4-class generated set). ``newton_cg`` performs the same floating-point operations in the same order on the same
dtypes, with in-place updates where they give the same bits, and lets go of each array once it is no longer read:
about six at its peak (44 MB there). ``fit_newton_multinomial`` runs it on scikit-learn's own multinomial loss.

``lbfgs``: ``fit_lbfgs_multinomial`` runs scipy's L-BFGS-B as scikit-learn calls it, on a loss-and-gradient that
writes the per-row gradient over the per-row scores (scikit-learn's loss takes an output array; its multinomial
kernel reads a row's scores before it writes that row's gradient), so one n × K array where scikit-learn holds two.

Both give scikit-learn's weights, intercepts and iterations bit for bit (``tests/adapters/test_lean_logreg.py``
compares them on the installed scikit-learn). The private pieces they read (``_line_search_wolfe12``,
``LinearModelLoss``, ``_check_optimize_result``) exist from scikit-learn 1.2; ``available`` says whether they are
there, and callers fall back to ``LogisticRegression.fit`` when not.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

MAX_INNER = 200  # conjugate-gradient iterations per Newton step, scikit-learn's default
COLUMN_SLICE = 1 << 16  # weights a slice of the in-place assembly touches at a time (its temporaries' size)


def available() -> bool:
    """Whether the installed scikit-learn has the line search, losses and messages this module drives."""
    try:
        from sklearn._loss.loss import HalfMultinomialLoss  # noqa: F401
        from sklearn.linear_model._linear_loss import LinearModelLoss  # noqa: F401
        from sklearn.linear_model._logistic import _LOGISTIC_SOLVER_CONVERGENCE_MSG  # noqa: F401
        from sklearn.utils.optimize import (  # noqa: F401
            _check_optimize_result,
            _line_search_wolfe12,
            _LineSearchError,
        )
    except ImportError:
        return False
    return True


def _cg(hessp: Any, g: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """The Newton step: H p = -g solved approximately by conjugate gradients (scikit-learn's ``_cg``: the same
    stopping rules and arithmetic); each direction's Hessian product is let go before the next is formed, and serves
    as the step's temporary first."""
    eps = 16 * np.finfo(g.dtype).eps
    xsupi = np.zeros(g.size, dtype=g.dtype)
    ri = g.copy()
    psupi = -ri
    dri0 = ri @ ri
    psupi_norm2 = dri0
    i = 0
    while i <= max_iter:
        if np.sum(np.abs(ri)) <= tol:
            break
        ap = hessp(psupi)
        curv = psupi @ ap
        if 0 <= curv <= eps * psupi_norm2:
            break
        if curv < 0:
            if i > 0:
                break
            xsupi += dri0 / curv * psupi
            break
        alphai = dri0 / curv
        _axpy(ri, alphai, ap, ap)  # ap is read here for the last time, then holds alphai * psupi
        _axpy(xsupi, alphai, psupi, ap)
        del ap
        dri1 = ri @ ri
        betai = dri1 / dri0
        # -ri + betai * psupi, in place: (betai * psupi) - ri is the same sum
        if np.result_type(betai, psupi) == psupi.dtype:
            psupi *= betai
            psupi -= ri
        else:
            psupi = -ri + betai * psupi
        psupi_norm2 = dri1 + betai**2 * psupi_norm2
        i += 1
        dri0 = dri1
    return xsupi


def _axpy(y: np.ndarray, a: Any, x: np.ndarray, scratch: np.ndarray) -> None:
    """``y += a * x`` with ``a * x`` formed in ``scratch`` (which may be x itself) when its dtype is the product's."""
    dt = np.result_type(a, x)
    if dt == scratch.dtype:
        np.multiply(x, a, out=scratch)
        y += scratch
    else:
        y += a * x


def _product_into(out: np.ndarray, rows: np.ndarray, X: Any) -> bool:
    """Write ``rows.T @ X`` (K × d, for an n × d CSR ``X`` and n × K ``rows``) into ``out`` as scipy computes it
    (``csc_matvecs`` of X's transpose into zeros), without allocating the product; False where scipy would not take
    that route with these dtypes and layouts (the caller then uses the expression)."""
    from scipy import sparse

    try:
        from scipy.sparse import _sparsetools
        from scipy.sparse._sputils import upcast_char
    except ImportError:
        return False
    if not (sparse.issparse(X) and X.format == "csr" and rows.ndim == 2 and rows.flags.c_contiguous
            and rows.dtype == X.dtype and upcast_char(X.dtype.char, rows.dtype.char) == out.dtype
            and out.T.flags.c_contiguous and out.shape == (rows.shape[1], X.shape[1])
            and X.indptr.dtype == X.indices.dtype):
        return False
    target = out.T.reshape(-1)  # a view: out.T is C-contiguous
    if not np.shares_memory(target, out):
        return False
    target.fill(0)
    _sparsetools.csc_matvecs(X.shape[1], X.shape[0], rows.shape[1], X.indptr, X.indices, X.data, rows.reshape(-1),
                             target)
    return True


def newton_cg(grad_hess: Any, func: Any, grad: Any, x0: np.ndarray, args: tuple = (), tol: float = 1e-4,
              maxiter: int = 100, maxinner: int = MAX_INNER) -> tuple[np.ndarray, int]:
    """scikit-learn's ``_newton_cg`` (with its line search): minimise ``func`` from ``x0``, which it updates in place
    and returns with the Newton iterations, warning as it does (``ConvergenceWarning`` at the cap, "Line Search
    failed")."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.optimize import _line_search_wolfe12, _LineSearchError

    xk = x0  # updated in place: the caller's x0 is not kept beside it (scikit-learn copies it)
    k = 0
    old_fval = func(xk, *args)
    old_old_fval = None
    while k < maxiter:
        fgrad, fhess_p = grad_hess(xk, *args)
        if np.max(np.abs(fgrad)) <= tol:
            break
        maggrad = np.sum(np.abs(fgrad))
        eta = min([0.5, np.sqrt(maggrad)])
        xsupi = _cg(fhess_p, fgrad, maxinner, eta * maggrad)
        del fhess_p
        try:
            found = _line_search_wolfe12(func, grad, xk, xsupi, fgrad, old_fval, old_old_fval, xp=np, device="cpu",
                                         args=args)
            # the step and the objective values only: the gradient at the new point is not held into the next step
            alphak, old_fval, old_old_fval = found[0], found[3], found[4]
            del found
        except _LineSearchError:
            warnings.warn("Line Search failed", stacklevel=2)
            break
        del fgrad
        xk += alphak * xsupi
        del xsupi
        k += 1
    if k >= maxiter:
        warnings.warn(f"newton-cg failed to converge at loss = {old_fval}. Increase the number of iterations.",
                      ConvergenceWarning, stacklevel=2)
    return xk, k


class _LeanMultinomialLoss:
    """scikit-learn's ``LinearModelLoss`` for the multinomial loss with an intercept, whose gradient and Hessian
    product assemble their (K, d + 1) result in place: the same operations on the same dtypes (``gradient``,
    ``gradient_hessian_product`` of ``sklearn.linear_model._linear_loss``), two weight-sized arrays where it forms
    four."""

    def __init__(self, n_classes: int) -> None:
        from sklearn._loss.loss import HalfMultinomialLoss
        from sklearn.linear_model._linear_loss import LinearModelLoss

        self.inner = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=n_classes), fit_intercept=True)
        self.k = n_classes

    def loss(self, coef: np.ndarray, X: Any, y: np.ndarray, sample_weight: np.ndarray | None, l2: float,
             n_threads: int) -> float:
        return self.inner.loss(coef, X, y, sample_weight, l2, n_threads)

    def loss_gradient(self, coef: np.ndarray, X: Any, y: np.ndarray, sample_weight: np.ndarray | None, l2: float,
                      n_threads: int) -> tuple[float, np.ndarray]:
        """``LinearModelLoss.loss_gradient``: the per-row scores get the intercept in place and the per-row gradient
        is written over them (the same values: each row's scores are read before its gradient is written)."""
        n = X.shape[0]
        weights, intercept = self.inner.weight_intercept(coef)
        raw = X @ np.asarray(weights, dtype=X.dtype).T
        b = np.asarray(intercept, dtype=X.dtype)
        if np.result_type(raw, b) == raw.dtype:
            raw += b
        else:
            raw = raw + b
        row_loss, gp = self.inner.base_loss.loss_gradient(y_true=y, raw_prediction=raw, sample_weight=sample_weight,
                                                          n_threads=n_threads, gradient_out=raw)
        del raw
        sw_sum = n if sample_weight is None else np.sum(sample_weight)
        value = float(np.sum(row_loss) / sw_sum) + self.inner.l2_penalty(weights, l2)
        gp /= sw_sum
        return value, self._gradient_from_rows(gp, X, l2, weights)

    @staticmethod
    def _assemble(out: np.ndarray, rows: np.ndarray, X: Any, scale: Any, l2: float, w: np.ndarray) -> None:
        """``out = (rows.T @ X) / scale + l2 * w`` (``scale`` None: no division), scikit-learn's expression, with the
        product accumulated straight into ``out`` and the rest done in place, a slice of columns at a time, when every
        operand keeps ``out``'s dtype: the same operations, no weight-sized temporary. Else the expression itself."""
        lean = w.dtype == out.dtype and np.result_type(out, l2 * w[:0]) == out.dtype \
            and (scale is None or np.result_type(out, scale) == out.dtype)
        if not (lean and _product_into(out, rows, X)):
            product = rows.T @ X
            out[...] = (product if scale is None else product / scale) + l2 * w
            return
        step = max(1, COLUMN_SLICE // max(1, out.shape[0]))
        for a in range(0, out.shape[1], step):
            o = out[:, a:a + step]
            if scale is not None:
                o /= scale
            o += l2 * w[:, a:a + step]  # product + l2 w, as scikit-learn adds it (a + b == b + a, bit for bit)

    def gradient(self, coef: np.ndarray, X: Any, y: np.ndarray, sample_weight: np.ndarray | None, l2: float,
                 n_threads: int) -> np.ndarray:
        return self._gradient(coef, X, y, sample_weight, l2, n_threads, proba=False)[0]

    def _gradient(self, coef: np.ndarray, X: Any, y: np.ndarray, sample_weight: np.ndarray | None, l2: float,
                  n_threads: int, proba: bool) -> tuple[np.ndarray, np.ndarray | None]:
        n = X.shape[0]
        weights, _, raw = self.inner.weight_intercept_raw(coef, X)
        base = self.inner.base_loss
        if proba:
            gp, p = base.gradient_proba(y_true=y, raw_prediction=raw, sample_weight=sample_weight, n_threads=n_threads)
        else:
            gp, p = base.gradient(y_true=y, raw_prediction=raw, sample_weight=sample_weight, n_threads=n_threads), None
        del raw
        gp /= n if sample_weight is None else np.sum(sample_weight)
        return self._gradient_from_rows(gp, X, l2, weights), p

    def _gradient_from_rows(self, gp: np.ndarray, X: Any, l2: float, weights: np.ndarray) -> np.ndarray:
        """The raveled (K, d + 1) gradient from the per-row gradient ``gp`` (already divided by the weights' sum):
        ``gp.T @ X + l2 * weights`` and the intercepts' column sums, as scikit-learn forms them."""
        d = X.shape[1]
        g = np.empty((self.k, d + 1), dtype=weights.dtype, order="F")
        self._assemble(g[:, :d], gp, X, None, l2, weights)
        g[:, -1] = gp.sum(axis=0)
        return g.ravel(order="F")

    def gradient_hessian_product(self, coef: np.ndarray, X: Any, y: np.ndarray, sample_weight: np.ndarray | None,
                                 l2: float, n_threads: int) -> tuple[np.ndarray, Any]:
        n, d = X.shape
        k = self.k
        sw_sum = n if sample_weight is None else np.sum(sample_weight)
        g, proba = self._gradient(coef, X, y, sample_weight, l2, n_threads, proba=True)
        dtype = self.inner.weight_intercept(coef)[0].dtype

        def hessp(s: np.ndarray) -> np.ndarray:
            s = s.reshape((k, -1), order="F")
            s_intercept, s = s[:, -1], s[:, :-1]
            tmp = X @ s.T + s_intercept
            tmp -= (proba * tmp).sum(axis=1)[:, np.newaxis]
            tmp *= proba
            if sample_weight is not None:
                tmp *= sample_weight[:, np.newaxis]
            out = np.empty((k, d + 1), dtype=dtype, order="F")
            self._assemble(out[:, :d], tmp, X, sw_sum, l2, s)
            out[:, -1] = tmp.sum(axis=0) / sw_sum
            return out.ravel(order="F")

        return g, hessp


class _Problem(NamedTuple):
    """What ``_logistic_regression_path`` hands its multinomial solver: classes, X, target codes (in X's dtype), sample
    weights (None without class weights), the penalty strength 1 / (C × sum of weights), zero starting weights."""

    classes: np.ndarray
    X: Any
    target: np.ndarray
    sample_weight: np.ndarray | None
    l2: float
    w0: np.ndarray


def _problem(clf: Any, X: Any, y: np.ndarray) -> _Problem:
    """scikit-learn's set-up of a multinomial fit for ``clf`` (no warm start, an intercept, L2), as ``fit`` and
    ``_logistic_regression_path`` build it."""
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.class_weight import compute_class_weight

    if not clf.fit_intercept or clf.warm_start or getattr(clf, "l1_ratio", 0) not in (0, 0.0, None) \
            or getattr(clf, "penalty", "l2") not in ("l2", "deprecated"):
        raise ValueError("lean_logreg fits L2 logistic regression with an intercept from zero weights only; "
                         "use LogisticRegression.fit for this model")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    classes = np.unique(y)
    n, d = X.shape
    codes = LabelEncoder().fit(classes).transform(y)
    sample_weight = None
    if clf.class_weight is not None:
        sample_weight = np.ones(n, dtype=X.dtype)
        sample_weight *= np.asarray(compute_class_weight(clf.class_weight, classes=classes, y=y)[codes],
                                    dtype=X.dtype)
    sw_sum = n if sample_weight is None else float(np.sum(sample_weight))
    w0 = np.zeros((len(classes), d + 1), order="F", dtype=X.dtype).ravel(order="F")
    return _Problem(classes, X, np.asarray(codes, dtype=X.dtype), sample_weight, 1.0 / (clf.C * sw_sum), w0)


def _set_fitted(clf: Any, p: _Problem, w: np.ndarray, n_iter: int) -> Any:
    """The fitted attributes ``fit`` sets from the solver's raveled weights."""
    coef = np.asarray(np.reshape(w, (len(p.classes), -1), order="F").copy(order="K"), dtype=p.X.dtype)
    clf.classes_ = p.classes
    clf.n_features_in_ = p.X.shape[1]
    clf.n_iter_ = np.asarray([n_iter], dtype=np.int32)
    clf.intercept_, clf.coef_ = coef[:, -1], coef[:, :-1]
    return clf


def fit_newton_multinomial(clf: Any, X: Any, y: np.ndarray) -> Any:
    """Fit the unfitted multinomial ``LogisticRegression(solver="newton-cg")`` ``clf`` (more than two classes, an
    intercept, L2, no warm start) as its ``fit`` would, through ``newton_cg``: the same weights, intercepts and
    iterations, in fewer weight-sized arrays. ``X`` CSR or dense, as ``fit`` accepts it."""
    p = _problem(clf, X, y)
    loss = _LeanMultinomialLoss(len(p.classes))
    w, n_iter = newton_cg(loss.gradient_hessian_product, loss.loss, loss.gradient, p.w0,
                          args=(p.X, p.target, p.sample_weight, p.l2, 1), tol=clf.tol, maxiter=clf.max_iter)
    return _set_fitted(clf, p, w, n_iter)


def fit_lbfgs_multinomial(clf: Any, X: Any, y: np.ndarray) -> Any:
    """Fit the unfitted multinomial ``LogisticRegression(solver="lbfgs")`` ``clf`` (more than two classes, an
    intercept, L2, no warm start) as its ``fit`` would: scipy's L-BFGS-B with scikit-learn's options, on
    ``_LeanMultinomialLoss.loss_gradient`` (one n × K array, not two); the same weights and iterations, and the same
    ``ConvergenceWarning`` where it stops short."""
    from scipy import optimize
    from sklearn.linear_model._logistic import _LOGISTIC_SOLVER_CONVERGENCE_MSG
    from sklearn.utils.optimize import _check_optimize_result

    try:
        from sklearn.linear_model._logistic import _get_additional_lbfgs_options_dict
        quiet = _get_additional_lbfgs_options_dict("iprint", -1)
    except ImportError:
        quiet = {"iprint": -1}
    p = _problem(clf, X, y)
    loss = _LeanMultinomialLoss(len(p.classes))
    res = optimize.minimize(loss.loss_gradient, p.w0, method="L-BFGS-B", jac=True,
                            args=(p.X, p.target, p.sample_weight, p.l2, 1),
                            options={"maxiter": clf.max_iter, "maxls": 50, "gtol": clf.tol,
                                     "ftol": 64 * np.finfo(float).eps, **quiet})
    n_iter = _check_optimize_result("lbfgs", res, clf.max_iter, extra_warning_msg=_LOGISTIC_SOLVER_CONVERGENCE_MSG)
    return _set_fitted(clf, p, res.x, n_iter)
