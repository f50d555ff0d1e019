"""Score the candidates (the task's metrics, CIs, paired comparisons), add the learning curve, and decide."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.decide import Bar, decide
from baseline.metrics import Evaluation, evaluate, split_unanswered
from baseline.runner import SCORED, STATUS_OK, AdapterResult, Progress, RunOptions, show_phase
from baseline.tasks import Task


def score_results(split: Split, results: list[AdapterResult], metric: str, resamples: int, seed: int,
                  task: Task | None = None):
    """The task's metrics, CIs and paired comparisons for every scored candidate."""
    scored = [r for r in results if r.status in SCORED and r.predictions]
    preds = {r.name: r.predictions for r in scored}
    if task is None:
        ev = evaluate(split.labels, split.test["label"].tolist(), preds, headline=metric, resamples=resamples,
                      seed=seed)
    else:
        scores = {r.name: r.scores for r in scored if r.scores and any(s for s in r.scores)}
        ev = task.evaluate(split.labels, split.test["label"].tolist(), preds, metric, resamples, seed,
                           scores=scores or None)
    split_unanswered(ev.metrics, {r.name: r.item_errors for r in results})  # item errors are not abstentions
    return ev


def score(split: Split, results: list[AdapterResult], opts: RunOptions, resamples: int, task: Task,
          progress: Progress) -> tuple[Evaluation, float]:
    """Every scored candidate against the test labels; the seconds it took."""
    t = time.perf_counter()
    show_phase(progress, f"scoring: {resamples} bootstrap resamples × {len(split.test):,} test rows")
    ev = score_results(split, results, opts.metric, resamples, opts.seed, task)
    return ev, time.perf_counter() - t


def learning_curve_for(registry: Registry, results: list[AdapterResult], split: Split, opts: RunOptions,
                       run_dir: Path, resamples: int) -> Any:
    """``--learning-curve``: refit the candidates that finished on growing shares of train."""
    from baseline.learning import learning_curve

    return learning_curve(registry, [r.name for r in results if r.status == STATUS_OK], split, opts,
                          run_dir, metric=opts.metric, resamples=resamples)


def verdict(results: list[AdapterResult], ev: Evaluation, bar: Bar,
            curve: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each candidate's record (no per-item answers) with its metrics and comparison, and the decision over them."""
    adapters_json = []
    for r in results:
        d = r.to_json()
        for k in ("predictions", "scores", "raw", "item_errors"):
            d.pop(k)
        d["metrics"] = ev.metrics.get(r.name)
        d["comparison"] = ev.comparisons.get(r.name)
        adapters_json.append(d)
    return adapters_json, decide(adapters_json, ev.pairwise, bar, curve)
