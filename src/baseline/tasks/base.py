"""The task contract: what differs between kinds of problem, asked by the pipeline instead of branching on names.

A task owns how its dataset is read and validated, how it is split, what one prediction is, its metrics (and
which one is the headline), how one item's confidence is read from an adapter's scores, and which report
sections apply. The pipeline (load → split → profile → run → score → decide → render) calls these methods and
nothing else task-specific. Tasks register in ``baseline.tasks.registry`` (built-ins, the ``baseline.tasks``
entry-point group, or ``register``), so a new task is a new module, not an edit to the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from baseline.data import Dataset, Split
    from baseline.metrics import Evaluation


@dataclass
class TaskInputs:
    """How the user described the dataset (flags and baseline.toml): the columns and, for tasks with several
    labels per row, how they are written."""

    path: str
    text_col: str | None = None
    label_col: str | None = None
    split_col: str | None = None
    label_sep: str = "|"               # several labels in one cell, joined by this
    label_cols: list[str] | None = None  # several 0/1 columns, one per label
    explicit: bool = False             # the user named the task (no detection from the data)
    feature_cols: list[str] | None = None  # tables: only these columns are features
    drop_cols: list[str] | None = None     # tables: never these
    time_col: str | None = None            # tables: split in time order on this column (train past, test future)


class TaskMismatch(Exception):
    """Raised by ``Task.load`` when the data is plainly another task's (labels joined by a separator): the pipeline
    loads it as ``task`` instead and prints ``note``, unless the user named the task."""

    def __init__(self, task: str, note: str) -> None:
        super().__init__(note)
        self.task = task
        self.note = note


class Task:
    """Base class; subclasses set the class attributes and implement the methods."""

    name: ClassVar[str] = "task"
    title: ClassVar[str] = "task"              # "multi-label text classification": used in one-line messages
    aliases: ClassVar[tuple[str, ...]] = ()
    headline: ClassVar[str] = "macro_f1"       # default headline metric
    metric_names: ClassVar[dict[str, str]] = {}  # headline-able metrics (higher is better) → human name
    # report sections that mean nothing for this task → the one line shown instead
    not_applicable: ClassVar[dict[str, str]] = {}
    lower_is_better: ClassVar[frozenset[str]] = frozenset()  # metrics where less is better (RMSE, MAE ...)

    # ---- data -------------------------------------------------------------------------------
    def load(self, inputs: TaskInputs) -> Dataset:  # pragma: no cover - abstract
        """Read and validate the file (``BadInput``, one line, for anything wrong)."""
        raise NotImplementedError

    def split(self, ds: Dataset, test_size: float, seed: int) -> Split:  # pragma: no cover - abstract
        """The frozen, seeded, hashed split."""
        raise NotImplementedError

    def profile(self, ds: Dataset, split: Split) -> dict[str, Any]:  # pragma: no cover - abstract
        """What a reviewer should know about the data before trusting any score."""
        raise NotImplementedError

    # ---- scoring ----------------------------------------------------------------------------
    def evaluate(self, labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                 headline: str, resamples: int, seed: int,
                 scores: dict[str, Sequence[dict[str, float] | None]] | None = None) -> Evaluation:  # pragma: no cover
        """Metrics with bootstrap CIs and paired comparisons (``baseline.metrics.Evaluation``); ``scores``: each
        candidate's per-item class scores, for tasks whose metrics read probabilities."""
        raise NotImplementedError

    def score(self, labels: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str | None]) -> dict[str, Any]:
        """Point metrics of one candidate on some rows (no bootstrap): for figures on a subset of the test set."""
        return self.evaluate(labels, y_true, {"_": y_pred}, self.headline, 100, 0).metrics["_"]

    def item_confidence(self, scores: dict[str, float] | None) -> float | None:
        """One item's confidence in its whole answer, from the adapter's per-label scores (``None``: none given)."""
        return max(scores.values()) if scores else None

    def item_confidences(self, scores: Sequence[Mapping[str, float] | None]) -> list[float | None]:
        """``item_confidence`` of every item; the top score of rows over score blocks (``scorerows``) read in one
        array operation (the maximum of the same floats: the same figures)."""
        from baseline.scorerows import gather

        block = gather(scores) if type(self).item_confidence is Task.item_confidence else None
        if block is not None and block.shape[1]:
            return block.max(axis=1).tolist()
        return [self.item_confidence(s) for s in scores]

    def applies(self, section: str) -> bool:
        """Whether a report section means something for this task."""
        return section not in self.not_applicable

    def describe(self) -> dict[str, Any]:
        """For results.json: the task, its headline and what does not apply."""
        return {"name": self.name, "title": self.title, "headline": self.headline,
                "metrics": dict(self.metric_names), "not_applicable": dict(self.not_applicable),
                "lower_is_better": sorted(self.lower_is_better)}
