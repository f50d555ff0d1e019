"""Single-label text classification: one text column, one label per row (the task baseline started with)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from baseline.data import (
    Dataset,
    Split,
    label_column,
    make_split,
    profile,
    read_table,
    text_dataset,
)
from baseline.metrics import Evaluation, evaluate
from baseline.tasks import labelsets
from baseline.tasks.base import Task, TaskInputs, TaskMismatch

MULTI_LABEL_SHARE = 0.05  # labels holding the separator in at least this share of rows read as label sets


class TextClassification(Task):
    """One label per text; accuracy, macro-F1 (headline) and weighted-F1 with a confusion matrix."""

    name: ClassVar[str] = "text-classification"
    title: ClassVar[str] = "single-label text classification"
    headline: ClassVar[str] = "macro_f1"
    metric_names: ClassVar[dict[str, str]] = {"macro_f1": "macro-F1", "accuracy": "accuracy",
                                              "weighted_f1": "weighted-F1"}
    not_applicable: ClassVar[dict[str, str]] = {}

    def load(self, inputs: TaskInputs) -> Dataset:
        if inputs.label_cols:
            if inputs.explicit:
                from baseline.errors import BadInput

                raise BadInput("--label-cols names several 0/1 label columns, a multi-label dataset: drop "
                               "--task text-classification or pass --multi-label")
            raise TaskMismatch("multi-label-text-classification",
                               f"--label-cols {','.join(inputs.label_cols)}: read as multi-label (one 0/1 column per label)")
        df, digest = read_table(inputs.path)
        if not inputs.explicit:
            self._detect_sets(df, inputs.label_col, inputs.label_sep)
        return text_dataset(df, digest, inputs.path, inputs.text_col, inputs.label_col, inputs.split_col)

    @staticmethod
    def _detect_sets(df: Any, label_col: str | None, sep: str) -> None:
        """Labels joined by the separator in many rows are label sets: hand the file to the multi-label task."""
        try:
            col = label_column(df, label_col)
        except Exception:  # no label column: the single-label reader says so in its own words
            return
        values = df[col].dropna().astype(str)
        distinct = values.value_counts()
        joined = distinct[[sep in str(v) for v in distinct.index]] if sep else distinct.iloc[:0]
        if len(joined) and joined.sum() >= MULTI_LABEL_SHARE * len(values):
            raise TaskMismatch("multi-label-text-classification",
                               f"{int(joined.sum()):,} of {len(values):,} labels in {col!r} hold {sep!r}: "
                               f"read as multi-label (several labels per row); pass --single-label to keep each "
                               f"value as one label")

    def split(self, ds: Dataset, test_size: float, seed: int) -> Split:
        return make_split(ds, test_size, seed)

    def profile(self, ds: Dataset, split: Split) -> dict[str, Any]:
        return profile(ds, split)

    def score(self, labels: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str | None]) -> dict[str, Any]:
        from baseline.metrics import score

        return score(labels, y_true, y_pred)

    def evaluate(self, labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                 headline: str, resamples: int, seed: int,
                 scores: dict[str, Sequence[dict[str, float] | None]] | None = None) -> Evaluation:
        return evaluate(labels, y_true, predictions, headline=headline, resamples=resamples, seed=seed)


__all__ = ["TextClassification", "labelsets"]
