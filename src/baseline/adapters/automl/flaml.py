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

**Multi-label** (``--multi-label``): one-vs-rest under the same single ``--time-budget``. Featurising and the
featurisation choice are as above (the choice by CV of one-vs-rest linear SVMs, scored with the multi-label
headline); then each label in turn gets an equal share of what is left of the budget (time a quick label leaves
rolls on): a FLAML binary search scored by average precision on a stratified holdout, then that label's decision
threshold, chosen to maximise its F1 on out-of-fold probabilities of the winning configuration (3 folds) when that
fits the label's share, else on the search's holdout. Labels constant in train get a constant predictor; labels
with fewer than 5 positives, or a share under 0.5 s, get no search (a linear SVM, threshold 0.5 or out-of-fold).
Details per label (winner, configuration, threshold and where it came from) are in ``fit.labels``.

Modules (``adapters/automl/``, imports run down the list, never back up): ``config`` (constants, option checks),
``metrics`` (scores), ``budget`` (trial clock, moving search end), ``learners`` (FLAML learner classes on their own
columns), ``features`` (featurising), ``selection`` (featurisation choice), ``search`` (single-label search and
retrain), ``multilabel`` (one-vs-rest), ``tabular`` (FLAML straight on a table: ``tabular-classification`` and
``tabular-regression``), ``flaml`` (the adapter: options, life cycle, predict, explain).

flaml, lightgbm, xgboost and sentence-transformers are imported lazily (extra ``automl``).
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from baseline.adapters.automl.config import (
    DEFAULT_ESTIMATORS,
    DEFAULT_TIME_BUDGET,
    ESTIMATORS,
    FEATURES,
    FLAML_METRIC,
    LINEAR_LEARNERS,
    OPTIONS,
    SEARCH_LOG,
    _as_list,
    _number,
    tabular_default_budget,
)
from baseline.adapters.automl.features import FeaturesMixin
from baseline.adapters.automl.metrics import MULTILABEL_METRICS, weighted_f1_metric
from baseline.adapters.automl.multilabel import MultiLabelMixin
from baseline.adapters.automl.search import SearchMixin
from baseline.adapters.automl.selection import SelectionMixin
from baseline.adapters.automl.tabular import TABULAR_TASKS, TabularMixin, is_tabular
from baseline.adapters.base import (
    RANK_AUTOML,
    Adapter,
    AdapterContext,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
    is_multilabel,
    proba_answers,
)
from baseline.costs import local_instance_price
from baseline.errors import BadInput

__all__ = ["DEFAULT_ESTIMATORS", "SEARCH_LOG", "FlamlAdapter", "weighted_f1_metric"]

_OMP: dict[str, Any] = {}   # the first load()'s OMP_WAIT_POLICY decision, kept for the process


