"""``baseline report``, ``diff`` and ``gate``: a finished run re-rendered, two runs compared, a run held to a bar."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from baseline.cli.console import console, escape
from baseline.cli.exits import EXIT_FAILED_ADAPTERS, EXIT_OK
from baseline.cli.history import store_or_none
from baseline.errors import BadInput


def cmd_report(args: argparse.Namespace) -> int:
    """Re-render report.md and report.html from a run folder's results.json; nothing runs."""
    from baseline.report import render

    written = render(args.run_dir)
    for p in written:
        print(p)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between two runs: candidates, paired metric differences, latency, cost, verdict."""
    from baseline.workflow import diff_runs, resolve_run

    if args.resamples < 100:
        raise BadInput(f"--resamples must be at least 100 (got {args.resamples})")
    store = store_or_none(args)
    try:
        a, b = resolve_run(args.run_a, store), resolve_run(args.run_b, store)
    finally:
        if store is not None:
            store.close()
    d = diff_runs(a, b, args.resamples)
    if args.json:
        print(json.dumps(d, indent=2, default=float))
        return EXIT_OK
    _print_diff(d)
    return EXIT_OK


def _print_diff(d: dict) -> None:
    """Both runs and their verdicts, candidates added and removed, then one table row per common candidate."""
    from rich.table import Table

    from baseline.decide import metric_name
    from baseline.report.view import ms, signed, usd

    con = console()
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


def cmd_gate(args: argparse.Namespace) -> int:
    """Go / no-go for CI: exit 0 when the run's verdict and bar hold, 1 otherwise, with one line saying why."""
    from baseline.config import load_config, pick
    from baseline.workflow import gate, load_run, resolve_run

    gc = load_config(args.config).get("gate") or {}
    store = store_or_none(args)
    try:
        run_dir = resolve_run(args.run, store, pick(args.dataset, gc, "dataset"))
        r = load_run(run_dir)
        old = _against(store, r, pick(args.against, gc, "against"))
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


def _against(store, r: dict, against: str | None) -> tuple[dict, Path] | None:
    """``--against``: the run before this one on its split (``previous``), a named run, or none; loaded."""
    from baseline.workflow import load_run, resolve_run

    if against == "previous":
        earlier = [x for x in (store.runs_on_split(r["split"]["hash"], r["run_id"]) if store is not None else [])
                   if str(x["started"]) < str(r["started"]) and (Path(x["run_dir"]) / "results.json").exists()]
        prev = earlier[0] if earlier else None
        if prev is None:
            raise BadInput(f"--against previous: no earlier finished run on run {r['run_id']}'s split")
        old_dir = Path(prev["run_dir"])
        return (load_run(old_dir), old_dir)
    if against:
        old_dir = resolve_run(str(against), store)
        return (load_run(old_dir), old_dir)
    return None
