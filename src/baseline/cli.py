"""The ``baseline`` command line: compare, estimate, adapters, report, history, diff, gate, cleanup."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from baseline import __version__
from baseline.decide import DEFAULT_MARGIN
from baseline.errors import BadInput


def escape(text: str) -> str:
    """Rich markup escaping for text that may hold brackets (reasons, config keys)."""
    from rich.markup import escape as _escape

    return _escape(str(text))

EXIT_OK, EXIT_FAILED_ADAPTERS, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

COMPARE_EPILOG = """\
examples:
  baseline compare --task text-classification
  baseline compare --task text-classification --data tickets.csv --text-col body --label-col queue \\
      --adapters all --max-cost 5 --min-metric 0.85

Paid (cloud) adapters run only when named in --adapters or with --adapters all; otherwise they are
listed with their cost estimates. Credentials come from the SDKs' own chains (AWS profiles/env,
AZURE_LANGUAGE_ENDPOINT + AZURE_LANGUAGE_KEY or DefaultAzureCredential). azure-language-custom
classifies with a project and deployment you trained in Azure: training Azure custom models is out
of scope. Settings can live in baseline.toml ([compare], [bar], [adapters.<name>], [label_maps.<name>],
[prices]); flags override it.

The response cache and the run history live in a per-user home, not under --out, so reruns,
--resume and `baseline history` work from any folder: --home, else $BASELINE_HOME, else the platform's
cache/data folders (~/.cache/baseline and ~/.local/share/baseline on Linux). Ctrl-C, SIGTERM and
SIGHUP all stop the run the same way: billable resources are torn down first (a second interrupt
during teardown is refused), the run is marked interrupted, and `--resume` continues it after
deleting anything a killed run left (`baseline cleanup` does that on its own).

Reruns run only what is new: on data whose split matches an earlier finished run (same split hash),
every candidate whose identity is unchanged (adapter name and version, options, label map, seed,
model/API identity, package versions) is copied from the newest such run, predictions included, and
marked in the report with the run it came from and its date; new or changed candidates run. --fresh
reruns everything, --rerun a,b reruns those. The "since the last run" section says what is new, what
changed and whether the verdict moved.

