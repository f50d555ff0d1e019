"""FLAML on its home ground: AutoML straight on the table, for ``tabular-classification`` and ``tabular-regression``.

No featurisation step: the JSON rows are decoded (``rows.decode_rows``) and made model-ready by
``rows.design_frame`` (datetimes expanded into numeric parts), categorical columns become pandas ``category``
columns with the train categories fixed (a category unseen in train is read as missing), and columns are renamed
``f0``, ``f1`` … (LightGBM refuses JSON characters in feature names). FLAML ``AutoML`` then runs with task
"classification" or "regression", FLAML's default learners for tables (``TABULAR_ESTIMATORS``; ``estimators``
overrides, learners that only classify are left out of regression with a note) and the run's seed.

Metric (``TABULAR_METRIC``): the search optimises the run's headline on FLAML's holdout. Classification: macro-F1
by FLAML's built-in ``"macro_f1"`` (loss 1 − macro-F1 of the argmax answers), accuracy and log loss by FLAML's own,
weighted-F1 by the adapter's custom metric. Regression: FLAML's ``"rmse"`` (likewise ``mae``, ``r2``, ``mape``).

Budget (the text path's rules, one ``--time-budget`` for the whole fit; unset, it scales with the table: 1 s per 300
train rows, 5 s to 60 s, ``config.tabular_default_budget``): decoding counts; the search gets what is
left; the winner is retrained on all train rows only when its measured trial time, scaled to all rows ×
``RETRAIN_MARGIN``, fits what is left (+``RETRAIN_SLACK``), else the model trained on the holdout's training part is
kept and a note says so. The reserve for that retrain follows the current best trial (checked before every trial,
at least ``RESERVE_FLOOR``, at most ``RESERVE_CAP`` of the budget) and moves the search's end with it; a fit past
1.1 × the budget is noted.
The holdout (``split_ratio``, stratified on the class; classes with one row stay in training) is drawn by the
adapter and handed to FLAML, so permutation importance (``explain``) is measured on rows the scored search model
never saw, with no refit: each user column (a datetime once, not as its parts) shuffled on at most
``IMPORTANCE_ROWS`` rows. With ``eval_method`` "cv" or "auto" FLAML splits and retrains itself, and importance is
measured on train rows.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.adapters.automl.budget import _SearchGuard
from baseline.adapters.automl.config import (
    ESTIMATORS,
    RESERVE_CAP,
    RETRAIN_MARGIN,
    RETRAIN_SLACK,
    SEARCH_LOG,
    _plain,
)
from baseline.adapters.automl.metrics import weighted_f1_metric
from baseline.adapters.base import AdapterContext, BatchResult, FitInfo, proba_answers
from baseline.errors import BadInput
from baseline.tasks import rows

CLASSIFICATION = "tabular-classification"
REGRESSION = "tabular-regression"
TABULAR_TASKS = (CLASSIFICATION, REGRESSION)
# FLAML's default learners for tables (its "auto" list less spark, sgd and catboost), lrl1 for classification only
TABULAR_ESTIMATORS = ("lgbm", "rf", "xgboost", "extra_tree", "xgb_limitdepth", "lrl1")
CLASSIFY_ONLY = ("lrl1", "lrl2", "svc")
# the run's headline → FLAML's metric (a name, or "weighted_f1" for the adapter's custom metric)
TABULAR_METRIC = {CLASSIFICATION: {"macro_f1": "macro_f1", "accuracy": "accuracy", "weighted_f1": "weighted_f1",
                                   "log_loss": "log_loss"},
                  REGRESSION: {"rmse": "rmse", "mae": "mae", "r2": "r2", "mape": "mape"}}
LOWER_IS_BETTER = ("log_loss", "rmse", "mae", "mape")   # FLAML's loss is the metric itself; else 1 − the score
IMPORTANCE_ROWS = 5_000
RESERVE_FLOOR = 0.05     # share of the budget always held back from the search for the retrain (holdout)
IMPORTANCE_REPEATS = 5
IGNORED_OPTIONS = ("features", "selection_share", "selection_folds", "svd_components", "embedding_model",
                   "embedding_cache")


def is_tabular(ctx: AdapterContext) -> bool:
    """Whether this run's items are table rows."""
    return ctx.task in TABULAR_TASKS


