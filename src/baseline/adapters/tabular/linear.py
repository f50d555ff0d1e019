"""The linear floor for tables: logistic regression (classes) or ridge regression (numbers) in a ColumnTransformer.

Numbers (and datetime parts, ``rows.design_frame``) are median-imputed with a missing-value indicator per column that
had gaps in train, then standardised; categories are one-hot encoded with categories seen fewer than ``min_frequency``
times in train grouped into one "infrequent" column, and a category unseen in train counted with the infrequent ones
(all zeros when train had none), so predicting never fails on a new value. A missing category is its own level
("(missing)", from ``design_frame``) rather than imputed with the most frequent one: whether a value is missing often
carries signal, and the numbers keep it too, through their indicators.

Options: ``C`` (logistic regression, 1.0; "cv" chooses it from 0.01-100 by 5-fold CV), ``alpha`` (ridge, 1.0; "cv"
chooses it by efficient leave-one-out CV), ``class_weight`` (None or "balanced"), ``min_frequency`` (5).
Multinomial logistic regression (lbfgs) for more than two classes. C=1 and alpha=1 are scikit-learn's defaults: the
floor stays the model anyone would fit first, not a tuned one (``"cv"`` is there for those who want it).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.adapters.base import RANK_LINEAR, Opt
from baseline.adapters.tabular.common import RowModel, TabularAdapter, class_strings, design

CS = (0.01, 0.1, 1.0, 10.0, 100.0)
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


class _LinearModel(RowModel):
    """Design frame → ColumnTransformer (impute, scale, one-hot) → logistic or ridge regression."""

    def __init__(self, schema: dict[str, str], classification: bool, options: dict[str, Any], seed: int) -> None:
        self.schema, self.classification, self.options, self.seed = schema, classification, options, seed

    def _preprocess(self, numeric: list[str], categorical: list[str]) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        parts: list[tuple[str, Any, list[str]]] = []
        if numeric:
            parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                                 keep_empty_features=True),
                                                   StandardScaler()), numeric))
        if categorical:
            parts.append(("categorical", OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                       min_frequency=int(self.options.get("min_frequency", 5)),
                                                       sparse_output=True), categorical))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.3)

    def _estimator(self, n: int, y: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, Ridge, RidgeCV

        o = self.options
        if self.classification:
            c, cw = o.get("C", 1.0), o.get("class_weight")
            if c == "cv":
                _, counts = np.unique(y.astype(str), return_counts=True)
                folds = int(min(5, counts.min()))
                if folds >= 2:
                    return LogisticRegressionCV(Cs=list(CS), cv=folds, max_iter=2000, class_weight=cw,
                                                random_state=self.seed)
                c = 1.0
            return LogisticRegression(C=float(c), max_iter=2000, class_weight=cw, random_state=self.seed)
        alpha = o.get("alpha", 1.0)
        return RidgeCV(alphas=ALPHAS) if alpha == "cv" else Ridge(alpha=float(alpha))

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _LinearModel:
        from sklearn.pipeline import make_pipeline

        D, numeric, categorical = design(X, self.schema)
        if not numeric and not categorical:
            raise ValueError("no features to learn from")
        self.pipe_ = make_pipeline(self._preprocess(numeric, categorical), self._estimator(len(D), y))
        self.pipe_.fit(D, y.astype(str) if self.classification else np.asarray(y, dtype=float))
        if self.classification:
            self.classes_ = class_strings(self.pipe_[-1].classes_)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipe_.predict_proba(design(X, self.schema)[0])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.classification:
            return super().predict(X)
        return self.pipe_.predict(design(X, self.schema)[0])

    def details(self) -> dict[str, Any]:
        est = self.pipe_[-1]
        out: dict[str, Any] = {"design_columns": len(self.pipe_[0].get_feature_names_out())}
        if self.classification:
            out["C"] = float(np.ravel(est.C_)[0]) if hasattr(est, "C_") else float(est.C)
        else:
            out["alpha"] = float(est.alpha_) if hasattr(est, "alpha_") else float(est.alpha)
        return out


class Linear(TabularAdapter):
    """Logistic (classes) or ridge (numbers) regression on standardised numbers and one-hot categories."""

    name = "linear"
    family = "trivial"
    simplicity = RANK_LINEAR
    description = "logistic / ridge regression on standardised numbers + one-hot categories (scikit-learn)"
    option_schema: ClassVar[dict[str, Opt]] = {
        "C": Opt("float", lo=0, lo_open=True, choices=("cv",)),
        "alpha": Opt("float", lo=0, lo_open=True, choices=("cv",)),
        "class_weight": Opt("str", choices=("balanced",)),
        "min_frequency": Opt("int", lo=1),
    }

    def new_model(self) -> RowModel:
        return _LinearModel(self.schema(), self.classification, self.ctx.options, self.ctx.seed)