exit codes: 0 success, 1 finished but some adapter failed, 2 bad input or configuration,
3 finished but some items went unanswered (an adapter ended "incomplete": the service gave no valid
answer after retries; or "stopped" by --max-cost): rerun, or --resume the run folder, to ask only
those items again. 1 wins over 3. 130 interrupted.
"""

HOME_HELP = ("per-user folder for the response cache and run history (default: $BASELINE_HOME, else "
             "~/.cache/baseline + ~/.local/share/baseline on Linux, ~/Library/... on macOS, %%LOCALAPPDATA%% on Windows)")


def _ray_data_min_rows(v: object) -> int | None:
    """``--ray-data-min-rows`` / ``ray_data_min_rows``: a whole number >= 0, or "off" (never)."""
    if isinstance(v, str) and v.strip().lower() == "off":
        return None
    try:
        n = int(v)  # type: ignore[call-overload]
        if isinstance(v, bool) or isinstance(v, float) or n < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise BadInput(f'ray_data_min_rows must be a whole number >= 0 or "off" (got {v!r})') from None
    return n


def _float(name: str):
    def conv(s: str) -> float:
        try:
            return float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {s!r}") from None
    return conv


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise BadInput(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="baseline", description="Is an off-the-shelf text classifier already good enough? "
                "Runs cloud services, pretrained models and AutoML on one frozen split and names the simplest viable option.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"baseline {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    def data_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--task", help="the task: text-classification (default; label sets joined by --label-sep "
                        "are read as multi-label, with a note) or multi-label-text-classification (alias multi-label)")
        sp.add_argument("--multi-label", action="store_true",
                        help="several labels per row: one column of labels joined by --label-sep, or --label-cols")
        sp.add_argument("--single-label", action="store_true",
                        help="one label per row, even when label values contain --label-sep (no detection)")
        sp.add_argument("--label-sep", help="multi-label: the character joining a row's labels in --label-col "
                        "(default '|'; an empty cell is the empty set)")
        sp.add_argument("--label-cols", metavar="A,B,C", help="multi-label: one 0/1 column per label "
                        "(instead of --label-col)")
        sp.add_argument("--data", help="CSV, TSV, JSONL, JSON or Parquet file (default: the bundled demo feedback data)")
        sp.add_argument("--text-col", help="column holding the text (auto-detected: text, sentence, body, ...)")
        sp.add_argument("--label-col", help="column holding the label (auto-detected: label, class, category, ...)")
        sp.add_argument("--split-col", help="column with train/test/validation; kept when present (auto-detected: split)")
        sp.add_argument("--test-size", type=_float("--test-size"), help="test share when the file has no split (default 0.25)")
        sp.add_argument("--seed", type=int, help="seed for the split, bootstrap and adapters (default 42)")
        sp.add_argument("--adapters", help="comma-separated adapter names, 'all', or omit for every free adapter")
        sp.add_argument("--config", help="path to baseline.toml (default: ./baseline.toml if present)")
        sp.add_argument("--json", action="store_true", help="print results as JSON on stdout")

    c = sub.add_parser("compare", help="run the candidates and write a report",
                       description="Run candidates on one frozen split; compare accuracy, cost and latency; decide.",
                       epilog=COMPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_args(c)
    c.add_argument("--out", help="folder for run folders (default: reports)")
    c.add_argument("--home", help=HOME_HELP)
    c.add_argument("--resume", metavar="RUN", help="finish an interrupted run (its folder, or its id from `baseline history`): "
                   "leftover billable resources are deleted first, finished adapters are kept, paid answers come from the cache, "
                   "incomplete/stopped adapters send only their unanswered items, and --max-cost counts what earlier "
                   "attempts spent")
    c.add_argument("--fresh", action="store_true", help="rerun every candidate: reuse no earlier result on this split")
    c.add_argument("--rerun", metavar="A,B", help="rerun these candidates even when an earlier run on the same split "
                   "has a result with the same identity (the others are still reused)")
    c.add_argument("--mlflow", action="store_true", help="log the comparison to MLflow (extra [mlflow]): a parent run "
                   "with the verdict, split hash and reports; a child run per candidate with options, metrics with CI "
                   "bounds, latency, cost and predictions. Tracking URI: --mlflow-uri, else $MLFLOW_TRACKING_URI")
    c.add_argument("--mlflow-uri", metavar="URI", help="MLflow tracking URI (implies --mlflow)")
    c.add_argument("--mlflow-experiment", metavar="NAME", help="MLflow experiment (default: the dataset's name; implies --mlflow)")
    c.add_argument("--max-cost", type=_float("--max-cost"), help="USD cap on what this run may spend on paid services")
    c.add_argument("--metric", help="headline metric: macro_f1 (single-label default), accuracy, weighted_f1; "
                   "multi-label: micro_f1 (default), macro_f1, samples_f1, accuracy (subset accuracy)")
    for m in BAR_METRICS:
        c.add_argument(f"--min-{m.replace('_', '-')}", dest=f"min_{m}", type=_float(f"--min-{m.replace('_', '-')}"),
                       help=argparse.SUPPRESS if m != "micro_f1" else
                       "bar on a named metric with the same CI rule (--min-macro-f1, --min-micro-f1, --min-samples-f1, "
                       "--min-accuracy, --min-weighted-f1)")
    c.add_argument("--min-metric", dest="min_metric", type=_float("--min-metric"),
                   help="bar: minimum headline metric")
    c.add_argument("--max-p95-ms", type=_float("--max-p95-ms"), help="bar: maximum p95 per-item latency (ms)")
    c.add_argument("--max-cost-per-1k", type=_float("--max-cost-per-1k"), help="bar: maximum USD per 1,000 predictions")
    c.add_argument("--max-one-off", type=_float("--max-one-off"), help="bar: maximum one-off USD (training, setup)")
    c.add_argument("--monthly-volume", type=int, help="predictions per month, for the cost projection and the business case")
    c.add_argument("--manual-cost-per-item", type=_float("--manual-cost-per-item"),
                   help="business case: USD to handle one item by hand (with --error-cost and --monthly-volume)")
    c.add_argument("--error-cost", type=_float("--error-cost"),
                   help="business case: USD cost of one wrong automatic decision")
    c.add_argument("--precision-target", type=_float("--precision-target"),
                   help="business case: automate only at this precision or better, e.g. 0.95 (default: the "
                   "threshold with the highest saving)")
    c.add_argument("--no-label-check", action="store_true",
                   help="skip the label-quality check (cleanlab, extra [data]) on the train split")
    c.add_argument("--margin", type=_float("--margin"), help="non-inferiority margin on the headline metric: a simpler candidate replaces the best only when shown "
                   "at most this much worse (default 0.02)")
    c.add_argument("--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps")
    c.add_argument("--threads", type=int, help="CPU threads for local models")
    c.add_argument("--executor", choices=("local", "ray"), help="where candidates run: this process (local, the "
                   "default) or Ray tasks (extra [ray]; paid adapters stay on the driver under one budget)")
    c.add_argument("--ray-address", help="with --executor ray: an existing cluster (ray://host:10001 or auto); "
                   "default: a local Ray instance for the run")
    c.add_argument("--ray-data-min-rows", help="with --executor ray: free local models predict through ray.data "
                   "batch inference when the test set has at least this many rows (default 20000; 0: always; off: never)")
    c.add_argument("--ray-data-actors", type=int, help="with --executor ray: a fixed pool of this many ray.data "
                   "actors per adapter (default: 1 up to as many as the cluster's CPUs hold)")
    c.add_argument("--time-budget", type=_float("--time-budget"), help="FLAML search budget in seconds (default 60)")
    c.add_argument("--learning-curve", action="store_true", help="refit trainable adapters on 10/25/50/100%% of train")
    c.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    c.add_argument("--latency-probe", type=int, help="single-item requests timed per free adapter (default 100)")
    c.add_argument("--no-progress", action="store_true",
                   help="no progress: neither the live display (terminal) nor the periodic progress lines "
                        "written to stderr when output is redirected (every $BASELINE_PROGRESS_INTERVAL s, 10)")

    e = sub.add_parser("estimate", help="billed units and USD per adapter, before paying (no credentials needed)")
    data_args(e)

    a = sub.add_parser("adapters", help="list adapters with family, availability and reason")
    a.add_argument("--json", action="store_true")
    a.add_argument("--config")
    a.add_argument("--task", default="text-classification",
                   help="availability for this task (text-classification, multi-label-text-classification)")

    r = sub.add_parser("report", help="re-render report.md/report.html from a run folder (runs nothing)")
    r.add_argument("run_dir")

    h = sub.add_parser("history", help="recorded runs per dataset with their verdicts (from any folder: the history "
                       "is in the per-user home)")
    h.add_argument("--home", help=HOME_HELP)
    h.add_argument("--out", help="only runs whose folder is under this folder")
    h.add_argument("--dataset", help="only runs on this dataset")
    h.add_argument("--limit", type=int, default=20)
    h.add_argument("--json", action="store_true")

    df = sub.add_parser("diff", help="what changed between two runs: candidates, metrics (paired on the same split), "
                        "verdict, cost",
                        description="Compare two runs (folders, run ids from `baseline history`, or 'latest'): "
                        "candidates added and removed, each common candidate's headline metric with the paired "
                        "difference and its 95%% CI when both runs share the split, what in its identity changed, "
                        "latency, cost, and the verdict.")
    df.add_argument("run_a", metavar="RUN_A")
    df.add_argument("run_b", metavar="RUN_B")
    df.add_argument("--home", help=HOME_HELP)
    df.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the paired CIs (default 1000)")
    df.add_argument("--json", action="store_true")

    g = sub.add_parser("gate", help="go / no-go for CI: exit 0 when a run's verdict and bar hold, 1 otherwise",
                       description="Exit 0 when the run's verdict and bar hold, 1 otherwise, with one line saying why "
                       "(2: bad input). Settings may live under [gate] in baseline.toml (require, candidate, min_metric, "
                       "max_p95_ms, max_cost_per_1k, against, max_drop); flags override them.",
                       epilog="examples:\n  baseline compare --config baseline.toml && baseline gate latest --require adopt\n"
                       "  baseline gate RUN --min-metric 0.8 --against PREVIOUS_RUN --max-drop 0.01",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("run", metavar="RUN", help="a run folder, a run id from `baseline history`, or 'latest'")
    g.add_argument("--require", choices=["adopt", "choice", "any"],
                   help="adopt: the verdict must be ADOPT; choice (default): it must name a choice (ADOPT or TOO CLOSE "
                   "TO CALL, not PIVOT); any: no verdict requirement")
    g.add_argument("--candidate", help="gate this candidate instead of the run's choice")
    g.add_argument("--min-metric", type=_float("--min-metric"), help="the candidate's headline metric must be at least this")
    g.add_argument("--max-p95-ms", type=_float("--max-p95-ms"), help="the candidate's p95 latency must be at most this")
    g.add_argument("--max-cost-per-1k", type=_float("--max-cost-per-1k"), help="its USD per 1,000 predictions must be at most this")
    g.add_argument("--against", metavar="RUN", help="an earlier run (folder, id or 'previous' for the run before RUN on "
                   "the same split): the candidate must not be worse than there by more than --max-drop")
    g.add_argument("--max-drop", type=_float("--max-drop"), help="allowed drop in the headline metric against --against "
                   "(default 0)")
    g.add_argument("--dataset", help="with 'latest': the latest run on this dataset")
    g.add_argument("--config", help="path to baseline.toml (default: ./baseline.toml if present)")
    g.add_argument("--home", help=HOME_HELP)

    k = sub.add_parser("cleanup", help="delete billable resources that interrupted or killed runs left behind",
                       description="Read the resource ledgers of a run (or of every run in the history) and delete "
                       "whatever is not confirmed deleted: endpoints, custom models, uploaded data. Resources whose "
                       "create call got no answer are found by their tags. Prints what it deleted.")
    k.add_argument("run", nargs="?", help="a run id (from `baseline history`) or run folder; default: every run with leftovers")
    k.add_argument("--home", help=HOME_HELP)
    k.add_argument("--config", help="path to baseline.toml, for adapter settings such as region or profile")
    k.add_argument("--dry-run", action="store_true", help="list the leftovers, delete nothing")
    k.add_argument("--json", action="store_true", help="print what was deleted and what is left as JSON")
    return p


def _console(stderr: bool = False):
    from rich.console import Console

    c = Console(stderr=stderr, highlight=False)
    if not c.is_terminal and "COLUMNS" not in os.environ:  # piped or logged: don't squeeze tables to 80 columns
        c = Console(stderr=stderr, highlight=False, width=180)
    return c


def _build_options(args: argparse.Namespace, cfg: dict[str, Any], with_cache: bool = True):
    from baseline.config import pick
    from baseline.costs import PriceTable
    from baseline.home import resolve_home
    from baseline.runner import RunOptions
    from baseline.store import ResponseCache

    cc = cfg.get("compare", {})
    adapter_options = {k: dict(v) for k, v in (cfg.get("adapters") or {}).items()}
    tb = getattr(args, "time_budget", None)
    if tb is not None:
        adapter_options.setdefault("flaml", {})["time_budget"] = tb
    out = Path(pick(getattr(args, "out", None), cc, "out", "reports"))
    threads = pick(getattr(args, "threads", None), cc, "threads")
    if threads is not None and threads < 1:
        raise BadInput(f"--threads must be at least 1 (got {threads})")
    latency_probe = pick(getattr(args, "latency_probe", None), cc, "latency_probe", 100)
    if latency_probe < 0:
        raise BadInput("--latency-probe must be zero or more")
    home = resolve_home(getattr(args, "home", None))
    if with_cache:
        home.ensure()
    opts = RunOptions(
        task=_task_name(args, cc), seed=int(pick(args.seed, cc, "seed", 42)),
        device=str(pick(getattr(args, "device", None), cc, "device", "auto")),
        threads=threads, metric=pick(getattr(args, "metric", None), cfg.get("bar", {}), "metric", "macro_f1"),
        max_cost=pick(getattr(args, "max_cost", None), cc, "max_cost"),
        latency_probe=int(latency_probe),
        adapter_options=adapter_options, label_maps={k: dict(v) for k, v in (cfg.get("label_maps") or {}).items()},
        prices=PriceTable.default().with_overrides(cfg.get("prices")),
        cache=ResponseCache(home.response_cache_path) if with_cache else None, cache_dir=home.models_dir,
        executor=str(pick(getattr(args, "executor", None), cc, "executor", "local")),
        ray_address=pick(getattr(args, "ray_address", None), cc, "ray_address"),
        ray_data_min_rows=_ray_data_min_rows(pick(getattr(args, "ray_data_min_rows", None), cc, "ray_data_min_rows",
                                                  20_000)),
        ray_data_actors=pick(getattr(args, "ray_data_actors", None), cc, "ray_data_actors"))
    if opts.ray_data_actors is not None and (isinstance(opts.ray_data_actors, bool)
                                             or not isinstance(opts.ray_data_actors, int) or opts.ray_data_actors < 1):
        raise BadInput(f"ray_data_actors must be a whole number >= 1 (got {opts.ray_data_actors!r})")
    if opts.executor not in ("local", "ray"):
        raise BadInput(f'executor must be "local" or "ray" (got {opts.executor!r})')
    if opts.ray_address and opts.executor != "ray":
        raise BadInput("--ray-address needs --executor ray")
    return opts, out


BAR_METRICS = ("macro_f1", "micro_f1", "samples_f1", "accuracy", "weighted_f1")


def _named_bar(args: argparse.Namespace) -> tuple[str | None, float | None]:
    """The ``--min-<metric>`` flag given (metric, value), or (None, None); two of them is bad input."""
    given = [(m, getattr(args, f"min_{m}", None)) for m in BAR_METRICS if getattr(args, f"min_{m}", None) is not None]
    if len(given) > 1 or (given and args.min_metric is not None):
        raise BadInput("give one metric bar: --min-metric (the headline) or one --min-<metric>")
    return given[0] if given else (None, None)


def _task_name(args: argparse.Namespace, cc: dict[str, Any]) -> str:
    """The task the flags name (``--multi-label`` / ``--single-label`` / ``--task``), default text-classification."""
    from baseline.config import pick
    from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION, get_task

    if getattr(args, "multi_label", False) and getattr(args, "single_label", False):
        raise BadInput("--multi-label and --single-label contradict each other: give one")
    task = pick(getattr(args, "task", None), cc, "task", TEXT_CLASSIFICATION)
    if getattr(args, "multi_label", False) or pick(None, cc, "multi_label", False):
        if get_task(task).name not in (TEXT_CLASSIFICATION, MULTI_LABEL):
            raise BadInput(f"--multi-label does not apply to --task {task}")
        return MULTI_LABEL
    return get_task(task).name


def _task_explicit(args: argparse.Namespace, cc: dict[str, Any]) -> bool:
    """Whether the user fixed the task, so the data is not inspected for label sets."""
    from baseline.tasks import TEXT_CLASSIFICATION

    return bool(getattr(args, "multi_label", False) or getattr(args, "single_label", False)
                or cc.get("multi_label") is not None or cc.get("single_label")
                or (getattr(args, "task", None) or cc.get("task") or TEXT_CLASSIFICATION) != TEXT_CLASSIFICATION)


def _label_inputs(args: argparse.Namespace, cc: dict[str, Any]) -> dict[str, Any]:
    """``--label-sep`` and ``--label-cols`` (flags over baseline.toml) for the task's reader."""
    from baseline.config import pick

    cols = pick(getattr(args, "label_cols", None), cc, "label_cols")
    if isinstance(cols, str):
        cols = [c.strip() for c in cols.split(",") if c.strip()]
    if cols is not None and getattr(args, "label_col", None):
        raise BadInput("--label-col and --label-cols both given: one column of joined labels, or one 0/1 column "
                       "per label")
    sep = pick(getattr(args, "label_sep", None), cc, "label_sep", "|")
    return {"label_sep": sep, "label_cols": cols or None}


