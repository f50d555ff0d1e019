"""``baseline compare``: settings from flags and baseline.toml, the comparison run with progress, the outcome shown."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from baseline.cli.console import console as make_console
from baseline.cli.console import escape
from baseline.cli.exits import EXIT_FAILED_ADAPTERS, EXIT_INCOMPLETE, EXIT_OK
from baseline.cli.live import progress_display
from baseline.cli.options import (
    build_bar,
    build_options,
    label_inputs,
    named_bar,
    task_explicit,
    value_inputs,
)
from baseline.cli.printing import print_leaderboard, print_plan, print_profile
from baseline.errors import BadInput


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the comparison; print it (or its JSON); log it to MLflow when asked; exit by how the candidates ended."""
    from baseline.adapters.registry import Registry
    from baseline.config import load_config, pick
    from baseline.home import resolve_home, writable_out
    from baseline.pipeline import compare
    from baseline.store import Store

    cfg = load_config(args.config)
    mlf = cfg.get("mlflow") or {}
    use_mlflow = bool(args.mlflow or args.mlflow_uri or args.mlflow_experiment or mlf.get("enabled"))
    if use_mlflow:
        from baseline.tracking import require_mlflow

        require_mlflow(pick(args.mlflow_uri, mlf, "tracking_uri"))  # one line, exit 2, before anything runs
    opts, out = build_options(args, cfg)
    if not args.resume:
        writable_out(out)
    bar = build_bar(args, cfg, opts.metric)
    req = _request(args, cfg, opts, out)
    console = make_console(stderr=args.json)
    store = Store(resolve_home(args.home).history_path)
    show = progress_display(args, console)
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
        _print_outcome(console, results, run_dir)
    if use_mlflow:
        _log_to_mlflow(run_dir, results, pick(args.mlflow_uri, mlf, "tracking_uri"),
                       pick(args.mlflow_experiment, mlf, "experiment"))
    if results["failed"]:
        return EXIT_FAILED_ADAPTERS
    return EXIT_INCOMPLETE if results.get("incomplete") else EXIT_OK


def _request(args: argparse.Namespace, cfg: dict[str, Any], opts: Any, out: Path):
    """The ``CompareRequest``: data, candidates, reuse, business and task inputs (flags over ``[compare]``)."""
    from baseline.config import pick
    from baseline.pipeline import CompareRequest

    cc = cfg.get("compare", {})
    resamples = int(pick(args.resamples, cc, "resamples", 1000))
    if resamples < 100:
        raise BadInput(f"--resamples must be at least 100 (got {resamples})")
    fl = (opts.adapter_options.get("flaml") or {}).get("time_budget")
    if fl is not None and float(fl) <= 0:
        raise BadInput(f"--time-budget must be a positive number of seconds (got {fl})")
    return CompareRequest(
        data=pick(args.data, cc, "data"), text_col=pick(args.text_col, cc, "text_col"),
        label_col=pick(args.label_col, cc, "label_col"), split_col=pick(args.split_col, cc, "split_col"),
        test_size=float(pick(args.test_size, cc, "test_size", 0.25)), adapters=pick(args.adapters, cc, "adapters"),
        out=out, resume=Path(args.resume) if args.resume else None, resamples=resamples,
        learning_curve=bool(args.learning_curve or cc.get("learning_curve", False)),
        value=value_inputs(args, cfg), label_check=not (args.no_label_check or cc.get("label_check") is False),
        command="baseline " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        fresh=bool(args.fresh), rerun=[s.strip() for s in (args.rerun or "").split(",") if s.strip()],
        task_explicit=task_explicit(args, cc),
        metric_explicit=args.metric is not None or (cfg.get("bar") or {}).get("metric") is not None,
        bar_metric=named_bar(args)[0], **label_inputs(args, cc),
        margin_explicit=args.margin is not None or "margin" in (cfg.get("bar") or {}))


def _print_outcome(console, results: dict[str, Any], run_dir: Path) -> None:
    """The profile, leaderboard, verdict and plan lines, then where the report is."""
    print_profile(console, results["profile"])
    print_leaderboard(console, results)
    print_plan(console, results)
    console.print(f"\nreport: {run_dir / 'report.md'}" + (f" and {run_dir / 'report.html'}" if (run_dir / 'report.html').exists() else ""))


def _log_to_mlflow(run_dir: Path, results: dict[str, Any], uri: str | None, experiment: str | None) -> None:
    """Log the finished comparison to MLflow; a failure is one line, since the run folder is already complete."""
    from baseline.redact import one_line
    from baseline.tracking import log_comparison

    err = make_console(stderr=True)
    try:
        logged = log_comparison(run_dir, results, uri, experiment)
        err.print(escape(f"mlflow: run {logged['run_id']} in experiment {logged['experiment']!r} at "
                         f"{logged['tracking_uri']} ({len(logged['children']) - len(logged['reused'])} candidates "
                         f"logged, {len(logged['reused'])} reused from earlier runs)"))
    except Exception as e:  # the comparison itself is done and saved; say so in one line
        err.print(escape(f"mlflow logging failed (the run folder is complete): {one_line(e)}"))

