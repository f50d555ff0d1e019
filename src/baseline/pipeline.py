"""``compare`` as a library call: load → split → profile → run → score → decide → render + store."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from baseline import RESULTS_SCHEMA_VERSION, __version__
from baseline.adapters.base import AdapterContext
from baseline.adapters.registry import Registry
from baseline.data import Dataset, Split
from baseline.dataplan import label_check_rows, scans_pairs
from baseline.decide import Bar, decide
from baseline.errors import BadInput
from baseline.ledger import SpendLedger
from baseline.metrics import evaluate
from baseline.redact import one_line, redact_tree
from baseline.reuse import identity_changes, load_identity, plan_reuse, reprice, save_identity
from baseline.runner import (
    SCORED,
    STATUS_INCOMPLETE,
    STATUS_OK,
    STATUS_STOPPED,
    AdapterResult,
    Progress,
    RunOptions,
    run_all,
    save_result,
    unanswered_summary,
)
from baseline.store import Store
from baseline.tasks import Task, TaskInputs, TaskMismatch, get_task

PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "transformers", "sentence-transformers",
            "flaml", "lightgbm", "xgboost", "boto3", "botocore", "azure-ai-textanalytics", "azure-core")


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


def provenance() -> dict[str, Any]:
    pk = {}
    for p in PACKAGES:
        try:
            pk[p] = version(p)
        except PackageNotFoundError:
            continue
    return {"baseline": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "packages": pk}


def estimate_adapters(registry: Registry, names: list[str], split: Split, opts: RunOptions) -> list[dict[str, Any]]:
    """Billed units and USD per adapter from the price table, before any call and without credentials."""
    out = []
    train_t, train_l = split.train["text"].tolist(), split.train["label"].tolist()
    test_t = split.test["text"].tolist()
    for name in names:
        e = registry.get(name)
        row: dict[str, Any] = {"name": name, "family": e.family, "paid": bool(e.cls and e.cls.paid),
                               "not_by_default": e.cls.not_by_default_reason if e.cls else ""}
        av = e.availability(opts.task, opts.adapter_options.get(name, {}))
        row.update(available=av.ok, reason=av.reason)
        if e.cls is not None:
            try:
                ctx = AdapterContext(labels=split.labels, options=opts.adapter_options.get(name, {}), task=opts.task,
                                     label_map=opts.label_maps.get(name), prices=opts.prices, seed=opts.seed)
                a = e.cls(ctx)
                fit = a.estimate_fit(train_t, train_l) if e.cls.learns else None
                pred = a.estimate_predict(test_t)
                total = pred + fit if fit is not None else pred
                row.update(one_off_usd=fit.usd if fit else 0.0, predict_usd=pred.usd, total_usd=total.usd,
                           units=total.units, note=total.note, where=a.endpoint_description())
            except BadInput:
                raise
            except Exception as ex:
                row.update(total_usd=None, note=f"cannot estimate: {one_line(ex)}")
        out.append(row)
    return out


def release_memory() -> None:
    """Hand memory freed by the last stage back to the system (glibc's ``malloc_trim``; a no-op elsewhere): a large
    run's stages free hundreds of MB of temporary strings and arrays that would otherwise stay in the process."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass


def adapter_seconds(r: AdapterResult) -> float:
    """Time spent inside the adapter: cold start, fit, warm-up, batched predict, latency probe, explanation."""
    return sum(r.timing.get(k) or 0.0 for k in ("cold_start_s", "fit_s", "warmup_s", "predict_s", "probe_s", "explain_s"))


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


def write_predictions(run_dir: Path, split: Split, results: list[AdapterResult], task: Task | None = None) -> Path:
    """Per-item predictions beside the report: one row per test item, one column per adapter, and its confidence in
    the whole answer (the task's reading of the adapter's scores)."""
    df = pd.DataFrame({"id": split.test["id"], "text": split.test["text"], "label": split.test["label"]})
    for r in results:
        if not r.predictions:
            continue
        df[r.name] = r.predictions
        conf = task.item_confidence if task is not None else (lambda s: max(s.values()) if s else None)
        top = [conf(s) for s in r.scores] if r.scores else None
        if top and any(t is not None for t in top):
            df[f"{r.name}:score"] = top
        if r.item_errors and any(r.item_errors):
            df[f"{r.name}:error"] = r.item_errors
    p = run_dir / "predictions.csv"
    write_csv(df, p)
    return p


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


def score_results(split: Split, results: list[AdapterResult], metric: str, resamples: int, seed: int,
                  task: Task | None = None):
    """The task's metrics, CIs and paired comparisons for every scored candidate."""
    preds = {r.name: r.predictions for r in results if r.status in SCORED and r.predictions}
    if task is None:
        return evaluate(split.labels, split.test["label"].tolist(), preds, headline=metric, resamples=resamples,
                        seed=seed)
    return task.evaluate(split.labels, split.test["label"].tolist(), preds, metric, resamples, seed)


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
    metric = opts.metric if explicit else task.headline
    if metric not in task.metric_names:
        raise BadInput(f"--metric {metric} is not a metric of {task.title}; use one of "
                       f"{', '.join(task.metric_names)}")
    on = bar_metric or metric
    if on not in task.metric_names:
        raise BadInput(f"--min-{on.replace('_', '-')} is not a metric of {task.title}; bars can use "
                       + ", ".join(f"--min-{m.replace('_', '-')}" for m in task.metric_names))
    return replace(opts, metric=metric), replace(bar, metric=on)


def _phase(progress: Progress, name: str) -> None:
    phase = getattr(progress, "phase", None)  # progress renderers written before phases existed lack it
    if phase is not None:
        phase(name)


def compare(req: CompareRequest, registry: Registry, opts: RunOptions, bar: Bar, store: Store | None = None,
            progress: Progress | None = None) -> tuple[dict[str, Any], Path]:
    """Run the whole comparison and write the run folder. Returns (results, run_dir)."""
    from baseline.data import demo_dataset_path
    from baseline.report import render
    from baseline.report.analysis import analyze_run

    progress = progress or Progress()
    registry.check_options(opts.adapter_options)  # unknown keys / bad values: exit 2 before anything runs
    started = datetime.now(UTC).isoformat(timespec="milliseconds")
    t_start = time.perf_counter()
    path = req.data or str(demo_dataset_path())
    _phase(progress, f"loading {path}")
    inputs = TaskInputs(path=path, text_col=req.text_col, label_col=req.label_col, split_col=req.split_col,
                        label_sep=req.label_sep, label_cols=req.label_cols, explicit=req.task_explicit)
    ds, task = load_for_task(get_task(opts.task), inputs, progress)
    opts, bar = resolve_metric(task, replace(opts, task=task.name), bar, req.metric_explicit, req.bar_metric)
    stages = {"load_s": time.perf_counter() - t_start}
    _phase(progress, f"splitting and profiling {len(ds.frame):,} rows")
    t = time.perf_counter()
    split = task.split(ds, req.test_size, opts.seed)
    stages["split_s"] = time.perf_counter() - t
    t = time.perf_counter()
    prof = task.profile(ds, split)
    stages["profile_s"] = time.perf_counter() - t
    release_memory()
    names, paid_listed = registry.select(req.adapters)
    if req.adapters not in (None, "default", "all"):  # named explicitly: its required settings must be given
        for n in names:
            cls = registry.get(n).cls
            if cls is not None:
                cls.check_named(opts.adapter_options.get(n, {}))

    unknown = [n for n in (req.rerun or []) if n not in names]
    if unknown:
        raise BadInput(f"--rerun names {', '.join(unknown)}, not among this run's adapters ({', '.join(names)})")

    if req.resume is not None:
        run_dir = Path(req.resume)
        if not run_dir.exists() and store is not None:  # a run id from `baseline history`
            row = store.find(str(req.resume))
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
    else:
        run_dir = new_run_dir(req.out, ds.name, (lambda rid: store.find(rid) is not None) if store is not None else None)
    run_dir = run_dir.resolve()  # history is read from any folder
    run_id = run_dir.name
    opts = replace(opts, run_id=run_id)
    (run_dir / "split.json").write_text(json.dumps(
        {"hash": split.hash, "source": split.source, "seed": split.seed, "test_size": split.test_size,
         "labels": split.labels, "rows": {k: int(v) for k, v in prof["rows"].items()}}, indent=2), encoding="utf-8")
    t = time.perf_counter()
    write_csv(split.assignment(), run_dir / "split.csv")
    (run_dir / "profile.json").write_text(json.dumps(prof, indent=2, ensure_ascii=False), encoding="utf-8")
    stages["split_files_s"] = time.perf_counter() - t
    if store is not None:
        store.record_run({"run_id": run_id, "started": started, "finished": None, "dataset": ds.name,
                          "data_sha256": ds.file_sha256, "split_hash": split.hash, "adapters": names,
                          "best": None, "verdict": None, "status": "running", "run_dir": str(run_dir)})

    if req.resume is not None:  # first delete what the interrupted process left billing
        from baseline.cleanup import cleanup_run

        rep = cleanup_run(run_dir, registry, opts.adapter_options, run_id, log=progress.message)
        for d in rep.deleted:
            progress.message(f"cleanup: deleted {d['kind']} {d['id']} ({d['adapter']}) left by the interrupted run")
        for e in rep.errors:
            progress.message(f"CLEANUP FAILED: {e} — `baseline cleanup {run_id}` retries")
    not_run = estimate_adapters(registry, paid_listed, split, opts) if paid_listed else []
    ledger = SpendLedger(run_dir)
    identities, reused, why_run = plan_reuse(
        split, names, {n: registry.get(n).cls for n in names}, opts,
        store.runs_on_split(split.hash, run_id) if store is not None and req.resume is None else [],
        set(req.rerun or []), req.fresh)
    for n in names:
        if n in reused:
            reprice(reused[n], registry.get(n).cls, opts, len(split.test))
            save_result(reused[n], run_dir)
            progress.message(f"{n}: reused from run {reused[n].reused_from['run_id']} (same split and identity)")
            progress.done(reused[n])
    to_run = [n for n in names if n not in reused]
    _phase(progress, f"running {len(to_run)} adapter(s) on {len(split.train):,} train / {len(split.test):,} test rows")
    t_run = time.perf_counter()
    if opts.executor == "ray":
        from baseline.executors.ray import run_all_ray

        ran = run_all_ray(registry, to_run, split, opts, run_dir, progress, resume=req.resume is not None,
                          ledger=ledger, address=opts.ray_address)
    else:
        ran = run_all(registry, to_run, split, opts, run_dir, progress, resume=req.resume is not None, ledger=ledger)
    release_memory()
    by_name = {r.name: r for r in ran} | reused
    results = [by_name[n] for n in names]
    for n, ident in identities.items():
        save_identity(run_dir, n, ident)
    adapter_time = sum(adapter_seconds(r) for r in ran)
    stages["run_wall_s"] = time.perf_counter() - t_run  # adapters plus the runner's bookkeeping around them
    t_score = time.perf_counter()
    _phase(progress, f"scoring: {req.resamples} bootstrap resamples × {len(split.test):,} test rows")
    ev = score_results(split, results, opts.metric, req.resamples, opts.seed, task)
    score_s = time.perf_counter() - t_score

    curve = None
    if req.learning_curve:
        from baseline.learning import learning_curve

        curve = learning_curve(registry, [r.name for r in results if r.status == STATUS_OK], split, opts,
                               run_dir, metric=opts.metric, resamples=req.resamples)

    adapters_json = []
    for r in results:
        d = r.to_json()
        for k in ("predictions", "scores", "raw", "item_errors"):
            d.pop(k)
        d["metrics"] = ev.metrics.get(r.name)
        d["comparison"] = ev.comparisons.get(r.name)
        adapters_json.append(d)
    decision = decide(adapters_json, ev.pairwise, bar, curve)
    t = time.perf_counter()
    write_predictions(run_dir, split, results, task)
    stages["predictions_csv_s"] = time.perf_counter() - t
    # no later stage reads the split's texts except the data plan: take its label-check rows now (a 20k sample
    # of a large train) and keep the whole parts only when the near-duplicate scan will run at this size
    check_labels = req.label_check and task.applies("label_quality")
    label_rows = label_check_rows(split.train, opts.seed) if check_labels else None
    if not scans_pairs(len(split.train), len(split.test)):
        split.drop_texts()
        release_memory()

    previous = None
    if store is not None:
        prev = store.previous_run(split.hash, run_id)
        if prev:
            previous = compare_with_previous(Path(prev["run_dir"]), adapters_json, prev["run_id"], run_dir=run_dir,
                                             decision=decision, metric=opts.metric, why_run=why_run)

    finished = datetime.now(UTC).isoformat(timespec="seconds")
    failed = [r.name for r in results if r.status == "failed"]
    incomplete = [r.name for r in results if r.status in (STATUS_INCOMPLETE, STATUS_STOPPED)]
    paid = [r for r in results if r.paid and not r.reused_from]  # a reused result was paid for by its own run
    spend = {
        "billed_now_usd": sum(float(r.cost.get("billed_now_usd") or 0.0) for r in paid),
        "possibly_billed_now_usd": sum(float(r.cost.get("possibly_billed_now_usd", r.cost.get("billed_now_usd")) or 0.0)
                                       for r in paid),
        "max_cost": opts.max_cost, "ledger": ledger.summary(),
        "note": ("billed = requests answered (confirmed); possibly billed adds every attempt that may have reached "
                 "the service without an answer coming back (dropped connection, read timeout, server error, "
                 "unusable answer), priced at what it would bill; --max-cost is enforced on possibly billed, "
                 "across resumes"),
    }
    results_json: dict[str, Any] = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "command": req.command,
        "task": opts.task,
        "task_info": task.describe(),
        "dataset": {"name": ds.name, "path": ds.path, "sha256": ds.file_sha256, "text_col": ds.text_col,
                    "label_col": ds.label_col, "split_col": ds.split_col,
                    **({"label_sep": req.label_sep, "label_cols": req.label_cols}
                       if ds.label_names is not None else {})},
        "split": {"source": split.source, "seed": split.seed, "test_size": split.test_size, "hash": split.hash,
                  "labels": split.labels, "rows": prof["rows"], "file": "split.csv"},
        "profile": prof,
        "settings": {"metric": opts.metric, "bar": bar.to_json(), "max_cost": opts.max_cost,
                     "adapters_requested": req.adapters, "device": opts.device, "resamples": req.resamples,
                     "ci_level": 0.95, "seed": opts.seed, "latency_probe": opts.latency_probe},
        "adapters": adapters_json,
        "not_run": not_run,
        "best": ev.best,
        "leaderboard": sorted(ev.metrics, key=lambda n: -ev.metrics[n][opts.metric]),
        "pairwise": ev.pairwise,
        "decision": decision,
        "learning_curve": curve,
        "previous_run": previous,
        "reuse": {"reused": {n: r.reused_from for n, r in reused.items()}, "ran": why_run,
                  "fresh": req.fresh, "rerun": list(req.rerun or [])},
        "failed": failed,
        "incomplete": incomplete,
        "unanswered": unanswered_summary(results),
        "spend": spend,
        "prices": {"effective_date": opts.prices.effective_date,
                   "source_note": opts.prices.data.get("source_note", "")},
        "timing": {"total_s": time.perf_counter() - t_start, "adapters_s": adapter_time, "scoring_s": score_s,
                   **stages},
        "provenance": provenance(),
        "files": {"predictions": "predictions.csv", "split": "split.csv", "profile": "profile.json",
                  "report_md": "report.md", "report_html": "report.html"},
    }
    t = time.perf_counter()
    results_json["analysis"] = analyze_run(results_json, run_dir, opts.prices)  # report figures from predictions.csv
    results_json["timing"]["analysis_s"] = time.perf_counter() - t
    release_memory()
    add_business_and_data_plan(results_json, req, split, curve, bar, run_dir, opts.seed, progress, label_rows, task)
    results_json = redact_tree(results_json)  # every credential an SDK resolved, wherever a message carried it
    (run_dir / "results.json").write_text(json.dumps(results_json, indent=2, ensure_ascii=False, default=float),
                                          encoding="utf-8")
    t_render = time.perf_counter()
    _phase(progress, f"writing the report to {run_dir}")
    render(run_dir)
    results_json["timing"]["render_s"] = time.perf_counter() - t_render
    results_json["timing"]["total_s"] = time.perf_counter() - t_start
    (run_dir / "results.json").write_text(json.dumps(results_json, indent=2, ensure_ascii=False, default=float),
                                          encoding="utf-8")
    if store is not None:
        store.record_run({"run_id": run_id, "started": started, "finished": finished, "dataset": ds.name,
                          "data_sha256": ds.file_sha256, "split_hash": split.hash, "adapters": names,
                          "best": ev.best, "verdict": decision.get("verdict") + (f": {decision['choice']}" if decision.get("choice") else ""),
                          "status": "failed adapters" if failed else "incomplete" if incomplete else "ok",
                          "run_dir": str(run_dir)})
    return results_json, run_dir


