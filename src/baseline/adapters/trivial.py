"""Trivial floors: the majority class (or label set) and TF-IDF + logistic regression (one-vs-rest for multi-label)."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from baseline.adapters.base import (
    RANK_FLOOR,
    RANK_LINEAR,
    Adapter,
    BatchResult,
    FitInfo,
    Opt,
    is_multilabel,
)
from baseline.adapters.onevsrest import OneVsRest
from baseline.heap import trim_heap
from baseline.scorerows import score_rows
from baseline.tasks.labelsets import EMPTY, decode

TASKS = ("text-classification", "multi-label-text-classification")
# multi-label's binary logistic regressions: newton-cg reaches the same optimum as lbfgs in 5-8 Newton steps, where
# lbfgs took 24-37 iterations and 1.6-3.7x the time (semeval2018_ec, 5.5k tweets, 64k TF-IDF columns, one BLAS thread)
ML_SOLVER = "newton-cg"

# single-label floor (``TfidfLogReg``): n-grams hashed into HASH_FEATURES buckets (no vocabulary held in memory),
# counted CHUNK_ROWS texts at a time into one preallocated CSR matrix; only buckets that occur are columns
HASH_FEATURES = 2**22
CHUNK_ROWS = 10_000
# the matrix's values: float32 (8 bytes a nonzero with the int32 column, not 12); scikit-learn's newton-cg then keeps
# its weights and per-row arrays in float32 too and reaches the same optimum: at 1M rows of tickets objective 0.40010861
# in 7 iterations as in float64, macro-F1 0.7989 both (bench/results/tfidf_floor_1m_float32.json)
FEATURE_DTYPE = np.float32
# the model's weights (columns × weight vectors, one for binary) are bounded by raising min_df until they fit:
# the solver keeps several vectors of this size (gradient, CG directions), 16 MB each at 2**21
MAX_WEIGHTS = 2**21
# the solver's stopping rule: scikit-learn stops when max |gradient| of the *averaged* objective
# (mean log-loss + |w|^2 / (2 C n)) is <= tol; the summed objective's gradient is then only bounded by tol * C * n,
# which at 750k rows and C = 10 let lbfgs stop at macro-F1 0.79 where the optimum gives 0.82. GRAD_TOL bounds the
# summed objective's gradient instead (tol = GRAD_TOL / (C n), at most 1e-4, at least TOL_FLOOR)
GRAD_TOL = 1.0
TOL_FLOOR = 1e-10
NEWTON_MAX_ITER = 100
# rows × classes from which a multinomial newton-cg fit runs newton_logreg's (each of scikit-learn's n × K arrays is
# then 8 MB or more in float32; at 750k rows × 50 classes it held +572 MB, ours 72 MB: half-precision probabilities)
MULTINOMIAL_MIN_ELEMENTS = 2_000_000
LBFGS_MAX_ITER = 2000


class Majority(Adapter):
    """Always predicts the most frequent train label: the floor every candidate must beat.

    Multi-label: always predicts the most frequent train label *set* (the empty set when rows with no label are
    the commonest), with each label's train frequency as its score.
    """

    name = "majority"
    family = "trivial"
    simplicity = RANK_FLOOR
    description = "most frequent train label (floor)"
    learns = True
    streams_texts = True  # reads the labels only
    batch_size = 4096
    option_schema = {}
    tasks = (*TASKS, "tabular-classification")  # reads the labels only, whatever an item is

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        if is_multilabel(self.ctx):
            return self._fit_multilabel(labels)
        counts = Counter(labels)
        # ties broken by label order so the choice is deterministic
        self.label_ = max(sorted(counts), key=lambda k: counts[k])
        self.prior_ = {k: counts.get(k, 0) / len(labels) for k in self.ctx.labels}
        return FitInfo(details={"label": self.label_, "share": round(counts[self.label_] / len(labels), 4)})

    def _fit_multilabel(self, labels: list[str]) -> FitInfo:
        """The commonest label set (ties by canonical string), scored by each label's share of train rows."""
        counts = Counter(EMPTY if lab is None else lab for lab in labels)
        self.label_ = max(sorted(counts), key=lambda k: counts[k])
        per_label: Counter[str] = Counter()
        for value, c in counts.items():
            for x in decode(value) or ():
                per_label[x] += c
        n = max(1, len(labels))
        self.prior_ = {k: per_label.get(k, 0) / n for k in self.ctx.labels}
        share = round(counts[self.label_] / n, 4)
        self.notes.append(f"majority (multi-label): always answers the most frequent train label set "
                          f"{self.label_!r} ({share:.1%} of train rows)")
        return FitInfo(details={"label": self.label_, "share": share, "strategy": "most frequent label set"})

    def predict_batch(self, texts: list[str]) -> BatchResult:
        return BatchResult(labels=[self.label_] * len(texts), scores=[self.prior_] * len(texts))  # one shared dict

    def explain(self) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return {"kind": "rule", "text": f"always answers the label set {self.label_!r}, the most frequent in train"}
        return {"kind": "rule", "text": f"always answers {self.label_!r}, the most frequent train label"}