def tabular_estimators(ctx: AdapterContext, chosen: list[str] | None, notes: list[str]) -> list[str]:
    """The learners for a tabular run: FLAML's table defaults, or the ``estimators`` option less classify-only ones."""
    import importlib.util

    regression = ctx.task == REGRESSION
    names = list(chosen) if chosen else list(TABULAR_ESTIMATORS)
    if regression:
        dropped = [e for e in names if e in CLASSIFY_ONLY]
        names = [e for e in names if e not in CLASSIFY_ONLY]
        if dropped and chosen:
            notes.append(f"flaml: {', '.join(dropped)} left out: classification learners, this is a regression")
    if not chosen and importlib.util.find_spec("xgboost") is None:
        names = [e for e in names if not e.startswith("xgb")]
        notes.append("flaml: xgboost not installed: xgboost and xgb_limitdepth left out of the search")
    if not names:
        raise BadInput(f"[adapters.flaml] no estimator can run a regression: add one of "
                       f"{', '.join(e for e in ESTIMATORS if e not in CLASSIFY_ONLY)}")
    return names


def tabular_metric(ctx: AdapterContext) -> str:
    """FLAML's metric for the run's headline on a table (``BadInput`` for one it cannot optimise)."""
    known = TABULAR_METRIC[ctx.task]
    if ctx.metric not in known:
        raise BadInput(f"flaml cannot optimise metric {ctx.metric!r} on a {ctx.task}; use one of {', '.join(known)}")
    return known[ctx.metric]


def _score_of(metric: str, loss: float | None) -> float | None:
    """FLAML's loss → the metric's own value (lower-is-better metrics are their loss)."""
    if loss is None or not math.isfinite(float(loss)):
        return None
    return round(float(loss) if metric in LOWER_IS_BETTER else 1.0 - float(loss), 4)


