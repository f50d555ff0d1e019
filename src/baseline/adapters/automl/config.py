"""flaml settings: the learners, featurisations and options it knows, the budget's constants, option checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from baseline.errors import BadInput

DEFAULT_TIME_BUDGET = 60.0
# On a table, with no --time-budget: 1 s per 300 train rows, at least 5 s and at most DEFAULT_TIME_BUDGET.
# A trial on a few hundred rows takes tens of milliseconds, so 5 s is ~100 trials; past that the search only
# re-ranks configurations on a holdout of a hundred-odd rows. Measured test figures (flaml alone, this machine):
# breast_cancer macro-F1 0.954 / 0.954 / 0.938 at 5 / 15 / 60 s; wine 1.0 at each; diabetes RMSE 57.4 / 56.9 / 60.5;
# telco_churn macro-F1 0.723 at 18 s and at 53 s (the same model); bike_sharing_hourly RMSE 35.14 at 46 s, 35.13 at
# 60 s. Each within the others' CI: the budget buys time, not accuracy, on tables this size.
TABULAR_BUDGET_PER_ROW = 1 / 300
TABULAR_MIN_BUDGET = 5.0


def tabular_default_budget(n_rows: int) -> float:
    """The tabular search budget when the user set none: scaled to the train rows, 5 s to 60 s."""
    return round(min(DEFAULT_TIME_BUDGET, max(TABULAR_MIN_BUDGET, TABULAR_BUDGET_PER_ROW * n_rows)), 1)


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
