"""Multi-label scores with honest uncertainty: point metrics equal to scikit-learn's, bootstrap CIs, paired tests.

Label sets arrive as canonical strings (``baseline.tasks.labelsets``); ``None`` is an abstention, scored as an
all-zero row (a miss for every true label, no false positive) and counted in ``coverage`` / ``abstained``; an item the
service never answered (``unanswered``: its item errors) is kept out of both and counted apart.
What each figure is, on the binarised matrices ``Y`` (truth) and ``P`` (predictions), scikit-learn 1.9:

- ``micro_f1``, ``samples_f1``, ``weighted_f1``, ``hamming_loss``: ``f1_score(Y, P, average=...)`` and
  ``hamming_loss(Y, P)`` over all labels, default ``zero_division`` (an undefined ratio is 0). So a row whose
  truth and prediction are both empty scores F1 = 0 in ``samples_f1`` (scikit-learn's default, kept so the
  figure is the one users know; ``accuracy`` credits such a row).
- ``macro_f1``: over the labels present in the truth or the predictions only, as single-label macro-F1 does —
  ``f1_score(Y, P, labels=<present columns>, average="macro")`` (the same as slicing those columns, when there
  are two or more; one sliced column is read as a binary target). scikit-learn's indicator-matrix default would
  average over every column and score an absent label as F1 = 0; such labels are listed in ``absent_labels``.
  Nothing present at all gives 0.
- ``accuracy`` (alias ``subset_accuracy``): ``accuracy_score(Y, P)``, the exact-set match, except that an
  abstention is always wrong (DESIGN: abstentions count as wrong in accuracy), even on a row whose truth is
  empty. McNemar uses the same per-row correctness.
- ``per_class``: ``precision_recall_fscore_support`` per present label; ``cardinality``: mean labels per row in
  the truth, and per answered (not abstained) row in the predictions.

Bootstrap resamples rows with the seeded stream of ``baseline.metrics`` (same draws, any chunking), grouped by
row pattern (truth and every candidate's answer), so all candidates share resamples and comparisons are paired.
Per chunk one sparse product (patterns → per-label support, false positives and false negatives, wrong rows and
1 - row F1) gives every figure of every resample; every sum is accumulated in a fixed order, so chunking never
changes a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from baseline.metrics import (
    Evaluation,
    _paired,
    _pattern_counts,
    _row_patterns,
    answered_coverage,
    percentile_ci,
)
from baseline.tasks.labelsets import binarize

HEADLINE = ("micro_f1", "macro_f1", "samples_f1", "accuracy")   # higher is better: may be the headline
CI_METRICS = ("micro_f1", "macro_f1", "samples_f1", "accuracy", "weighted_f1", "hamming_loss")


def _factorize(values: Sequence[str | None], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Canonical strings → (code per row, 0 = abstained; indicator row per code): binarises each distinct set once."""
    codes, uniques = pd.factorize(pd.Series(list(values), dtype=object), use_na_sentinel=True)
    rows, _ = binarize([str(u) for u in uniques], labels)
    table = np.vstack([np.zeros((1, len(labels)), dtype=np.uint8), rows])
    return codes.astype(np.int64) + 1, table


