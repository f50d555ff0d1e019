"""``baseline history``, and the run history in the per-user home as the commands that read it open it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baseline.cli.console import console, escape
from baseline.cli.exits import EXIT_OK
from baseline.errors import BadInput


def open_history(args: argparse.Namespace):
    """The history in the home that ``--home`` names; none there yet is bad input (one line)."""
    from baseline.home import resolve_home
    from baseline.store import Store

    home = resolve_home(args.home)
    path = home.history_path
    if not path.exists():
        raise BadInput(f"no run history in {home.data_dir} ({home.source}) yet: run `baseline compare` first "
                       "(or pass --home / set BASELINE_HOME to the home your runs used)")
    return Store(path)



def store_or_none(args: argparse.Namespace):
    """The history when the home has one, else None (runs can still be named by folder)."""
    from baseline.home import resolve_home
    from baseline.store import Store

    path = resolve_home(getattr(args, "home", None)).history_path
    return Store(path) if path.exists() else None



def cmd_history(args: argparse.Namespace) -> int:
    """Recorded runs per dataset, newest first, with their verdicts, reuse and billable leftovers."""
    from baseline.cleanup import run_leftovers

    store = open_history(args)
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

    con = console()
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
