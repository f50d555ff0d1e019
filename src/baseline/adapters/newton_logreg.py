"""Binary L2 logistic regression by truncated Newton (Newton-CG) in bounded memory: scikit-learn's objective and
stopping rule, without the copy of X its solver makes.

scikit-learn's newton-cg builds ``diag(h) @ X`` for every binary Hessian, a second copy of the train matrix (+366 MB,
the fit's peak, at 750k rows of two-sentence reviews). Here the Hessian is applied as ``X.T @ (h * (X @ v))``, so
beyond X the fit holds a few vectors of the columns' and of the rows' count. The rows' scores z are kept, so the
line search costs no pass over X (z is linear in the weights).

The objective is scikit-learn's ``LogisticRegression`` one for two classes: the weighted mean log-loss + |w|^2 / (2 C
sum(weights)), intercept unpenalised. It stops when max |gradient| <= ``tol``, scikit-learn's test (the gradient in
float64 here); each Newton step solves H p = -g by conjugate gradients to a residual of min(0.5, sqrt(|g|_1)) |g|_1
(its inner rule) and is halved until the objective falls enough (Armijo). The optimum is unique, so both solvers reach
the same weights to within the tolerance (``tests/adapters/test_newton_logreg.py``).

More than two classes (``newton_cg_multinomial``): scikit-learn's multinomial newton-cg holds several n × K arrays at
once (scores, probabilities, pointwise gradient, two Hessian-product temporaries: +572 MB at 750k rows × 50 classes).
Here scikit-learn's Newton-CG (``lean_logreg.newton_cg``: its inner CG rule, Wolfe line search and gradient test,
step for step, in fewer weight-sized arrays) runs on a loss, gradient and Hessian product formed a row slice at a time;
the one n × K array kept is the probabilities at the current point, for the Hessian products: in half precision
(``PROBA_DTYPE``) from ``HALF_MIN_ELEMENTS`` rows × classes, in float32 below.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

ROWS_PER_SLICE = 20_000
CG_MAX_ITER = 200
ARMIJO = 1e-4
# the Hessian products inside conjugate gradients run in the matrix's float32 (each only needs to be accurate to the
# inner solve's relative tolerance, 0.5 at most); the gradient, loss and line search run in float64
HESS_DTYPE = np.float32
# multinomial: the probabilities kept for the Hessian products, in half precision from HALF_MIN_ELEMENTS rows × classes
# (2 bytes an entry: 72 MB at 750k rows × 50 classes, not 143 MB in float32). Each is within 2^-11 of its value
# relative (below 6e-5, within 3e-8 absolute), far inside the inner solve's tolerance; the gradient, loss and line
# search still use float64 probabilities. Reading them back costs about a fifth of the fit's time on 50 classes (75k
# rows: 10 iterations either way, 18.5-19.2 s against 23.4-23.8 s, bench/results/tfidf_solver_topics_proba_precision_
# 100k.json), so smaller fits, whose float32 array is at most 64 MB, keep float32
PROBA_DTYPE = np.float16
HALF_MIN_ELEMENTS = 2**24
BACKTRACKS = 40
# multinomial: rows per slice × classes, at most. A slice's loss or gradient pass holds its rows × K float64 scores
# and scipy's float64 copy of the slice's values: 35 MB at 2M elements on topics (40k rows × 50 classes), 9 MB at
# 500k; and smaller slices are no slower. At 75k rows of topics the fit added 48 / 49 MB at 2M against 22 / 26 MB,
# 18.5 / 20.1 s against 16.7 / 17.8 s, the same 10 iterations, objective and answers
# (bench/results/tfidf_solver_topics_slices_100k.json); at 250k it added 16 / 17 MB against 19 / 20 at 500k, 15.8-16.7 s
# either way, the same iterations and answers, the objective within 2e-9 relative (tfidf_solver_topics_slices_250k.json)
# SLICE_MIN_ROWS bounds the slices' count when classes are many
SLICE_ELEMENTS = 250_000
SLICE_MIN_ROWS = 5_000
SLICE_NNZ = 2_000_000       # multinomial: nonzeros per slice, at most (beyond SLICE_MIN_ROWS rows)


@dataclass
class NewtonFit:
    """What the solver ends with: weights (1 × d), intercept (1), Newton iterations, and why it stopped short."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    messages: list[str] = field(default_factory=list)