def _bar(args: argparse.Namespace, cfg: dict[str, Any], metric: str):
    from baseline.config import pick
    from baseline.decide import Bar

    b = cfg.get("bar", {})
    _, named = _named_bar(args)
    min_metric = (args.min_metric if args.min_metric is not None else named if named is not None
                  else b.get("min_metric", b.get(f"min_{metric}")))
    bar = Bar(metric=metric, min_metric=min_metric,
              max_p95_ms=pick(args.max_p95_ms, b, "max_p95_ms"),
              max_cost_per_1k=pick(args.max_cost_per_1k, b, "max_cost_per_1k"),
              max_one_off=pick(args.max_one_off, b, "max_one_off"),
              monthly_volume=pick(args.monthly_volume, b, "monthly_volume"),
              margin=pick(args.margin, b, "margin", DEFAULT_MARGIN))
    for name in ("max_p95_ms", "max_cost_per_1k", "max_one_off", "monthly_volume"):
        v = getattr(bar, name)
        if v is not None and v < 0:
            raise BadInput(f"--{name.replace('_', '-')} must be zero or more (got {v})")
    if bar.min_metric is not None and not 0 <= bar.min_metric <= 1:
        raise BadInput(f"--min-metric must be between 0 and 1 (got {bar.min_metric})")
    if bar.margin < 0:
        raise BadInput("--margin must be zero or more")
    return bar


