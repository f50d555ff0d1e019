"""Probability scores for classification candidates: ROC-AUC, log loss, Brier and calibration, with bootstrap CIs.

Each row's scores (``{label: probability}``, or ``None``) are read against the task's labels in sorted order (the
column order scikit-learn's ``LabelBinarizer`` uses). Rules, scikit-learn 1.9:

- A row is scored when its dict gives finite, non-negative values for known labels with a positive sum; a missing
  label is 0, unknown keys are ignored, and with two labels one given probability p in [0, 1] gives the other
  1 - p. Rows whose values do not sum to 1 (scikit-learn's tolerance, sqrt(eps)) are renormalised and counted
  (``renormalised``). With two labels the figure is p[positive] and the other class is read as 1 - p[positive],
  as scikit-learn's 1-d form reads it. Unscored rows are left out of every figure and counted (``unscored``);
  no scored row at all gives ``None`` figures with a ``reason``.
- ``roc_auc``, binary (two labels): the positive class is the second label in sorted order, as scikit-learn takes
  it, ``roc_auc_score(y == positive, p[positive])``. Multi-class: one-vs-rest macro, as
  ``roc_auc_score(y, P, multi_class="ovr", average="macro")``, over the labels present in the scored truth; a label
  absent there has no AUC (scikit-learn would fail) and is listed in ``roc_auc_absent_labels``. Undefined (one
  class in the scored truth): ``None`` with ``roc_auc_reason``.
- ``log_loss`` = ``log_loss(y, P, labels=sorted labels)``: probabilities clipped to [eps, 1 - eps], no
  renormalisation after clipping. ``brier`` = ``brier_score_loss``: binary ``(1[y = positive] - p[positive])²``;
  multi-class the sum over classes (scikit-learn's unscaled multi-class form).
- ``calibration``: 10 equal-width bins [k/10, (k+1)/10) of the top-class probability (the last bin holds 1.0):
  count, mean confidence and accuracy of the top class (argmax, first label on ties: the probabilities' own
  answer, which may differ from the candidate's label), and ``ece`` (count-weighted mean |accuracy − confidence|).

CIs resample all rows (scored or not) with the seeded stream of ``baseline.metrics`` (``bootstrap_chunks``), so
below ``metrics.MULTINOMIAL_MIN_ROWS`` test rows they are drawn on the same resamples as the label metrics
(from there on the label metrics draw pattern counts, not rows). Per chunk, sparse products of per-row values (loss,
Brier term, flags) with the row counts give the loss sums, in a fixed per-element order; per AUC class, one-hots of
its negatives and positives grouped by tied score give the draws per group, and AUC is the Mann-Whitney sum with
ties counted half (scikit-learn's trapezoid), exact in floating point on integer counts. A resample that draws only
one class of a label counted in the AUC is skipped for AUC (``roc_auc_skipped_resamples``); one that draws no
scored row is skipped for every figure (``empty_resamples``). Any chunking gives the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from baseline.metrics import bootstrap_chunks, percentile_ci
from baseline.scorerows import gather

BINS = 10
_EPS = np.finfo(np.float64).eps


def _matrix(classes: list[str], scores: Sequence[Mapping[str, float] | None]) -> tuple[np.ndarray, np.ndarray, int]:
    """Score dicts → (probabilities (n, K) in ``classes`` order, scored mask, rows renormalised)."""
    n, k = len(scores), len(classes)
    column = {c: j for j, c in enumerate(classes)}
    block = gather(scores)
    if block is not None:   # rows over score blocks: every row holds every block label, as the loop below reads
        cols = np.array([column.get(key, -1) for key in scores[0]], dtype=np.int64)
        r = np.repeat(np.arange(n, dtype=np.int64), block.shape[1])
        codes, v = np.tile(cols, n), block.reshape(-1)
    else:
        rows, keys, vals = [], [], []
        for i, s in enumerate(scores):
            if isinstance(s, Mapping):
                for key, val in s.items():
                    rows.append(i)
                    keys.append(key)
                    vals.append(val)
        r = np.asarray(rows, dtype=np.int64)
        codes = np.fromiter(map(column.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        v = pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce").to_numpy(dtype=float)
    known = codes >= 0
    r, codes, v = r[known], codes[known], v[known]
    bad = np.bincount(r[~(np.isfinite(v) & (v >= 0))], minlength=n) > 0
    given = np.bincount(r, minlength=n)
    P = np.zeros((n, k))
    P[r, codes] = v
    P[bad] = 0.0
    if k == 2:   # one probability of a binary pair gives the other
        cell = np.zeros((n, k), dtype=bool)
        cell[r, codes] = True
        fill = ((given == 1) & (P.max(axis=1) <= 1))[:, None] & ~cell
        P = np.where(fill, 1 - P.sum(axis=1, keepdims=True), P)
    total = P.sum(axis=1)
    ok = (given > 0) & ~bad & (total > 0)
    P[~ok] = 0.0
    off = ok & ~np.isclose(total, 1.0, rtol=np.sqrt(_EPS), atol=0)
    P[off] /= total[off, None]
    if k == 2:   # the positive class's probability is the figure, as scikit-learn's 1-d form reads it
        P[ok, 0] = 1 - P[ok, 1]
    return P, ok, int(off.sum())


def _calibration(P: np.ndarray, yt: np.ndarray) -> dict[str, Any]:
    """Reliability table over the top-class probability, and the expected calibration error."""
    conf = P.max(axis=1)
    right = P.argmax(axis=1) == yt
    b = np.clip(np.floor(conf * BINS).astype(np.int64), 0, BINS - 1)
    count = np.bincount(b, minlength=BINS)
    csum = np.bincount(b, weights=conf, minlength=BINS)
    rsum = np.bincount(b, weights=right.astype(np.float64), minlength=BINS)
    bins = [{"lower": k / BINS, "upper": (k + 1) / BINS, "count": int(count[k]),
             "confidence": float(csum[k] / count[k]) if count[k] else None,
             "accuracy": float(rsum[k] / count[k]) if count[k] else None} for k in range(BINS)]
    ece = float(np.abs(rsum - csum).sum() / len(conf)) if len(conf) else None
    return {"basis": "top-class probability", "bins": bins, "ece": ece}


class _Groups:
    """Per AUC class, its negatives and positives grouped by tied score; per row, its loss, Brier term and flags."""

    def __init__(self, P: np.ndarray, ok: np.ndarray, yt: np.ndarray, auc_classes: list[int]) -> None:
        n, k = P.shape
        # per class: one-hots (groups, rows) of negatives and of positives, groups in ascending score, that give the
        # draws per group exactly (integer sums) times the (rows, resamples) counts; where each positive group's
        # score falls among the negative groups' (count strictly below), and which positive groups tie one
        self.classes: list[tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, np.ndarray, np.ndarray]] = []
        for c in auc_classes:
            sides = []
            for side in (ok & (yt != c), ok & (yt == c)):
                uniq, group = np.unique(P[side, c], return_inverse=True)
                rows = np.flatnonzero(side)
                sides.append((uniq, sparse.csr_matrix((np.ones(len(rows)), (group.reshape(-1), rows)),
                                                      shape=(len(uniq), n))))
            (nu, neg), (pu, pos) = sides
            below = np.searchsorted(nu, pu, side="left")
            tied = np.flatnonzero((below < len(nu)) & (nu[np.minimum(below, len(nu) - 1)] == pu)) if len(nu) else \
                np.zeros(0, np.int64)
            self.classes.append((neg, pos, below, tied, below[tied]))
        onehot = np.zeros((n, k), dtype=bool)
        onehot[np.arange(n), yt] = True
        p_true = P[np.arange(n), yt]
        brier = (onehot[:, 1] - P[:, 1]) ** 2 if k == 2 else ((onehot - P) ** 2).sum(axis=1)
        loss = -np.log(np.clip(p_true, _EPS, 1 - _EPS))
        self.rows = np.vstack([np.where(ok, loss, 0.0), np.where(ok, brier, 0.0), ok.astype(np.float64)]
                              + [(ok & (yt == c)).astype(np.float64) for c in auc_classes])
        self.map = sparse.csr_matrix(self.rows)

    def figures(self, wt: np.ndarray) -> dict[str, np.ndarray]:
        """AUC, log loss and Brier for each column of ``wt`` (rows, m): a resample's row counts; NaN if undefined."""
        sums = np.asarray(self.map @ wt)   # per-element order fixed: any chunking, same sums
        ll, br, w = sums[:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            aucs = []
            for (neg_map, pos_map, below, tied, tied_neg), npos in zip(self.classes, sums[3:], strict=True):
                neg = np.asarray(neg_map @ wt)
                pos = np.asarray(pos_map @ wt)
                cum = np.zeros((neg.shape[0] + 1, neg.shape[1]))
                np.cumsum(neg, axis=0, out=cum[1:])
                # negatives scored lower, ties counted half: integer and half-integer sums, exact in any order
                num = np.einsum("ij,ij->j", pos, cum[below]) + 0.5 * np.einsum("ij,ij->j", pos[tied], neg[tied_neg])
                aucs.append(num / (npos * (w - npos)))
            auc = np.mean(aucs, axis=0) if aucs else np.full(len(w), np.nan)
            return {"roc_auc": auc, "log_loss": ll / w, "brier": br / w, "scored": w}


def _empty(n: int, reason: str) -> dict[str, Any]:
    """The figures of a candidate without usable scores: ``None`` each, with the reason, so the report can say why."""
    return {"rows": n, "scored": 0, "unscored": n, "renormalised": 0, "roc_auc": None, "log_loss": None,
            "brier": None, "calibration": None, "ci": {"roc_auc": None, "log_loss": None, "brier": None},
            "reason": reason}


def probability_metrics(labels: Sequence[str], y_true: Sequence[str], scores: Sequence[Mapping[str, float] | None],
                        resamples: int = 1000, seed: int = 0, level: float = 0.95,
                        chunk_elements: int | None = None) -> dict[str, Any]:
    """ROC-AUC, log loss, Brier and calibration of one candidate's class probabilities, with bootstrap CIs.

    Memory holds one chunk of row counts (``chunk_elements``, as ``baseline.metrics.evaluate``) and, one class at a
    time, that chunk's draws per score group, never resamples × rows × classes; any chunking, same figures.
    """
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("probability metrics need at least two labels")
    n = len(y_true)
    if len(scores) != n:
        raise ValueError(f"{len(scores)} score rows for {n} rows")
    col = {c: j for j, c in enumerate(classes)}
    unknown = sorted({t for t in y_true if t not in col})
    if unknown:
        raise ValueError(f"the truth holds labels outside the task's labels: {unknown[:3]}")
    yt = np.array([col[t] for t in y_true], dtype=np.int64)
    P, ok, renormalised = _matrix(classes, scores)
    if not ok.any():
        return _empty(n, "no class probabilities: the candidate gave no usable scores")
    binary = len(classes) == 2
    present = np.bincount(yt[ok], minlength=len(classes)) > 0
    auc_classes = [1] if binary else [int(c) for c in np.flatnonzero(present)]
    auc_reason = None
    if present.sum() < 2:
        auc_classes, auc_reason = [], "the scored truth holds one class only: ROC-AUC is undefined"
    groups = _Groups(P, ok, yt, auc_classes)
    point = groups.figures(np.ones((n, 1)))
    point["log_loss"], point["brier"] = [groups.rows[r][ok].mean(keepdims=True) for r in (0, 1)]
    samples = {met: np.full(resamples, np.nan) for met in ("roc_auc", "log_loss", "brier", "scored")}
    for start, w in bootstrap_chunks(n, resamples, seed, chunk_elements):
        for met, v in groups.figures(w.T).items():
            samples[met][start:start + w.shape[0]] = v
    empty = samples["scored"] == 0
    skipped = ~np.isfinite(samples["roc_auc"]) & ~empty

    def ci(met: str) -> tuple[float, float] | None:
        s = samples[met][np.isfinite(samples[met])]
        return percentile_ci(s, level) if len(s) and np.isfinite(point[met][0]) else None

    auc = float(point["roc_auc"][0]) if auc_classes else None
    return {
        "rows": n, "scored": int(ok.sum()), "unscored": int(n - ok.sum()), "renormalised": renormalised,
        "kind": "binary" if binary else "multiclass",
        "positive_label": classes[1] if binary else None,
        "roc_auc": auc, "roc_auc_average": "binary" if binary else "ovr-macro",
        "roc_auc_reason": auc_reason,
        "roc_auc_labels": [classes[c] for c in auc_classes],
        "roc_auc_absent_labels": [] if binary else [c for c, p in zip(classes, present, strict=True) if not p],
        "roc_auc_skipped_resamples": int(skipped.sum()) if auc_classes else resamples,
        "empty_resamples": int(empty.sum()),
        "log_loss": float(point["log_loss"][0]), "brier": float(point["brier"][0]),
        "calibration": _calibration(P[ok], yt[ok]),
        "ci": {"roc_auc": ci("roc_auc") if auc_classes else None, "log_loss": ci("log_loss"), "brier": ci("brier")},
        "ci_level": level, "resamples": resamples, "reason": None,
    }