def _holdout(y: np.ndarray, classification: bool, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, holdout) positions; classification stratified, a class with one row kept in train."""
    rng = np.random.default_rng(seed)
    n = len(y)
    if not classification:
        perm = rng.permutation(n)
        k = min(n - 1, max(1, int(math.ceil(ratio * n))))
        return np.sort(perm[k:]), np.sort(perm[:k])
    val: list[np.ndarray] = []
    for c in sorted(set(y.tolist())):
        members = rng.permutation(np.flatnonzero(y == c))
        k = min(len(members) - 1, int(round(ratio * len(members))))
        if k > 0:
            val.append(members[:k])
    va = np.sort(np.concatenate(val)) if val else np.arange(0)
    return np.setdiff1d(np.arange(n), va), va


class _Design:
    """Decoded rows → FLAML's frame: design columns renamed f0…, categoricals with the train categories fixed."""

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema

    def fit(self, X: pd.DataFrame) -> _Design:
        """Learn the design columns and each categorical's train categories."""
        D, numeric, categorical = rows.design_frame(X, self.schema)
        self.columns_ = list(D.columns)
        self.names_ = {c: f"f{i}" for i, c in enumerate(self.columns_)}
        self.categorical_ = categorical
        self.categories_ = {c: sorted(D[c].unique().tolist()) for c in categorical}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model-ready frame (a category unseen in train becomes missing)."""
        D, _, _ = rows.design_frame(X, self.schema)
        cats = self.categories_
        cols = {self.names_[c]: pd.Categorical(D[c].to_numpy(), categories=cats[c]) if c in cats else D[c].to_numpy()
                for c in self.columns_}
        return pd.DataFrame(cols, index=pd.RangeIndex(len(D)))


class _RowModel:
    """A fitted FLAML learner on decoded rows: design, FLAML's feature transformer, the learner, class names."""

    def __init__(self, design: _Design, transformer: Any, labels: Any, estimator: Any,
                 classification: bool) -> None:
        self.design, self.transformer, self.labels, self.estimator = design, transformer, labels, estimator
        self.classification = classification
        if classification:
            codes = np.asarray(estimator.classes_)
            self.classes_ = [str(c) for c in (labels.inverse_transform(codes) if labels is not None else codes)]

    def frame(self, X: pd.DataFrame) -> Any:
        """Decoded rows → what the learner was trained on."""
        D = self.design.transform(X)
        return self.transformer.transform(D) if self.transformer is not None else D

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.estimator.predict_proba(self.frame(X)), dtype=float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class (classification) or the number (regression)."""
        if self.classification:
            return np.asarray(self.classes_, dtype=object)[self.predict_proba(X).argmax(axis=1)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.estimator.predict(self.frame(X)), dtype=float)


class _Constant:
    """The one train class, with probability 1 (nothing to search)."""

    def __init__(self, label: str) -> None:
        self.classes_ = [label]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability 1 for the one class."""
        return np.ones((len(X), 1))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The one class."""
        return np.asarray(self.classes_ * len(X), dtype=object)


class _BestGuard(_SearchGuard):
    """The retrain reserve follows the current best trial (not the slowest), never below ``floor``."""

    floor = 0.0

    def observe_best(self, seconds: float, rows_: int) -> None:
        """Project the current best's retrain on all rows and move the search's end by the change."""
        want = seconds / max(1, rows_) * self.n_rows * RETRAIN_MARGIN
        self.released = want > self.cap + self.slack   # the retrain cannot fit: hold back only the floor
        want = self.floor if self.released else min(max(want, self.floor), self.cap)
        delta = want - self.reserve
        if abs(delta) < min(0.25, self.floor or 0.25):
            return
        self.reserve = want
        state = getattr(self.automl, "_state", None)
        if state is not None and getattr(state, "time_budget", -1) > 0:
            state.time_budget = max(0.0, state.time_budget - delta)
            self.deadline -= delta
            self.shifted += delta


def _watched(base: type, guard: _BestGuard | None, automl_ref: list[Any]) -> type:
    """A FLAML learner class that updates the retrain reserve from the current best before each trial."""

    def fit(self: Any, X_train: Any, y_train: Any, budget: Any = None, free_mem_ratio: float = 0, **kwargs: Any):
        automl = automl_ref[0] if automl_ref else None
        if guard is not None and automl is not None and guard.automl is not None:
            try:
                best = automl._search_states[automl.best_estimator]
                t, n = best.best_config_train_time, best.best_config_sample_size
            except (AttributeError, KeyError, TypeError):
                t = n = None
            if t and n:
                guard.observe_best(float(t), int(n))
        return base.fit(self, X_train, y_train, budget, free_mem_ratio, **kwargs)

    return type(f"Watched{base.__name__}", (base,), {"fit": fit, "__doc__": base.__doc__})


class TabularMixin:
    """The adapter's tabular path: FLAML AutoML on the design frame, inside ``time_budget``."""

    def _init_tabular(self) -> None:
        """Tabular settings from the options: learners, FLAML's metric, options that do not apply."""
        o = self.ctx.options
        self.tab_metric_ = tabular_metric(self.ctx)
        chosen = self.estimators if "estimators" in o else None
        self.estimators = tabular_estimators(self.ctx, chosen, self.notes)
        ignored = [k for k in IGNORED_OPTIONS if k in o]
        if ignored:
            self.notes.append(f"flaml: {', '.join(ignored)} apply to text only: ignored on a table")

    @property
    def _classification(self) -> bool:
        return self.ctx.task == CLASSIFICATION

    def _schema(self) -> dict[str, str]:
        """The run's feature schema (a tabular run always sets it)."""
        if not self.ctx.schema:
            raise BadInput(f"flaml: no feature schema for a {self.ctx.task} run")
        return self.ctx.schema

    def _targets(self, labels: list[str]) -> np.ndarray:
        """Train labels as class strings (object array) or floats."""
        if self._classification:
            return np.asarray([None if v is None else str(v) for v in labels], dtype=object)
        return rows.decode_numbers(labels)

    def _fit_tabular(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Decode, search with FLAML inside the budget, retrain the winner when it fits, record."""
        from flaml import AutoML
        from flaml.automl.task.factory import task_factory

        t_start = time.perf_counter()
        if not self.budget_given:
            self.time_budget = self._budget_for(len(texts))
            self.notes.append(f"flaml: search budget {self.time_budget:g} s for {len(texts):,} train rows "
                              "(1 s per 300 rows, 5-60 s; --time-budget sets it)")
        workdir = Path(self.ctx.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        classification = self._classification
        X, y = rows.decode_rows(texts, self._schema()), self._targets(labels)
        keep = np.array([v is not None for v in y]) if classification else ~np.isnan(y.astype(float))
        if not keep.all():
            self.notes.append(f"flaml: {int((~keep).sum())} train rows without a target were left out")
            X, y = X.loc[keep].reset_index(drop=True), y[keep]
        self.tab_design_ = _Design(self._schema()).fit(X)
        D = self.tab_design_.transform(X)
        t_prep = time.perf_counter() - t_start
        self.tab_X_, self.tab_y_ = X, y
        if classification and len(set(y.tolist())) < 2:
            self.model_ = self.search_model_ = _Constant(str(y[0]))
            self.notes.append(f"flaml: train has a single class ({y[0]!r}): a constant answer, no search")
            self.winner_, self.winner_config_, self.tab_val_ = "constant", {}, None
            self.details = {"winner": "constant", "time_budget_s": self.time_budget, "trials": 0}
            return FitInfo(details=self.details)

        holdout = self.eval_method == "holdout"
        tr, va = (_holdout(y, classification, self.split_ratio, self.ctx.seed) if holdout
                  else (np.arange(len(y)), np.arange(0)))
        if holdout and len(va) == 0:
            raise BadInput("flaml: too few train rows for a holdout: use eval_method \"cv\"")
        self.tab_val_ = va if holdout else None
        estimators = list(self.estimators)
        task = "classification" if classification else "regression"
        left = self.time_budget - (time.perf_counter() - t_start)
        # holdout: FLAML's last trial ends past the search's end, so a floor of the reserve is held back from the start
        floor = RESERVE_FLOOR * self.time_budget if holdout else 0.0
        search_budget = max(1.0, left - floor)
        guard = None
        if holdout:
            guard = _BestGuard(time.perf_counter() + search_budget, floor, RESERVE_CAP * self.time_budget,
                               RETRAIN_SLACK * self.time_budget, len(y))
            guard.floor = floor
        automl = AutoML()
        ref: list[Any] = []
        factory = task_factory(task, D.iloc[tr], pd.Series(y[tr]))
        for name in estimators:
            automl.add_learner(name, _watched(factory.estimator_class_from_str(name), guard, ref))
        ref.append(automl)
        if guard is not None:
            guard.automl = automl
        log_path = workdir / SEARCH_LOG
        if log_path.exists():
            log_path.unlink()
        metric: Any = weighted_f1_metric if self.tab_metric_ == "weighted_f1" else self.tab_metric_
        threads = getattr(self, "tree_threads", self.n_jobs)
        settings: dict[str, Any] = dict(
            task=task, metric=metric, estimator_list=estimators, time_budget=search_budget,
            eval_method=self.eval_method, split_ratio=self.split_ratio, seed=self.ctx.seed, n_jobs=threads,
            log_file_name=str(log_path), log_type="all", verbose=0, keep_search_state=False,
            retrain_full=not holdout)
        if holdout:
            settings.update(X_val=D.iloc[va].reset_index(drop=True), y_val=y[va])
        if self.max_iter is not None:
            settings["max_iter"] = self.max_iter
        yt = y[tr] if classification else y[tr].astype(float)
        t_search0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(X_train=D.iloc[tr].reset_index(drop=True), y_train=yt, **settings)
        t_search = time.perf_counter() - t_search0
        if guard is not None:
            guard.automl = None
        if automl.model is None:
            raise BadInput(f"flaml: no learner finished a trial in {self.time_budget:g} s: raise --time-budget")
        self.automl_ = automl
        self.winner_ = str(automl.best_estimator)
        self.winner_config_ = {k: _plain(v) for k, v in (automl.best_config or {}).items()
                               if k != "FLAML_sample_size"}
        transformer, label_tf = automl.feature_transformer, automl.label_transformer
        self.search_model_ = _RowModel(self.tab_design_, transformer, label_tf, automl.model, classification)
        self.model_ = self.search_model_
        if holdout:
            retrain = self._retrain_tabular(automl, D, y, t_start, len(tr))
        else:
            retrain = {"done": True, "by": "flaml", "seconds": automl.best_config_train_time}
        self._record_tabular(automl, guard, log_path, search_budget, retrain, t_start, t_prep, t_search,
                             estimators, len(tr), len(va))
        return FitInfo(details=self.details)

    def _retrain_tabular(self, automl: Any, D: pd.DataFrame, y: np.ndarray, t_start: float,
                         n_fit: int) -> dict[str, Any]:
        """Retrain the winner on all train rows when its projected time fits what is left of the budget."""
        state = automl._search_states.get(automl.best_estimator)
        trial_s = getattr(state, "best_config_train_time", None)
        trial_rows = int(getattr(state, "best_config_sample_size", None) or n_fit)
        left = self.time_budget - (time.perf_counter() - t_start)
        out: dict[str, Any] = {"done": False, "by": "adapter", "rows": len(y), "trial_rows": trial_rows,
                               "trial_seconds": None if trial_s is None else round(float(trial_s), 2),
                               "left_s": round(left, 2)}
        if trial_s is None:
            out["why"] = "no trained winner"
            return out
        projected = float(trial_s) * len(y) / max(1, trial_rows) * RETRAIN_MARGIN
        out["projected_s"] = round(projected, 2)
        if projected > left + RETRAIN_SLACK * self.time_budget:
            out["why"] = (f"kept the model trained on {trial_rows} of {len(y)} rows: retraining {automl.best_estimator} "
                          f"would take about {projected:.1f} s, {left:.1f} s of the budget left")
            if type(getattr(automl.model, "_model", None)).__name__.startswith("Dummy"):
                out["why"] = (f"no learner finished a trial inside the budget: the model is constant "
                              f"(retraining {automl.best_estimator} would take about {projected:.1f} s, {left:.1f} s "
                              "left; raise --time-budget)")
            self.notes.append(f"flaml: {out['why']}")
            return out
        t = time.perf_counter()
        transformer, label_tf = automl.feature_transformer, automl.label_transformer
        Xt = transformer.transform(D) if transformer is not None else D
        yt = label_tf.transform(y) if label_tf is not None else y.astype(float)
        est = type(automl.model)(task=automl.model._task, n_jobs=getattr(self, "tree_threads", self.n_jobs),
                                 **self.winner_config_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(Xt, yt, budget=max(1.0, left))
        self.model_ = _RowModel(self.tab_design_, transformer, label_tf, est, self._classification)
        out.update(done=True, seconds=round(time.perf_counter() - t, 2))
        return out

    def _record_tabular(self, automl: Any, guard: _BestGuard | None, log_path: Path, search_budget: float,
                        retrain: dict[str, Any], t_start: float, t_prep: float, t_search: float,
                        estimators: list[str], n_fit: int, n_val: int) -> None:
        """Fit details, the search summary file and the budget note."""
        metric = self.tab_metric_
        trials = self._read_tabular_log(log_path)
        per_learner: dict[str, dict[str, Any]] = {}
        lower = metric in LOWER_IS_BETTER
        for tr in trials:
            d = per_learner.setdefault(tr["learner"], {"trials": 0, "best_val_score": None, "seconds": 0.0})
            d["trials"] += 1
            d["seconds"] = round(d["seconds"] + (tr.get("trial_time") or 0.0), 2)
            s = tr.get("val_score")
            if s is not None and (d["best_val_score"] is None or (s < d["best_val_score"] if lower
                                                                  else s > d["best_val_score"])):
                d["best_val_score"] = s
        retrain_s = retrain.get("seconds") if retrain.get("done") else None
        used = time.perf_counter() - t_start
        design = self.tab_design_
        self.details = {
            "time_budget_s": self.time_budget,
            "budget_used_s": round(used, 2),
            "search_budget_s": round(search_budget, 2),
            "retrain_reserve_s": None if guard is None else round(guard.reserve, 2),
            "search_end_moved_s": None if guard is None else round(-guard.shifted, 2),
            "seconds": {"prepare": round(t_prep, 2), "search": round(t_search, 2),
                        "retrain": round(float(retrain_s), 2) if retrain_s else None,
                        "total": round(used, 2)},
            "retrain": retrain,
            "winner": self.winner_, "winner_config": self.winner_config_,
            "winner_val_score": _score_of(metric, automl.best_loss), "val_metric": self.ctx.metric,
            "flaml_metric": "weighted_f1 (custom)" if metric == "weighted_f1" else metric,
            "eval_method": self.eval_method,
            "holdout": {"train_rows": n_fit, "holdout_rows": n_val} if n_val else None,
            "rows": len(self.tab_y_), "features": len(self._schema()), "design_columns": len(design.columns_),
            "categorical_columns": len(design.categorical_),
            "estimators": estimators, "n_jobs": getattr(self, "tree_threads", self.n_jobs), "seed": self.ctx.seed,
            "omp_wait_policy": getattr(self, "omp_wait_policy", None),
            "trials": len(trials), "per_learner": per_learner,
            "best_per_learner": {k: _score_of(metric, v) for k, v in (automl.best_loss_per_estimator or {}).items()},
            "search_log": self._where(log_path),
            "files": [self._where(log_path), self._where(log_path.parent / "search_summary.json")],
        }
        summary = dict(self.details, columns={design.names_[c]: c for c in design.columns_}, trials_list=trials)
        (log_path.parent / "search_summary.json").write_text(json.dumps(summary, indent=2, default=str),
                                                             encoding="utf-8")
        self.ctx.log(f"flaml: winner {self.winner_} {self.winner_config_} on the table; "
                     f"{len(trials)} trials in {t_search:.1f} s (budget {self.time_budget:g} s)")
        if used > 1.1 * self.time_budget:
            self.notes.append(f"fit overran its budget by more than 10%: {used:.1f} s used for {self.time_budget:g} s")

    def _read_tabular_log(self, path: Path) -> list[dict[str, Any]]:
        """FLAML's trial log → short per-trial rows, scores in the metric's own units."""
        out: list[dict[str, Any]] = []
        if not path.exists():
            return out
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "learner" not in rec:
                continue
            out.append({"record_id": rec.get("record_id"), "learner": rec.get("learner"),
                        "val_score": _score_of(self.tab_metric_, rec.get("validation_loss")),
                        "trial_time": rec.get("trial_time"), "wall_clock_time": rec.get("wall_clock_time"),
                        "config": rec.get("config")})
        return out

    def _predict_tabular(self, texts: list[str]) -> BatchResult:
        """Answers for a batch of rows: classes with a probability for every label, or number strings."""
        X = rows.decode_rows(texts, self._schema())
        if self._classification:
            best, scores = proba_answers(self.model_.predict_proba(X), self.model_.classes_, self.ctx.labels)
            return BatchResult(labels=list(best), scores=scores)
        return BatchResult(labels=[rows.encode_number(v) for v in self.model_.predict(X).tolist()])

    def _explain_tabular(self, top: int = 6) -> dict[str, Any]:
        """The winning learner and configuration, and permutation importance of each user column."""
        if not hasattr(self, "model_"):
            return {}
        d = self.details
        config = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.winner_config_.items())
        score = d.get("winner_val_score")
        text = (f"FLAML picked {self.winner_}" + (f" ({config})" if config else "")
                + f" after {d.get('trials', 0)} trials"
                + (f"; validation {self.ctx.metric} {score:.4g} ({self.eval_method})" if score is not None else "")
                + ("; retrained on all train rows" if (d.get("retrain") or {}).get("done") else ""))
        out: dict[str, Any] = {"kind": "automl", "text": text, "winner": self.winner_, "config": self.winner_config_,
                               "best_per_learner": d.get("best_per_learner"), "search_log": d.get("search_log")}
        imp = self._importance()
        if imp:
            out["text"] += "; " + imp.pop("text")
            out.update(imp)
            out["features"] = {"permutation importance": [f"{f['feature']} {f['mean']:+.3g}"
                                                          for f in imp["permutation_importance"][:top]]}
        return out

    def _importance(self) -> dict[str, Any]:
        """Permutation importance of each schema column for the search model, on held-out rows where there are."""
        from baseline.adapters.tabular.importance import permutation_importance

        X, y, seed = self.tab_X_, self.tab_y_, self.ctx.seed
        if self.winner_ == "constant":
            return {}
        if self.tab_val_ is not None and len(self.tab_val_):
            rows_, model = self.tab_val_, self.search_model_
            on = "the search's holdout: train rows the search model (trained on the other rows) never saw"
        else:
            rows_, model = np.arange(len(y)), self.model_
            on = "train rows: FLAML cross-validated and retrained on all of them"
        if len(rows_) > IMPORTANCE_ROWS:
            rows_ = np.sort(np.random.default_rng(seed + 1).choice(rows_, IMPORTANCE_ROWS, replace=False))
        Xs, ys = X.iloc[rows_].reset_index(drop=True), y[rows_]
        if self._classification:
            ys = ys.astype(str).astype(object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feats, metric, meaning = permutation_importance(model, Xs, ys, self._classification, self.ctx.metric,
                                                            IMPORTANCE_REPEATS, seed)
        return {"text": f"permutation importance: {meaning}", "permutation_importance": feats,
                "on": f"{on} ({len(rows_):,} rows scored)", "metric": metric, "repeats": IMPORTANCE_REPEATS}