def _value_inputs(args: argparse.Namespace, cfg: dict[str, Any]):
    """The business-case inputs from flags, else ``[business]`` in baseline.toml (monthly volume comes from the bar)."""
    from baseline.business import ValueInputs
    from baseline.config import pick

    b = cfg.get("business", {})
    v = ValueInputs(manual_cost_per_item=pick(args.manual_cost_per_item, b, "manual_cost_per_item"),
                    error_cost=pick(args.error_cost, b, "error_cost"),
                    precision_target=pick(args.precision_target, b, "precision_target"))
    for name in ("manual_cost_per_item", "error_cost"):
        x = getattr(v, name)
        if x is not None and x < 0:
            raise BadInput(f"--{name.replace('_', '-')} must be zero or more (got {x})")
    if v.precision_target is not None and not 0 < v.precision_target <= 1:
        raise BadInput(f"--precision-target must be above 0 and at most 1 (got {v.precision_target})")
    return v


class RichProgress:
    """Live progress for the runner's callbacks."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.p = Progress(TextColumn("[bold]{task.fields[adapter]:<26}"), TextColumn("{task.description:<8}"),
                          BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self):
        self.p.__enter__()
        return self

    def __exit__(self, *a):
        self.p.__exit__(*a)

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None:
        if adapter not in self.tasks:
            self.tasks[adapter] = self.p.add_task(stage, adapter=adapter, total=total)
        else:
            self.p.update(self.tasks[adapter], description=stage, total=total, completed=0)

    def advance(self, adapter: str, n: int) -> None:
        if adapter in self.tasks:
            self.p.advance(self.tasks[adapter], n)

    def message(self, text: str) -> None:
        from baseline.redact import redact

        self.p.console.print(f"  {escape(redact(text))}")

    def done(self, result) -> None:
        t = self.tasks.get(result.name)
        style = {"ok": "green", "failed": "red"}.get(result.status, "yellow")
        if t is None:
            t = self.tasks[result.name] = self.p.add_task("", adapter=result.name, total=1)
        self.p.update(t, description=f"[{style}]{result.status}[/]", completed=self.p.tasks[t].total or 1)
        if result.status not in ("ok",):
            self.p.console.print(f"  [{style}]{result.name}: {result.status}[/] — {escape(result.reason)}")


class QuietProgress:
    def __init__(self, console) -> None:
        self.console = console

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return None

    def stage(self, *a, **k) -> None: ...
    def advance(self, *a, **k) -> None: ...

    def message(self, text: str) -> None:
        from baseline.redact import redact

        self.console.print(f"  {escape(redact(text))}")

    def done(self, result) -> None:
        self.console.print(escape(f"  {result.name}: {result.status}" + (f" — {result.reason}" if result.reason else "")))


def print_profile(console, prof: dict[str, Any]) -> None:
    rows = ", ".join(f"{k} {v:,}" for k, v in prof["rows"].items())
    console.print(f"[bold]{prof['dataset']}[/]: {rows} rows · {prof['classes']} classes "
                  f"(majority {prof['majority_share']:.0%}) · split: {prof['split_source']} · "
                  f"median {prof['text_chars']['train']['median']:.0f} chars")
    warn = []
    if prof["exact_duplicate_rows"]:
        warn.append(f"{prof['exact_duplicate_rows']} exact duplicate rows")
    if prof["test_texts_in_train"]:
        warn.append(f"{prof['test_texts_in_train']} test rows also in train after normalisation (leakage)")
    if prof.get("labels_test_not_train"):
        lt = prof["labels_test_not_train"]
        warn.append(f"{len(lt)} label(s) in test but never in train ({', '.join(lt[:5])}{' …' if len(lt) > 5 else ''})")
    if prof["conflicting_label_texts"]:
        warn.append(f"{prof['conflicting_label_texts']} texts with conflicting labels")
    for n in prof.get("notes", []):
        warn.append(n)
    if warn:
        console.print("[yellow]data:[/] " + escape("; ".join(warn)))


def print_leaderboard(console, results: dict[str, Any]) -> None:
    from rich.table import Table

    from baseline.report.markdown import leaderboard_rows

    metric = results["settings"]["metric"]
    t = Table(title=f"Leaderboard — {results['dataset']['name']} ({results['split']['rows'].get('test')} test rows)")
    for h in ["adapter", "family", f"{metric} [95% CI]", "accuracy [95% CI]", "coverage", "vs best", "p50 ms",
              "p95 ms", "items/s", "$/1k", "one-off", "status"]:
        t.add_column(h, overflow="fold")
    for row in leaderboard_rows(results):
        t.add_row(*(escape(c) for c in row))
    console.print(t)
    for a in results["adapters"]:
        if not a.get("metrics"):
            console.print(f"  [yellow]{a['name']}[/]: {a['status']} — {escape(a['reason'])}")
    for n in results.get("not_run") or []:
        est = n.get("total_usd")
        priced = est is not None and (est > 0 or not n.get("note"))
        why = "paid" if n.get("paid") else f"not run by default: {n.get('not_by_default') or 'slow'}"
        console.print(f"  [dim]{n['name']}[/]: {escape(why)}, not run (name it in --adapters); estimate "
                      + (f"${est:.4f}" if priced else escape(f"n/a ({n.get('note') or 'no estimate'})"))
                      + ("" if n["available"] else f"; unavailable: {escape(n['reason'])}"))
    sp = results.get("spend") or {}
    if any(a.get("paid") for a in results["adapters"]):
        earlier = (sp.get("ledger") or {}).get("earlier_attempts_possibly_billed_usd") or 0.0
        console.print(f"  spend: billed ${sp.get('billed_now_usd', 0.0):.4f}, possibly billed "
                      f"${sp.get('possibly_billed_now_usd', 0.0):.4f}" + (f" (earlier attempts ${earlier:.4f})" if earlier else ""))
    for u in results.get("unanswered") or []:
        console.print(f"  [yellow]{u['name']}[/]: {u['unanswered']} of {u['of']} items unanswered — "
                      f"{escape(u['first_errors'][0])}")
    d = results["decision"]
    colour = {"ADOPT": "green", "PIVOT": "red"}.get(d["verdict"], "yellow")
    console.print(f"\n[bold {colour}]{d['verdict']}[/]" + (f" [bold]{d['choice']}[/]" if d.get("choice") else "")
                  + f" — {escape(d['reason'])}")


def print_plan(console, results: dict[str, Any]) -> None:
    """One line each: the business case of the verdict's candidate, label quality, leakage, enough data."""
    from baseline.report.plan_view import business_view, data_plan_view

    bz = business_view(results)
    console.print(escape(f"  business case: {bz['summary'] or 'see the report'}" if bz["show"] else f"  {bz['text']}"))
    dp = data_plan_view(results)
    if dp:
        console.print(escape(f"  labels: {dp['labels'][0]}"))
        console.print(escape(f"  leakage: {dp['leak'][0]}"))
    if (results.get("decision") or {}).get("labels_advice"):
        console.print(escape(f"  enough data? {results['decision']['labels_advice']}"))


