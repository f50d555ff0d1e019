"""FLAML learner classes that read only their own columns of the shared matrix, guarded by the trial clock."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from baseline.adapters.automl.budget import _SearchGuard, _TrialClock
from baseline.adapters.automl.config import SELECTION_C


def _learner_classes(names: Sequence[str], linear_cols: np.ndarray, dense_cols: np.ndarray, n_total: int,
                     clock: _TrialClock, starts: dict[str, float], guard: _SearchGuard | None = None,
                     tree_threads: int | None = None) -> dict[str, type]:
    """FLAML learner classes that read only their own columns of the shared matrix.

    Linear learners get the sparse featurisation and skip a trial whose projected time exceeds what
    is left of the budget; tree learners get the dense block as a numpy array.
    """
    from flaml import tune
    from flaml.automl.model import (
        ExtraTreesEstimator,
        LGBMEstimator,
        LRL1Classifier,
        LRL2Classifier,
        RandomForestEstimator,
        SKLearnEstimator,
        XGBoostLimitDepthEstimator,
        XGBoostSklearnEstimator,
    )
    from scipy.sparse import issparse
    from sklearn.dummy import DummyClassifier
    from sklearn.svm import LinearSVC

    def take(X: Any, cols: np.ndarray, dense: bool) -> Any:
        if X.shape[1] == n_total:      # not yet sliced (score() slices twice otherwise)
            X = X[:, cols]
        if dense and issparse(X):
            X = X.toarray()
        return X

    class _Linear:
        """Mixin: sparse featurisation columns, trial-time guard."""

        learner = "linear"
        limit_resource = False   # FLAML's RLIMIT_AS + SIGALRM guard misfires next to torch; we guard by time

        def _preprocess(self, X: Any) -> Any:
            return take(X, linear_cols, False)

        def fit(self, X_train: Any, y_train: Any, budget: float | None = None, free_mem_ratio: float = 0,
                **kwargs: Any) -> float:
            kwargs.pop("is_retrain", None)
            Xs = self._preprocess(X_train)
            t = time.perf_counter()
            projected = clock.project(self.learner, Xs.nnz)
            if budget is not None and guard is not None:
                budget = min(budget, guard.left())
            if budget is not None and projected is not None and projected > budget:
                # like FLAML's own timeout fallback: a constant model, so the trial cannot win
                clock.skipped[self.learner] += 1
                self._model = DummyClassifier().fit(np.zeros((Xs.shape[0], 1)), y_train)
                return time.perf_counter() - t
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = self.estimator_class(**self.params)
                model.fit(Xs, y_train)
            self._model = model
            elapsed = time.perf_counter() - t
            clock.observe(self.learner, elapsed, Xs.nnz)
            if guard is not None and self.learner == "svc":
                guard.observe_svc(elapsed, Xs.shape[0])
            return elapsed

        def _predict_input(self, X: Any) -> Any:
            X = self._preprocess(X)
            if isinstance(self._model, DummyClassifier):
                return np.zeros((X.shape[0], 1))
            return X

        def predict(self, X: Any, **kwargs: Any) -> Any:
            return self._model.predict(self._predict_input(X))

        def predict_proba(self, X: Any, **kwargs: Any) -> Any:
            return self._model.predict_proba(self._predict_input(X))

    def c_space(low: float, high: float, init: float) -> dict[str, Any]:
        return {"C": {"domain": tune.loguniform(lower=low, upper=high), "init_value": float(init)}}

    class SVC(_Linear, SKLearnEstimator):
        """Linear SVM (liblinear); class scores are a softmax of the margins (not calibrated)."""

        learner = "svc"

        @classmethod
        def search_space(cls, data_size: Any = None, task: Any = None, **params: Any) -> dict[str, Any]:
            space = c_space(0.01, 5.0, starts.get("svc", SELECTION_C))
            space["class_weight"] = {"domain": tune.choice(["none", "balanced"]), "init_value": "none"}
            return space

        @classmethod
        def cost_relative2lgbm(cls) -> float:
            return 1.0

        def config2params(self, config: dict) -> dict:
            params = super().config2params(config)
            params.pop("n_jobs", None)
            cw = params.pop("class_weight", "none")
            params["class_weight"] = None if cw == "none" else cw
            params.setdefault("max_iter", 2000)
            return params

        def __init__(self, task: Any = "binary", **config: Any) -> None:
            super().__init__(task, **config)
            seed = self.params.pop("random_seed", 10242048)
            self.params.setdefault("random_state", seed)
            self.estimator_class = LinearSVC

        def predict_proba(self, X: Any, **kwargs: Any) -> Any:
            X = self._predict_input(X)
            if isinstance(self._model, DummyClassifier):
                return self._model.predict_proba(X)
            d = np.asarray(self._model.decision_function(X), dtype=float)
            if d.ndim == 1:
                p = 1.0 / (1.0 + np.exp(-2.0 * d))
                return np.column_stack([1.0 - p, p])
            e = np.exp(d - d.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

    def lr_params(params: dict, l1: bool) -> dict:
        params.pop("n_jobs", None)
        if clock.binary:  # liblinear: quick for two classes with either penalty (saga L1 took 25-35 s on sst2)
            params.update(solver="liblinear", tol=1e-4, max_iter=300)
        else:  # sag/saga: several times faster than lbfgs for many classes; loose tol is enough there
            params.update(solver="saga" if l1 else "sag", tol=1e-3, max_iter=100 if l1 else 300)
        return params

    class LRL2(_Linear, LRL2Classifier):
        """Logistic regression, L2 penalty, started at C=10 (the tfidf-logreg setting)."""

        learner = "lrl2"

        @classmethod
        def search_space(cls, data_size: Any = None, task: Any = None, **params: Any) -> dict[str, Any]:
            return c_space(0.03, 300.0, starts.get("lrl2", 10.0))

        @classmethod
        def cost_relative2lgbm(cls) -> float:
            return 4.0

        def config2params(self, config: dict) -> dict:
            return lr_params(super().config2params(config), l1=False)

    class LRL1(_Linear, LRL1Classifier):
        """Logistic regression, L1 penalty (saga)."""

        learner = "lrl1"

        @classmethod
        def search_space(cls, data_size: Any = None, task: Any = None, **params: Any) -> dict[str, Any]:
            return c_space(0.03, 300.0, starts.get("lrl1", 10.0))

        @classmethod
        def cost_relative2lgbm(cls) -> float:
            return 8.0

        def config2params(self, config: dict) -> dict:
            return lr_params(super().config2params(config), l1=True)

    def dense(base: type, name: str) -> type:
        """A FLAML tree learner that sees the dense block only (its search space sized for it)."""

        def _preprocess(self: Any, X: Any) -> Any:
            return base._preprocess(self, take(X, dense_cols, True))

        def config2params(self: Any, config: dict) -> dict:
            params = base.config2params(self, config)
            for key in ("n_jobs", "nthread"):
                if key in params and tree_threads is not None:
                    params[key] = tree_threads
            return params

        @classmethod  # type: ignore[misc]
        def search_space(cls: type, data_size: Any, task: Any = None, **params: Any) -> dict[str, Any]:
            return base.search_space(data_size=(data_size[0], len(dense_cols)), task=task, **params)

        def fit(self: Any, X_train: Any, y_train: Any, budget: float | None = None, **kwargs: Any) -> float:
            if budget is not None and guard is not None:   # trees stop on the clock: at the search's end
                left = guard.left()
                # but only between boosting rounds: with less left than the quickest tree trial so far took,
                # a constant model stands in (an untried xgboost took 2.7 s of 0.7 s left on 80 classes)
                if clock.tree_min is not None and left < clock.tree_min:
                    t = time.perf_counter()
                    clock.skipped[name] += 1
                    Xd = self._preprocess(X_train)
                    self._model = DummyClassifier().fit(np.zeros((Xd.shape[0], 1)), y_train)
                    return time.perf_counter() - t
                budget = max(0.01, min(budget, left))
            t = time.perf_counter()
            out = base.fit(self, X_train, y_train, budget=budget, **kwargs)
            took = time.perf_counter() - t
            clock.tree_min = took if clock.tree_min is None else min(clock.tree_min, took)
            return out

        def predict(self: Any, X: Any, **kwargs: Any) -> Any:
            if isinstance(self._model, DummyClassifier):
                return self._model.predict(np.zeros((X.shape[0], 1)))
            return base.predict(self, X, **kwargs)

        def predict_proba(self: Any, X: Any, **kwargs: Any) -> Any:
            if isinstance(self._model, DummyClassifier):
                return self._model.predict_proba(np.zeros((X.shape[0], 1)))
            return base.predict_proba(self, X, **kwargs)

        return type(f"Dense{base.__name__}", (base,), {"_preprocess": _preprocess, "search_space": search_space,
                                                       "fit": fit, "predict": predict,
                                                       "config2params": config2params,
                                                       "predict_proba": predict_proba,
                                                       "__doc__": f"{name} on the dense block"})

    table: dict[str, type] = {"svc": SVC, "lrl2": LRL2, "lrl1": LRL1}
    trees = {"lgbm": LGBMEstimator, "xgboost": XGBoostSklearnEstimator, "xgb_limitdepth": XGBoostLimitDepthEstimator,
             "rf": RandomForestEstimator, "extra_tree": ExtraTreesEstimator}
    for n, base in trees.items():
        table[n] = dense(base, n)
    return {n: table[n] for n in names}