def _figures(support: np.ndarray, pred: np.ndarray, tp: np.ndarray, exact: np.ndarray, errors: np.ndarray,
             f1sum: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Every figure from per-label counts (..., k) and per-row sums (...), vectorised over leading axes."""
    k = support.shape[-1]
    denom = pred + support
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    micro_d = denom.sum(axis=-1)
    micro = np.divide(2 * tp.sum(axis=-1), micro_d, out=np.zeros_like(micro_d), where=micro_d > 0)
    present = (support > 0) | (pred > 0)
    macro = np.where(present, f1, 0.0).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)
    total = support.sum(axis=-1)
    weighted = np.divide((f1 * support).sum(axis=-1), total, out=np.zeros_like(total), where=total > 0)
    n = max(n, 1)   # no rows: every figure 0
    return {"micro_f1": micro, "macro_f1": macro, "samples_f1": f1sum / n, "accuracy": exact / n,
            "weighted_f1": weighted, "hamming_loss": errors / (n * k), "f1": f1, "present": present}


class _Patterns:
    """Rows grouped by (truth, every candidate's answer), and the sparse map from pattern counts to all sums."""

    def __init__(self, labels: Sequence[str], y_true: Sequence[str],
                 predictions: dict[str, Sequence[str | None]]) -> None:
        k = len(labels)
        t_codes, t_table = _factorize(y_true, labels)
        if (t_codes == 0).any():
            raise ValueError("the truth holds a missing label set: an unlabelled row is the empty set, '(none)'")
        coded = [_factorize(p, labels) for p in predictions.values()]
        cells = [t_codes] + [c for c, _ in coded]
        width = max(len(t_table), *(len(t) for _, t in coded)) if coded else len(t_table)
        self.inv, self.p, firsts = _row_patterns(cells, width)
        self.k, self.names = k, list(predictions)
        truth = t_table[firsts[0]].astype(bool)
        blocks = [sparse.csr_matrix(truth, dtype=np.float64)]
        self.exact: dict[str, np.ndarray] = {}
        self.answered: dict[str, np.ndarray] = {}
        for name, (_, table), first in zip(self.names, coded, firsts[1:], strict=True):
            pred = table[first].astype(bool)
            self.answered[name] = first > 0
            self.exact[name] = (truth == pred).all(axis=1) & (first > 0)
            nt, np_, nh = truth.sum(axis=1), pred.sum(axis=1), (truth & pred).sum(axis=1)
            row_f1 = np.divide(2.0 * nh, nt + np_, out=np.zeros(self.p), where=(nt + np_) > 0)
            # only the errors are stored (false positives, false negatives, wrong rows, 1 - row F1): a good
            # candidate's are few, and the product's cost is its nonzeros
            rows = np.column_stack([~self.exact[name], 1.0 - row_f1])
            blocks += [sparse.csr_matrix(pred & ~truth, dtype=np.float64),
                       sparse.csr_matrix(truth & ~pred, dtype=np.float64), sparse.csr_matrix(rows, dtype=np.float64)]
        # (sums, patterns): row j of the product with counts.T is one sum for every resample at once
        self.map = sparse.hstack(blocks, format="csc").T.tocsr()

    def figures(self, counts: np.ndarray, n: int) -> dict[str, dict[str, np.ndarray]]:
        """Per candidate, every figure for each row of ``counts`` (m, patterns): row draws per pattern."""
        k = self.k
        sums = np.asarray(self.map @ np.ascontiguousarray(counts.T)).T   # (m, sums)
        support, out = sums[:, :k], {}
        for i, name in enumerate(self.names):
            b = k + i * (2 * k + 2)
            fp, fn = sums[:, b:b + k], sums[:, b + k:b + 2 * k]
            tp = support - fn
            pred = tp + fp
            errors = fp.sum(axis=1) + fn.sum(axis=1)
            figs = _figures(support, pred, tp, n - sums[:, b + 2 * k], errors, n - sums[:, b + 2 * k + 1], n)
            out[name] = {**figs, "support": support, "pred": pred, "tp": tp}
        return out


def _point(labels: Sequence[str], f: dict[str, np.ndarray], mult: np.ndarray, answered: np.ndarray,
           n: int) -> dict[str, Any]:
    """One candidate's point figures as plain numbers, in the shape the single-label scorer gives."""
    support, pred, tp, f1, present = f["support"][0], f["pred"][0], f["tp"][0], f["f1"][0], f["present"][0]
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    per_class = {lab: {"precision": float(precision[j]), "recall": float(recall[j]), "f1": float(f1[j]),
                       "support": int(support[j])} for j, lab in enumerate(labels) if present[j]}
    n_answered = int(mult[answered].sum())
    out: dict[str, Any] = {met: float(f[met][0]) for met in CI_METRICS}
    out["subset_accuracy"] = out["accuracy"]
    out.update({
        "per_class": per_class,
        "absent_labels": [lab for j, lab in enumerate(labels) if not present[j]],
        "cardinality": {"true": float(support.sum() / n) if n else 0.0,
                        "predicted": float(pred.sum() / n_answered) if n_answered else 0.0},
        "coverage": n_answered / n if n else 0.0,
        "abstained": n - n_answered,
        "confusion": None,   # no confusion matrix for label sets: see per_class
    })
    return out


def evaluate_multilabel(labels: Sequence[str], y_true: Sequence[str], predictions: dict[str, Sequence[str | None]],
                        headline: str = "micro_f1", resamples: int = 1000, seed: int = 0, level: float = 0.95,
                        chunk_elements: int | None = None,
                        unanswered: dict[str, Sequence[Any] | None] | None = None) -> Evaluation:
    """Score every candidate's label sets, bootstrap CIs on rows, compare every pair on the same resamples.

    Memory holds one chunk of resample draws (``chunk_elements``, as ``baseline.metrics.evaluate``), the sparse
    pattern map and resamples × 6 figures per candidate, never resamples × rows; any chunking, same figures.
    ``unanswered`` (per candidate, its item errors) keeps items the service never answered out of coverage.
    """
    if headline not in HEADLINE:
        raise ValueError(f"headline metric must be one of {HEADLINE} (higher is better)")
    if not labels:
        raise ValueError("a multi-label task needs at least one label")
    n = len(y_true)
    for name, pred in predictions.items():
        if len(pred) != n:
            raise ValueError(f"{name}: {len(pred)} predictions for {n} rows")
    samples = {name: {met: np.zeros(resamples) for met in CI_METRICS} for name in predictions}
    metrics: dict[str, dict[str, Any]] = {}
    correct: dict[str, np.ndarray] = {}
    pat = _Patterns(labels, y_true, predictions)
    mult = np.bincount(pat.inv, minlength=pat.p).astype(np.float64)
    point = pat.figures(mult[None, :], n)
    for name in predictions:
        metrics[name] = _point(labels, point[name], mult, pat.answered[name], n)
        if unanswered is not None:   # items the service never answered are not abstentions
            metrics[name].update(answered_coverage(pat.answered[name][pat.inv], unanswered.get(name)))
        correct[name] = pat.exact[name][pat.inv]
    if predictions and n:
        for start, counts in _pattern_counts(pat.inv, pat.p, resamples, seed, chunk_elements):
            for name, f in pat.figures(counts, n).items():
                for met in CI_METRICS:
                    samples[name][met][start:start + counts.shape[0]] = f[met]
    for name, m in metrics.items():
        m["ci"] = {met: percentile_ci(samples[name][met], level) for met in CI_METRICS}
        m["ci"]["subset_accuracy"] = m["ci"]["accuracy"]
        m["ci_level"] = level
    best = max(metrics, key=lambda c: (metrics[c][headline], metrics[c]["accuracy"])) if metrics else None
    names = list(metrics)
    pairwise: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = samples[a][headline] - samples[b][headline]
            pab = _paired(d, metrics[a][headline] - metrics[b][headline], correct[a], correct[b], level)
            pairwise[a][b] = pab
            lo, hi = pab["ci"]
            pairwise[b][a] = {**pab, "difference": -pab["difference"], "ci": (-hi, -lo)}
    comparisons = {c: {"against": best, "metric": headline, **pairwise[c][best]} for c in names if c != best}
    return Evaluation(metrics, comparisons, pairwise, best, headline, resamples)