def cmd_compare(args: argparse.Namespace) -> int:
    from baseline.adapters.registry import Registry
    from baseline.config import load_config, pick
    from baseline.home import resolve_home, writable_out
    from baseline.pipeline import CompareRequest, compare
    from baseline.store import Store

    cfg = load_config(args.config)
    cc = cfg.get("compare", {})
    mlf = cfg.get("mlflow") or {}
    use_mlflow = bool(args.mlflow or args.mlflow_uri or args.mlflow_experiment or mlf.get("enabled"))
    if use_mlflow:
        from baseline.tracking import require_mlflow

        require_mlflow(pick(args.mlflow_uri, mlf, "tracking_uri"))  # one line, exit 2, before anything runs
    opts, out = _build_options(args, cfg)
    if not args.resume:
        writable_out(out)
    bar = _bar(args, cfg, opts.metric)
    resamples = int(pick(args.resamples, cc, "resamples", 1000))
    if resamples < 100:
        raise BadInput(f"--resamples must be at least 100 (got {resamples})")
    fl = (opts.adapter_options.get("flaml") or {}).get("time_budget")
    if fl is not None and float(fl) <= 0:
        raise BadInput(f"--time-budget must be a positive number of seconds (got {fl})")
    req = CompareRequest(
        data=pick(args.data, cc, "data"), text_col=pick(args.text_col, cc, "text_col"),
        label_col=pick(args.label_col, cc, "label_col"), split_col=pick(args.split_col, cc, "split_col"),
        test_size=float(pick(args.test_size, cc, "test_size", 0.25)), adapters=pick(args.adapters, cc, "adapters"),
        out=out, resume=Path(args.resume) if args.resume else None, resamples=resamples,
        learning_curve=bool(args.learning_curve or cc.get("learning_curve", False)),
        value=_value_inputs(args, cfg), label_check=not (args.no_label_check or cc.get("label_check") is False),
        command="baseline " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        fresh=bool(args.fresh), rerun=[s.strip() for s in (args.rerun or "").split(",") if s.strip()],
        task_explicit=_task_explicit(args, cc),
        metric_explicit=args.metric is not None or (cfg.get("bar") or {}).get("metric") is not None,
        bar_metric=_named_bar(args)[0], **_label_inputs(args, cc))
    console = _console(stderr=args.json)
    store = Store(resolve_home(args.home).history_path)
    if args.no_progress or args.json:
        show = QuietProgress
    elif console.is_terminal:
        show = RichProgress
    else:  # redirected to a log: periodic one-line progress on stderr (stage, done/total, rate, ETA)
        from baseline.progress import LineProgress

        interval = float(os.environ.get("BASELINE_PROGRESS_INTERVAL", "10"))
        show = lambda console: LineProgress(interval=interval)  # noqa: E731
    try:
        with show(console) as progress:
            results, run_dir = compare(req, Registry.discover(), opts, bar, store, progress)
    except KeyboardInterrupt as e:
        run_id = store.mark_interrupted(os.getpid())
        how = f" ({e.args[0]})" if e.args and str(e.args[0]).startswith("SIG") else ""
        console.print(f"[red]interrupted{how}[/]: billable resources were torn down and finished adapters are "
                      f"saved; continue with `baseline compare ... --resume {run_id or '<run folder>'}` "
                      "(paid answers come from the cache)")
        return 130
    finally:
        store.close()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False, default=float))
    else:
        print_profile(console, results["profile"])
        print_leaderboard(console, results)
        print_plan(console, results)
        console.print(f"\nreport: {run_dir / 'report.md'}" + (f" and {run_dir / 'report.html'}" if (run_dir / 'report.html').exists() else ""))
    if use_mlflow:
        from baseline.redact import one_line
        from baseline.tracking import log_comparison

        err = _console(stderr=True)
        try:
            logged = log_comparison(run_dir, results, pick(args.mlflow_uri, mlf, "tracking_uri"),
                                    pick(args.mlflow_experiment, mlf, "experiment"))
            err.print(escape(f"mlflow: run {logged['run_id']} in experiment {logged['experiment']!r} at "
                             f"{logged['tracking_uri']} ({len(logged['children']) - len(logged['reused'])} candidates "
                             f"logged, {len(logged['reused'])} reused from earlier runs)"))
        except Exception as e:  # the comparison itself is done and saved; say so in one line
            err.print(escape(f"mlflow logging failed (the run folder is complete): {one_line(e)}"))
    if results["failed"]:
        return EXIT_FAILED_ADAPTERS
    return EXIT_INCOMPLETE if results.get("incomplete") else EXIT_OK


