"""Tabular classification and regression: a table with a target column, every other column a feature.

The file is read as text, each column's kind inferred and printed, identifiers, constant columns and target leaks
dropped with their reasons (``tabular_schema``); each row then travels as one JSON object of its typed features
(``rows``). The split is stratified on the class (classification) or on the target's deciles (regression), or, with
``--time-col``, time-ordered: train on the past, test on the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.data import (
    Dataset,
    Split,
    _pick_column,
    label_column,
    label_strata_rows,
    make_split,
    profile,
    read_table,
    row_ids,
    stratified_rows,
)
from baseline.errors import BadInput
from baseline.metrics import Evaluation, evaluate
from baseline.tasks import rows
from baseline.tasks.base import Task, TaskInputs
from baseline.tasks.tabular_schema import infer_schema, looks_time_ordered, typed_frame

TIME = "_time"  # the --time-col's values, carried through the split and dropped after it
NOT_FOR_TABLES = {
    "label_quality": "the label-issue check reads texts: not run on a table",
    "near_duplicates": "rows are compared exactly (identical feature rows count as leakage), not as near-duplicate text",
}


class _Tabular(Task):
    """What both tabular tasks share: reading, typing and dropping columns, the split, the profile."""

    regression: ClassVar[bool] = False

    # ---- data -------------------------------------------------------------------------------
    def load(self, inputs: TaskInputs) -> Dataset:
        df, digest = read_table(inputs.path)
        path = inputs.path
        if inputs.label_col is not None and inputs.label_col not in df.columns:
            raise BadInput(f"target column {inputs.label_col!r} not found; the file has columns {list(df.columns)}: "
                           "pass --label-col with one of them")
        target = label_column(df, inputs.label_col)
        for flag, cols in (("--feature-cols", inputs.feature_cols), ("--drop-cols", inputs.drop_cols)):
            missing = [c for c in cols or [] if c not in df.columns]
            if missing:
                raise BadInput(f"{flag} names {missing[0]!r}, not a column of the file (columns: {list(df.columns)})")
        y = self._target(df[target], target, path)
        time = self._time(df, inputs.time_col, path) if inputs.time_col else None
        split_col = None
        split_values = None
        if inputs.split_col:
            from baseline.data import pick_split_column

            split_col, split_values = pick_split_column(df, inputs.split_col)
        drop = list(inputs.drop_cols or []) + ([split_col] if split_col else [])
        schema = infer_schema(df, target, y, self.regression, inputs.feature_cols, drop or None,
                              keep={inputs.time_col} if inputs.time_col else None)
        if not schema.features:
            raise BadInput(f"{path}: no feature is left after dropping "
                           + ", ".join(f"{c.name} ({c.dropped})" for c in schema.dropped()[:4])
                           + ": check --label-col, --feature-cols and --drop-cols")
        typed = typed_frame(df, schema.features)
        labels = (rows.encode_number(v) for v in y) if self.regression else iter(y)
        out = pd.DataFrame({"id": row_ids(len(df)), "text": rows.encode_rows(typed, schema.features),
                            "label": pd.Series(list(labels), dtype="str")})
        if split_values is not None:
            out["split"] = split_values
        if time is not None:
            out[TIME] = time
        notes = [f"{c.name}: {c.note}" for c in schema.columns if c.note and not c.dropped]
        notes += [f"dropped {c.name} ({c.kind}): {c.dropped}" for c in schema.dropped()]
        ordered = looks_time_ordered(df, schema.features) if inputs.time_col is None else None
        if ordered:
            notes.append(f"the file looks time-ordered ({ordered} rises down the rows) but was split at random: "
                         f"the test set shares its period with train, which flatters every model; pass "
                         f"--time-col {ordered} to test on the future")
        ds = Dataset(name=Path(path).stem, path=str(path), file_sha256=digest, frame=out, text_col="(row)",
                     label_col=target, split_col=split_col, notes=notes,
                     label_names=[] if self.regression else sorted(set(y)), schema=schema.features,
                     table={"columns": [c.to_json() for c in schema.columns], "target": target,
                            "time_col": inputs.time_col, "time_ordered_column": ordered})
        return ds

    def _target(self, raw: pd.Series, name: str, path: str) -> list[Any]:  # pragma: no cover - per task
        raise NotImplementedError

    @staticmethod
    def _time(df: pd.DataFrame, col: str, path: str) -> np.ndarray:
        """The --time-col as sortable numbers (dates as nanoseconds); one line when it does not parse."""
        if col not in df.columns:
            raise BadInput(f"--time-col {col!r} is not a column of the file (columns: {list(df.columns)})")
        raw = df[col].astype(object)
        nums = pd.to_numeric(raw, errors="coerce")
        if nums.notna().all():
            return nums.to_numpy(dtype=float)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = pd.to_datetime(raw, errors="coerce", format="mixed")
        bad = np.flatnonzero(d.isna().to_numpy())
        if len(bad):
            raise BadInput(f"{path}: --time-col {col!r} does not parse as dates or numbers ({len(bad):,} row(s), "
                           f"first {str(raw.iloc[bad[0]])!r} at data row {bad[0] + 1})")
        return d.astype("int64").to_numpy(dtype=float)

    def split(self, ds: Dataset, test_size: float, seed: int) -> Split:
        timed = TIME in ds.frame.columns

        def strata(df: pd.DataFrame, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
            if timed:
                order = np.argsort(df[TIME].to_numpy(), kind="stable")
                return np.sort(order[:len(df) - n_test]), np.sort(order[len(df) - n_test:])
            return self._strata(df, n_test, seed)

        sp = make_split(ds, test_size, seed, strata_rows=strata, check_train=self._check_train,
                        source="time-ordered" if timed else "stratified")
        for part in ("train", "test", "validation"):
            f = getattr(sp, part)
            if f is not None and TIME in f.columns:
                setattr(sp, part, f.drop(columns=TIME))
        return sp

    def _strata(self, df: pd.DataFrame, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        return label_strata_rows(df, n_test, seed)

    def _check_train(self, train: pd.DataFrame, ds: Dataset) -> None:
        return None

    def profile(self, ds: Dataset, split: Split) -> dict[str, Any]:
        prof = profile(ds, split)
        table = ds.table or {}
        prof["text_col"] = None
        prof.pop("text_chars", None)
        prof["tabular"] = {**table, "features": dict(split.schema or {}),
                           "missing_values": {c["name"]: c["missing"] for c in table.get("columns", []) if c["missing"]},
                           "target_summary": self._target_summary(split)}
        # rows, not texts: duplicates and leakage are identical feature rows
        prof["leakage_note"] = "test rows whose features equal a train row's exactly"
        return prof

    def _target_summary(self, split: Split) -> dict[str, Any]:
        return {}

    def score(self, labels: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str | None]) -> dict[str, Any]:
        return self.evaluate(labels, y_true, {"_": y_pred}, self.headline, 100, 0).metrics["_"]


class TabularClassification(_Tabular):
    """Classes from a table's columns: macro-F1 (headline), accuracy, weighted-F1, ROC-AUC and log loss."""

    name: ClassVar[str] = "tabular-classification"
    title: ClassVar[str] = "tabular classification"
    aliases: ClassVar[tuple[str, ...]] = ("tabular-classifier", "table-classification")
    headline: ClassVar[str] = "macro_f1"
    metric_names: ClassVar[dict[str, str]] = {"macro_f1": "macro-F1", "accuracy": "accuracy",
                                              "weighted_f1": "weighted-F1"}
    not_applicable: ClassVar[dict[str, str]] = dict(NOT_FOR_TABLES)

    def _target(self, raw: pd.Series, name: str, path: str) -> list[Any]:
        blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            rows_ = np.flatnonzero(blank)
            raise BadInput(f"{path}: {len(rows_)} row(s) have no target in column {name!r} (first at data row "
                           f"{rows_[0] + 1}); fill them in or remove them")
        y = raw.astype(str).str.strip().tolist()
        if len(set(y)) < 2:
            raise BadInput(f"{path}: the target {name!r} is constant ({y[0]!r} on every row): nothing to predict")
        return y

    def _target_summary(self, split: Split) -> dict[str, Any]:
        counts = pd.concat([split.train["label"], split.test["label"]]).value_counts()
        return {"classes": {str(k): int(v) for k, v in counts.items()},
                "majority_share": round(float(counts.max() / counts.sum()), 4)}

    def evaluate(self, labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                 headline: str, resamples: int, seed: int,
                 scores: dict[str, Sequence[dict[str, float] | None]] | None = None) -> Evaluation:
        ev = evaluate(labels, y_true, predictions, headline=headline, resamples=resamples, seed=seed)
        if scores:
            from baseline.tasks.proba_metrics import probability_metrics

            for name, sc in scores.items():
                if name in ev.metrics and sc and any(s for s in sc):
                    ev.metrics[name]["probabilities"] = probability_metrics(labels, y_true, sc, resamples, seed, 0.95)
        return ev


