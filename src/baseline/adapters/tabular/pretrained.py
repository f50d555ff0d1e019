"""TabPFN: a pretrained tabular transformer that predicts from the train rows in context, with local weights only.

TabPFN (v2 or later checkpoints, the ``tabpfn`` package) is not trained here: ``fit`` hands it the train rows, and
each prediction attends over them. The weights come only from a file already on this machine, never from a download
at run time: the ``tabpfn`` package downloads whatever ``model_path`` names when the file is missing, so the adapter
resolves the file itself first and is unavailable (one line) when there is none. Where it looks, in order:

1. option ``model_path`` (``[adapters.tabpfn]``), else the environment variable ``TABPFN_MODEL_PATH``: a checkpoint
   file (``.ckpt`` / ``.safetensors``), or a folder holding them;
2. otherwise the ``tabpfn`` package's own cache folder (``TABPFN_MODEL_CACHE_DIR``, else the platform cache folder,
   ``~/.cache/tabpfn`` on Linux), where an earlier ``tabpfn`` run may have left checkpoints.

In a folder, the checkpoint for the run's task is the package's v2 default name for it if present, else the first
(by name) whose name says the task (``classifier`` / ``regressor``), else the first naming neither (checkpoints that
serve both tasks, as from v3.5).

Categoricals are ordinal-encoded (an unseen category is missing) and declared to TabPFN as categorical; numbers,
datetime parts and missing values go in as they are. Options: ``model_path``; ``n_estimators`` (the package's
default); ``max_train_rows`` (10,000, the v2 pretraining limit: a larger train split is subsampled, stratified on the
class, with a note); ``ignore_pretraining_limits`` (False). The runner resolves ``--device`` (a GPU when there is
one); ``--threads`` sets torch's CPU threads while the adapter runs. Permutation importance here is measured on at
most 1,000 held-out rows with 3 repeats: every shuffled column is a full forward pass over the train context.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.adapters.base import Availability, FitInfo, Opt
from baseline.adapters.tabular.common import (
    CLASSIFICATION,
    RANK_TABPFN,
    REGRESSION,
    RowModel,
    TabularAdapter,
    design,
)
from baseline.errors import AdapterUnavailable

ENV = "TABPFN_MODEL_PATH"
SUFFIXES = (".ckpt", ".safetensors")
WORD = {CLASSIFICATION: "classifier", REGRESSION: "regressor"}
V2_DEFAULT = {CLASSIFICATION: "tabpfn-v2-classifier-finetuned-zk73skhh.ckpt", REGRESSION: "tabpfn-v2-regressor.ckpt"}
MAX_TRAIN_ROWS = 10_000
NO_WEIGHTS = (f"set model_path in [adapters.tabpfn] or {ENV} to a TabPFN checkpoint file or folder "
              "(baseline never downloads at run time)")


def tabpfn_cache_dir() -> Path:
    """The ``tabpfn`` package's own model cache folder, worked out the way it does, without importing it."""
    custom = os.environ.get("TABPFN_MODEL_CACHE_DIR", "").strip()
    if custom:
        return Path(custom).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", ".")) / "tabpfn"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "tabpfn"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tabpfn"


def pick_checkpoint(folder: Path, task: str) -> Path | None:
    """The checkpoint in ``folder`` for ``task`` (see the module docstring), or None."""
    try:
        files = sorted(f for f in folder.iterdir() if f.suffix in SUFFIXES and f.is_file())
    except OSError:
        return None
    word = WORD.get(task, "classifier")
    other = set(WORD.values()) - {word}
    default = [f for f in files if f.name == V2_DEFAULT.get(task)]
    named = [f for f in files if word in f.name.lower()]
    both = [f for f in files if not any(w in f.name.lower() for w in (word, *other))]
    found = default + named + both
    return found[0] if found else None


def find_weights(task: str, options: dict[str, Any] | None) -> tuple[Path | None, str]:
    """(checkpoint path, "") when local weights exist for ``task``, else (None, the one-line reason)."""
    given = (options or {}).get("model_path") or os.environ.get(ENV, "").strip()
    if given:
        where = "model_path" if (options or {}).get("model_path") else ENV
        path = Path(str(given)).expanduser()
        if path.is_file():
            return path, ""
        if path.is_dir():
            found = pick_checkpoint(path, task)
            if found is not None:
                return found, ""
            return None, (f"no local TabPFN weights for {WORD.get(task, task)}s in {path} ({where}): no .ckpt or "
                          f".safetensors checkpoint for this task there (baseline never downloads at run time)")
        return None, f"no local TabPFN weights at {path} ({where} names no file or folder): {NO_WEIGHTS}"
    found = pick_checkpoint(tabpfn_cache_dir(), task)
    if found is not None:
        return found, ""
    return None, f"no local TabPFN weights: {NO_WEIGHTS}"


