"""``baseline cleanup``: billable resources that interrupted or killed runs left behind, found and deleted."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baseline.cli.console import console, escape
from baseline.cli.exits import EXIT_FAILED_ADAPTERS, EXIT_OK
from baseline.cli.history import open_history
from baseline.errors import BadInput


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Delete what the resource ledgers of one run (or every run with leftovers) do not confirm deleted."""
    from baseline.adapters.registry import Registry
    from baseline.cleanup import cleanup_run, run_leftovers
    from baseline.config import load_config
    from baseline.store import STATUS_RUNNING

    cfg = load_config(args.config)
    options = {k: dict(v) for k, v in (cfg.get("adapters") or {}).items()}
    registry = Registry.discover()
    registry.check_options(options)
    rows = _runs_to_clean(args)
    err = console(stderr=True)
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
        _print_reports(reports, args.dry_run)
    failed = any(rep["left"] or rep["errors"] for rep in reports)
    return EXIT_FAILED_ADAPTERS if failed and not args.dry_run else EXIT_OK


def _runs_to_clean(args: argparse.Namespace) -> list[dict]:
    """The run named (by id, or a folder this home never recorded), else every recorded run with leftovers."""
    from baseline.cleanup import run_leftovers

    store = open_history(args)
    try:
        if args.run:
            row = store.find(args.run)
            if row is None and (Path(args.run) / "adapters").is_dir():  # a run folder this home never recorded
                row = {"run_id": Path(args.run).resolve().name, "run_dir": str(Path(args.run).resolve()), "status": "?"}
            if row is None:
                raise BadInput(f"no run {args.run!r} in the history: `baseline history` lists run ids")
            return [row]
        return [r for r in store.runs(limit=1_000_000) if run_leftovers(Path(r["run_dir"]))]
    finally:
        store.close()


def _print_reports(reports: list[dict], dry_run: bool) -> None:
    """Per run: what was deleted, what is (still) left, and what failed; or that nothing needed cleaning."""
    if not reports:
        print("nothing to clean up: every recorded resource is confirmed deleted")
    for rep in reports:
        for d in rep["deleted"]:
            print(f"{rep['run_id']}: deleted {d['kind']} {d['id']} ({d['adapter']})")
        for d in rep["left"]:
            print(f"{rep['run_id']}: {'left' if dry_run else 'STILL LEFT'}: {d['kind']} {d['id']} "
                  f"({d['adapter']}, {d.get('state') or 'unknown'})")
        for e in rep["errors"]:
            print(f"{rep['run_id']}: cleanup failed: {e}")