def add_business_and_data_plan(results_json: dict[str, Any], req: CompareRequest, split: Split, curve: Any, bar: Bar,
                               run_dir: Path, seed: int, progress: Progress,
                               label_rows: tuple[pd.DataFrame, int | None] | None = None,
                               task: Task | None = None) -> None:
    """The business case per candidate, the data plan (label quality, near-duplicate leakage) and the learning
    curve's advice for every verdict; each part's time goes into ``timing`` like any other stage."""
    from baseline.business import ValueInputs, business_case
    from baseline.dataplan import data_plan, labels_advice

    t = time.perf_counter()
    v = req.value or ValueInputs()
    v = replace(v, monthly_volume=bar.monthly_volume)
    results_json["settings"]["business"] = v.to_json()
    results_json["business"] = business_case(results_json, run_dir, v, req.resamples, seed)
    results_json["timing"]["business_s"] = time.perf_counter() - t
    check = req.label_check and (task is None or task.applies("label_quality"))
    skip = ("--no-label-check" if not req.label_check or task is None
            else task.not_applicable.get("label_quality", "--no-label-check"))
    plan = data_plan(split, results_json, run_dir, seed, check, label_rows, skip_reason=skip)
    ml = (results_json.get("profile") or {}).get("multi_label")
    if ml:  # label sets: co-occurrence and labels too rare to learn, from the profile
        plan["label_sets"] = {k: ml[k] for k in ("cardinality", "empty_rows", "distinct_label_sets", "rare_labels",
                                                  "rare_rule", "labels_test_not_train")} | {
            "top_pairs": ml["co_occurrence"]["top_pairs"]}
    decision = results_json["decision"]
    plan["enough_data"] = labels_advice(curve, decision, results_json["adapters"], bar)
    decision["labels_advice"] = plan["enough_data"].get("text")
    results_json["data_plan"] = plan
    lq, lk = plan.get("label_quality") or {}, plan.get("leakage") or {}
    results_json["timing"]["label_check_s"] = lq.get("seconds")
    results_json["timing"]["near_duplicates_s"] = lk.get("seconds")
    if lq.get("status") == "ok":
        results_json["files"]["label_issues"] = lq["file"]
        progress.message(f"label check: {lq['flagged']:,} of {lq['rows_checked']:,} train rows flagged as possibly "
                         f"mislabeled ({lq['share']:.1%}) in {lq['seconds']:.1f} s — {lq['file']}")
    elif lq.get("status") == "failed":
        progress.message(f"label check failed: {lq['reason']}")


