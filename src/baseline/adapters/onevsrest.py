"""One-vs-rest multi-label core: one binary classifier per label on shared features, one threshold per label.

Adapters that answer the multi-label task with a learned head (``tfidf-logreg``, ``hf-embeddings``, ``flaml``)
share this module so they choose thresholds the same way:

- each label gets its own binary estimator (``make_estimator()``), fitted on all train rows;
- its decision threshold is the one that maximises that label's F1 on **out-of-fold** probabilities from
  stratified folds of the train split (never the test split), because a probability of 0.5 is rarely the best
  cut for a rare label;
- a label with too few positives (or negatives) to fold keeps the default threshold 0.5;
- a label constant in train (never, or always, present) gets a constant predictor instead of a crash.

``answers`` turns the (n, k) probabilities and thresholds into the multi-label contract's per-item answers:
one canonical label-set string and an independent probability for every label.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from baseline.scorerows import score_rows
from baseline.tasks.labelsets import binarize, encode

DEFAULT_THRESHOLD = 0.5
MIN_POSITIVES = 5  # fewer positives (or negatives) than this in train: no threshold search, 0.5 is kept


def indicator_matrix(values: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """Train label sets (canonical strings) → indicator matrix ``Y`` (n, k) of uint8 over ``labels``.

    An abstention (``None``) has no place in train data; it becomes the empty set here (an all-zero row).
    """
    Y, _ = binarize(values, labels)
    return Y


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The cut on scores ``p`` maximising F1 against 0/1 ``y``, and that F1; ties go to the cut nearest 0.5.

    Candidates are the midpoints between consecutive distinct scores (a row is positive when its score is at or
    above the cut), so the cut sits in the gap the out-of-fold scores leave, not on one row's score.
    """
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=float)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        return DEFAULT_THRESHOLD, 0.0
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    predicted = np.arange(1, len(ys) + 1)
    last = np.r_[ps[1:] != ps[:-1], True]          # the end of each run of equal scores: a valid cut
    f1 = 2.0 * tp / (predicted + n_pos)
    idx = np.flatnonzero(last)
    lower = np.r_[ps[idx[:-1] + 1], -np.inf]        # the next lower distinct score below each cut
    cuts = np.where(np.isfinite(lower), (ps[idx] + lower) / 2.0, ps[idx] / 2.0)
    scores = f1[idx]
    top = scores.max()
    tied = np.flatnonzero(np.isclose(scores, top, rtol=0, atol=1e-12))
    pick = tied[np.argmin(np.abs(cuts[tied] - DEFAULT_THRESHOLD))]
    return float(cuts[pick]), float(top)


def positive_scores(estimator: Any, X: Any) -> np.ndarray:
    """The estimator's probability of the positive class (1), or a sigmoid of its margin when it has none."""
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=float)
        classes = [int(c) for c in getattr(estimator, "classes_", range(proba.shape[1]))]
        if 1 not in classes:
            return np.zeros(proba.shape[0])
        return proba[:, classes.index(1)]
    d = np.asarray(estimator.decision_function(X), dtype=float).ravel()
    return 1.0 / (1.0 + np.exp(-d))


class ConstantBinary:
    """Stands in for a label constant in train: always the same probability (1.0 or 0.0) of the label."""

    def __init__(self, value: int) -> None:
        self.value = float(value)
        self.classes_ = np.array([0, 1])

    def predict_proba(self, X: Any) -> np.ndarray:
        n = X.shape[0]
        return np.column_stack([np.full(n, 1.0 - self.value), np.full(n, self.value)])


