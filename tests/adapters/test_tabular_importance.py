"""Batched permutation importance gives scikit-learn's figures (same shuffles, same differences) in few predict calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from baseline.adapters.base import AdapterContext  # noqa: E402
from baseline.adapters.tabular.importance import permutation_importance, score_function  # noqa: E402
from baseline.adapters.tabular.linear import Linear  # noqa: E402

SCHEMA = {"a": "numeric", "b": "numeric", "color": "categorical", "noise": "numeric"}


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "color": rng.choice(["red", "blue", "green"], n).astype(object), "noise": rng.normal(size=n)})


class _Counting:
    """A fitted row model that counts its predict calls; sklearn's API needs ``fit`` and ``classes_``."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0
        self.classes_ = getattr(model, "classes_", None)

    def fit(self, X, y):
        return self

    def predict(self, X):
        self.calls += 1
        return self.model.predict(X)

    def predict_proba(self, X):
        self.calls += 1
        return self.model.predict_proba(X)


def _fitted(task: str, metric: str, X: pd.DataFrame, y: np.ndarray):
    ad = Linear(AdapterContext(labels=sorted({str(v) for v in y}) if task.endswith("classification") else [],
                               task=task, schema=SCHEMA, metric=metric, seed=7))
    return ad.fit_model(X, y)


@pytest.mark.parametrize("task,metric", [("tabular-classification", "macro_f1"),
                                         ("tabular-classification", "log_loss"),
                                         ("tabular-regression", "rmse"), ("tabular-regression", "r2")])
def test_equal_to_sklearns_permutation_importance(task: str, metric: str) -> None:
    from sklearn.inspection import permutation_importance as sk_importance

    X = _frame(600, 1)
    signal = 2 * X.a - X.b + (X.color == "red") * 1.5
    if task == "tabular-classification":
        y = np.where(signal + np.random.default_rng(2).normal(size=600) > 0.3, "yes", "no").astype(object)
    else:
        y = (signal + np.random.default_rng(2).normal(size=600)).to_numpy()
    model = _fitted(task, metric, X.iloc[:450], y[:450])
    Xte, yte = X.iloc[450:].reset_index(drop=True), y[450:]
    classification = task == "tabular-classification"
    score, proba, _, _ = score_function(classification, metric, getattr(model, "classes_", None))

    def sk_score(est, Xs, ys):
        return score(np.asarray(est.predict_proba(Xs) if proba else est.predict(Xs)), ys)

    ref = sk_importance(_Counting(model), Xte, yte, scoring=sk_score, n_repeats=5, random_state=7)
    counted = _Counting(model)
    feats, name, _ = permutation_importance(counted, Xte, yte, classification, metric, 5, 7)
    got = {f["feature"]: (f["mean"], f["std"]) for f in feats}
    for j, c in enumerate(Xte.columns):
        assert got[c] == pytest.approx((ref.importances_mean[j], ref.importances_std[j]), abs=1e-9), c
    assert name == metric and counted.calls == 2          # the unshuffled rows, then every shuffled copy at once
    assert got["a"][0] > got["noise"][0] and got["a"][0] > 0
    # chunked into frames of at most 300 rows: the same figures, one call per two shuffled copies
    small = _Counting(model)
    feats2, _, _ = permutation_importance(small, Xte, yte, classification, metric, 5, 7, chunk_rows=300)
    assert [f["feature"] for f in feats2] == [f["feature"] for f in feats]
    assert {f["feature"]: f["mean"] for f in feats2} == pytest.approx({f["feature"]: f["mean"] for f in feats})
    assert small.calls == 1 + 10
