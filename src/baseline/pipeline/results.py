"""``results.json`` put together: the run's settings and outcome, provenance, spend, then the report figures, the
business case and the data plan derived from it."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from baseline import RESULTS_SCHEMA_VERSION, __version__
from baseline.data import Split
from baseline.dataplan import label_check_rows, scans_pairs
from baseline.decide import Bar
from baseline.ledger import SpendLedger
from baseline.metrics import Evaluation
from baseline.pipeline.inputs import CompareRequest, Inputs
from baseline.pipeline.memory import release_memory
from baseline.runner import (
    STATUS_INCOMPLETE,
    STATUS_STOPPED,
    AdapterResult,
    Progress,
    RunOptions,
    unanswered_summary,
)
from baseline.tasks import Task

PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "transformers", "sentence-transformers",
            "flaml", "lightgbm", "xgboost", "boto3", "botocore", "azure-ai-textanalytics", "azure-core")

SPEND_NOTE = ("billed = requests answered (confirmed); possibly billed adds every attempt that may have reached "
              "the service without an answer coming back (dropped connection, read timeout, server error, "
              "unusable answer), priced at what it would bill; --max-cost is enforced on possibly billed, "
              "across resumes")


def provenance() -> dict[str, Any]:
    """The versions and machine behind the figures: baseline, Python, platform, CPUs and the packages that matter."""
    pk = {}
    for p in PACKAGES:
        try:
            pk[p] = version(p)
        except PackageNotFoundError:
            continue
    return {"baseline": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "packages": pk}


def spend_summary(results: list[AdapterResult], opts: RunOptions, ledger: SpendLedger) -> dict[str, Any]:
    """What this run's own paid requests billed and possibly billed (a reused result was paid for by its own run)."""
    paid = [r for r in results if r.paid and not r.reused_from]
    return {
        "billed_now_usd": sum(float(r.cost.get("billed_now_usd") or 0.0) for r in paid),
        "possibly_billed_now_usd": sum(float(r.cost.get("possibly_billed_now_usd", r.cost.get("billed_now_usd")) or 0.0)
                                       for r in paid),
        "max_cost": opts.max_cost, "ledger": ledger.summary(), "note": SPEND_NOTE,
    }


def build_results(req: CompareRequest, inp: Inputs, opts: RunOptions, bar: Bar, *, run_id: str, started: str,
                  finished: str, results: list[AdapterResult], adapters_json: list[dict[str, Any]],
                  ev: Evaluation, decision: dict[str, Any], curve: Any, previous: dict[str, Any] | None,
                  not_run: list[dict[str, Any]], reused: dict[str, AdapterResult],
                  why_run: dict[str, str], ledger: SpendLedger,
                  timing: dict[str, Any]) -> dict[str, Any]:
    """Everything the report shows, as one plain dict (the report figures and plans are added after)."""
    ds, split, prof = inp.ds, inp.split, inp.prof
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "command": req.command,
        "task": opts.task,
        "task_info": inp.task.describe(),
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
        "failed": [r.name for r in results if r.status == "failed"],
        "incomplete": [r.name for r in results if r.status in (STATUS_INCOMPLETE, STATUS_STOPPED)],
        "unanswered": unanswered_summary(results),
        "spend": spend_summary(results, opts, ledger),
        "prices": {"effective_date": opts.prices.effective_date,
                   "source_note": opts.prices.data.get("source_note", "")},
        "timing": timing,
        "provenance": provenance(),
        "files": {"predictions": "predictions.csv", "split": "split.csv", "profile": "profile.json",
                  "report_md": "report.md", "report_html": "report.html"},
    }


def keep_label_rows(req: CompareRequest, task: Task, split: Split, seed: int) -> tuple[pd.DataFrame, int | None] | None:
    """The rows the label check needs, taken before the split's texts are dropped (kept whole only when the
    near-duplicate scan will run at this size): no later stage reads the texts except the data plan."""
    check_labels = req.label_check and task.applies("label_quality")
    label_rows = label_check_rows(split.train, seed) if check_labels else None
    if not scans_pairs(len(split.train), len(split.test)):
        split.drop_texts()
        release_memory()
    return label_rows


def add_analysis(results_json: dict[str, Any], run_dir: Path, opts: RunOptions) -> None:
    """The report's derived figures, from predictions.csv, with the time they took."""
    from baseline.analysis import analyze_run

    t = time.perf_counter()
    results_json["analysis"] = analyze_run(results_json, run_dir, opts.prices)  # report figures from predictions.csv
    results_json["timing"]["analysis_s"] = time.perf_counter() - t
    release_memory()


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
    plan = data_plan(split, results_json, run_dir, seed, check, label_rows, skip_reason=skip,
                     near_duplicates_reason=None if task is None else task.not_applicable.get("near_duplicates"))
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