def cmd_estimate(args: argparse.Namespace) -> int:
    from baseline.adapters.registry import Registry
    from baseline.config import load_config, pick
    from baseline.data import demo_dataset_path
    from baseline.pipeline import estimate_adapters

    cfg = load_config(args.config)
    cc = cfg.get("compare", {})
    args.out = None
    opts, _ = _build_options(args, cfg, with_cache=False)
    Registry.discover().check_options(opts.adapter_options)
    from baseline.pipeline import QuietTaskProgress, load_for_task
    from baseline.tasks import TaskInputs, get_task

    inputs = TaskInputs(path=str(pick(args.data, cc, "data") or demo_dataset_path()),
                        text_col=pick(args.text_col, cc, "text_col"), label_col=pick(args.label_col, cc, "label_col"),
                        split_col=pick(args.split_col, cc, "split_col"), explicit=_task_explicit(args, cc),
                        **_label_inputs(args, cc))
    ds, task = load_for_task(get_task(opts.task), inputs, QuietTaskProgress())
    opts = replace(opts, task=task.name)
    split = task.split(ds, float(pick(args.test_size, cc, "test_size", 0.25)), opts.seed)
    reg = Registry.discover()
    spec = pick(args.adapters, cc, "adapters") or "all"
    names, _ = reg.select(spec)
    rows = estimate_adapters(reg, names, split, opts)
    if args.json:
        print(json.dumps({"dataset": ds.name, "test_rows": len(split.test), "train_rows": len(split.train),
                          "price_table_date": opts.prices.effective_date, "adapters": rows}, indent=2, default=float))
        return EXIT_OK
    from rich.table import Table

    t = Table(title=f"Estimated cost — {ds.name}: {len(split.train):,} train / {len(split.test):,} test rows "
              f"(prices as of {opts.prices.effective_date})")
    for h in ["adapter", "family", "paid", "billed units", "one-off", "predict", "total", "where", "note"]:
        t.add_column(h, overflow="fold")
    for r in rows:
        units = ", ".join(f"{k} {v:,.0f}" for k, v in (r.get("units") or {}).items())
        if r["paid"]:
            money = [f"${r[k]:.4f}" if r.get(k) is not None else "—" for k in ("one_off_usd", "predict_usd", "total_usd")]
        else:  # local compute is priced from measured seconds after the run
            money = ["measured"] * 3
        t.add_row(r["name"], r["family"], "yes" if r["paid"] else "no", units, *money, r.get("where") or "",
                  escape((r.get("note") or "") + ("" if r["available"] else f" (unavailable: {r['reason']})")))
    _console().print(t)
    return EXIT_OK


