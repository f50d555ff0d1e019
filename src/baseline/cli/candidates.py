"""``baseline estimate`` and ``baseline adapters``: each candidate's cost before paying, and whether it can run."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from baseline.cli.console import console, escape
from baseline.cli.exits import EXIT_OK
from baseline.cli.options import build_options, label_inputs, task_explicit


def cmd_estimate(args: argparse.Namespace) -> int:
    """Billed units and USD per adapter on the data's frozen split, before any call (no credentials needed)."""
    from baseline.adapters.registry import Registry
    from baseline.config import load_config, pick
    from baseline.data import demo_dataset_path
    from baseline.pipeline import estimate_adapters

    cfg = load_config(args.config)
    cc = cfg.get("compare", {})
    args.out = None
    opts, _ = build_options(args, cfg, with_cache=False)
    Registry.discover().check_options(opts.adapter_options)
    from baseline.pipeline import QuietTaskProgress, load_for_task
    from baseline.tasks import TaskInputs, get_task

    inputs = TaskInputs(path=str(pick(args.data, cc, "data") or demo_dataset_path()),
                        text_col=pick(args.text_col, cc, "text_col"), label_col=pick(args.label_col, cc, "label_col"),
                        split_col=pick(args.split_col, cc, "split_col"), explicit=task_explicit(args, cc),
                        **label_inputs(args, cc))
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
    _print_estimates(rows, f"Estimated cost — {ds.name}: {len(split.train):,} train / {len(split.test):,} test rows "
                     f"(prices as of {opts.prices.effective_date})")
    return EXIT_OK


def _print_estimates(rows: list[dict[str, Any]], title: str) -> None:
    """One table row per adapter: billed units and USD for paid ones, "measured" for local compute."""
    from rich.table import Table

    t = Table(title=title)
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
    console().print(t)


def cmd_adapters(args: argparse.Namespace) -> int:
    """Every registered adapter with its family, simplicity rank, availability for the task and reason."""
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
    console().print(t)
    return EXIT_OK