def compare_with_previous(prev_dir: Path, adapters_json: list[dict[str, Any]], prev_id: str,
                          run_dir: Path | None = None, decision: dict[str, Any] | None = None,
                          metric: str = "macro_f1", why_run: dict[str, str] | None = None) -> dict[str, Any] | None:
    """What is new and what changed since the last run on the same split."""
    p = prev_dir / "results.json"
    if not p.exists():
        return None
    prev = json.loads(p.read_text(encoding="utf-8"))
    before = {a["name"]: a for a in prev.get("adapters", [])}
    now = {a["name"]: a for a in adapters_json}
    changes = []
    for name, a in now.items():
        b = before.get(name)
        if b is None or not b.get("metrics") or not a.get("metrics"):
            continue
        changes.append({"name": name, "macro_f1_before": b["metrics"]["macro_f1"], "macro_f1_now": a["metrics"]["macro_f1"],
                        "delta": a["metrics"]["macro_f1"] - b["metrics"]["macro_f1"]})
    out: dict[str, Any] = {"run_id": prev_id, "run_dir": str(prev_dir), "new": sorted(set(now) - set(before)),
                           "dropped": sorted(set(before) - set(now)), "changed": changes,
                           "verdict_before": (prev.get("decision") or {}).get("verdict"),
                           "choice_before": (prev.get("decision") or {}).get("choice"),
                           "finished_before": prev.get("finished")}
    if decision is not None:
        out.update(verdict_now=decision.get("verdict"), choice_now=decision.get("choice"),
                   verdict_moved=(out["verdict_before"], out["choice_before"]) != (decision.get("verdict"),
                                                                                    decision.get("choice")))
    # what ran again because its identity changed (options, version, model, packages), and what was reused
    if run_dir is not None:
        reconfigured = []
        for name in sorted(set(now) & set(before)):
            parts = identity_changes(load_identity(prev_dir, name), load_identity(run_dir, name))
            if parts:
                reconfigured.append({"name": name, "what": parts})
        out["reconfigured"] = reconfigured
    out["reused"] = {a["name"]: a["reused_from"] for a in adapters_json if a.get("reused_from")}
    if why_run is not None:
        out["ran"] = dict(why_run)
    for c in changes:  # the headline metric too, when it is not macro-F1
        a, b = now[c["name"]]["metrics"], before[c["name"]]["metrics"]
        c.update(metric=metric, before=b.get(metric), now=a.get(metric))
    return out
