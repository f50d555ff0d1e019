"""Scores the flaml adapter optimises: the headline metric on integer codes, FLAML's weighted-F1 custom metric."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def _score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The headline metric on integer-coded labels."""
    from sklearn.metrics import accuracy_score, f1_score

    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    average = "weighted" if metric == "weighted_f1" else "macro"
    return float(f1_score(y_true, y_pred, average=average, zero_division=0))


def weighted_f1_metric(X_val, y_val, estimator, labels, X_train, y_train, weight_val=None, weight_train=None,
                       *args: Any) -> tuple[float, dict[str, float]]:
    """FLAML custom metric: 1 - weighted F1 (FLAML has no built-in weighted F1)."""
    from sklearn.metrics import f1_score

    t = time.perf_counter()
    pred = estimator.predict(X_val)
    pred_time = (time.perf_counter() - t) / max(1, len(y_val))
    score = float(f1_score(y_val, pred, average="weighted", sample_weight=weight_val, zero_division=0))
    return 1.0 - score, {"weighted_f1": score, "pred_time": pred_time}


MULTILABEL_METRICS = ("micro_f1", "macro_f1", "samples_f1", "accuracy")


def multilabel_score(metric: str, Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    """A multi-label headline metric on indicator matrices (``accuracy`` is subset accuracy, as scikit-learn's)."""
    from sklearn.metrics import accuracy_score, f1_score

    if metric == "accuracy":
        return float(accuracy_score(Y_true, Y_pred))
    average = {"micro_f1": "micro", "macro_f1": "macro", "samples_f1": "samples"}.get(metric, "micro")
    return float(f1_score(Y_true, Y_pred, average=average, zero_division=0))