class TfidfLogReg(Adapter):
    """Word 1–2-gram TF-IDF + logistic regression: the linear baseline text models must beat.

    Options: ``ngram_max`` (2), ``min_df`` (a count, or a share of train rows below 1; by default 1, raised until
    the model's weights fit ``MAX_WEIGHTS``), ``C`` (a float, or "cv" to choose by 5-fold CV), ``max_features``
    (None), ``class_weight`` (None or "balanced"), ``solver`` and ``tol`` (override ``solver_plan``).

    Single-label: the n-grams are hashed (``HashedTfidf``: memory grows with the nonzeros, not with a vocabulary),
    the solver and tolerance come from ``solver_plan``, and every fit's convergence is checked and recorded in
    ``fit`` (solver, tol, iterations, converged, objective); a fit that did not converge is refitted once
    (``fit_logreg``) and, if still short, flagged in the adapter's notes. A newton-cg fit runs ``newton_logreg``
    (scikit-learn's objective and test; binary: no second copy of the matrix; more classes: no n × K array but the
    probabilities, in half precision when large).

    Multi-label: the same TF-IDF features, one binary logistic regression per label (one-vs-rest), each label's
    decision threshold chosen to maximise its F1 on 3-fold out-of-fold train probabilities
    (``baseline.adapters.onevsrest``); ``C`` "cv" chooses C per label by CV on train first. The binary models use
    the newton-cg solver on one BLAS thread (``ML_SOLVER``).
    """

    name = "tfidf-logreg"
    family = "trivial"
    simplicity = RANK_LINEAR
    description = "word 1-2-gram TF-IDF + logistic regression (scikit-learn)"
    learns = True
    streams_texts = True  # the vectorizer iterates the texts once
    requires = ("sklearn",)
    batch_size = 1024
    option_schema = {"ngram_max": Opt("int", lo=1), "min_df": Opt("float", lo=0, lo_open=True),
                     "max_features": Opt("int", lo=1), "C": Opt("float", lo=0, lo_open=True, choices=("cv",)),
                     "class_weight": Opt("str", choices=("balanced",)),
                     "solver": Opt("str", choices=("newton-cg", "lbfgs")), "tol": Opt("float", lo=0, lo_open=True)}
    tasks = TASKS
    THRESHOLD_FOLDS = 3  # multi-label: stratified train folds the per-label thresholds are chosen on

    def _vectorizer(self) -> Any:
        """The TF-IDF featuriser both tasks share, from the options."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        o = self.ctx.option
        return TfidfVectorizer(ngram_range=(1, int(o("ngram_max", 2))), min_df=o("min_df", 1),
                               max_features=o("max_features"), sublinear_tf=True, strip_accents="unicode")

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        if is_multilabel(self.ctx):
            return self._fit_multilabel(texts, labels)
        from sklearn.linear_model import LogisticRegressionCV

        o = self.ctx.option
        # the labels as the runner's shared strings (one object per class): a fixed-width copy was 32 bytes a row
        y = np.asarray([v if isinstance(v, str) else str(v) for v in labels], dtype=object)
        n_classes = len(set(labels))   # hashing, not sorting 750k objects
        k_eff = 1 if n_classes <= 2 else n_classes
        self.feat_ = HashedTfidf(int(o("ngram_max", 2)), o("min_df"), o("max_features"))
        X = self.feat_.fit_transform(texts, max_columns=max(1, MAX_WEIGHTS // k_eff))
        trim_heap()  # the hashing's freed temporaries: the solver's arrays would come on top of their pages
        c = o("C", 10.0)
        cw = o("class_weight")
        details: dict[str, Any] = {"features": f"hashed word 1-{int(o('ngram_max', 2))}-grams",
                                   "columns": X.shape[1], "min_df": self.feat_.min_df_, "dtype": str(X.dtype)}
        if c == "cv":
            solver, tol, max_iter = solver_plan(X.shape[0], X.shape[1], k_eff, 1.0, o("solver"), o("tol"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cv = LogisticRegressionCV(Cs=[0.3, 1, 3, 10, 30], cv=5, solver=solver, tol=tol, max_iter=max_iter,
                                          class_weight=cw, random_state=self.ctx.seed).fit(X, y)
            c = float(cv.C_[0])
            details["C_chosen_by"] = "5-fold CV over 0.3, 1, 3, 10, 30"
        self.clf_, fit = fit_logreg(X, y, float(c), cw, self.ctx.seed, o("solver"), o("tol"))
        details.update(C=float(c), **fit)
        if not fit["converged"]:
            self.notes.append(f"tfidf-logreg: the logistic regression did NOT converge ({fit['solver']}, "
                              f"{fit['iterations']} iterations, tol {fit['tol']:.1e}, refitted once: "
                              f"{fit.get('refit', 'no')}); its figures may understate the floor")
        elif fit.get("refit"):
            self.notes.append(f"tfidf-logreg: the first fit stopped short ({fit['first_fit']}); refitted with "
                              f"{fit['refit']}, which converged")
        self.names_ = self.feat_.name_columns(texts, _top_columns(self.clf_.coef_, 8))
        return FitInfo(details=details)

    def _fit_multilabel(self, texts: list[str], labels: list[str]) -> FitInfo:
        """TF-IDF once, then one logistic regression per label with a threshold chosen on train folds."""
        from sklearn.linear_model import LogisticRegression

        from baseline.adapters.onevsrest import indicator_matrix

        o = self.ctx.option
        self.vec_ = self._vectorizer()
        X = self.vec_.fit_transform(texts).tocsr()
        Y = indicator_matrix(labels, self.ctx.labels)
        c, cw, seed = o("C", 10.0), o("class_weight"), self.ctx.seed
        if c == "cv":
            self.ovr_ = _PerLabelC(cw, seed, folds=self.THRESHOLD_FOLDS).fit(X, Y)
        else:
            self.ovr_ = OneVsRest(lambda: LogisticRegression(C=float(c), solver=ML_SOLVER, max_iter=2000,
                                                             class_weight=cw, random_state=seed),
                                  folds=self.THRESHOLD_FOLDS, seed=seed, blas_threads=1).fit(X, Y)
        per_label = self.ovr_.summary(self.ctx.labels)
        if c == "cv":
            for j, lab in enumerate(self.ctx.labels):
                per_label[lab]["C"] = self.ovr_.c_[j]
        tuned = int(self.ovr_.tuned_.sum())
        self.notes.append(f"tfidf-logreg (multi-label): one-vs-rest logistic regression, thresholds chosen per label "
                          f"on {self.THRESHOLD_FOLDS}-fold out-of-fold train probabilities ({tuned} of "
                          f"{len(self.ctx.labels)} labels; the rest keep 0.5)")
        return FitInfo(details={"vocabulary": len(self.vec_.vocabulary_), "C": c if c == "cv" else float(c),
                                "strategy": "one-vs-rest", "threshold_folds": self.THRESHOLD_FOLDS,
                                "labels": per_label})

    def predict_batch(self, texts: list[str]) -> BatchResult:
        if is_multilabel(self.ctx):
            from baseline.adapters.onevsrest import answers

            proba = self.ovr_.predict_proba(self.vec_.transform(texts))
            sets, scores = answers(proba, self.ovr_.thresholds_, self.ctx.labels)
            return BatchResult(labels=sets, scores=scores)
        proba = self.clf_.predict_proba(self.feat_.transform(texts))
        classes = [str(c) for c in self.clf_.classes_]
        best = np.asarray(classes)[proba.argmax(axis=1)].tolist()
        return BatchResult(labels=best, scores=score_rows(proba, classes))

    def explain(self, top: int = 8) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return self._explain_multilabel(top)
        clf = self.clf_
        coef = clf.coef_
        names = _Names(self.names_)
        classes = [str(c) for c in clf.classes_]
        out: dict[str, list[str]] = {}
        if coef.shape[0] == 1:  # binary: one row, positive weights favour classes[1]
            order = np.argsort(coef[0])
            out[classes[1]] = names[order[::-1][:top]]
            out[classes[0]] = names[order[:top]]
        else:
            for i, c in enumerate(classes):
                out[c] = names[np.argsort(coef[i])[::-1][:top]]
        return {"kind": "top_features", "text": "highest-weight n-grams per class (hashed features: each named by the "
                "commonest n-gram of its bucket in the first train texts)", "features": out}

    def _explain_multilabel(self, top: int) -> dict[str, Any]:
        """Highest-weight n-grams of each label's own classifier, and the label's threshold."""
        names = np.asarray(self.vec_.get_feature_names_out())
        out: dict[str, list[str]] = {}
        for lab, est in zip(self.ctx.labels, self.ovr_.estimators_, strict=True):
            coef = getattr(est, "coef_", None)
            if coef is not None:
                out[lab] = names[np.argsort(np.asarray(coef)[0])[::-1][:top]].tolist()
        thresholds = {lab: round(float(t), 3) for lab, t in zip(self.ctx.labels, self.ovr_.thresholds_, strict=True)}
        return {"kind": "top_features", "text": "highest-weight n-grams per label (one-vs-rest)", "features": out,
                "thresholds": thresholds}


class _PerLabelC(OneVsRest):
    """One-vs-rest logistic regression whose C is chosen per label first (stratified CV on all train rows, as many
    folds as the label allows, up to 5), then kept for that label's threshold folds and final fit."""

    CS = (0.3, 1, 3, 10, 30)

    def __init__(self, class_weight: str | None, seed: int, folds: int) -> None:
        super().__init__(lambda: None, folds=folds, seed=seed, blas_threads=1)
        self.class_weight = class_weight

    def fit(self, X: Any, Y: np.ndarray) -> _PerLabelC:
        """Choose each label's C, then fit as ``OneVsRest`` does with it."""
        with self._threads():
            self.c_ = [self._choose_c(X, np.asarray(Y)[:, j].astype(np.int64)) for j in range(np.asarray(Y).shape[1])]
        super().fit(X, Y)
        return self

    def _choose_c(self, X: Any, y: np.ndarray) -> float | None:
        """This label's C by stratified CV; 10 (the default) when it has too few positives to fold."""
        from sklearn.linear_model import LogisticRegressionCV

        minority = int(min(y.sum(), len(y) - y.sum()))
        if minority < 2:
            return None if minority == 0 else 10.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LogisticRegressionCV(Cs=list(self.CS), cv=min(5, minority), solver=ML_SOLVER, max_iter=2000,
                                     class_weight=self.class_weight, random_state=self.seed).fit(X, y)
        return float(m.C_[0])

    def estimator_for(self, j: int | None) -> Any:
        from sklearn.linear_model import LogisticRegression

        c = 10.0 if j is None or self.c_[j] is None else self.c_[j]
        return LogisticRegression(C=c, solver=ML_SOLVER, max_iter=2000, class_weight=self.class_weight,
                                  random_state=self.seed)


