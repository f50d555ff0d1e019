"""Per-item class scores held as rows of one float64 block instead of one dict per item.

A many-class run's local candidates answer every test item with a score per class. As Python dicts that is a hash
table and a float object per class per item: 250k items x 50 classes measured 879 MB, the largest thing in a 1M-row
run. A ``ScoreRow`` reads like the dict it replaces (the same keys in the same order, the same Python floats, equal
to that dict) but keeps only a reference to its batch's ``ScoreBlock`` and a row number: 50 classes cost 400 bytes of
float64 per item plus a small object. Everything downstream that reads scores as mappings works unchanged; the
stages that move many rows at once (the score matrix file, probability metrics) read the blocks directly
(``gather``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import repeat
from operator import attrgetter, is_
from typing import Any

import numpy as np


class ScoreBlock:
    """One batch's scores: ``values`` (rows x labels, float64, read-only) and the label of each column."""

    __slots__ = ("labels", "index", "values")

    def __init__(self, values: np.ndarray, labels: Sequence[str]) -> None:
        v = np.array(values, dtype=np.float64, order="C", copy=True)
        if v.ndim != 2 or v.shape[1] != len(labels):
            raise ValueError(f"score block of shape {v.shape} for {len(labels)} labels")
        v.setflags(write=False)
        self.values = v
        self.labels = tuple(labels)
        self.index = {lab: j for j, lab in enumerate(self.labels)}
        if len(self.index) != len(self.labels):
            raise ValueError("score block labels repeat")

    def rows(self) -> list[ScoreRow]:
        """One ``ScoreRow`` per row of the block."""
        return [ScoreRow(self, i) for i in range(self.values.shape[0])]

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScoreBlock, (self.values, self.labels))


class ScoreRow(Mapping[str, float]):
    """One item's scores: a read-only mapping label → float over a row of a ``ScoreBlock``."""

    __slots__ = ("block", "row")

    def __init__(self, block: ScoreBlock, row: int) -> None:
        self.block = block
        self.row = row

    def __getitem__(self, key: str) -> float:
        return float(self.block.values[self.row, self.block.index[key]])

    def __iter__(self) -> Iterator[str]:
        return iter(self.block.labels)

    def __len__(self) -> int:
        return len(self.block.labels)

    def __contains__(self, key: object) -> bool:
        return key in self.block.index

    def values(self) -> list[float]:  # type: ignore[override]  # a list of Python floats: what dict.values() holds
        return self.block.values[self.row].tolist()

    def items(self) -> list[tuple[str, float]]:  # type: ignore[override]
        return list(zip(self.block.labels, self.values(), strict=True))

    def to_dict(self) -> dict[str, float]:
        return dict(self.items())

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScoreRow, (self.block, self.row))


def score_rows(values: np.ndarray, labels: Sequence[str]) -> list[ScoreRow]:
    """Scores ``values`` (items x ``labels``) as one ``ScoreRow`` per item over one shared block."""
    return ScoreBlock(values, labels).rows()


def gather(rows: Sequence[Any], labels: Sequence[str] | None = None) -> np.ndarray | None:
    """The (n, k) float64 matrix of ``rows`` when every one is a ``ScoreRow`` over blocks with the same labels (and
    those are ``labels`` when given), copied a run of consecutive block rows at a time; else None (the caller reads
    the rows one by one)."""
    if not rows:
        return None
    first = rows[0]
    if type(first) is not ScoreRow:
        return None
    keys = first.block.labels
    if labels is not None and tuple(labels) != keys:
        return None
    out = np.empty((len(rows), len(keys)), dtype=np.float64)
    at = 0
    n = len(rows)
    checked = None
    while at < n:
        r = rows[at]
        if type(r) is not ScoreRow:
            return None
        b = r.block
        if b is not checked:
            if b.labels != keys:
                return None
            checked = b
        limit = min(n, at + b.values.shape[0] - r.row)
        end = _run_end(rows, at, limit, b, r.row)
        out[at:end] = b.values[r.row:r.row + end - at]
        at = end
    return out


_TYPE = type
_BLOCK, _ROW = attrgetter("block"), attrgetter("row")


def _run_end(rows: Sequence[Any], at: int, limit: int, block: ScoreBlock, first: int) -> int:
    """Where the run of rows that continue ``block`` in order from ``rows[at]`` (its row ``first``) ends, at most
    ``limit``. Usually the whole rest of the block continues: that is checked in a few passes at C speed (types,
    blocks, row numbers); otherwise row by row."""
    seg = rows[at:limit]
    if set(map(_TYPE, seg)) == {ScoreRow} and all(map(is_, map(_BLOCK, seg), repeat(block))):
        numbers = np.fromiter(map(_ROW, seg), dtype=np.int64, count=len(seg))
        if (numbers == np.arange(first, first + len(seg))).all():
            return limit
    end, row = at + 1, first + 1
    while end < limit:
        nxt = rows[end]
        if type(nxt) is not ScoreRow or nxt.block is not block or nxt.row != row:
            break
        end += 1
        row += 1
    return end
