"""Plain LightGBM with its default parameters: the model a data scientist would hand-craft first.

``LGBMClassifier`` / ``LGBMRegressor`` exactly as shipped (100 trees, 31 leaves, learning rate 0.1), a reference the
AutoML search must beat to be worth its budget. Numbers and datetime parts (``rows.design_frame``) go in as they are,
missing values included (LightGBM routes them natively); categorical columns go in as pandas ``category`` columns with
the train categories fixed, so LightGBM splits on them natively and a category unseen in train is read as missing.
``random_state`` is the run's seed, ``n_jobs`` the run's ``--threads`` (LightGBM's own default when unset),
``verbose=-1``. No options: a tuned LightGBM is what ``flaml`` searches for.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.adapters.base import Opt
from baseline.adapters.tabular.common import (
    RANK_BOOSTING,
    RowModel,
    TabularAdapter,
    class_strings,
    design,
)


class _LightGBMModel(RowModel):
    """Design frame with category dtypes → a default LightGBM classifier or regressor."""

    def __init__(self, schema: dict[str, str], classification: bool, seed: int, threads: int | None) -> None:
        self.schema, self.classification, self.seed, self.threads = schema, classification, seed, threads

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """The design frame, categoricals as ``category`` with the train categories (unseen → missing)."""
        D, _, categorical = design(X, self.schema)
        for c in categorical:
            cats = self.categories_[c]
            D[c] = pd.Categorical(D[c].where(D[c].isin(cats)), categories=cats)
        return D

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _LightGBMModel:
        import lightgbm as lgb

        D, _, categorical = design(X, self.schema)
        self.categories_ = {c: sorted(D[c].unique().tolist()) for c in categorical}
        D = self._frame(X)
        params: dict[str, Any] = {"random_state": self.seed, "verbose": -1}
        if self.threads:
            params["n_jobs"] = int(self.threads)
        if self.classification:
            self.model_ = lgb.LGBMClassifier(**params).fit(D, y.astype(str))
            self.classes_ = class_strings(self.model_.classes_)
        else:
            self.model_ = lgb.LGBMRegressor(**params).fit(D, np.asarray(y, dtype=float))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._frame(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.classification:
            return super().predict(X)
        return self.model_.predict(self._frame(X))

    def details(self) -> dict[str, Any]:
        return {"trees": int(self.model_.booster_.num_trees()), "parameters": "LightGBM defaults",
                "categorical_columns": len(self.categories_)}


class LightGBM(TabularAdapter):
    """LightGBM with default parameters on the design frame (native categoricals and missing values)."""

    name = "lightgbm"
    family = "trivial"
    simplicity = RANK_BOOSTING
    description = "LightGBM with default parameters (the hand-crafted reference AutoML must beat)"
    extra = "tabular"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm", "sklearn")
    option_schema: ClassVar[dict[str, Opt]] = {}

    def new_model(self) -> RowModel:
        return _LightGBMModel(self.schema(), self.classification, self.ctx.seed, self.ctx.threads)