def _slices(X: Any, rows: int | None = None) -> list[tuple[Any, Any]]:
    """Row slices of a CSR matrix and their transposes, all views of its arrays (``X[a:b]`` and ``.T`` would copy).

    The products in float64 go a slice at a time because scipy converts a float32 matrix's values to float64 for them:
    for the whole matrix that would be a second copy of its values."""
    from scipy import sparse

    out = []
    rows = rows or ROWS_PER_SLICE
    for s in range(0, X.shape[0], rows):
        e = min(X.shape[0], s + rows)
        a, b = int(X.indptr[s]), int(X.indptr[e])
        # the arrays are set on an empty matrix: scipy's constructor copies a view much smaller than its base
        part = sparse.csr_matrix((e - s, X.shape[1]), dtype=X.dtype)
        part.data, part.indices = X.data[a:b], X.indices[a:b]
        part.indptr = (X.indptr[s:e + 1] - a).astype(X.indices.dtype)
        t = sparse.csc_matrix((X.shape[1], e - s), dtype=X.dtype)
        t.data, t.indices, t.indptr = part.data, part.indices, part.indptr
        out.append((part, t))
    return out


class _Binary:
    """The objective, its gradient and Hessian products for weights w and intercept b packed as x = [w, b]; every
    per-row quantity but the scores z, a step's scores and the Hessian's row weights is formed a slice at a time."""

    def __init__(self, X: Any, y: np.ndarray, sw: np.ndarray, c: float) -> None:
        self.X, self.XT = X, X.T  # X.T: a CSC view, no copy
        self.parts, self.y, self.sw, self.d = _slices(X), y, sw, X.shape[1]
        self.total = float(sw.sum())
        self.lam = 1.0 / (c * self.total)
        self.size = self.d + 1
        self.bounds = np.cumsum([0] + [p.shape[0] for p, _ in self.parts])

    def scores(self, x: np.ndarray) -> np.ndarray:
        w, b = x[:self.d], x[self.d]
        z = np.empty(self.X.shape[0])
        for (p, _), s, e in zip(self.parts, self.bounds[:-1], self.bounds[1:], strict=True):
            z[s:e] = p @ w
        z += b
        return z

    def loss(self, x: np.ndarray, z: np.ndarray, zs: np.ndarray | None = None, a: float = 0.0) -> float:
        """The objective at x, whose scores are z (or z + a zs: a trial step, without forming its scores)."""
        w = x[:self.d]
        data = 0.0
        for s, e in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            zb = z[s:e] if zs is None else z[s:e] + a * zs[s:e]
            data += float(np.dot(self.sw[s:e], np.logaddexp(0.0, zb) - self.y[s:e] * zb))
        return data / self.total + 0.5 * self.lam * float(w @ w)

    def gradient(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, Any]:
        g = np.zeros(self.size)
        h = np.empty(len(z), dtype=HESS_DTYPE)
        for (_, t), s, e in zip(self.parts, self.bounds[:-1], self.bounds[1:], strict=True):
            p = expit(z[s:e])
            sw = self.sw[s:e] / self.total
            r = sw * (p - self.y[s:e])
            g[:self.d] += t @ r
            g[self.d] += r.sum()
            h[s:e] = sw * p * (1.0 - p)
        g[:self.d] += self.lam * x[:self.d]

        def hessp(v: np.ndarray) -> np.ndarray:
            q = h * (self.X @ v[:self.d].astype(HESS_DTYPE) + HESS_DTYPE(v[self.d]))
            out = np.empty(self.size)
            out[:self.d] = self.XT @ q
            out[:self.d] += self.lam * v[:self.d]
            out[self.d] = q.sum(dtype=np.float64)
            return out

        return g, hessp

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:self.d].reshape(1, -1).copy(), x[self.d:].copy()


