"""Multi-label text classification: each text carries a set of labels (possibly empty).

Read from one label column holding labels joined by a separator (``--label-sep``, default ``|``) or from several
0/1 columns, one per label (``--label-cols a,b,c``). The set travels as a canonical string (``labelsets``); the
split is iteratively stratified (Sechidis et al. 2011) so a rare label has rows on both sides where it can; the
headline is micro-F1 (see the README: it weighs every label decision once, so a handful of rare labels cannot swing
the verdict on a few test rows, while macro-F1 is reported beside it with its CI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from baseline.data import (
    LABEL_COL_NAMES,
    Dataset,
    Split,
    _blank,
    _pick_column,
    make_split,
    pick_split_column,
    pick_text_column,
    profile,
    read_table,
    row_ids,
)
from baseline.errors import BadInput
from baseline.metrics import Evaluation
from baseline.tasks import labelsets
from baseline.tasks.base import Task, TaskInputs

TRUE_VALUES = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_VALUES = {"0", "0.0", "false", "no", "n", "f", ""}
RARE_TRAIN_ROWS = 10  # a label with fewer train rows than this is too rare for a learned model to be judged on


class MultiLabelTextClassification(Task):
    """Several labels per text; micro-F1 (headline), macro-F1, samples-F1, subset accuracy and Hamming loss."""

    name: ClassVar[str] = "multi-label-text-classification"
    title: ClassVar[str] = "multi-label text classification"
    aliases: ClassVar[tuple[str, ...]] = ("multi-label", "multilabel", "text-multi-label")
    headline: ClassVar[str] = "micro_f1"
    metric_names: ClassVar[dict[str, str]] = {"micro_f1": "micro-F1", "macro_f1": "macro-F1",
                                              "samples_f1": "samples-F1", "accuracy": "subset accuracy"}
    not_applicable: ClassVar[dict[str, str]] = {
        "confusion": "a confusion matrix assumes one label per row: see the per-label table and label co-occurrence",
        "label_quality": "the label-issue check (cleanlab) is for one label per row: not run for label sets",
    }

    # ---- data -------------------------------------------------------------------------------
    def load(self, inputs: TaskInputs) -> Dataset:
        df, digest = read_table(inputs.path)
        path = inputs.path
        t = pick_text_column(df, inputs.text_col, path)
        if inputs.label_cols:
            sets, label_desc, names = self._from_columns(df, inputs.label_cols, t, path)
        else:
            lab = _pick_column(df, inputs.label_col, LABEL_COL_NAMES, "label", "--label-col")
            if lab == t:
                raise BadInput(f"text and label columns are both {t!r}: pass different --text-col and --label-col")
            sets, names = self._from_joined(df[lab], lab, inputs.label_sep, path)
            label_desc = lab
        problem = labelsets.check_label_names(names)
        if problem:
            raise BadInput(f"{path}: {problem}")
        if len(names) < 2:
            raise BadInput(f"{path}: only one label ({names[0] if names else 'none'!r}) occurs; multi-label "
                           "classification needs at least two labels")
        Y = _indicator(sets, names)
        counts = Y.sum(axis=0)
        once = [names[j] for j in np.flatnonzero(counts < 2)]
        if once:
            raise BadInput(f"{path}: label {once[0]!r} occurs in only {int(counts[names.index(once[0])])} row"
                           f"{'s' if len(once) > 1 else ''} ({len(once)} such label(s)); a label needs at least 2 rows "
                           "to be in both train and test: add examples or remove it")
        s, split_values = pick_split_column(df, inputs.split_col)
        out = pd.DataFrame({"id": row_ids(len(df)), "text": df[t].astype("str").reset_index(drop=True),
                            "label": pd.Series(sets, dtype="str")})
        if split_values is not None:
            out["split"] = split_values
        empty = int((Y.sum(axis=1) == 0).sum())
        notes = [f"{len(names)} labels, {Y.sum() / len(Y):.2f} per row on average"
                 + (f"; {empty:,} row(s) have no label (the empty set, a valid answer)" if empty else "")]
        from pathlib import Path

        return Dataset(name=Path(path).stem, path=str(path), file_sha256=digest, frame=out, text_col=t,
                       label_col=label_desc, split_col=s, notes=notes, label_names=names)

    @staticmethod
    def _from_joined(values: pd.Series, col: str, sep: str, path: str) -> tuple[list[str], list[str]]:
        """Label sets from one column of ``sep``-joined labels; a blank cell is the empty set."""
        if not sep:
            raise BadInput("--label-sep is empty: give the character that joins a row's labels (default '|')")
        blank = _blank(values).to_numpy()
        codes, uniques = pd.factorize(values.astype(str))
        canon, names = [], set()
        joined = 0
        for u in uniques:
            parts = [p.strip() for p in str(u).split(sep)]
            parts = [p for p in parts if p]
            joined += len(parts) > 1
            names.update(parts)
            canon.append(labelsets.encode(parts))
        if not joined:
            raise BadInput(f"{path}: the separator {sep!r} never joins two labels in column {col!r}: pass the "
                           "separator the file uses with --label-sep, one 0/1 column per label with --label-cols, "
                           "or drop --multi-label for one label per row")
        named = sorted(names)
        if named and all(_is_number(x) for x in named):
            raise BadInput(f"{path}: column {col!r} holds numbers ({', '.join(named[:4])}), not label names: for one "
                           "0/1 column per label pass --label-cols a,b,c")
        canon_arr = np.asarray(canon, dtype=object)
        sets = canon_arr[codes].tolist()
        for i in np.flatnonzero(blank):
            sets[i] = labelsets.EMPTY
        return sets, named

    @staticmethod
    def _from_columns(df: pd.DataFrame, cols: list[str], text_col: str, path: str) -> tuple[list[str], str, list[str]]:
        """Label sets from one 0/1 column per label (true/false and yes/no read too; a blank cell is 0)."""
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise BadInput(f"label column {missing[0]!r} not found; the file has columns {list(df.columns)}: "
                           "fix --label-cols")
        if text_col in cols:
            raise BadInput(f"--label-cols includes the text column {text_col!r}: remove it")
        if len(set(cols)) != len(cols):
            raise BadInput("--label-cols names a column twice")
        Y = np.zeros((len(df), len(cols)), dtype=np.uint8)
        for j, c in enumerate(cols):
            v = df[c].astype(str).str.strip().str.lower().fillna("")
            v = v.where(~df[c].isna(), "")
            bad = ~(v.isin(TRUE_VALUES) | v.isin(FALSE_VALUES))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise BadInput(f"{path}: label column {c!r} holds {df[c].iloc[i]!r} at data row {i + 1}; each "
                               "--label-cols column must be 0/1 (or true/false)")
            Y[:, j] = v.isin(TRUE_VALUES).to_numpy()
        names = [str(c).strip() for c in cols]
        order = np.argsort(np.asarray(names, dtype=object))
        names_sorted = [names[j] for j in order]
        Y = Y[:, order]
        sets = _encode_rows(Y, names_sorted)
        return sets, ",".join(cols), names_sorted

    def split(self, ds: Dataset, test_size: float, seed: int) -> Split:
        names = ds.labels

        def strata(df: pd.DataFrame, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
            from baseline.tasks.stratify import iterative_stratified_rows

            if n_test < 1 or len(df) - n_test < 1:
                raise BadInput(f"{len(df)} rows cannot be split into train and test at --test-size {test_size}")
            Y, _ = labelsets.binarize(df["label"], names)
            return iterative_stratified_rows(Y, n_test, seed)

        def check_train(train: pd.DataFrame, ds: Dataset) -> None:
            Y, _ = labelsets.binarize(train["label"], names)
            if int((Y.sum(axis=0) > 0).sum()) < 2:
                raise BadInput(f"{ds.path}: the train split holds fewer than two labels; every adapter that learns "
                               "needs two or more")

        return make_split(ds, test_size, seed, strata_rows=strata, check_train=check_train)

    def profile(self, ds: Dataset, split: Split) -> dict[str, Any]:
        prof = profile(ds, split)
        names = split.labels
        parts = {"train": split.train, "test": split.test}
        if split.validation is not None:
            parts["validation"] = split.validation
        mats = {k: labelsets.binarize(v["label"], names)[0] for k, v in parts.items()}
        allY = np.concatenate(list(mats.values()))
        counts = {k: {lab: int(c) for lab, c in zip(names, Y.sum(axis=0), strict=True)} for k, Y in mats.items()}
        prevalence = allY.mean(axis=0)
        prof["class_counts"] = counts  # per label: rows carrying it (a row counts once for each of its labels)
        prof["majority_share"] = round(float(prevalence.max()), 4)
        prof["minority_share"] = round(float(prevalence.min()), 4)
        prof["multi_label"] = ml = multi_label_profile(mats, names)
        prof["labels_test_not_train"] = ml["labels_test_not_train"]
        prof["labels_absent_from_test"] = [lab for lab in names if counts["test"][lab] == 0]
        # conflicting labels for label sets: the same text with different sets (computed by profile on strings)
        return prof

    # ---- scoring ----------------------------------------------------------------------------
    def evaluate(self, labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                 headline: str, resamples: int, seed: int,
                 scores: dict[str, Sequence[dict[str, float] | None]] | None = None) -> Evaluation:
        from baseline.tasks.multilabel_metrics import evaluate_multilabel

        ev = evaluate_multilabel(labels, y_true, predictions, headline=headline, resamples=resamples, seed=seed)
        for m in ev.metrics.values():
            m["rows"] = len(y_true)  # no confusion matrix to count them from
        return ev

    def item_confidence(self, scores: dict[str, float] | None) -> float | None:
        """The chance the whole set is right if labels were independent: the product of max(p, 1 − p)."""
        if not scores:
            return None
        p = np.clip(np.fromiter(scores.values(), dtype=float), 0.0, 1.0)
        return float(np.prod(np.maximum(p, 1.0 - p)))


def multi_label_profile(mats: dict[str, np.ndarray], names: list[str], top_pairs: int = 10) -> dict[str, Any]:
    """Cardinality, empty rows, distinct sets, co-occurrence and labels too rare to learn, per part."""
    allY = np.concatenate(list(mats.values())).astype(np.int64)
    co = allY.T @ allY
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if co[i, j]:
                both = int(co[i, j])
                pairs.append({"a": names[i], "b": names[j], "rows": both,
                              "jaccard": round(both / int(co[i, i] + co[j, j] - both), 4)})
    pairs.sort(key=lambda d: (-d["rows"], d["a"], d["b"]))
    train = mats["train"]
    rare = [names[j] for j in np.flatnonzero(train.sum(axis=0) < RARE_TRAIN_ROWS)]
    distinct = len({r.tobytes() for r in np.unique(allY, axis=0)}) if len(allY) else 0
    return {
        "labels": len(names),
        "cardinality": {k: round(float(Y.sum(axis=1).mean()), 4) if len(Y) else 0.0 for k, Y in mats.items()},
        "empty_rows": {k: int((Y.sum(axis=1) == 0).sum()) for k, Y in mats.items()},
        "distinct_label_sets": distinct,
        "co_occurrence": {"labels": names, "matrix": co.tolist(), "top_pairs": pairs[:top_pairs]},
        "rare_labels": rare,
        "rare_rule": f"fewer than {RARE_TRAIN_ROWS} train rows",
        "labels_train_not_test": [names[j] for j in np.flatnonzero((mats["train"].sum(axis=0) > 0)
                                                                   & (mats["test"].sum(axis=0) == 0))],
        "labels_test_not_train": [names[j] for j in np.flatnonzero((mats["test"].sum(axis=0) > 0)
                                                                   & (mats["train"].sum(axis=0) == 0))],
    }


def _indicator(sets: list[str], names: list[str]) -> np.ndarray:
    return labelsets.binarize(sets, names)[0]


def _encode_rows(Y: np.ndarray, names: list[str]) -> list[str]:
    """Canonical strings for the rows of an indicator matrix (one encode per distinct row)."""
    if len(Y) == 0:
        return []
    uniq, inv = np.unique(Y, axis=0, return_inverse=True)
    enc = [labelsets.encode([names[j] for j in np.flatnonzero(r)]) for r in uniq]
    return [enc[i] for i in np.asarray(inv).reshape(-1)]


def _is_number(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False