class TabularRegression(_Tabular):
    """Numbers from a table's columns: RMSE (headline, lower is better), MAE, R² and MAPE."""

    name: ClassVar[str] = "tabular-regression"
    title: ClassVar[str] = "tabular regression"
    aliases: ClassVar[tuple[str, ...]] = ("regression", "table-regression")
    regression: ClassVar[bool] = True
    headline: ClassVar[str] = "rmse"
    metric_names: ClassVar[dict[str, str]] = {"rmse": "RMSE", "mae": "MAE", "r2": "R²", "mape": "MAPE"}
    lower_is_better: ClassVar[frozenset[str]] = frozenset({"rmse", "mae", "mape"})
    not_applicable: ClassVar[dict[str, str]] = {
        **NOT_FOR_TABLES,
        "confusion": "regression has no classes: see residuals and predicted against true",
        "per_class": "regression has no classes",
        "coverage_precision": "regression answers are numbers: see the residual summary",
        "disagreements": "regression answers are numbers: see the residual summary",
    }

    def _target(self, raw: pd.Series, name: str, path: str) -> list[Any]:
        s = raw.astype(object)
        blank = (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            rows_ = np.flatnonzero(blank)
            raise BadInput(f"{path}: {len(rows_)} row(s) have no target in column {name!r} (first at data row "
                           f"{rows_[0] + 1}); fill them in or remove them")
        y = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero(y.isna().to_numpy())
        if len(bad):
            examples = ", ".join(repr(str(v)) for v in pd.unique(s.iloc[bad])[:3])
            raise BadInput(f"{path}: the regression target {name!r} holds text ({examples}) in {len(bad):,} row(s): "
                           "use --task tabular-classification for classes, or clean the column")
        v = y.to_numpy(dtype=float)
        if np.nanmin(v) == np.nanmax(v):
            raise BadInput(f"{path}: the target {name!r} is constant ({v[0]:g} on every row): nothing to predict")
        return v.tolist()

    def _strata(self, df: pd.DataFrame, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Stratified on the target's deciles, so both parts span its range."""
        y = rows.decode_numbers(df["label"].tolist())
        edges = np.unique(np.quantile(y, np.linspace(0, 1, 11)[1:-1]))
        bins = np.searchsorted(edges, y, side="right")
        _, codes = np.unique(bins, return_inverse=True)
        counts = np.bincount(codes)
        while counts.min() < 2 and len(counts) > 1:  # merge a tiny bin into its neighbour
            j = int(np.argmin(counts))
            codes[codes == j] = j - 1 if j > 0 else 1
            _, codes = np.unique(codes, return_inverse=True)
            counts = np.bincount(codes)
        return stratified_rows(codes, n_test, seed)

    def _target_summary(self, split: Split) -> dict[str, Any]:
        y = rows.decode_numbers(pd.concat([split.train["label"], split.test["label"]]).tolist())
        q = np.quantile(y, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1])
        return {"mean": float(y.mean()), "std": float(y.std()), "zeros": int((y == 0).sum()),
                "quantiles": dict(zip(["min", "p5", "p25", "median", "p75", "p95", "max"], map(float, q), strict=True))}

    def profile(self, ds: Dataset, split: Split) -> dict[str, Any]:
        prof = super().profile(ds, split)
        prof["class_counts"] = {}  # every distinct number is not a class
        prof["classes"] = 0
        prof["labels"] = []
        return prof

    def evaluate(self, labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                 headline: str, resamples: int, seed: int,
                 scores: dict[str, Sequence[dict[str, float] | None]] | None = None) -> Evaluation:
        from baseline.tasks.regression_metrics import evaluate_regression

        return evaluate_regression(y_true, predictions, headline=headline, resamples=resamples, seed=seed)

    def item_confidence(self, scores: dict[str, float] | None) -> float | None:
        return None


__all__ = ["TabularClassification", "TabularRegression", "_pick_column"]