class _Names:
    """Column index → n-gram name, for the explained columns (``#<column>`` when no sampled text held one)."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names

    def __getitem__(self, cols: Iterable[Any]) -> list[str]:
        return [self.names.get(int(j), f"#{int(j)}") for j in cols]


def _top_columns(coef: np.ndarray, top: int) -> set[int]:
    """The columns ``explain`` shows: each class's highest weights (and, binary, the lowest)."""
    coef = np.asarray(coef)
    cols: set[int] = set()
    for row in coef:
        order = np.argsort(row)
        cols.update(int(j) for j in order[::-1][:top])
        if coef.shape[0] == 1:
            cols.update(int(j) for j in order[:top])
    return cols


def _batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for t in texts:
        batch.append(t)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bincount(indices: np.ndarray, length: int, weights: np.ndarray | None = None, step: int = 1 << 22) -> np.ndarray:
    """``np.bincount(indices, weights, minlength=length)`` a slice at a time: bincount first copies int32 indices
    to int64, for the whole train matrix 8 bytes a nonzero (300 MB at 1M rows of tickets, the fit's peak)."""
    out = np.zeros(length, dtype=np.int64 if weights is None else np.float64)
    for s in range(0, len(indices), step):
        out += np.bincount(indices[s:s + step], None if weights is None else weights[s:s + step], minlength=length)
    return out


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=a.dtype)
    out[:len(a)] = a
    return out


