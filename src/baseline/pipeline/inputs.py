"""What the run is about: the request, the dataset read by its task, the frozen split, its profile, the candidates."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from baseline.adapters.registry import Registry
from baseline.data import Dataset, Split, demo_dataset_path
from baseline.decide import Bar
from baseline.errors import BadInput
from baseline.runner import Progress, RunOptions, show_phase
from baseline.tasks import Task, TaskInputs, TaskMismatch, get_task


@dataclass
class CompareRequest:
    """What the user asked for (flags + config), resolved to plain values."""

    data: str | None = None
    text_col: str | None = None
    label_col: str | None = None
    split_col: str | None = None
    test_size: float = 0.25
    adapters: str | list[str] | None = None
    out: Path = Path("reports")
    resume: Path | None = None
    resamples: int = 1000
    learning_curve: bool = False
    command: str = ""
    fresh: bool = False                 # rerun every candidate, reuse nothing
    rerun: list[str] | None = None      # rerun these even when an earlier result on the split matches
    value: Any = None              # business.ValueInputs (manual cost, error cost, precision target)
    label_check: bool = True       # cleanlab label-issue check on train ([data] extra); --no-label-check
    task_explicit: bool = False    # the user named the task: no detection from the data
    metric_explicit: bool = False  # the user chose the headline metric: not the task's default
    label_sep: str = "|"           # multi-label: the character joining a row's labels in one column
    label_cols: list[str] | None = None  # multi-label: one 0/1 column per label
    bar_metric: str | None = None  # the metric a --min-<metric> bar names (None: the headline)
    feature_cols: list[str] | None = None  # tables: only these columns are features
    drop_cols: list[str] | None = None     # tables: never these
    time_col: str | None = None            # tables: time-ordered split on this column
    margin_explicit: bool = False          # --margin given: no task default (regression: 2% of the target's sd)


@dataclass
class Inputs:
    """The dataset, the task that read it, its frozen split and profile, and how long each took."""

    ds: Dataset
    task: Task
    split: Split
    prof: dict[str, Any]
    stages: dict[str, float]  # load_s, split_s, profile_s


class QuietTaskProgress(Progress):
    """A progress sink for commands that load data outside ``compare`` (``estimate``): notes go to stderr."""

    def message(self, text: str) -> None:
        print(text, file=sys.stderr)


def load_for_task(task: Task, inputs: TaskInputs, progress: Progress) -> tuple[Dataset, Task]:
    """The task's reading of the file; when the data is plainly another task's (labels joined by the separator,
    several 0/1 label columns) and the user did not name the task, that task reads it, with a printed note."""
    try:
        return task.load(inputs), task
    except TaskMismatch as m:
        other = get_task(m.task)
        progress.message(f"note: {m.note}")
        ds = other.load(inputs)
        ds.notes.append(m.note)
        return ds, other


def resolve_metric(task: Task, opts: RunOptions, bar: Bar, explicit: bool,
                   bar_metric: str | None = None) -> tuple[RunOptions, Bar]:
    """The headline metric (the user's when given, checked against the task's; else the task's own) and the metric
    the bar is on (``--min-<metric>`` names one; ``--min-metric`` means the headline)."""
    if bar_metric is not None and not explicit:  # a bar on a named metric makes it the headline: decide pairs on it
        metric = bar_metric
    elif bar_metric is not None and bar_metric != opts.metric:
        raise BadInput(f"the bar is on {bar_metric} but --metric is {opts.metric}: bar the headline metric, or "
                       "drop --metric")
    else:
        metric = opts.metric if explicit else task.headline
    if metric not in task.metric_names:
        raise BadInput(f"--metric {metric} is not a metric of {task.title}; use one of "
                       f"{', '.join(task.metric_names)}")
    on = bar_metric or metric
    if on not in task.metric_names:
        raise BadInput(f"a bar on {on} does not apply to {task.title}; bars can use "
                       + ", ".join(f"--{'max' if m in task.lower_is_better else 'min'}-{m.replace('_', '-')}"
                                   for m in task.metric_names))
    return replace(opts, metric=metric), replace(bar, metric=on)


def load_inputs(req: CompareRequest, opts: RunOptions, bar: Bar,
                progress: Progress) -> tuple[Inputs, RunOptions, Bar]:
    """Load the data with its task, fix the metric and bar to that task, then split (frozen) and profile."""
    t_start = time.perf_counter()
    path = req.data or str(demo_dataset_path())
    show_phase(progress, f"loading {path}")
    inputs = TaskInputs(path=path, text_col=req.text_col, label_col=req.label_col, split_col=req.split_col,
                        label_sep=req.label_sep, label_cols=req.label_cols, explicit=req.task_explicit,
                        feature_cols=req.feature_cols, drop_cols=req.drop_cols, time_col=req.time_col)
    ds, task = load_for_task(get_task(opts.task), inputs, progress)
    opts, bar = resolve_metric(task, replace(opts, task=task.name), bar, req.metric_explicit, req.bar_metric)
    stages = {"load_s": time.perf_counter() - t_start}
    show_phase(progress, f"splitting and profiling {len(ds.frame):,} rows")
    t = time.perf_counter()
    from baseline.decide import task_bar

    bar = task_bar(bar, task.lower_is_better)  # a --min- bar on an error metric fails before the split
    split = task.split(ds, req.test_size, opts.seed)
    stages["split_s"] = time.perf_counter() - t
    if bar.metric in task.lower_is_better or getattr(task, "regression", False):
        from baseline.tasks.rows import decode_numbers

        bar = task_bar(bar, task.lower_is_better, decode_numbers(split.test["label"].tolist()),
                       margin_explicit=req.margin_explicit)
    t = time.perf_counter()
    prof = task.profile(ds, split)
    stages["profile_s"] = time.perf_counter() - t
    return Inputs(ds, task, split, prof, stages), opts, bar


def select_adapters(req: CompareRequest, registry: Registry, opts: RunOptions) -> tuple[list[str], list[str]]:
    """The candidates to run and the paid ones only listed; named ones must have their required settings."""
    names, paid_listed = registry.select(req.adapters)
    if req.adapters not in (None, "default", "all"):  # named explicitly: its required settings must be given
        for n in names:
            cls = registry.get(n).cls
            if cls is not None:
                cls.check_named(opts.adapter_options.get(n, {}))
    if opts.task.startswith("tabular-"):  # LLMs are told the target's name unless the config says otherwise
        for n in names:
            cls = registry.get(n).cls
            if cls is not None and "target" in (cls.option_schema or {}) and req.label_col:
                opts.adapter_options.setdefault(n, {}).setdefault("target", req.label_col)
    unknown = [n for n in (req.rerun or []) if n not in names]
    if unknown:
        raise BadInput(f"--rerun names {', '.join(unknown)}, not among this run's adapters ({', '.join(names)})")
    return names, paid_listed
