"""What the tabular adapters share: rows → typed frame, a fitted row model behind one interface, answers, importance.

Every tabular adapter learns a *row model*: an object with ``fit(frame, y)``, ``predict(frame)`` and, for
classification, ``predict_proba(frame)`` and ``classes_``, where ``frame`` is the typed frame ``rows.decode_rows``
rebuilds from the JSON rows (one column per schema feature). Keeping the model on the decoded frame, not on a design
matrix, is what lets permutation importance shuffle the user's own columns (a datetime counts once, not as five parts;
a categorical once, not as one column per level).

Permutation importance (``explain``): the model is refitted on a seeded 80% of train (at most ``REFIT_ROWS`` rows) and
each feature is shuffled ``importance_repeats`` times on the held-out 20% (at most ``importance_rows`` rows): the mean
and standard deviation of the drop in the run's headline metric (macro-F1, or the RMSE increase for regression, in the
target's units). Held-out rather than train rows, so a feature a flexible model merely memorised does not look
important; a refit rather than a hold-out inside ``fit``, so the scored model still learns from every train row. Train
sets under ``MIN_HOLDOUT_ROWS`` rows are scored on the train rows with the fitted model (said in ``on``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.adapters.base import (
    RANK_LINEAR,
    RANK_PROBE,
    Adapter,
    BatchResult,
    FitInfo,
    proba_answers,
)
from baseline.adapters.tabular.importance import permutation_importance
from baseline.tasks import rows

CLASSIFICATION = "tabular-classification"
REGRESSION = "tabular-regression"
TASKS = (CLASSIFICATION, REGRESSION)

# Gradient-boosted trees with default parameters: trained here and self-hosted like the linear floor, but an ensemble
# of hundreds of trees is harder to read and to hand over than a linear model, and far lighter to host than a
# transformer: between RANK_LINEAR (40) and RANK_PROBE (50, where TabPFN sits) and below RANK_AUTOML (60).
RANK_BOOSTING = RANK_LINEAR + 5
RANK_TABPFN = RANK_PROBE

MIN_HOLDOUT_ROWS = 50     # fewer train rows: importance is measured on train with the fitted model
REFIT_ROWS = 50_000       # the importance refit learns from at most this many of the other 80%
HOLDOUT_SHARE = 0.2


class RowModel:
    """A model on the decoded row frame; subclasses implement ``fit`` and ``predict`` or ``predict_proba``."""

    classes_: list[str]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> RowModel:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Classification default: the most probable class."""
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(X).argmax(axis=1)]

    def details(self) -> dict[str, Any]:
        """What the fit chose, for ``FitInfo.details``."""
        return {}


class ConstantClassifier(RowModel):
    """The one train class, with probability 1 (a train split with a single class leaves nothing to learn)."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ConstantClassifier:
        self.classes_ = sorted({str(v) for v in y})
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.ones((len(X), len(self.classes_)))


def class_strings(classes: Sequence[Any]) -> list[str]:
    """An estimator's ``classes_`` as plain strings."""
    return [str(c) for c in classes]


