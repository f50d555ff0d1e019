"""Regression floors: the train mean and the train median, answered for every row whatever its features."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.adapters.base import RANK_FLOOR
from baseline.adapters.tabular.common import (
    REGRESSION,
    RowModel,
    TabularAdapter,
    constant_importance,
)


class _Constant(RowModel):
    """One number for every row: a statistic of the train target."""

    def __init__(self, stat: str) -> None:
        self.stat = stat

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _Constant:
        y = np.asarray(y, dtype=float)
        self.value_ = float(np.mean(y) if self.stat == "mean" else np.median(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.value_)

    def details(self) -> dict[str, Any]:
        return {self.stat: self.value_}


class _ConstantRegressor(TabularAdapter):
    """Shared body of the mean and median floors."""

    family = "trivial"
    simplicity = RANK_FLOOR
    tasks: ClassVar[tuple[str, ...]] = (REGRESSION,)
    requires: ClassVar[tuple[str, ...]] = ()
    option_schema: ClassVar[dict[str, Any]] = {}
    stat: ClassVar[str] = "mean"

    def new_model(self) -> RowModel:
        return _Constant(self.stat)

    def frame(self, texts: Any) -> pd.DataFrame:
        """Features are never read: an empty frame of the right length."""
        return pd.DataFrame(index=range(len(texts)))

    def explain(self) -> dict[str, Any]:
        if not hasattr(self, "model_"):
            return {}
        out = constant_importance(self.ctx.schema or {}, f"always answers the train {self.stat}, "
                                                         f"{self.model_.value_:.6g}: no feature matters")
        return {**out, "kind": "rule"}


class Mean(_ConstantRegressor):
    """Always predicts the train mean: the floor for RMSE (the best constant under squared error)."""

    name = "mean"
    description = "train mean of the target (regression floor)"
    stat = "mean"


class Median(_ConstantRegressor):
    """Always predicts the train median: the floor for MAE (the best constant under absolute error)."""

    name = "median"
    description = "train median of the target (regression floor)"
    stat = "median"