class FlamlAdapter(FeaturesMixin, SelectionMixin, SearchMixin, MultiLabelMixin, TabularMixin, Adapter):
    """FLAML AutoML over text (featurisation chosen by quick CV, linear + tree learners) or a table, time-budgeted.

    Options (``[adapters.flaml]``; ``--time-budget`` sets ``time_budget``):
    ``time_budget`` (seconds for the whole fit: featurising, featurisation choice, search and retrain;
    default 60; on a table 1 s per 300 train rows, from 5 s to 60 s),
    ``estimators`` (list or comma string from svc, lrl2, lrl1, lgbm, xgboost, xgb_limitdepth, rf,
    extra_tree; default svc, lrl2, lgbm, lrl1, xgboost, rf, extra_tree),
    ``features`` ("auto", or a list from word, word+char, embed, word+embed, word+char+embed),
    ``selection_share`` (budget share for choosing the featurisation, 0.25), ``selection_folds`` (3),
    ``eval_method`` ("holdout", "cv" or "auto"; default holdout), ``split_ratio`` (holdout share, 0.2),
    ``max_iter`` (cap on trials: with it, runs repeat exactly when the clock is not the limit),
    ``svd_components`` (dense block for trees, 100), ``embedding_model`` (sentence-transformers model;
    default all-MiniLM-L6-v2), ``embedding_cache`` (true).
    On a table (``tabular`` module): ``estimators`` defaults to FLAML's table learners (lgbm, rf, xgboost,
    extra_tree, xgb_limitdepth, lrl1 for classification); the featurisation and embedding options do not apply.
    """

    name = "flaml"
    family = "automl"
    simplicity = RANK_AUTOML
    description = "FLAML AutoML: featurisation by quick CV (word/char TF-IDF, embeddings), linear + tree learners"
    learns = True
    extra = "automl"
    requires = ("flaml", "lightgbm", "sklearn")
    local_compute = True
    tasks = ("text-classification", "multi-label-text-classification", *TABULAR_TASKS)
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
        self.budget_given = tb is not None   # else a table's budget scales with its rows (tabular_default_budget)
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
        metrics = MULTILABEL_METRICS if is_multilabel(ctx) else FLAML_METRIC
        if is_tabular(ctx):
            self._init_tabular()
        elif ctx.metric not in metrics:
            raise BadInput(f"flaml cannot optimise metric {ctx.metric!r}; use one of {', '.join(metrics)}")
        self.n_jobs = int(ctx.threads or os.cpu_count() or 1)
        self._embedder: Any = None
        self._torn_down = False
        self.details: dict[str, Any] = {}

    @classmethod
    def check_named(cls, options: dict[str, Any]) -> None:
        """Named in --adapters: bad options stop the run before any adapter starts (exit 2)."""
        cls(AdapterContext(labels=["a", "b"], options=dict(options or {})))

    def _budget_for(self, n_rows: int) -> float:
        """The fit's budget: the given one, or on a table with none given, ``tabular_default_budget(n_rows)``."""
        return tabular_default_budget(n_rows) if is_tabular(self.ctx) and not self.budget_given else self.time_budget

    # ---- estimates ---------------------------------------------------------------------------
    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        rate, row = local_instance_price(self.ctx.prices, self.ctx.device or "cpu")
        secs = self._budget_for(len(texts)) * 1.1 + 1e-5 * sum(len(t) for t in texts)
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

        if not _OMP:   # decided once per process: a later instance would read back the variable set here
            preset = os.environ.get("OMP_WAIT_POLICY")
            omp_loaded = any(i.get("user_api") == "openmp" for i in threadpool_info())
            _OMP["policy"] = os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            _OMP["one_thread"] = preset is None and omp_loaded
        self.omp_wait_policy = _OMP["policy"]
        if _OMP["one_thread"]:
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

    # ---- fit ---------------------------------------------------------------------------------
    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Featurise, choose the featurisation, search and retrain, all inside ``time_budget``."""
        if is_multilabel(self.ctx):
            return self._fit_multilabel(texts, labels)
        if is_tabular(self.ctx):
            return self._fit_tabular(texts, labels)
        return self._fit_single(texts, labels)

    # ---- predict ------------------------------------------------------------------------------
    def predict_batch(self, texts: list[str]) -> BatchResult:
        if is_multilabel(self.ctx):
            return self._predict_multilabel(texts)
        if is_tabular(self.ctx):
            return self._predict_tabular(texts)
        from scipy.sparse import hstack

        blocks = self._transform(texts, self.needed_)
        X = hstack([blocks[b] for b in self.block_widths_]).tocsr()
        proba = np.asarray(self.model_.predict_proba(X), dtype=float)
        model_classes = [int(c) for c in self.model_.classes_]
        best, scores = proba_answers(proba, [self.classes_[c] for c in model_classes], self.ctx.labels)
        return BatchResult(labels=best, scores=scores)

    def explain(self, top: int = 6) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return self._explain_multilabel()
        if is_tabular(self.ctx):
            return self._explain_tabular(top)
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


    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        self._release_embedder()