class _TabPFNModel(RowModel):
    """Design frame with ordinal-coded categoricals → a TabPFN classifier or regressor on local weights."""

    def __init__(self, schema: dict[str, str], classification: bool, weights: Path, device: str, seed: int,
                 options: dict[str, Any]) -> None:
        self.schema, self.classification, self.weights = schema, classification, weights
        self.device, self.seed, self.options = device, seed, options

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Numbers as they are, then the categoricals' train codes (unseen → NaN)."""
        D, numeric, categorical = design(X, self.schema)
        parts = [D[numeric].to_numpy(dtype=float)] if numeric else []
        if categorical:
            parts.append(self.encoder_.transform(D[categorical]).astype(float))
        return np.hstack(parts) if parts else np.zeros((len(D), 0))

    def _subsample(self, n: int, y: np.ndarray) -> np.ndarray:
        """Row positions to keep: all, or ``max_train_rows`` of them (stratified on the class when it can be)."""
        from sklearn.model_selection import train_test_split

        cap = int(self.options.get("max_train_rows", MAX_TRAIN_ROWS))
        if n <= cap:
            return np.arange(n)
        strat = None
        if self.classification:
            _, counts = np.unique(y.astype(str), return_counts=True)
            strat = y.astype(str) if counts.min() >= 2 and cap >= len(counts) else None
        keep, _ = train_test_split(np.arange(n), train_size=cap, random_state=self.seed, stratify=strat)
        return np.sort(keep)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _TabPFNModel:
        from sklearn.preprocessing import OrdinalEncoder
        from tabpfn import TabPFNClassifier, TabPFNRegressor

        if not self.weights.is_file():  # gone since availability: never let the package download in its place
            raise AdapterUnavailable(f"no local TabPFN weights at {self.weights}: {NO_WEIGHTS}")
        D, numeric, categorical = design(X, self.schema)
        self.encoder_ = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        if categorical:
            self.encoder_.fit(D[categorical])
        keep = self._subsample(len(X), y)
        self.train_rows_ = len(keep)
        A = self._matrix(X)[keep]
        cat_idx = list(range(len(numeric), len(numeric) + len(categorical))) or None
        kw: dict[str, Any] = {"model_path": str(self.weights), "device": self.device, "random_state": self.seed,
                              "categorical_features_indices": cat_idx,
                              "ignore_pretraining_limits": bool(self.options.get("ignore_pretraining_limits", False))}
        if self.options.get("n_estimators"):
            kw["n_estimators"] = int(self.options["n_estimators"])
        if self.classification:
            self.classes_, codes = np.unique(y[keep].astype(str), return_inverse=True)
            self.model_ = TabPFNClassifier(**kw).fit(A, codes)
            # the package's classes_ are the codes it saw, in its column order
            self.classes_ = [str(self.classes_[int(c)]) for c in self.model_.classes_]
        else:
            self.model_ = TabPFNRegressor(**kw).fit(A, np.asarray(y, dtype=float)[keep])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._matrix(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.classification:
            return super().predict(X)
        return self.model_.predict(self._matrix(X))

    def details(self) -> dict[str, Any]:
        return {"weights": self.weights.name, "train_rows_in_context": self.train_rows_}


class TabPFN(TabularAdapter):
    """TabPFN on local weights: a pretrained tabular transformer that predicts from the train rows in context."""

    name = "tabpfn"
    family = "pretrained"
    simplicity = RANK_TABPFN
    description = "TabPFN pretrained tabular transformer, local weights only (in-context, no training)"
    extra = "tabular"
    requires: ClassVar[tuple[str, ...]] = ("tabpfn", "torch", "sklearn")
    uses_device = True
    by_default = False
    not_by_default_reason = "a transformer over all train rows for every prediction (minutes on a CPU)"
    batch_size = 1024
    importance_rows: ClassVar[int] = 1_000
    importance_repeats: ClassVar[int] = 3
    option_schema: ClassVar[dict[str, Opt]] = {
        "model_path": Opt("str"),
        "n_estimators": Opt("int", lo=1),
        "max_train_rows": Opt("int", lo=1),
        "ignore_pretraining_limits": Opt("bool"),
    }

    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        base = super().availability(task, options)
        if not base.ok:
            return base
        _, problem = find_weights(task, options)
        return Availability.no(problem) if problem else Availability.yes()

    def load(self) -> None:
        weights, problem = find_weights(self.ctx.task, self.ctx.options)
        if weights is None:
            raise AdapterUnavailable(problem)
        self.weights_ = weights
        self._threads_before: int | None = None
        if self.ctx.threads:
            import torch

            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(int(self.ctx.threads))

    def new_model(self) -> RowModel:
        if not hasattr(self, "weights_"):
            self.load()
        return _TabPFNModel(self.schema(), self.classification, self.weights_, self.ctx.device, self.ctx.seed,
                            self.ctx.options)

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        info = super().fit(texts, labels)
        used = getattr(self.model_, "train_rows_", len(self.X_))
        if used < len(self.X_):
            self.notes.append(f"tabpfn: {used:,} of {len(self.X_):,} train rows in context (max_train_rows; the "
                              f"pretraining limit is {MAX_TRAIN_ROWS:,})")
        return info

    def teardown(self) -> None:
        before = getattr(self, "_threads_before", None)
        if before is not None:
            import torch

            torch.set_num_threads(before)
            self._threads_before = None
