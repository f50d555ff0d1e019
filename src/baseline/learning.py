"""Learning curves: refit trainable adapters on growing shares of train, score each on the same test set.

A curve that still rises says "collect more labels"; a flat one says "change the approach".
Subsamples are stratified, seeded and nested (the 10% rows are inside the 25% rows, and so on),
so the points differ only in how much data the adapter saw. Every point is scored with the
same bootstrap resamples as the main run, so the 100% point equals the leaderboard figure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.adapters.registry import Registry
from baseline.data import Split, split_hash
from baseline.runner import STATUS_OK, Budget, RunOptions, load_result, run_adapter

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
MIN_PER_CLASS = 2


def stratified_subsample(train: pd.DataFrame, fraction: float, seed: int,
                         min_per_class: int = MIN_PER_CLASS) -> pd.DataFrame:
    """A seeded, stratified share of ``train``; nested across fractions; every class keeps ≥ ``min_per_class`` rows."""
    if fraction >= 1:
        return train.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for _, idx in sorted(train.groupby("label").indices.items()):
        order = rng.permutation(np.sort(idx))
        k = max(min(min_per_class, len(order)), int(round(fraction * len(order))))
        keep.extend(order[:k].tolist())
    return train.iloc[sorted(keep)].reset_index(drop=True)


def _sub_split(split: Split, train: pd.DataFrame) -> Split:
    return dataclasses.replace(split, train=train, hash=split_hash(train, split.test, split.validation))


def learning_curve(registry: Registry, names: list[str], split: Split, opts: RunOptions, run_dir: Path,
                   metric: str = "macro_f1", resamples: int = 1000,
                   fractions: tuple[float, ...] = FRACTIONS) -> dict[str, Any]:
    """Refit each trainable, free adapter in ``names`` on every fraction of train and score it with a CI.

    The full-size point reuses the main run's predictions when they are saved in ``run_dir``.
    Returns ``{"fractions", "metric", "adapters": {name: [{"fraction", "n_train", metric, "ci", ...}]},
    "skipped": {name: reason}}``.
    """
    fractions = tuple(sorted(set(fractions)))
    run_dir = Path(run_dir)
    curve_opts = dataclasses.replace(opts, latency_probe=0, cache=None)
    y_true = split.test["label"].tolist()
    subsamples = {f: stratified_subsample(split.train, f, opts.seed) for f in fractions}
    out: dict[str, Any] = {"fractions": list(fractions), "metric": metric, "seed": opts.seed,
                           "resamples": resamples, "adapters": {}, "skipped": {}}
    for name in names:
        cls = registry.get(name).cls
        if cls is None:
            out["skipped"][name] = "adapter could not be imported"
            continue
        if not cls.learns:
            out["skipped"][name] = "does not learn from the train split"
            continue
        if cls.paid:
            out["skipped"][name] = "paid: refitting it several times would bill each time"
            continue
        points: list[dict[str, Any]] = []
        preds: dict[str, list[str | None]] = {}
        for f in fractions:
            prior = load_result(run_dir, name) if f >= 1 else None
            if prior is not None and prior.status == STATUS_OK and prior.predictions:
                res, reused = prior, True
            else:
                workdir = run_dir / "learning-curve" / f"{round(f * 100)}pct"
                res = run_adapter(cls, _sub_split(split, subsamples[f]), curve_opts, Budget(None), workdir)
                reused = False
            pt: dict[str, Any] = {"fraction": f, "n_train": int(len(subsamples[f])), "status": res.status,
                                  "fit_s": res.timing.get("fit_s"), "reused_main_run": reused}
            if res.status == STATUS_OK and res.predictions:
                preds[str(f)] = res.predictions
            else:
                pt.update({metric: None, "ci": None, "reason": res.reason})
            points.append(pt)
        if preds:
            from baseline.tasks import get_task

            ev = get_task(opts.task).evaluate(split.labels, y_true, preds, metric, resamples, opts.seed)
            for pt in points:
                m = ev.metrics.get(str(pt["fraction"]))
                if m is None:
                    continue
                pt[metric] = m[metric]
                pt["ci"] = list(m["ci"][metric])
                if metric != "accuracy":
                    pt["accuracy"] = m["accuracy"]
            full = str(fractions[-1])
            for pt in points[:-1]:
                cmp = ev.pairwise.get(full, {}).get(str(pt["fraction"]))
                if cmp is not None:  # paired gain of the full-size fit over this size, same test rows
                    pt["gain_to_full"] = {"difference": cmp["difference"], "ci": list(cmp["ci"])}
        out["adapters"][name] = points
    return out
