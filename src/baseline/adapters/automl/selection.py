"""Choosing the featurisation: fold-by-fold CV of a linear SVM on each candidate, inside a time box."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from baseline.adapters.automl.budget import _TrialClock
from baseline.adapters.automl.config import (
    FIRST_FOLD_STRETCH,
    MIN_ROWS_PER_CLASS,
    PILOT_ROWS,
    PLAN_SAFETY,
    SELECTION_C,
)
from baseline.adapters.automl.metrics import _score
from baseline.errors import BadInput


def _stratified_subset(idx: np.ndarray, y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """About ``n`` of the rows ``idx``, each class keeping its share (at least one row), sorted."""
    if n >= len(idx):
        return idx
    rng = np.random.default_rng(seed)
    share = n / len(idx)
    labels = y[idx]
    parts = []
    for c in np.unique(labels):
        members = idx[labels == c]
        parts.append(rng.choice(members, max(1, int(round(share * len(members)))), replace=False))
    return np.sort(np.concatenate(parts))



class SelectionMixin:
    """The adapter's featurisation choice (single-label): CV of a linear SVM per candidate, best mean wins."""

    def _choose_features(self, blocks: dict[str, Any], y: np.ndarray, box: float,
                         clock: _TrialClock) -> tuple[str, dict[str, Any]]:
        """Fold-by-fold CV of a linear SVM on each candidate, inside ``box`` seconds; best mean wins."""
        from scipy.sparse import hstack
        from sklearn.model_selection import KFold, StratifiedKFold
        from sklearn.svm import LinearSVC

        t0 = time.perf_counter()
        cands, skipped = [], {}
        for f in self.features:
            parts = f.split("+")
            missing = [p for p in parts if p not in blocks]
            if missing:
                skipped[f] = ("embeddings " + self.embed_note_) if "embed" in missing else f"no {missing[0]} block"
                continue
            cands.append(f)
        if not cands:
            raise BadInput(f"[adapters.flaml] none of the features {self.features} can be built here: "
                           + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        mats = {f: hstack([blocks[p] for p in f.split("+")]).tocsr() for f in cands}
        counts = np.bincount(y)
        folds = min(self.selection_folds, int(counts[counts > 0].min()))
        if len(cands) == 1 or folds < 2:
            note = "only one candidate" if len(cands) == 1 else "too few examples per class for CV"
            if folds < 2:
                splitter = KFold(n_splits=min(self.selection_folds, len(y)), shuffle=True, random_state=self.ctx.seed)
            else:
                splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.ctx.seed)
        else:
            note = ""
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.ctx.seed)
        splits = list(splitter.split(np.zeros(len(y)), y))
        scores: dict[str, list[float]] = {f: [] for f in cands}
        seconds: dict[str, float] = dict.fromkeys(cands, 0.0)
        rate: float | None = None
        stop = ""
        # Plan: when two folds of every candidate would not fit the box (cost grows with rows × non-zeros ×
        # classes: 151 classes and char n-grams make one full fold take tens of seconds), every candidate is
        # scored on the same stratified subsample of each fold's training rows, sized from a pilot fit.
        fraction, pilot_s = 1.0, None
        n_tr = len(splits[0][0])
        if len(cands) > 1 and n_tr > 2 * PILOT_ROWS:
            pilot = _stratified_subset(splits[0][0], y, PILOT_ROWS, self.ctx.seed)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                LinearSVC(C=SELECTION_C, max_iter=2000, random_state=self.ctx.seed).fit(mats[cands[0]][pilot], y[pilot])
            pilot_s = time.perf_counter() - t
            clock.seed(pilot_s, mats[cands[0]][pilot].nnz)
            rate = clock.base_rate
            per_fold = sum(rate * clock.work(mats[f][splits[0][0]].nnz) for f in cands)
            left = box - (time.perf_counter() - t0)
            need = min(2, len(splits)) * per_fold
            if need > left:
                floor = min(1.0, MIN_ROWS_PER_CLASS * len(counts[counts > 0]) / n_tr)
                fraction = max(floor, PLAN_SAFETY * left / need)
        subsets = [tr if fraction >= 1.0 else _stratified_subset(tr, y, int(round(fraction * len(tr))), self.ctx.seed + i)
                   for i, (tr, _) in enumerate(splits)]
        for fi, (_, va) in enumerate(splits):
            tr = subsets[fi]
            for f in list(cands):
                if len(cands) == 1 and fi > 0 and scores[f]:
                    break
                X = mats[f]
                nnz_tr = X[tr].nnz
                projected = rate * clock.work(nnz_tr) if rate is not None else 0.0
                elapsed = time.perf_counter() - t0
                if scores[f] and elapsed + projected > box:
                    stop = f"time box of {box:.1f} s reached after {fi} fold(s)"
                    break
                # a candidate's first fold may stretch the box (up to FIRST_FOLD_STRETCH ×): unscored, it could
                # never be chosen (char n-grams on 151 classes were never tried that way)
                if not scores[f] and elapsed + projected > FIRST_FOLD_STRETCH * box \
                        and any(scores[g] for g in cands if g != f):
                    skipped[f] = (f"not scored: a fold would take about {projected:.1f} s, past "
                                  f"{FIRST_FOLD_STRETCH:g} × the {box:.1f} s box")
                    cands.remove(f)
                    continue
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = LinearSVC(C=SELECTION_C, max_iter=2000, random_state=self.ctx.seed).fit(X[tr], y[tr])
                dt = time.perf_counter() - t
                seconds[f] += dt
                clock.seed(dt, nnz_tr)
                rate = clock.base_rate
                scores[f].append(_score(self.ctx.metric, y[va], clf.predict(X[va])))
            if stop:
                break
            if len(cands) == 1:
                break
        done = min(len(scores[f]) for f in cands)
        table = {f: {"cv_score": round(float(np.mean(scores[f][:done])), 4), "folds": done,
                     "fit_seconds": round(seconds[f], 2)} for f in cands}
        chosen = max(cands, key=lambda f: (table[f]["cv_score"], -cands.index(f)))
        info = {"chosen": chosen, "metric": self.ctx.metric, "learner": f"LinearSVC(C={SELECTION_C})",
                "folds_planned": len(splits), "folds_scored": done, "candidates": table,
                "not_scored": skipped, "seconds": round(time.perf_counter() - t0, 2),
                "time_box_s": round(box, 2), "embeddings": self.embed_note_,
                "train_rows_per_fold": len(subsets[0]), "train_fraction": round(fraction, 3),
                "pilot_seconds": None if pilot_s is None else round(pilot_s, 2)}
        if fraction < 1.0:
            info["subsample"] = (f"each candidate scored on the same stratified {fraction:.0%} of each fold's "
                                 f"training rows ({len(subsets[0])} of {n_tr}): full folds would not fit the "
                                 f"{box:.1f} s box")
        if stop:
            info["stopped"] = stop
        if note:
            info["note"] = note
        return chosen, info

    def _choose_features_multilabel(self, blocks: dict[str, Any], Y: np.ndarray, box: float,
                                    clock: _TrialClock) -> tuple[str, dict[str, Any]]:
        """Multi-label: fold-by-fold CV of one-vs-rest linear SVMs on each candidate, inside ``box`` seconds.

        Each fold fits one LinearSVC per label (a label constant in the fold's train part predicts that constant),
        answers at the SVM's own cut (margin > 0) and is scored with the run's multi-label metric; the best mean
        wins. Rows are folded by KFold (shuffled, seeded). A candidate whose first fold would end past
        ``FIRST_FOLD_STRETCH`` × the box, with another already scored, is left unscored.
        """
        from scipy.sparse import hstack
        from sklearn.model_selection import KFold
        from sklearn.svm import LinearSVC

        from baseline.adapters.automl.metrics import multilabel_score

        t0 = time.perf_counter()
        cands, skipped = [], {}
        for f in self.features:
            missing = [p for p in f.split("+") if p not in blocks]
            if missing:
                skipped[f] = ("embeddings " + self.embed_note_) if "embed" in missing else f"no {missing[0]} block"
                continue
            cands.append(f)
        if not cands:
            raise BadInput(f"[adapters.flaml] none of the features {self.features} can be built here: "
                           + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        mats = {f: hstack([blocks[p] for p in f.split("+")]).tocsr() for f in cands}
        n, k = Y.shape
        folds = max(2, min(self.selection_folds, n))
        splits = list(KFold(n_splits=folds, shuffle=True, random_state=self.ctx.seed).split(np.zeros(n)))
        scores: dict[str, list[float]] = {f: [] for f in cands}
        seconds: dict[str, float] = dict.fromkeys(cands, 0.0)
        stop = ""
        for fi, (tr, va) in enumerate(splits):
            for f in list(cands):
                if len(cands) == 1 and scores[f]:
                    break
                X = mats[f]
                Xtr = X[tr]
                rate = clock.base_rate
                projected = rate * Xtr.nnz * k if rate is not None else 0.0
                elapsed = time.perf_counter() - t0
                if scores[f] and elapsed + projected > box:
                    stop = f"time box of {box:.1f} s reached after {fi} fold(s)"
                    break
                if not scores[f] and elapsed + projected > FIRST_FOLD_STRETCH * box \
                        and any(scores[g] for g in cands if g != f):
                    skipped[f] = (f"not scored: a fold would take about {projected:.1f} s, past "
                                  f"{FIRST_FOLD_STRETCH:g} × the {box:.1f} s box")
                    cands.remove(f)
                    continue
                P = np.zeros((len(va), k), dtype=np.uint8)
                for j in range(k):
                    yj = Y[tr, j]
                    if yj.min() == yj.max():
                        P[:, j] = yj[0]
                        continue
                    t = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        clf = LinearSVC(C=SELECTION_C, max_iter=2000, random_state=self.ctx.seed).fit(Xtr, yj)
                    dt = time.perf_counter() - t
                    seconds[f] += dt
                    clock.seed(dt, Xtr.nnz)
                    P[:, j] = clf.decision_function(X[va]) > 0
                scores[f].append(multilabel_score(self.ctx.metric, Y[va], P))
            if stop or len(cands) == 1:
                break
        done = min(len(scores[f]) for f in cands)
        table = {f: {"cv_score": round(float(np.mean(scores[f][:done])), 4), "folds": done,
                     "fit_seconds": round(seconds[f], 2)} for f in cands}
        chosen = max(cands, key=lambda f: (table[f]["cv_score"], -cands.index(f)))
        info: dict[str, Any] = {
            "chosen": chosen, "metric": self.ctx.metric, "learner": f"one-vs-rest LinearSVC(C={SELECTION_C})",
            "folds_planned": len(splits), "folds_scored": done, "candidates": table, "not_scored": skipped,
            "seconds": round(time.perf_counter() - t0, 2), "time_box_s": round(box, 2),
            "embeddings": self.embed_note_, "train_rows_per_fold": len(splits[0][0]), "train_fraction": 1.0,
            "pilot_seconds": None}
        if stop:
            info["stopped"] = stop
        if len(cands) == 1:
            info["note"] = "only one candidate"
        return chosen, info
