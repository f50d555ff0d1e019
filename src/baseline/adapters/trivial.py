"""Trivial floors: the majority class and TF-IDF + logistic regression."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from baseline.adapters.base import RANK_FLOOR, RANK_LINEAR, Adapter, BatchResult, FitInfo, Opt


class Majority(Adapter):
    """Always predicts the most frequent train label: the floor every candidate must beat."""

    name = "majority"
    family = "trivial"
    simplicity = RANK_FLOOR
    description = "most frequent train label (floor)"
    learns = True
    streams_texts = True  # reads the labels only
    batch_size = 4096
    option_schema = {}

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        counts = Counter(labels)
        # ties broken by label order so the choice is deterministic
        self.label_ = max(sorted(counts), key=lambda k: counts[k])
        self.prior_ = {k: counts.get(k, 0) / len(labels) for k in self.ctx.labels}
        return FitInfo(details={"label": self.label_, "share": round(counts[self.label_] / len(labels), 4)})

    def predict_batch(self, texts: list[str]) -> BatchResult:
        return BatchResult(labels=[self.label_] * len(texts), scores=[self.prior_] * len(texts))  # one shared dict

    def explain(self) -> dict[str, Any]:
        return {"kind": "rule", "text": f"always answers {self.label_!r}, the most frequent train label"}


class TfidfLogReg(Adapter):
    """Word 1–2-gram TF-IDF + logistic regression: the linear baseline text models must beat.

    Options: ``ngram_max`` (2), ``min_df`` (1), ``C`` (a float, or "cv" to choose by 5-fold CV),
    ``max_features`` (None), ``class_weight`` (None or "balanced").
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

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.pipeline import make_pipeline

        o = self.ctx.option
        vec = TfidfVectorizer(ngram_range=(1, int(o("ngram_max", 2))), min_df=o("min_df", 1),
                              max_features=o("max_features"), sublinear_tf=True, strip_accents="unicode")
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

    def predict_batch(self, texts: list[str]) -> BatchResult:
        proba = self.pipe_.predict_proba(texts)
        classes = [str(c) for c in self.pipe_.classes_]
        best = np.asarray(classes)[proba.argmax(axis=1)].tolist()
        scores = [dict(zip(classes, map(float, row), strict=True)) for row in proba]
        return BatchResult(labels=best, scores=scores)

    def explain(self, top: int = 8) -> dict[str, Any]:
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