def cmd_adapters(args: argparse.Namespace) -> int:
    from baseline.adapters.registry import Registry
    from baseline.config import load_config
    from baseline.tasks import get_task

    cfg = load_config(args.config)
    task = get_task(args.task).name
    reg = Registry.discover()
    rows = []
    for name in reg.names():
        e = reg.get(name)
        av = e.availability(task, (cfg.get("adapters") or {}).get(name, {}))
        cls = e.cls
        rows.append({"name": name, "family": e.family, "simplicity": cls.simplicity if cls else None,
                     "paid": bool(cls and cls.paid), "available": av.ok, "reason": av.reason,
                     "description": cls.description if cls else ""})
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    from rich.table import Table

    t = Table(title=f"baseline adapters for {task} (entry-point group baseline.adapters)")
    for h in ["adapter", "family", "rank", "paid", "available", "reason / description"]:
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(r["name"], r["family"], str(r["simplicity"]), "yes" if r["paid"] else "no",
                  "[green]yes[/]" if r["available"] else "[red]no[/]", escape(r["reason"] or r["description"]))
    _console().print(t)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from baseline.report import render

    written = render(args.run_dir)
    for p in written:
        print(p)
    return EXIT_OK


def _open_history(args: argparse.Namespace):
    from baseline.home import resolve_home
    from baseline.store import Store

    home = resolve_home(args.home)
    path = home.history_path
    if not path.exists():
        raise BadInput(f"no run history in {home.data_dir} ({home.source}) yet: run `baseline compare` first "
                       "(or pass --home / set BASELINE_HOME to the home your runs used)")
    return Store(path)


def cmd_history(args: argparse.Namespace) -> int:
    from baseline.cleanup import run_leftovers

    store = _open_history(args)
    path = store.path
    try:
        runs = store.runs(args.dataset, 1_000_000 if args.out else args.limit)
    finally:
        store.close()
    if args.out:
        under = Path(args.out).resolve()
        runs = [r for r in runs if Path(r["run_dir"]).resolve().is_relative_to(under)][: args.limit]
    if not runs and args.out:
        raise BadInput(f"no recorded runs under {args.out}: run `baseline compare --out {args.out}` first")
    from baseline.workflow import history_reuse

    for r in runs:
        r["leftovers"] = sum(len(v) for v in run_leftovers(Path(r["run_dir"])).values())
        r.update(history_reuse(r["run_dir"]))
    if args.json:
        print(json.dumps(runs, indent=2))
        return EXIT_OK
    from rich.table import Table

    con = _console()
    for dataset in dict.fromkeys(r["dataset"] for r in runs):  # one table per dataset, newest first
        t = Table(title=f"{escape(dataset)} — runs and verdicts ({path})")
        for h in ["run", "started (UTC)", "split", "adapters", "reused", "best", "verdict", "status", "leftovers"]:
            t.add_column(h, overflow="fold")
        for r in (x for x in runs if x["dataset"] == dataset):
            left = f"[red]{r['leftovers']} (baseline cleanup {r['run_id']})[/]" if r["leftovers"] else "—"
            t.add_row(escape(r["run_id"]), r["started"], r["split_hash"][:10],
                      escape(", ".join(r["adapters"])), escape(", ".join(r.get("reused") or []) or "—"),
                      escape(r["best"] or "—"), escape(r["verdict"] or "—"), r["status"], left)
        con.print(t)
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    from baseline.adapters.registry import Registry
    from baseline.cleanup import cleanup_run, run_leftovers
    from baseline.config import load_config
    from baseline.store import STATUS_RUNNING

    cfg = load_config(args.config)
    options = {k: dict(v) for k, v in (cfg.get("adapters") or {}).items()}
    registry = Registry.discover()
    registry.check_options(options)
    store = _open_history(args)
    try:
        if args.run:
            row = store.find(args.run)
            if row is None and (Path(args.run) / "adapters").is_dir():  # a run folder this home never recorded
                row = {"run_id": Path(args.run).resolve().name, "run_dir": str(Path(args.run).resolve()), "status": "?"}
            if row is None:
                raise BadInput(f"no run {args.run!r} in the history: `baseline history` lists run ids")
            rows = [row]
        else:
            rows = [r for r in store.runs(limit=1_000_000) if run_leftovers(Path(r["run_dir"]))]
    finally:
        store.close()
    err = _console(stderr=True)
    reports = []
    for r in rows:
        if r["status"] == STATUS_RUNNING:  # still alive on this machine (a dead one reads "interrupted")
            err.print(f"{escape(r['run_id'])}: still running (pid {r.get('pid')}), not touched")
            continue
        if args.dry_run:
            left = run_leftovers(Path(r["run_dir"]))
            reports.append({"run_id": r["run_id"], "run_dir": r["run_dir"], "deleted": [], "errors": [],
                            "left": [{"adapter": a, "kind": x.get("kind"), "id": x.get("id"), "state": x.get("state")}
                                     for a, xs in left.items() for x in xs]})
            continue
        rep = cleanup_run(Path(r["run_dir"]), registry, options, r["run_id"],
                          log=lambda s: err.print(escape(s)))
        reports.append(rep.to_json())
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        if not reports:
            print("nothing to clean up: every recorded resource is confirmed deleted")
        for rep in reports:
            for d in rep["deleted"]:
                print(f"{rep['run_id']}: deleted {d['kind']} {d['id']} ({d['adapter']})")
            for d in rep["left"]:
                print(f"{rep['run_id']}: {'left' if args.dry_run else 'STILL LEFT'}: {d['kind']} {d['id']} "
                      f"({d['adapter']}, {d.get('state') or 'unknown'})")
            for e in rep["errors"]:
                print(f"{rep['run_id']}: cleanup failed: {e}")
    failed = any(rep["left"] or rep["errors"] for rep in reports)
    return EXIT_FAILED_ADAPTERS if failed and not args.dry_run else EXIT_OK


def _store_or_none(args: argparse.Namespace):
    from baseline.home import resolve_home
    from baseline.store import Store

    path = resolve_home(getattr(args, "home", None)).history_path
    return Store(path) if path.exists() else None


