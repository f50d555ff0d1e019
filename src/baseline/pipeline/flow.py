"""``compare`` as a library call: load → split → profile → run → score → decide → render + store, a stage a call."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline.adapters.registry import Registry
from baseline.decide import Bar
from baseline.ledger import SpendLedger
from baseline.pipeline.candidates import estimate_adapters, reuse_earlier, run_candidates
from baseline.pipeline.history import record_finish, record_start, since_previous
from baseline.pipeline.inputs import CompareRequest, load_inputs, select_adapters
from baseline.pipeline.memory import SettledHeap, release_memory
from baseline.pipeline.results import (
    add_analysis,
    add_business_and_data_plan,
    build_results,
    keep_label_rows,
)
from baseline.pipeline.run_folder import (
    clean_leftovers,
    open_run_folder,
    render_report,
    write_predictions,
    write_results,
    write_split_files,
)
from baseline.pipeline.scoring import learning_curve_for, score, verdict
from baseline.redact import redact_tree
from baseline.runner import Progress, RunOptions
from baseline.store import Store


def compare(req: CompareRequest, registry: Registry, opts: RunOptions, bar: Bar, store: Store | None = None,
            progress: Progress | None = None) -> tuple[dict[str, Any], Path]:
    """Run the whole comparison and write the run folder. Returns (results, run_dir)."""
    progress = progress or Progress()
    heap = SettledHeap()
    try:
        done = _compare(req, registry, opts, bar, store, progress, heap)
    finally:
        heap.close()
    # the stages' texts, answers and scores went with _compare's frame (reference counting frees them: no collection
    # needed), and the report is drawn from the saved files: freed first, the report's libraries and pages do not come
    # on top of them (at 100k rows most of the late peak)
    release_memory(collect=False)
    render_report(done.run_dir, done.results_json, done.t_start, progress)
    record_finish(store, done.recorded, done.names, done.run_dir)
    return done.results_json, done.run_dir


@dataclass(frozen=True)
class _Compared:
    """What ``compare`` keeps from the stages for the report and the history: the results, not the data."""

    results_json: dict[str, Any]
    recorded: dict[str, Any]
    names: list[str]
    run_dir: Path
    t_start: float


def _compare(req: CompareRequest, registry: Registry, opts: RunOptions, bar: Bar, store: Store | None,
             progress: Progress, heap: SettledHeap) -> _Compared:
    """``compare``'s stages in order up to the saved results; ``heap`` settles what each large stage leaves
    (``SettledHeap``)."""
    registry.check_options(opts.adapter_options)  # unknown keys / bad values: exit 2 before anything runs
    started = datetime.now(UTC).isoformat(timespec="milliseconds")
    t_start = time.perf_counter()
    inp, opts, bar = load_inputs(req, opts, bar, progress)
    release_memory()
    heap.settle()
    names, paid_listed = select_adapters(req, registry, opts)
    split, task, resuming = inp.split, inp.task, req.resume is not None

    run_dir = open_run_folder(req.resume, req.out, inp.ds.name, split, store)
    opts = replace(opts, run_id=run_dir.name)
    stages = {**inp.stages, "split_files_s": write_split_files(run_dir, split, inp.prof)}
    record_start(store, opts.run_id, started, inp.ds, split.hash, names, run_dir)
    if resuming:  # first delete what the interrupted process left billing
        clean_leftovers(run_dir, registry, opts, opts.run_id, progress)

    not_run = estimate_adapters(registry, paid_listed, split, opts) if paid_listed else []
    ledger = SpendLedger(run_dir)
    reuse = reuse_earlier(registry, names, split, opts, store, resuming, req.rerun, req.fresh, run_dir, progress)
    t = time.perf_counter()
    results, adapter_s = run_candidates(registry, names, reuse, split, opts, run_dir, progress, resuming, ledger)
    stages["run_wall_s"] = time.perf_counter() - t  # adapters plus the runner's bookkeeping around them
    heap.settle()  # the answers: every later stage reads them, no later collection needs to walk them

    ev, score_s = score(split, results, opts, req.resamples, task, progress)
    curve = learning_curve_for(registry, results, split, opts, run_dir, req.resamples) if req.learning_curve else None
    adapters_json, decision = verdict(results, ev, bar, curve)

    t = time.perf_counter()
    write_predictions(run_dir, split, results, task)
    stages["predictions_csv_s"] = time.perf_counter() - t
    label_rows = keep_label_rows(req, task, split, opts.seed)
    previous = since_previous(store, split.hash, opts.run_id, run_dir, adapters_json, decision, opts.metric,
                              reuse.why_run)
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    timing = {"total_s": time.perf_counter() - t_start, "adapters_s": adapter_s, "scoring_s": score_s, **stages}
    results_json = build_results(req, inp, opts, bar, run_id=opts.run_id, started=started, finished=finished,
                                 results=results, adapters_json=adapters_json, ev=ev, decision=decision,
                                 curve=curve, previous=previous, not_run=not_run, reused=reuse.reused,
                                 why_run=reuse.why_run, ledger=ledger, timing=timing)
    # the answers and their scores are in predictions.csv and results.json now: the late stages read those, so
    # they are let go before the label check and the analysis allocate (at 100k rows of 50 classes, 13 MB), which
    # then reuse that memory (no trim needed here: the analysis stage trims after itself)
    del results, ev
    add_analysis(results_json, run_dir, opts)
    add_business_and_data_plan(results_json, req, split, curve, bar, run_dir, opts.seed, progress, label_rows, task)
    recorded = results_json
    results_json = redact_tree(results_json)  # every credential an SDK resolved, wherever a message carried it
    write_results(run_dir, results_json)
    return _Compared(results_json, recorded, names, run_dir, t_start)
