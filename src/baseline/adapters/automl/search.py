"""The single-label search: FLAML over the chosen features inside the budget, the winner's retrain, the record."""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.automl.budget import _SearchGuard, _TrialClock
from baseline.adapters.automl.config import (
    FLAML_METRIC,
    LINEAR_LEARNERS,
    RESERVE_CAP,
    RETRAIN_MARGIN,
    RETRAIN_SLACK,
    SEARCH_LOG,
    SELECTION_C,
    TREE_LEARNERS,
    TREE_PROBE_ROWS,
    TREE_SHARE,
    _plain,
)
from baseline.adapters.automl.learners import _learner_classes
from baseline.adapters.automl.metrics import weighted_f1_metric
from baseline.adapters.automl.selection import _stratified_subset
from baseline.adapters.base import FitInfo
from baseline.errors import BadInput


class SearchMixin:
    """The adapter's single-label fit: the budgeted FLAML search and what it records."""

    def _fit_single(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Single-label fit: featurise, choose the featurisation, search, retrain, record."""
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