def cmd_diff(args: argparse.Namespace) -> int:
    from baseline.workflow import diff_runs, resolve_run

    if args.resamples < 100:
        raise BadInput(f"--resamples must be at least 100 (got {args.resamples})")
    store = _store_or_none(args)
    try:
        a, b = resolve_run(args.run_a, store), resolve_run(args.run_b, store)
    finally:
        if store is not None:
            store.close()
    d = diff_runs(a, b, args.resamples)
    if args.json:
        print(json.dumps(d, indent=2, default=float))
        return EXIT_OK
    from rich.table import Table

    from baseline.decide import metric_name
    from baseline.report.view import ms, signed, usd

    con = _console()
    con.print(f"[bold]A[/] {escape(d['a']['run_id'])} ({d['a']['dataset']}, {d['a']['finished']}): {escape(d['a']['verdict'])}")
    con.print(f"[bold]B[/] {escape(d['b']['run_id'])} ({d['b']['dataset']}, {d['b']['finished']}): {escape(d['b']['verdict'])}")
    con.print("verdict " + ("[yellow]moved[/]" if d["verdict_moved"] else "unchanged")
              + ("" if d["same_split"] else " · [yellow]different splits: differences are not paired[/]"))
    if d["added"]:
        con.print(f"added in B: {escape(', '.join(d['added']))}")
    if d["removed"]:
        con.print(f"not in B: {escape(', '.join(d['removed']))}")
    mn = metric_name(d["metric"])
    t = Table(title=f"candidates in both runs ({mn}, B − A)")
    for h in ["candidate", f"{mn} A", f"{mn} B", "B − A [95% CI, paired]", "p95 ms A → B", "cost / 1k A → B",
              "changed", "status A → B"]:
        t.add_column(h, overflow="fold")
    for c in d["candidates"]:
        p = c["paired"]
        diff = (f"{signed(p['difference'])} [{signed(p['ci'][0])}, {signed(p['ci'][1])}]" if p
                else signed(c["difference"]) if c["difference"] is not None else "—")
        changed = ", ".join(c["changed"]) or ("reused" if c["reused_from"] else "—")
        t.add_row(c["name"], f"{c['metric'][0]:.3f}" if c["metric"][0] is not None else "—",
                  f"{c['metric'][1]:.3f}" if c["metric"][1] is not None else "—", diff,
                  f"{ms(c['p95_ms'][0])} → {ms(c['p95_ms'][1])}", f"{usd(c['per_1k_usd'][0])} → {usd(c['per_1k_usd'][1])}",
                  escape(changed), " → ".join(str(s) for s in c["status"]))
    con.print(t)
    con.print(f"billed by the run: A {usd(d['billed_usd'][0])}, B {usd(d['billed_usd'][1])}")
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from baseline.config import load_config, pick
    from baseline.workflow import gate, load_run, resolve_run

    gc = load_config(args.config).get("gate") or {}
    store = _store_or_none(args)
    try:
        run_dir = resolve_run(args.run, store, pick(args.dataset, gc, "dataset"))
        r = load_run(run_dir)
        against = pick(args.against, gc, "against")
        old = None
        if against == "previous":
            earlier = [x for x in (store.runs_on_split(r["split"]["hash"], r["run_id"]) if store is not None else [])
                       if str(x["started"]) < str(r["started"]) and (Path(x["run_dir"]) / "results.json").exists()]
            prev = earlier[0] if earlier else None
            if prev is None:
                raise BadInput(f"--against previous: no earlier finished run on run {r['run_id']}'s split")
            old_dir = Path(prev["run_dir"])
            old = (load_run(old_dir), old_dir)
        elif against:
            old_dir = resolve_run(str(against), store)
            old = (load_run(old_dir), old_dir)
    finally:
        if store is not None:
            store.close()
    max_drop = float(pick(args.max_drop, gc, "max_drop", 0.0))
    if max_drop < 0:
        raise BadInput(f"--max-drop must be zero or more (got {max_drop})")
    ok, line = gate(r, run_dir, require=pick(args.require, gc, "require", "choice"),
                    candidate=pick(args.candidate, gc, "candidate"), min_metric=pick(args.min_metric, gc, "min_metric"),
                    max_p95_ms=pick(args.max_p95_ms, gc, "max_p95_ms"),
                    max_cost_per_1k=pick(args.max_cost_per_1k, gc, "max_cost_per_1k"), against=old, max_drop=max_drop)
    if ok:
        print(f"gate passed: {line}")
        return EXIT_OK
    print(f"gate failed: {line}", file=sys.stderr)
    return EXIT_FAILED_ADAPTERS


COMMANDS = {"compare": cmd_compare, "estimate": cmd_estimate, "adapters": cmd_adapters, "report": cmd_report,
            "history": cmd_history, "cleanup": cmd_cleanup, "diff": cmd_diff, "gate": cmd_gate}


# A third-party warning (scikit-learn's config propagation, triggered inside FLAML's search) that
# says nothing about the user's run but can print hundreds of lines; silenced here and in workers.
_NOISY_WARNING = "`sklearn.utils.parallel.delayed` should be used"


def _quiet_known_warnings() -> None:
    import warnings

    warnings.filterwarnings("ignore", message=re.escape(_NOISY_WARNING), category=UserWarning)
    rule = f"ignore:{_NOISY_WARNING}:UserWarning"
    current = os.environ.get("PYTHONWARNINGS", "")
    if rule not in current:  # worker processes read it at start-up
        os.environ["PYTHONWARNINGS"] = f"{current},{rule}" if current else rule


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _quiet_known_warnings()
    from baseline.interrupts import interrupts_as_keyboard_interrupt
    from baseline.redact import redact

    try:
        args = build_parser().parse_args(argv)
        if not args.cmd:
            build_parser().print_help()
            return EXIT_BAD_INPUT
        with interrupts_as_keyboard_interrupt():  # SIGTERM / SIGHUP: the same path as Ctrl-C
            return COMMANDS[args.cmd](args)
    except BadInput as e:
        print(f"error: {redact(str(e))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # a crash still prints its traceback, with every known credential masked
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        return EXIT_FAILED_ADAPTERS


if __name__ == "__main__":
    sys.exit(main())