def _cg(hessp: Any, g: np.ndarray, tol: float, max_iter: int = CG_MAX_ITER) -> np.ndarray:
    """Approximately solve H p = -g by conjugate gradients, stopping at sum |residual| <= tol or on (near-)zero or
    negative curvature (then the last iterate, or the steepest-descent step on the first)."""
    p = np.zeros_like(g)
    r = g.copy()
    d = -r
    rr = float(r @ r)
    d_norm2 = rr
    eps = 16 * np.finfo(np.float64).eps
    for i in range(max_iter + 1):
        if float(np.abs(r).sum()) <= tol:
            break
        hd = hessp(d)
        curv = float(d @ hd)
        if 0 <= curv <= eps * d_norm2:
            break
        if curv < 0:
            if i == 0:
                p += rr / curv * d
            break
        a = rr / curv
        p += a * d
        r += a * hd
        rr_new = float(r @ r)
        beta = rr_new / rr
        d = -r + beta * d
        d_norm2 = rr_new + beta * beta * d_norm2
        rr = rr_new
    return p


def newton_cg(X: Any, y: np.ndarray, sample_weight: np.ndarray, c: float, tol: float, max_iter: int) -> NewtonFit:
    """Fit a binary model on CSR ``X`` (n × d) from zero weights, ``y`` 1 for the positive class and 0 otherwise."""
    prob = _Binary(X, np.asarray(y, dtype=np.float64), sample_weight, c)
    x = np.zeros(prob.size)
    z = prob.scores(x)
    f = prob.loss(x, z)
    messages: list[str] = []
    k = 0
    converged = False
    while k < max_iter:
        g, hessp = prob.gradient(x, z)
        if float(np.abs(g).max()) <= tol:
            converged = True
            break
        g1 = float(np.abs(g).sum())
        step = _cg(hessp, g, min(0.5, math.sqrt(g1)) * g1)
        slope = float(g @ step)
        if slope >= 0:  # not a descent direction (rounding at the optimum): fall back to the gradient
            step, slope = -g, -float(g @ g)
        zs = prob.scores(step)
        a = 1.0
        for _ in range(BACKTRACKS):
            xn = x + a * step
            fn = prob.loss(xn, z, zs, a)
            if fn <= f + ARMIJO * a * slope:
                break
            a *= 0.5
        else:
            messages.append("Line Search failed")
            break
        z += a * zs
        x, f = xn, fn
        k += 1
    if not converged and not messages:  # the iteration cap: did the last step land within the tolerance?
        converged = float(np.abs(prob.gradient(x, z)[0]).max()) <= tol
        if not converged:
            messages.append(f"newton-cg failed to converge in {max_iter} iterations")
    coef, intercept = prob.split(x)
    return NewtonFit(coef, intercept, k, converged, messages)


