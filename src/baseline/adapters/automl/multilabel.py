"""Multi-label flaml: one-vs-rest, one FLAML search per label, all inside the one shared ``--time-budget``.

Strategy (what the README says):

1. **Featurise** as for single-label (word and char TF-IDF, an SVD block when tree learners are named, embeddings
   when asked for or affordable). The trees' price probe is skipped: a binary tree round is one tree.
2. **Choose the featurisation** (``selection_share`` of the budget): CV of one-vs-rest linear SVMs on each
   candidate, scored with the run's multi-label headline metric (micro-F1 by default).
3. **Search, label by label**: each label gets an equal share of what is left of the budget when its turn comes
   (``left / labels not yet searched``), so time a quick label leaves unused rolls on to the next ones. Of that
   share, ``SEARCH_SHARE`` goes to a FLAML binary search (same learners as single-label, linear ones on the sparse
   features, trees on the dense block) scored by average precision on a stratified holdout of the label
   (``split_ratio``), since the cut is chosen afterwards.
4. **Threshold and final model, per label**: when the winner's measured trial time says ``THRESHOLD_FOLDS`` fold fits
   plus one fit on all rows fit what is left of the label's share, the threshold maximises the label's F1 on
   out-of-fold probabilities of the winning configuration (``baseline.adapters.onevsrest``) and the final model is
   that configuration fitted on all rows; else, when one refit fits, the threshold comes from the search's holdout
   and the winner is refitted on all rows; else the holdout model and its holdout threshold are kept (noted).
   A label constant in train gets a constant predictor; a label with fewer than ``MIN_POSITIVES`` positives (or
   negatives), or whose share is under ``MIN_LABEL_SEARCH_S``, gets no search: a linear SVM at the selection's C,
   threshold 0.5 (or out-of-fold when the label has enough positives and it fits).

``max_iter`` caps the trials of each label's search; ``eval_method`` other than holdout does not apply (noted).
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.automl.budget import _TrialClock
from baseline.adapters.automl.config import (
    LINEAR_LEARNERS,
    RETRAIN_MARGIN,
    SEARCH_LOG,
    SELECTION_C,
    TREE_LEARNERS,
    _plain,
)
from baseline.adapters.automl.learners import _learner_classes
from baseline.adapters.base import BatchResult, FitInfo
from baseline.adapters.onevsrest import (
    MIN_POSITIVES,
    ConstantBinary,
    OneVsRest,
    answers,
    best_threshold,
    indicator_matrix,
    positive_scores,
)
from baseline.errors import BadInput

LABEL_METRIC = "ap"          # each label's search: average precision on its holdout (threshold-free)
SEARCH_SHARE = 0.7           # of a label's share of the budget: the search; the rest: thresholds and refit
MIN_LABEL_SEARCH_S = 0.5     # a share under this gets no search (FLAML's own set-up takes a good part of it)
THRESHOLD_FOLDS = 3          # out-of-fold folds for each label's threshold
BLAS_THREADS = 1             # for the multi-label fit's many small sparse fits


class MultiLabelMixin:
    """The adapter's multi-label fit, predict and explain (one-vs-rest under one shared time budget)."""

    def _fit_multilabel(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Featurise, choose the featurisation, then search, threshold and refit label by label.

        Choice, searches and refits run on one BLAS thread (``BLAS_THREADS``): many small sparse binary fits
        gain nothing from more, and on a busy 2-vCPU machine a liblinear fit on 5.5k tweets took 6.7 s with
        the default threads against 0.2 s with one (trees use OpenMP, which this leaves alone).
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            return self._fit_multilabel_steps(texts, labels)

    def _fit_multilabel_steps(self, texts: list[str], labels: list[str]) -> FitInfo:
        """The steps of ``_fit_multilabel``."""
        from scipy.sparse import hstack

        t_start = time.perf_counter()
        deadline = t_start + self.time_budget
        workdir = Path(self.ctx.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.classes_ = [str(lab) for lab in self.ctx.labels]
        Y = indicator_matrix(labels, self.classes_)
        k = Y.shape[1]
        clock = _TrialClock(2)
        if self.eval_method != "holdout":
            self.notes.append(f"flaml (multi-label): eval_method {self.eval_method!r} does not apply; each label's "
                              f"search uses a stratified {self.split_ratio:.0%} holdout")

        # 1-2. featurise (no tree probe: a binary round is one tree), choose the featurisation
        blocks = self._featurise(texts, None, t_start)
        t_feat = time.perf_counter() - t_start
        t_sel0 = time.perf_counter()
        chosen, selection = self._choose_features_multilabel(blocks, Y, self.selection_share * self.time_budget,
                                                             clock)
        t_sel = time.perf_counter() - t_sel0
        self.chosen_ = chosen
        (workdir / "featurisation.json").write_text(json.dumps(selection, indent=2), encoding="utf-8")
        self.ctx.log(f"flaml: featurisation {chosen} (CV {self.ctx.metric} "
                     + ", ".join(f"{f} {v['cv_score']:.3f}" for f, v in selection["candidates"].items()) + ")")

        # one matrix: the chosen linear blocks, then the dense block for trees
        linear_parts = chosen.split("+")
        dense_name = "embed" if "embed" in blocks else ("svd" if "svd" in blocks else None)
        layout = list(linear_parts)
        trees = [e for e in self.estimators if e in TREE_LEARNERS]
        if trees and dense_name is None:
            self.notes.append(f"tree learners {trees} left out: too few texts for a dense block")
        if trees and dense_name and dense_name not in layout:
            layout.append(dense_name)
        self.block_widths_ = {b: blocks[b].shape[1] for b in layout}
        offsets, at = {}, 0
        for b in layout:
            offsets[b] = (at, at + self.block_widths_[b])
            at += self.block_widths_[b]
        linear_cols = np.concatenate([np.arange(*offsets[b]) for b in linear_parts])
        dense_cols = np.arange(*offsets[dense_name]) if dense_name in offsets else np.arange(0)
        X = hstack([blocks[b] for b in layout]).tocsr()
        estimators = [e for e in self.estimators if e in LINEAR_LEARNERS or (e in TREE_LEARNERS and len(dense_cols))]
        if not estimators:
            raise BadInput("[adapters.flaml] no estimator can run on this data: add a linear one (svc, lrl2, lrl1)")
        self.needs_ = {"linear": set(linear_parts), "tree": {dense_name} if dense_name else set()}
        # every learner class, svc included: it is the no-search stand-in for rare labels and tiny shares
        learners = _learner_classes(list(dict.fromkeys([*estimators, "svc"])), linear_cols, dense_cols, at, clock,
                                    {"svc": SELECTION_C, "lrl2": 10.0, "lrl1": 10.0}, None,
                                    getattr(self, "tree_threads", self.n_jobs))
        self.svc_fit_s_ = clock.project("svc", X[:, linear_cols].nnz) or 0.0

        # 3-4. label by label: search, threshold, final model
        self.label_models_: list[Any] = []
        thresholds: list[float] = []
        per_label: dict[str, dict[str, Any]] = {}
        trials_all: list[dict[str, Any]] = []
        t_search = t_thr = 0.0
        for j, lab in enumerate(self.classes_):
            share = max(0.0, deadline - time.perf_counter()) / (k - j)
            model, thr, info, trials, s_search, s_thr = self._fit_label(
                X, Y[:, j].astype(np.int64), share, estimators, learners, workdir, j)
            t_search += s_search
            t_thr += s_thr
            self.label_models_.append(model)
            thresholds.append(thr)
            per_label[lab] = info
            trials_all.extend(dict(tr, label=lab) for tr in trials)
        self.thresholds_ = np.asarray(thresholds, dtype=float)
        winners = Counter(v["winner"] for v in per_label.values())
        self.winner_ = winners.most_common(1)[0][0] if winners else "none"
        self.winner_config_ = {}
        self.winner_features_ = "+".join(linear_parts)
        self.winners_ = {lab: v["winner"] for lab, v in per_label.items()}
        needed: set[str] = set()
        for v in per_label.values():
            if v["winner"] in TREE_LEARNERS:
                needed |= self.needs_["tree"]
            elif v["winner"] != "constant":
                needed |= self.needs_["linear"]
        self.needed_ = needed

        # 5. record
        log_path = workdir / SEARCH_LOG
        log_path.write_text("".join(json.dumps(t, default=str) + "\n" for t in trials_all), encoding="utf-8")
        used = time.perf_counter() - t_start
        self.details = {
            "task": "multi-label", "strategy": (
                f"one-vs-rest: one FLAML search per label in an equal share of what is left of the {self.time_budget:g} s "
                f"budget, thresholds per label ({THRESHOLD_FOLDS}-fold out-of-fold when it fits, else the search's "
                "holdout)"),
            "time_budget_s": self.time_budget, "budget_used_s": round(used, 2),
            "seconds": {"featurise": round(t_feat, 2), "choose_features": round(t_sel, 2),
                        "search": round(t_search, 2), "thresholds_and_refit": round(t_thr, 2),
                        "total": round(used, 2)},
            "featurise_seconds": getattr(self, "featurise_seconds_", {}),
            "winner": self.winner_, "winners": dict(winners), "winner_features": self.winner_features_,
            "label_metric": LABEL_METRIC, "val_metric": self.ctx.metric, "split_ratio": self.split_ratio,
            "featurisation": {"chosen": chosen, "cv": {f: v["cv_score"] for f, v in selection["candidates"].items()},
                              "not_scored": selection["not_scored"], "folds": selection["folds_scored"],
                              "embeddings": self.embed_note_},
            "dense_block": dense_name, "estimators": estimators, "n_jobs": self.n_jobs, "seed": self.ctx.seed,
            "trials": len(trials_all), "labels": per_label,
            "search_log": self._where(log_path),
            "files": [self._where(workdir / f) for f in ("featurisation.json", SEARCH_LOG, "search_summary.json")],
            "features_width": {b: int(w) for b, w in self.block_widths_.items()},
        }
        summary = dict(self.details, selection=selection, trials_list=trials_all)
        (workdir / "search_summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        kept = [lab for lab, v in per_label.items() if v.get("refit") is False]
        if kept:
            self.notes.append(f"flaml: {len(kept)} label(s) ({', '.join(kept[:5])}{' …' if len(kept) > 5 else ''}) "
                              "kept the model trained on the search's holdout split: a refit on all rows would not "
                              "fit their share of the budget (fit.labels.<label>.kept)")
        searched = sum(1 for v in per_label.values() if v.get("trials"))
        self.notes.append(f"flaml (multi-label): one-vs-rest, {searched} of {k} labels searched in a share of the "
                          f"{self.time_budget:g} s budget each; thresholds per label "
                          + ", ".join(f"{src} {n}" for src, n in
                                      Counter(v["threshold_from"] for v in per_label.values()).items()))
        self.ctx.log(f"flaml: one-vs-rest over {k} labels, winners {dict(winners)}; {len(trials_all)} trials, "
                     f"{used:.1f} s (budget {self.time_budget:g} s)")
        if used > 1.1 * self.time_budget:
            self.notes.append(f"fit overran its budget by more than 10%: {used:.1f} s used for {self.time_budget:g} s")
        if self.use_embed_ and "embed" not in self.needed_:
            self._release_embedder()
        return FitInfo(details=self.details)

    def _fit_label(self, X: Any, y: np.ndarray, share: float, estimators: list[str], learners: dict[str, type],
                   workdir: Path, j: int) -> tuple[Any, float, dict[str, Any], list[dict[str, Any]], float, float]:
        """One label inside ``share`` seconds: (model, threshold, record, trials, search seconds, threshold seconds)."""
        from flaml import AutoML
        from sklearn.model_selection import StratifiedShuffleSplit

        t0 = time.perf_counter()
        n_pos = int(y.sum())
        n_neg = len(y) - n_pos
        info: dict[str, Any] = {"positives": n_pos, "budget_s": round(share, 2)}
        if n_pos == 0 or n_neg == 0:
            info.update(winner="constant", threshold=0.5, threshold_from="constant", trials=0)
            return ConstantBinary(1 if n_pos else 0), 0.5, info, [], 0.0, 0.0
        ovr = OneVsRest(lambda: None, folds=THRESHOLD_FOLDS, seed=self.ctx.seed)
        if min(n_pos, n_neg) < MIN_POSITIVES or share * SEARCH_SHARE < MIN_LABEL_SEARCH_S:
            why = (f"fewer than {MIN_POSITIVES} positives or negatives" if min(n_pos, n_neg) < MIN_POSITIVES
                   else f"its share of the budget ({share:.2f} s) is too small to search")
            return self._fit_label_default(X, y, share, learners, ovr, info, why, t0)

        # the search: FLAML on a stratified holdout of this label, scored by average precision
        tr, va = next(StratifiedShuffleSplit(n_splits=1, test_size=self.split_ratio,
                                             random_state=self.ctx.seed).split(np.zeros(len(y)), y))
        automl = AutoML()
        for name, klass in learners.items():
            automl.add_learner(name, klass)
        log_path = workdir / f".{SEARCH_LOG}.label"
        if log_path.exists():
            log_path.unlink()
        settings: dict[str, Any] = dict(
            task="classification", metric=LABEL_METRIC, estimator_list=estimators,
            time_budget=max(MIN_LABEL_SEARCH_S, share * SEARCH_SHARE), eval_method="holdout", seed=self.ctx.seed,
            n_jobs=self.n_jobs, log_file_name=str(log_path), log_type="all", verbose=0, keep_search_state=False,
            retrain_full=False)
        if self.max_iter is not None:
            settings["max_iter"] = self.max_iter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(X_train=X[tr], y_train=y[tr], X_val=X[va], y_val=y[va], **settings)
        s_search = time.perf_counter() - t0
        trials = self._read_log(log_path)
        log_path.unlink(missing_ok=True)
        info["trials"] = len(trials)
        if automl.model is None or automl.best_estimator is None:
            return self._fit_label_default(X, y, share, learners, ovr, info, "the search trained no model", t0)
        winner = str(automl.best_estimator)
        config = dict(automl.best_config or {})
        info.update(winner=winner, config={c: _plain(v) for c, v in config.items()},
                    val_ap=None if automl.best_loss is None else round(1.0 - float(automl.best_loss), 4))
        trial_s = float(getattr(automl, "best_config_train_time", None) or 0.0)
        one_fit = trial_s * len(y) / max(1, len(tr)) * RETRAIN_MARGIN
        left = share - (time.perf_counter() - t0)
        task = automl.model._task
        n_jobs = self.n_jobs

        def make() -> Any:
            return learners[winner](task=task, n_jobs=n_jobs, **config)

        t1 = time.perf_counter()
        oof_cost = one_fit * (1 + (THRESHOLD_FOLDS - 1))   # k folds on (k-1)/k of the rows, then all rows
        if oof_cost <= left:
            ovr.make_estimator = make
            model, thr, f1, tuned = ovr.fit_label(X, y)
            info.update(threshold_from="out-of-fold" if tuned else "default", oof_f1=None if not tuned else round(f1, 4),
                        refit=True)
        else:
            p_val = positive_scores(automl.model, X[va])
            thr, f1 = best_threshold(y[va], p_val) if 0 < y[va].sum() < len(va) else (0.5, float("nan"))
            info.update(threshold_from="holdout", holdout_f1=None if np.isnan(f1) else round(f1, 4))
            if one_fit <= left:
                model = make()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X, y)
                info["refit"] = True
            else:
                model = automl.model
                info.update(refit=False, kept=(f"the model trained on {len(tr)} of {len(y)} rows: refitting "
                                               f"{winner} would take about {one_fit:.1f} s, {left:.1f} s of its "
                                               "share left"))
        info["threshold"] = round(float(thr), 4)
        s_thr = time.perf_counter() - t1
        info["seconds"] = round(time.perf_counter() - t0, 2)
        return model, float(thr), info, trials, s_search, s_thr

    def _fit_label_default(self, X: Any, y: np.ndarray, share: float, learners: dict[str, type], ovr: OneVsRest,
                           info: dict[str, Any], why: str, t0: float) -> tuple[Any, float, dict[str, Any],
                                                                               list[dict[str, Any]], float, float]:
        """No search for this label: a linear SVM at the selection's C; out-of-fold threshold when it fits."""
        svc = learners["svc"]

        def make() -> Any:
            return svc(task="binary", C=SELECTION_C, class_weight="none")

        ovr.make_estimator = make
        # the selection's measured rate prices one such fit on all rows; the out-of-fold cut needs about 3 of them
        cost = self.svc_fit_s_ * THRESHOLD_FOLDS * RETRAIN_MARGIN
        if cost <= share - (time.perf_counter() - t0):
            model, thr, f1, tuned = ovr.fit_label(X, y)
        else:
            model, thr, f1, tuned = make(), 0.5, float("nan"), False
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, y)
        info.update(winner="svc", config={"C": SELECTION_C}, no_search=why, trials=info.get("trials", 0),
                    threshold=round(float(thr), 4), threshold_from="out-of-fold" if tuned else "default",
                    oof_f1=None if not tuned else round(f1, 4), refit=True,
                    seconds=round(time.perf_counter() - t0, 2))
        return model, float(thr), info, [], 0.0, time.perf_counter() - t0

    def _predict_multilabel(self, texts: list[str]) -> BatchResult:
        """Each label's probability from its own model, its own threshold, one canonical set per item."""
        from scipy.sparse import hstack

        blocks = self._transform(texts, self.needed_)
        X = hstack([blocks[b] for b in self.block_widths_]).tocsr()
        proba = np.column_stack([positive_scores(m, X) for m in self.label_models_])
        sets, scores = answers(proba, self.thresholds_, self.classes_)
        return BatchResult(labels=sets, scores=scores)

    def _explain_multilabel(self) -> dict[str, Any]:
        """Per label: the winning learner, its configuration and threshold; the featurisation choice."""
        labels = self.details.get("labels", {})
        cv = self.details.get("featurisation", {}).get("cv", {})
        text = (f"one-vs-rest: FLAML searched each of {len(labels)} labels in a share of the {self.time_budget:g} s "
                f"budget on {self.winner_features_} features; winners "
                + ", ".join(f"{w} ×{n}" for w, n in self.details.get("winners", {}).items())
                + f"; featurisation by {self.ctx.metric} CV: " + ", ".join(f"{f} {v:.3f}" for f, v in cv.items()))
        per = {lab: {"winner": v.get("winner"), "config": v.get("config"), "threshold": v.get("threshold"),
                     "threshold_from": v.get("threshold_from")} for lab, v in labels.items()}
        return {"kind": "automl", "text": text, "winner": self.winner_, "labels": per,
                "featurisation": self.details.get("featurisation"), "search_log": self.details.get("search_log")}
