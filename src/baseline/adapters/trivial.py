"""Trivial floors: the majority class (or label set) and TF-IDF + logistic regression (one-vs-rest for multi-label)."""

from __future__ import annotations

import warnings
from collections import Counter
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
from baseline.tasks.labelsets import EMPTY, decode

TASKS = ("text-classification", "multi-label-text-classification")
# multi-label's binary logistic regressions: newton-cg reaches the same optimum as lbfgs in 5-8 Newton steps, where
# lbfgs took 24-37 iterations and 1.6-3.7x the time (semeval2018_ec, 5.5k tweets, 64k TF-IDF columns, one BLAS thread)
ML_SOLVER = "newton-cg"


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
    tasks = TASKS

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

    Options: ``ngram_max`` (2), ``min_df`` (1), ``C`` (a float, or "cv" to choose by 5-fold CV),
    ``max_features`` (None), ``class_weight`` (None or "balanced").

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
                     "class_weight": Opt("str", choices=("balanced",))}
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
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.pipeline import make_pipeline

        o = self.ctx.option
        vec = self._vectorizer()
        c = o("C", 10.0)
        if c == "cv":
            clf = LogisticRegressionCV(Cs=[0.3, 1, 3, 10, 30], cv=5, max_iter=2000,
                                       class_weight=o("class_weight"), random_state=self.ctx.seed)
        else:
            clf = LogisticRegression(C=float(c), max_iter=2000, class_weight=o("class_weight"),
                                     random_state=self.ctx.seed)
        self.pipe_ = make_pipeline(vec, clf)
        self.pipe_.fit(texts, labels)
        chosen = float(getattr(clf, "C_", [c])[0]) if c == "cv" else float(c)
        return FitInfo(details={"vocabulary": len(vec.vocabulary_), "C": chosen})

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
        proba = self.pipe_.predict_proba(texts)
        classes = [str(c) for c in self.pipe_.classes_]
        best = np.asarray(classes)[proba.argmax(axis=1)].tolist()
        scores = [dict(zip(classes, map(float, row), strict=True)) for row in proba]
        return BatchResult(labels=best, scores=scores)

    def explain(self, top: int = 8) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return self._explain_multilabel(top)
        vec, clf = self.pipe_[0], self.pipe_[-1]
        names = np.asarray(vec.get_feature_names_out())
        coef = clf.coef_
        classes = [str(c) for c in clf.classes_]
        out: dict[str, list[str]] = {}
        if coef.shape[0] == 1:  # binary: one row, positive weights favour classes[1]
            order = np.argsort(coef[0])
            out[classes[1]] = names[order[::-1][:top]].tolist()
            out[classes[0]] = names[order[:top]].tolist()
        else:
            for i, c in enumerate(classes):
                out[c] = names[np.argsort(coef[i])[::-1][:top]].tolist()
        return {"kind": "top_features", "text": "highest-weight n-grams per class", "features": out}

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