class OneVsRest:
    """One binary classifier per label on shared features, each label's threshold chosen on train folds.

    ``make_estimator`` returns a fresh unfitted binary estimator (``fit``, and ``predict_proba`` or
    ``decision_function``); it is called once per label and once per fold. After ``fit``: ``estimators_``
    (one per label), ``thresholds_`` (k,), ``oof_f1_`` (the out-of-fold F1 at the chosen threshold, NaN where
    no search ran), ``tuned_`` (bool per label: threshold searched), ``constant_`` (bool per label),
    ``positives_`` (train rows holding each label). A subclass may override ``estimator_for(j)`` to give
    label ``j`` its own estimator (e.g. a C chosen for that label).

    ``blas_threads`` caps BLAS threads during ``fit``/``predict_proba`` (``None``: left alone). Sparse linear
    models want 1: on a busy 2-vCPU machine one binary logistic regression on 5.5k tweets' TF-IDF took 7 s with
    the default threads and 0.7 s with one.
    """

    def __init__(self, make_estimator: Callable[[], Any], folds: int = 3, seed: int = 42,
                 min_positives: int = MIN_POSITIVES, blas_threads: int | None = None) -> None:
        self.make_estimator = make_estimator
        self.folds = int(folds)
        self.seed = int(seed)
        self.min_positives = int(min_positives)
        self.blas_threads = blas_threads

    def _threads(self) -> Any:
        """A context capping BLAS threads to ``blas_threads`` (a no-op when it is ``None``)."""
        if self.blas_threads is None:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.blas_threads, user_api="blas")

    def estimator_for(self, j: int | None) -> Any:
        """A fresh unfitted estimator for label ``j`` (``None``: a label fitted on its own): ``make_estimator()``."""
        return self.make_estimator()

    def _oof_scores(self, X: Any, y: np.ndarray, n_splits: int, j: int | None = None) -> np.ndarray:
        """Out-of-fold positive-class scores from ``n_splits`` stratified folds."""
        from sklearn.model_selection import StratifiedKFold

        oof = np.zeros(len(y), dtype=float)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        for tr, va in splitter.split(np.zeros(len(y)), y):
            est = self.estimator_for(j)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X[tr], y[tr])
            oof[va] = positive_scores(est, X[va])
        return oof

    def fit_label(self, X: Any, y: np.ndarray, j: int | None = None) -> tuple[Any, float, float, bool]:
        """One label: (fitted estimator, threshold, out-of-fold F1 or NaN, whether the threshold was searched)."""
        y = np.asarray(y, dtype=np.int64)
        n_pos = int(y.sum())
        n_neg = len(y) - n_pos
        if n_pos == 0 or n_neg == 0:
            return ConstantBinary(1 if n_pos else 0), DEFAULT_THRESHOLD, float("nan"), False
        threshold, f1, tuned = DEFAULT_THRESHOLD, float("nan"), False
        n_splits = min(self.folds, n_pos, n_neg)
        if n_splits >= 2 and min(n_pos, n_neg) >= self.min_positives:
            threshold, f1 = best_threshold(y, self._oof_scores(X, y, n_splits, j))
            tuned = True
        est = self.estimator_for(j)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return est, threshold, f1, tuned

    def fit(self, X: Any, Y: np.ndarray) -> OneVsRest:
        """Fit every label's estimator on all rows of ``X`` and choose its threshold on out-of-fold scores."""
        Y = np.asarray(Y, dtype=np.uint8)
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Y must be (n_rows, n_labels) with n_rows={X.shape[0]}, got {Y.shape}")
        self.estimators_: list[Any] = []
        thresholds, f1s, tuned = [], [], []
        with self._threads():
            for j in range(Y.shape[1]):
                est, t, f1, was_tuned = self.fit_label(X, Y[:, j], j)
                self.estimators_.append(est)
                thresholds.append(t)
                f1s.append(f1)
                tuned.append(was_tuned)
        self.thresholds_ = np.asarray(thresholds, dtype=float)
        self.oof_f1_ = np.asarray(f1s, dtype=float)
        self.tuned_ = np.asarray(tuned, dtype=bool)
        self.constant_ = np.asarray([isinstance(e, ConstantBinary) for e in self.estimators_], dtype=bool)
        self.positives_ = Y.sum(axis=0).astype(np.int64)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) independent probabilities, one column per label."""
        if not self.estimators_:
            return np.zeros((X.shape[0], 0))
        with self._threads():
            return np.column_stack([positive_scores(e, X) for e in self.estimators_])

    def predict(self, X: Any) -> np.ndarray:
        """(n, k) uint8 indicator matrix: each label's probability at or above its threshold."""
        return (self.predict_proba(X) >= self.thresholds_).astype(np.uint8)

    def summary(self, labels: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per label: threshold, whether it was searched or constant, out-of-fold F1 and train positives."""
        out: dict[str, dict[str, Any]] = {}
        for j, lab in enumerate(labels):
            f1 = self.oof_f1_[j]
            out[str(lab)] = {"threshold": round(float(self.thresholds_[j]), 4), "tuned": bool(self.tuned_[j]),
                             "constant": bool(self.constant_[j]), "positives": int(self.positives_[j]),
                             "oof_f1": None if np.isnan(f1) else round(float(f1), 4)}
        return out


def answers(proba: np.ndarray, thresholds: Sequence[float] | np.ndarray,
            labels: Sequence[str]) -> tuple[list[str], list[dict[str, float]]]:
    """Probabilities (n, k) and per-label thresholds → per item the canonical label-set string and a probability
    for every label (the multi-label ``BatchResult``)."""
    proba = np.asarray(proba, dtype=float)
    labels = [str(x) for x in labels]
    on = proba >= np.asarray(thresholds, dtype=float)
    names = np.asarray(labels, dtype=object)
    memo: dict[bytes, str] = {}
    sets: list[str] = []
    for row in on:
        key = row.tobytes()
        s = memo.get(key)
        if s is None:
            s = memo[key] = encode(names[row].tolist())
        sets.append(s)
    return sets, score_rows(proba, labels)