def design(X: pd.DataFrame, schema: dict[str, str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``rows.design_frame``: datetimes expanded into numeric parts, (frame, numeric columns, categorical columns)."""
    return rows.design_frame(X, schema)


def split_holdout(y: np.ndarray, classification: bool, seed: int,
                  share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) row positions; stratified on the class when every class has two rows or more."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    strat = None
    if classification:
        _, counts = np.unique(y.astype(str), return_counts=True)
        n_test = int(np.ceil(share * len(y)))
        if counts.min() >= 2 and n_test >= len(counts) and len(y) - n_test >= len(counts):
            strat = y.astype(str)
    tr, te = train_test_split(idx, test_size=share, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(te)


class TabularAdapter(Adapter):
    """Base of the tabular adapters: decoding rows, fitting a ``RowModel``, answers and permutation importance."""

    family = "trivial"
    learns = True
    streams_texts = False
    batch_size = 4096
    tasks: ClassVar[tuple[str, ...]] = TASKS
    requires: ClassVar[tuple[str, ...]] = ("sklearn",)
    importance_rows: ClassVar[int] = 5_000   # held-out rows the importance is measured on, at most
    importance_repeats: ClassVar[int] = 5

    # ---- what subclasses provide -----------------------------------------------------------
    def new_model(self) -> RowModel:  # pragma: no cover - abstract
        """A fresh, unfitted row model for this run's task and options."""
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------
    @property
    def classification(self) -> bool:
        """Whether this run answers classes (else numbers)."""
        return self.ctx.task == CLASSIFICATION

    def schema(self) -> dict[str, str]:
        """The run's feature schema (``ctx.schema``); a tabular run always sets it."""
        if not self.ctx.schema:
            raise ValueError(f"{self.name}: no feature schema (ctx.schema) for a tabular task")
        return self.ctx.schema

    def frame(self, texts: Sequence[str]) -> pd.DataFrame:
        """JSON rows → the typed feature frame."""
        return rows.decode_rows(texts, self.schema())

    def targets(self, labels: Sequence[str | None]) -> np.ndarray:
        """Train labels as class strings (object array, None kept) or floats (NaN for a missing number)."""
        if self.classification:
            return np.asarray([None if v is None else str(v) for v in labels], dtype=object)
        return rows.decode_numbers(labels)

    def fit_model(self, X: pd.DataFrame, y: np.ndarray) -> RowModel:
        """A fresh model fitted on these rows (a constant one when classification train has a single class)."""
        if self.classification and len(set(y.tolist())) < 2:
            return ConstantClassifier().fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            return self.new_model().fit(X, y)

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        X, y = self.frame(texts), self.targets(labels)
        keep = np.array([v is not None for v in y]) if self.classification else ~np.isnan(y)
        if not keep.all():
            self.notes.append(f"{self.name}: {int((~keep).sum())} train rows without a target were left out")
        self.X_, self.y_ = X.loc[keep].reset_index(drop=True), y[keep]
        if self.classification:
            self.y_ = self.y_.astype(str).astype(object)
        self.model_ = self.fit_model(self.X_, self.y_)
        if isinstance(self.model_, ConstantClassifier):
            self.notes.append(f"{self.name}: train has a single class ({self.model_.classes_[0]!r}): a constant answer")
        return FitInfo(details={"rows": int(len(self.X_)), "features": len(self.ctx.schema or {}), **self.model_.details()})

    def predict_batch(self, texts: list[str]) -> BatchResult:
        X = self.frame(texts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # unseen categories, feature-name checks
            if self.classification:
                proba = np.asarray(self.model_.predict_proba(X), dtype=float)
                best, scores = proba_answers(proba, self.model_.classes_, self.ctx.labels)
                return BatchResult(labels=list(best), scores=scores)
            pred = np.asarray(self.model_.predict(X), dtype=float)
        return BatchResult(labels=[rows.encode_number(v) for v in pred.tolist()])

    # ---- explainability ----------------------------------------------------------------------
    def explain(self) -> dict[str, Any]:
        if not hasattr(self, "model_"):
            return {}
        return self.permutation_importance()

    def permutation_importance(self) -> dict[str, Any]:
        """Permutation importance of each schema feature on held-out train rows (see the module docstring)."""
        X, y, seed = self.X_, self.y_, self.ctx.seed
        if len(X) >= MIN_HOLDOUT_ROWS:
            tr, te = split_holdout(y, self.classification, seed)
            if len(tr) > REFIT_ROWS:
                tr = np.sort(np.random.default_rng(seed).choice(tr, REFIT_ROWS, replace=False))
            model = self.fit_model(X.iloc[tr].reset_index(drop=True), y[tr])
            on = f"held-out 20% of train, the model refitted on the other {len(tr):,} rows"
        else:
            te, model = np.arange(len(X)), self.model_
            on = f"the {len(X)} train rows (too few to hold any out)"
        if len(te) > self.importance_rows:
            te = np.sort(np.random.default_rng(seed + 1).choice(te, self.importance_rows, replace=False))
        Xte, yte = X.iloc[te].reset_index(drop=True), y[te]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feats, metric, meaning = permutation_importance(model, Xte, yte, self.classification, self.ctx.metric,
                                                            self.importance_repeats, seed)
        return {"kind": "permutation_importance", "text": f"permutation importance: {meaning}",
                "permutation_importance": feats, "on": f"{on} ({len(te):,} rows scored)", "metric": metric,
                "repeats": self.importance_repeats}


def constant_importance(schema: dict[str, str], why: str) -> dict[str, Any]:
    """Importance of a constant predictor: zero for every feature, by construction."""
    return {"kind": "permutation_importance", "text": why,
            "permutation_importance": [{"feature": f, "mean": 0.0, "std": 0.0} for f in schema],
            "on": "none needed: the answer does not depend on any feature", "metric": None, "repeats": 0}
