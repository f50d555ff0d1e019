"""The run folder: made new or reopened for ``--resume``; the split, predictions, results and report written into it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.errors import BadInput
from baseline.runner import AdapterResult, Progress, RunOptions, show_phase
from baseline.store import Store
from baseline.tasks import Task


def new_run_dir(out: Path, dataset: str, taken: Callable[[str], bool] | None = None) -> Path:
    """A new ``<stamp>-<dataset>`` folder; its name is the run id, unique in the folder and (``taken``) the history."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in dataset)[:40]
    d = out / f"{stamp}-{safe}"
    i = 1
    while d.exists() or (taken is not None and taken(d.name)):
        d = out / f"{stamp}-{safe}-{i}"
        i += 1
    d.mkdir(parents=True)
    return d


def open_run_folder(resume: Path | None, out: Path, dataset: str, split: Split, store: Store | None) -> Path:
    """The folder to resume (by path or run id; not one still running, and only on the same split), else a new one."""
    if resume is None:
        run_dir = new_run_dir(out, dataset, (lambda rid: store.find(rid) is not None) if store is not None else None)
        return run_dir.resolve()  # history is read from any folder
    run_dir = Path(resume)
    if not run_dir.exists() and store is not None:  # a run id from `baseline history`
        row = store.find(str(resume))
        run_dir = Path(row["run_dir"]) if row else run_dir
    row = store.find(str(run_dir)) if store is not None and run_dir.exists() else None
    if row and row["status"] == "running" and row.get("pid") != os.getpid():
        raise BadInput(f"run {row['run_id']} is still running (pid {row.get('pid')}): let it finish or stop it "
                       "(Ctrl-C / SIGTERM) before --resume")
    saved = run_dir / "split.json"
    if not saved.exists():
        raise BadInput(f"{run_dir} is not a baseline run folder (no split.json): pass a folder under reports/")
    prior = json.loads(saved.read_text(encoding="utf-8"))
    if prior["hash"] != split.hash:
        raise BadInput(f"cannot resume {run_dir}: its split hash differs from this data/seed/test-size; "
                       "rerun without --resume or with the same inputs")
    return run_dir.resolve()  # history is read from any folder


def write_split_files(run_dir: Path, split: Split, prof: dict[str, Any]) -> float:
    """``split.json`` (what a resume checks), ``split.csv`` and ``profile.json``; the seconds the latter two took."""
    (run_dir / "split.json").write_text(json.dumps(
        {"hash": split.hash, "source": split.source, "seed": split.seed, "test_size": split.test_size,
         "labels": split.labels, "rows": {k: int(v) for k, v in prof["rows"].items()}}, indent=2), encoding="utf-8")
    t = time.perf_counter()
    write_csv(split.assignment(), run_dir / "split.csv")
    (run_dir / "profile.json").write_text(json.dumps(prof, indent=2, ensure_ascii=False), encoding="utf-8")
    return time.perf_counter() - t


def clean_leftovers(run_dir: Path, registry: Registry, opts: RunOptions, run_id: str, progress: Progress) -> None:
    """On ``--resume``: first delete what the interrupted process left billing."""
    from baseline.cleanup import cleanup_run

    rep = cleanup_run(run_dir, registry, opts.adapter_options, run_id, log=progress.message)
    for d in rep.deleted:
        progress.message(f"cleanup: deleted {d['kind']} {d['id']} ({d['adapter']}) left by the interrupted run")
    for e in rep.errors:
        progress.message(f"CLEANUP FAILED: {e} — `baseline cleanup {run_id}` retries")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """A frame as CSV without its index; Arrow's writer when installed (far faster than pandas' on a large run's
    texts; the same cells read back)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        df.to_csv(path, index=False)
        return
    pcsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), path)


def write_predictions(run_dir: Path, split: Split, results: list[AdapterResult], task: Task) -> Path:
    """Per-item predictions beside the report: one row per test item, one column per adapter, and its confidence in
    the whole answer (the task's reading of the adapter's scores)."""
    columns: dict[str, Any] = {"id": split.test["id"], "text": split.test["text"], "label": split.test["label"]}
    for r in results:
        if not r.predictions:
            continue
        columns[r.name] = r.predictions
        top = task.item_confidences(r.scores) if r.scores else None
        if top and any(t is not None for t in top):
            columns[f"{r.name}:score"] = top
        if r.item_errors and any(r.item_errors):
            columns[f"{r.name}:error"] = r.item_errors
    p = run_dir / "predictions.csv"
    write_columns(columns, p)
    return p


def write_columns(columns: dict[str, Any], path: Path) -> None:
    """Named columns (frame columns, or per-row lists) as CSV: the file ``write_csv`` writes for the frame they make.
    With Arrow, lists of strings and lists of numbers go to Arrow arrays directly, not through a frame's Python
    objects (a large run's answers: 750k a candidate); any other list, or no Arrow, takes the frame."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        write_csv(pd.DataFrame(columns), path)
        return
    arrays = {name: _arrow_column(values, pa) for name, values in columns.items()}
    if any(a is None for a in arrays.values()):
        write_csv(pd.DataFrame(columns), path)
        return
    pcsv.write_csv(pa.table(arrays), path)


def _arrow_column(values: Any, pa: Any) -> Any:
    """One column as Arrow, the array ``pa.Table.from_pandas`` makes of it in a frame (missing: null), or ``None``
    for a list this does not read (the caller then writes the frame)."""
    if isinstance(values, pd.Series):
        arr = getattr(values.array, "_pa_array", None)
        return arr if arr is not None else pa.Array.from_pandas(values.reset_index(drop=True))
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return pa.array(values, type=pa.large_string())
    if kinds <= {float, type(None)}:
        return pa.array(values, type=pa.float64(), from_pandas=True)   # NaN → missing, as in a frame
    return None


def write_results(run_dir: Path, results_json: dict[str, Any]) -> None:
    """``results.json``: everything the report shows."""
    (run_dir / "results.json").write_text(json.dumps(results_json, indent=2, ensure_ascii=False, default=float),
                                          encoding="utf-8")


def render_report(run_dir: Path, results_json: dict[str, Any], t_start: float, progress: Progress) -> None:
    """``report.md`` and ``report.html`` from the saved results, then ``results.json`` again with the final timing."""
    from baseline.report import render

    t_render = time.perf_counter()
    show_phase(progress, f"writing the report to {run_dir}")
    render(run_dir)
    results_json["timing"]["render_s"] = time.perf_counter() - t_render
    results_json["timing"]["total_s"] = time.perf_counter() - t_start
    write_results(run_dir, results_json)