class _Multinomial:
    """Softmax regression over K classes with weights W as a (d + 1) × K array (the last row the intercepts), flat in
    C order: scikit-learn's (K, d + 1) coefficients raveled in F order, the same numbers in the same order. The
    objective is scikit-learn's: weighted mean log-loss + |W without intercepts|^2 / (2 C sum(weights))."""

    def __init__(self, X: Any, y: np.ndarray, sw: np.ndarray, c: float, k: int) -> None:
        # slices as large as keeps a slice's rows × K float64 scores and its float64 copy of the values (scipy's, for
        # a float64 product) within SLICE_ELEMENTS and SLICE_NNZ: each slice's product also adds a d × K array into
        # the sum, so with few classes and many columns (SLICE_NNZ binds) slices stay large
        per_row = max(1.0, X.nnz / max(1, X.shape[0]))
        rows = max(SLICE_MIN_ROWS, min(int(SLICE_NNZ / per_row), SLICE_ELEMENTS // k))
        self.X, self.parts, self.y, self.k, self.d = X, _slices(X, rows), y, k, X.shape[1]
        self.sw = sw / float(sw.sum())  # each row's weight in the mean
        self.lam = 1.0 / (c * float(sw.sum()))
        self.size = (self.d + 1) * k
        self.bounds = np.cumsum([0] + [p.shape[0] for p, _ in self.parts])
        self.proba: np.ndarray | None = None

    def _rows(self) -> Any:
        return zip(self.parts, self.bounds[:-1], self.bounds[1:], strict=True)

    def _weights(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.d + 1, self.k)

    def loss(self, x: np.ndarray) -> float:
        w = self._weights(x)
        data = 0.0
        for (p, _), s, e in self._rows():
            z = p @ w[:self.d]
            z += w[self.d]
            top = z.max(axis=1)
            picked = z[np.arange(e - s), self.y[s:e]]
            z -= top[:, None]
            np.exp(z, out=z)
            lse = np.log(z.sum(axis=1)) + top  # log-sum-exp, shifted by the row's largest score
            data += float(self.sw[s:e] @ (lse - picked))
        return data + 0.5 * self.lam * float(np.vdot(w[:self.d], w[:self.d]))

    def _gradient(self, x: np.ndarray, keep: bool) -> np.ndarray:
        """The gradient at x; with ``keep`` the probabilities at x are kept (``PROBA_DTYPE``) for the Hessian products."""
        w = self._weights(x)
        g = np.zeros((self.d + 1, self.k))
        for (p, t), s, e in self._rows():
            z = p @ w[:self.d]
            z += w[self.d]
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            if keep:  # P: what the Hessian products read
                self.proba[s:e] = z  # type: ignore[index]
            sw = self.sw[s:e]
            z *= sw[:, None]
            z[np.arange(e - s), self.y[s:e]] -= sw
            g[:self.d] += t @ z
            g[self.d] += z.sum(axis=0)
        g[:self.d] += self.lam * w[:self.d]
        return g.reshape(-1)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return self._gradient(x, False)

    def gradient_hessp(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.proba is None:
            big = self.X.shape[0] * self.k >= HALF_MIN_ELEMENTS
            self.proba = np.empty((self.X.shape[0], self.k), dtype=PROBA_DTYPE if big else HESS_DTYPE)
        g = self._gradient(x, True)
        pw, sw = self.proba, self.sw.astype(HESS_DTYPE)

        def hessp(v: np.ndarray) -> np.ndarray:
            # per row, with P the probabilities and s the row's weight: s P ⊙ (X v − rowsum(P ⊙ X v) / rowsum(P)); then
            # X.T of that (scikit-learn's full Hessian product: rowsum(P) is 1). Dividing by the kept probabilities'
            # own sum keeps each row's block diag(P) − P Pᵀ / rowsum(P) positive semi-definite after rounding them
            vw = self._weights(v)
            vf, vb = vw[:self.d].astype(HESS_DTYPE), vw[self.d].astype(HESS_DTYPE)
            out = np.zeros((self.d + 1, self.k))
            for (p, t), s, e in self._rows():
                q = p @ vf
                q += vb
                pr = pw[s:e].astype(HESS_DTYPE, copy=False)
                q -= (np.einsum("ij,ij->i", pr, q) / pr.sum(axis=1))[:, None]
                q *= pr
                q *= sw[s:e, None]
                out[:self.d] += t @ q
                out[self.d] += q.sum(axis=0, dtype=np.float64)
            out[:self.d] += self.lam * vw[:self.d]
            return out.reshape(-1)

        return g, hessp


def multinomial_available() -> bool:
    """Whether the installed scikit-learn has the line search ``newton_cg_multinomial``'s driver runs."""
    from baseline.adapters.lean_logreg import available

    return available()


def newton_cg_multinomial(X: Any, y: np.ndarray, sample_weight: np.ndarray, c: float, k: int, tol: float,
                          max_iter: int) -> NewtonFit:
    """Fit a K-class softmax model on CSR ``X`` from zero weights, ``y`` the class codes 0..K-1, with scikit-learn's
    Newton-CG driver on the slice-wise loss, gradient and Hessian products (``multinomial_available`` says whether the
    installed scikit-learn has it)."""
    from sklearn.exceptions import ConvergenceWarning

    from baseline.adapters.lean_logreg import newton_cg as driver

    prob = _Multinomial(X, np.asarray(y, dtype=np.intp), np.asarray(sample_weight, dtype=np.float64), c, k)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, n_iter = driver(prob.gradient_hessp, prob.loss, prob.gradient, np.zeros(prob.size), tol=tol,
                           maxiter=max_iter)
    prob.proba = None
    messages = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning) or str(w.message).startswith("Line Search failed"):
            messages.append(str(w.message).splitlines()[0])
        else:  # anything else is the caller's to see
            warnings.warn(w.message, w.category, stacklevel=2)
    w = prob._weights(x)
    return NewtonFit(w[:X.shape[1]].T.copy(), w[X.shape[1]].copy(), int(n_iter),
                     not messages and n_iter < max_iter, messages)