class HashedTfidf:
    """Word n-gram TF-IDF (sublinear tf, smooth idf, rows L2-normalised: ``TfidfVectorizer(sublinear_tf=True)``'s
    weighting) over hashed n-grams, built in bounded memory.

    ``TfidfVectorizer`` holds every distinct n-gram in a dict and, while counting, every nonzero as a Python int (36
    bytes each): 2.2 GB for 750k rows of tickets. Here the texts are hashed ``CHUNK_ROWS`` at a time
    (``HashingVectorizer``, 2**22 buckets, no vocabulary) into one growing CSR matrix of int32 columns and
    ``FEATURE_DTYPE`` values (8 bytes a nonzero); every later pass (document frequencies, the column remap, the
    weighting) works a slice at a time, so no temporary grows with the whole matrix. Only buckets that occur in at
    least ``min_df`` train texts become columns; ``min_df`` is the option's value, or else the smallest count at which
    the columns × weight vectors fit ``max_columns`` (1 below that).
    ``max_features`` keeps the most frequent columns, as the vectorizer's option does.
    """

    def __init__(self, ngram_max: int = 2, min_df: float | None = None, max_features: int | None = None,
                 n_features: int = HASH_FEATURES) -> None:
        self.ngram_max, self.min_df, self.max_features, self.n_features = ngram_max, min_df, max_features, n_features

    def _hasher(self) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(n_features=self.n_features, ngram_range=(1, self.ngram_max), alternate_sign=False,
                                 norm=None, strip_accents="unicode", dtype=FEATURE_DTYPE)

    def _counts(self, texts: Iterable[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Raw counts of every text's hashed n-grams as CSR arrays (indptr, bucket, count), one chunk at a time, and
        each bucket's document frequency, counted chunk by chunk too (counting it from the finished matrix took two
        more 32 MB arrays beside it, at the fit's peak). A chunk's counts come from its sorted buckets (a row holds a
        bucket once), not from a ``bincount`` over every bucket: that was a 32 MB array per chunk."""
        hv = self._hasher()
        indptr = np.zeros(n + 1, dtype=np.int64)
        indices, data = np.empty(0, np.int32), np.empty(0, FEATURE_DTYPE)
        df = np.zeros(self.n_features, dtype=np.int32)
        nnz = row = 0
        for batch in _batches(texts, CHUNK_ROWS):
            x = hv.transform(batch)
            seen, times = np.unique(x.indices, return_counts=True)
            df[seen] += times.astype(df.dtype)
            m, r = x.nnz, x.shape[0]
            if nnz + m > len(indices):  # room for the rest at this chunk's density (+5%), at least 25% more
                size = max(int((nnz + m) / (row + r) * n * 1.05) + 1, int(len(indices) * 1.25), nnz + m)
                indices, data = _grown(indices, size), _grown(data, size)
            indices[nnz:nnz + m], data[nnz:nnz + m] = x.indices, x.data
            indptr[row + 1:row + r + 1] = x.indptr[1:] + nnz
            nnz, row = nnz + m, row + r
        if row != n:
            raise ValueError(f"expected {n} texts, read {row}")
        return indptr, indices[:nnz], data[:nnz], df

    def fit_transform(self, texts: Any, max_columns: int = MAX_WEIGHTS) -> Any:
        from scipy import sparse

        n = len(texts)
        indptr, indices, data, df = self._counts(texts, n)
        self.min_df_ = self._min_df(df, n, max_columns)
        keep = df >= self.min_df_
        if self.max_features is not None and keep.sum() > self.max_features:
            tf = _bincount(indices, self.n_features, data)
            tf[~keep] = -1
            top = np.argsort(-tf, kind="stable")[:int(self.max_features)]
            keep = np.zeros_like(keep)
            keep[top] = True
        self.buckets_ = np.flatnonzero(keep).astype(np.int32)
        if not len(self.buckets_):
            raise ValueError(f"no n-gram occurs in at least min_df = {self.min_df_} train texts")
        del keep
        kept_df = df[self.buckets_]
        remap = df  # the bucket-sized counts, no longer needed, become the remap: no second 16 MB array beside them
        del df
        remap.fill(-1)
        remap[self.buckets_] = np.arange(len(self.buckets_), dtype=np.int32)
        old = indptr.copy()
        w = 0
        for s in range(0, n, CHUNK_ROWS):  # remap and drop columns in place, chunk by chunk (w <= old[s])
            e = min(n, s + CHUNK_ROWS)
            a, b = old[s], old[e]
            cols = remap[indices[a:b]]
            ok = cols >= 0
            rows = np.repeat(np.arange(e - s), np.diff(old[s:e + 1]))
            kept = int(ok.sum())
            vals = data[a:b][ok]
            indices[w:w + kept], data[w:w + kept] = cols[ok], vals
            indptr[s + 1:e + 1] = w + np.cumsum(np.bincount(rows[ok], minlength=e - s))
            w += kept
        del remap
        self.idf_ = np.log((1.0 + n) / (1.0 + kept_df)) + 1.0
        indices, data = indices[:w], data[:w]
        idx_dtype = np.int32 if w < 2**31 else np.int64
        X = sparse.csr_matrix((data, indices.astype(idx_dtype, copy=False), indptr.astype(idx_dtype)),
                              shape=(n, len(self.buckets_)))
        self._weigh(X)
        return X

    def _min_df(self, df: np.ndarray, n: int, max_columns: int) -> int:
        if self.min_df is not None:
            v = float(self.min_df)
            return max(1, math.ceil(v * n) if v < 1 else int(v))
        # how many buckets occur in exactly m texts, a slice of buckets at a time (bincount copies its input to
        # int64: 32 MB at once for 2**22 buckets, the hashing's peak)
        per_count = _bincount(df, int(df.max()) + 1, step=1 << 18)
        at_least = np.cumsum(per_count[::-1])[::-1]  # buckets in >= m texts, m = 0, 1, ...
        fits = np.flatnonzero(at_least[1:] <= max_columns)
        return int(fits[0]) + 1 if len(fits) else 1

    def _weigh(self, X: Any) -> None:
        """Counts → sublinear tf × idf, rows L2-normalised, in place, a slice of rows at a time."""
        n = X.shape[0]
        for s in range(0, n, CHUNK_ROWS):
            e = min(n, s + CHUNK_ROWS)
            a, b = X.indptr[s], X.indptr[e]
            d = X.data[a:b]
            np.log(d, out=d)
            d += 1.0
            d *= self.idf_[X.indices[a:b]]
            rows = np.repeat(np.arange(e - s), np.diff(X.indptr[s:e + 1]))
            norms = np.sqrt(np.bincount(rows, weights=d * d, minlength=e - s))
            norms[norms == 0] = 1.0
            d /= norms[rows]

    def transform(self, texts: list[str]) -> Any:
        from scipy import sparse

        x = self._hasher().transform(texts)
        pos = np.searchsorted(self.buckets_, x.indices)
        pos = np.minimum(pos, len(self.buckets_) - 1)
        ok = self.buckets_[pos] == x.indices
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        out = sparse.csr_matrix((x.data[ok], (rows[ok], pos[ok])), shape=(x.shape[0], len(self.buckets_)))
        out.sum_duplicates()
        self._weigh(out)
        return out

    def name_columns(self, texts: Any, cols: set[int], sample: int = 20_000) -> dict[int, str]:
        """Names for these columns: each one's commonest n-gram in the first ``sample`` train texts."""
        from sklearn.utils import murmurhash3_32

        want = {int(self.buckets_[j]): j for j in cols}
        analyze = self._hasher().build_analyzer()
        seen: dict[str, int | None] = {}
        counts: Counter[tuple[int, str]] = Counter()
        for i, t in enumerate(texts):
            if i >= sample:
                break
            for g in analyze(t):
                j = seen.get(g, -1)
                if j == -1:
                    j = seen[g] = want.get(abs(murmurhash3_32(g, seed=0)) % self.n_features)
                if j is not None:
                    counts[(j, g)] += 1
        names: dict[int, str] = {}
        for (j, g), _ in counts.most_common():
            names.setdefault(j, g)
        return names


def solver_plan(n: int, d: int, k_eff: int, c: float, solver: str | None = None,
                tol: float | None = None) -> tuple[str, float, int]:
    """Solver, tolerance and iteration cap for an L2 logistic regression on n sparse rows × d TF-IDF columns with
    ``k_eff`` weight vectors (1: binary).

    newton-cg for every shape: on TF-IDF (d up to millions, weak regularisation at C = 10) its Newton steps reach the
    optimum in a handful of iterations where lbfgs takes hundreds and, at scikit-learn's default tolerance, stops
    short (``bench/bench_tfidf_floor.py``). The tolerance bounds the summed objective's gradient (``GRAD_TOL``),
    not the averaged one, so it tightens as rows grow. ``solver`` / ``tol`` override.
    """
    solver = solver or "newton-cg"
    if tol is None:
        tol = float(min(1e-4, max(TOL_FLOOR, GRAD_TOL / (c * max(1, n)))))
    return solver, float(tol), NEWTON_MAX_ITER if solver == "newton-cg" else LBFGS_MAX_ITER


def objective(clf: Any, X: Any, y: np.ndarray, c: float, class_weight: str | None = None) -> float:
    """scikit-learn's averaged objective at the fitted weights: weighted mean log-loss + |w|^2 / (2 C sum(weights))
    (intercept unpenalised), one pass over X in slices: what the solver minimised, so two fits can be compared."""
    from sklearn.utils.class_weight import compute_class_weight

    n = X.shape[0]
    pos = np.searchsorted(clf.classes_, y)
    cw = compute_class_weight(class_weight, classes=clf.classes_, y=y) if class_weight else np.ones(len(clf.classes_))
    sw = cw[pos]
    loss = 0.0
    for s in range(0, n, CHUNK_ROWS):  # a slice of X is a copy: kept small
        lp = clf.predict_log_proba(X[s:s + CHUNK_ROWS])
        loss -= float((lp[np.arange(lp.shape[0]), pos[s:s + CHUNK_ROWS]] * sw[s:s + CHUNK_ROWS]).sum())
    total = float(sw.sum())
    return loss / total + float(np.sum(np.asarray(clf.coef_) ** 2)) / (2 * c * total)


def newton_fit(clf: Any, X: Any, y: np.ndarray, encoded: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[int, list[str]]:
    """Fit the (unfitted) ``LogisticRegression`` ``clf`` with ``newton_logreg`` (two classes: ``newton_cg``, no copy
    of X; more: ``newton_cg_multinomial``, no n × K array beyond the probabilities) at its own C, tol, max_iter and
    class_weight, and set its fitted attributes so it predicts, explains and warm-starts like one scikit-learn
    fitted. ``encoded``: ``np.unique(y, return_inverse=True)`` when the caller has it. Returns the Newton iterations
    and, when it did not converge, why."""
    from sklearn.utils.class_weight import compute_class_weight

    from baseline.adapters.newton_logreg import newton_cg, newton_cg_multinomial

    classes, yi = encoded if encoded is not None else np.unique(y, return_inverse=True)
    cw = clf.class_weight
    sw = (compute_class_weight(cw, classes=classes, y=y)[yi] if cw else np.ones(len(yi))).astype(np.float64)
    if len(classes) > 2:
        res = newton_cg_multinomial(X, yi, sw, clf.C, len(classes), clf.tol, clf.max_iter)
    else:
        res = newton_cg(X, yi, sw, clf.C, clf.tol, clf.max_iter)
    clf.classes_, clf.coef_, clf.intercept_ = classes, res.coef, res.intercept
    clf.n_features_in_, clf.n_iter_ = X.shape[1], np.array([res.n_iter], dtype=np.int32)
    return res.n_iter, res.messages


def fit_logreg(X: Any, y: np.ndarray, c: float, class_weight: str | None, seed: int, solver: str | None = None,
               tol: float | None = None) -> tuple[Any, dict[str, Any]]:
    """Fit, check convergence (iterations below the cap, no ``ConvergenceWarning`` and no failed line search),
    refit once from where it stopped if it did not converge (lbfgs, warm-started, 5x the iterations; lbfgs works on
    a float64 copy of a float32 X). Returns the model and what to record."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from baseline.adapters import lean_logreg
    from baseline.adapters.newton_logreg import multinomial_available

    encoded = np.unique(y, return_inverse=True)
    k_eff = 1 if len(encoded[0]) <= 2 else len(encoded[0])
    solver, tol, max_iter = solver_plan(X.shape[0], X.shape[1], k_eff, c, solver, tol)
    # our Newton-CG (binary; multinomial with scikit-learn's steps from MULTINOMIAL_MIN_ELEMENTS rows × classes, where
    # scikit-learn's n × K arrays grow large): converged unless it says why not. Below it, scikit-learn's own
    # multinomial newton-cg, run step for step by lean_logreg (bit for bit its model, about 6 weight-sized arrays where
    # it holds 11-13: at 75k rows × 421k columns × 4 classes the fit adds 42-43 MB, not 71-75;
    # bench/results/tfidf_solver_tickets_lean_100k.json)
    k = len(encoded[0])
    ours = solver == "newton-cg" and (k == 2 or (X.shape[0] * k >= MULTINOMIAL_MIN_ELEMENTS and multinomial_available()))

    lean = solver == "newton-cg" and not ours and k > 2 and lean_logreg.available()

    def attempt(clf: Any) -> tuple[int, list[str]]:
        if clf.solver == "newton-cg" and ours:
            return newton_fit(clf, X, y, encoded)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            if clf.solver == "newton-cg" and lean and not clf.warm_start:
                # scikit-learn's own multinomial newton-cg, step for step, in fewer weight-sized arrays (above)
                lean_logreg.fit_newton_multinomial(clf, X, y)
            else:
                clf.fit(X, y)
        # newton-cg's failed line search (a UserWarning) ends its loop below the cap without the gradient test
        msgs = [str(w.message).splitlines()[0] for w in caught
                if issubclass(w.category, ConvergenceWarning) or str(w.message).startswith("Line Search failed")]
        return int(np.max(clf.n_iter_)), msgs

    clf = LogisticRegression(C=c, solver=solver, tol=tol, max_iter=max_iter, class_weight=class_weight,
                             random_state=seed)
    iters, msgs = attempt(clf)
    out: dict[str, Any] = {"solver": solver, "tol": tol, "max_iter": max_iter, "iterations": iters,
                           "converged": not msgs and (ours or iters < max_iter)}
    if not out["converged"]:
        out["first_fit"] = f"{solver}, {iters} of {max_iter} iterations" + (f": {msgs[0]}" if msgs else "")
        clf.set_params(solver="lbfgs", max_iter=LBFGS_MAX_ITER * 5, warm_start=True)
        iters, msgs = attempt(clf)
        out.update(refit=f"lbfgs warm-started, {LBFGS_MAX_ITER * 5} iterations at most", refit_iterations=iters,
                   converged=iters < LBFGS_MAX_ITER * 5 and not msgs)
        clf.set_params(warm_start=False)
    if msgs:
        out["warning"] = msgs[0]
    out["objective"] = float(f"{objective(clf, X, y, c, class_weight):.10g}")
    return clf, out
