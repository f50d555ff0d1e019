"""Flags and baseline.toml turned into plain settings: the runner's options, the bar, the task and business inputs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from baseline.cli.parser import BAR_METRICS, MAX_BAR_METRICS
from baseline.decide import DEFAULT_MARGIN
from baseline.errors import BadInput


def ray_data_min_rows(v: object) -> int | None:
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



def build_options(args: argparse.Namespace, cfg: dict[str, Any], with_cache: bool = True):
    """The runner's options (flags over ``[compare]`` and the rest of baseline.toml, checked) and ``--out``."""
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
        task=task_name(args, cc), seed=int(pick(args.seed, cc, "seed", 42)),
        device=str(pick(getattr(args, "device", None), cc, "device", "auto")),
        threads=threads, metric=pick(getattr(args, "metric", None), cfg.get("bar", {}), "metric", "macro_f1"),
        max_cost=pick(getattr(args, "max_cost", None), cc, "max_cost"),
        latency_probe=int(latency_probe),
        adapter_options=adapter_options, label_maps={k: dict(v) for k, v in (cfg.get("label_maps") or {}).items()},
        prices=PriceTable.default().with_overrides(cfg.get("prices")),
        cache=ResponseCache(home.response_cache_path) if with_cache else None, cache_dir=home.models_dir,
        executor=str(pick(getattr(args, "executor", None), cc, "executor", "local")),
        ray_address=pick(getattr(args, "ray_address", None), cc, "ray_address"),
        ray_data_min_rows=ray_data_min_rows(pick(getattr(args, "ray_data_min_rows", None), cc, "ray_data_min_rows",
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



def named_bar(args: argparse.Namespace) -> tuple[str | None, float | None, str]:
    """The ``--min-<metric>`` / ``--max-<metric>`` flag given (metric, value, "min" or "max"), or (None, None, "");
    more than one metric bar is bad input."""
    given = [(m, getattr(args, f"min_{m}", None), "min") for m in BAR_METRICS
             if getattr(args, f"min_{m}", None) is not None]
    given += [(m, getattr(args, f"max_{m}", None), "max") for m in MAX_BAR_METRICS
              if getattr(args, f"max_{m}", None) is not None]
    generic = [v for v in (getattr(args, "min_metric", None), getattr(args, "max_metric", None)) if v is not None]
    if len(given) + len(generic) > 1:
        raise BadInput("give one metric bar: --min-metric / --max-metric (the headline) or one --min-<metric> / "
                       "--max-<metric>")
    return given[0] if given else (None, None, "")


def task_name(args: argparse.Namespace, cc: dict[str, Any]) -> str:
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


def task_explicit(args: argparse.Namespace, cc: dict[str, Any]) -> bool:
    """Whether the user fixed the task, so the data is not inspected for label sets."""
    from baseline.tasks import TEXT_CLASSIFICATION

    return bool(getattr(args, "multi_label", False) or getattr(args, "single_label", False)
                or cc.get("multi_label") is not None or cc.get("single_label")
                or (getattr(args, "task", None) or cc.get("task") or TEXT_CLASSIFICATION) != TEXT_CLASSIFICATION)


def label_inputs(args: argparse.Namespace, cc: dict[str, Any]) -> dict[str, Any]:
    """``--label-sep`` and ``--label-cols`` (flags over baseline.toml) for the task's reader."""
    from baseline.config import pick

    cols = pick(getattr(args, "label_cols", None), cc, "label_cols")
    if isinstance(cols, str):
        cols = [c.strip() for c in cols.split(",") if c.strip()]
    if cols is not None and getattr(args, "label_col", None):
        raise BadInput("--label-col and --label-cols both given: one column of joined labels, or one 0/1 column "
                       "per label")
    sep = pick(getattr(args, "label_sep", None), cc, "label_sep", "|")
    return {"label_sep": sep, "label_cols": cols or None, **table_inputs(args, cc)}


def table_inputs(args: argparse.Namespace, cc: dict[str, Any]) -> dict[str, Any]:
    """``--feature-cols``, ``--drop-cols`` and ``--time-col`` (flags over baseline.toml) for a table's reader."""
    from baseline.config import pick

    out: dict[str, Any] = {}
    for key in ("feature_cols", "drop_cols"):
        v = pick(getattr(args, key, None), cc, key)
        if isinstance(v, str):
            v = [c.strip() for c in v.split(",") if c.strip()]
        out[key] = v or None
    out["time_col"] = pick(getattr(args, "time_col", None), cc, "time_col")
    return out


def build_bar(args: argparse.Namespace, cfg: dict[str, Any], metric: str):
    """The bar the verdict is held to (flags over ``[bar]``), each limit checked."""
    from baseline.config import pick
    from baseline.decide import Bar

    b = cfg.get("bar", {})
    named_metric, named, kind = named_bar(args)
    min_metric = (args.min_metric if args.min_metric is not None else named if kind == "min"
                  else b.get("min_metric", b.get(f"min_{metric}")))
    max_metric = (getattr(args, "max_metric", None) if getattr(args, "max_metric", None) is not None
                  else named if kind == "max" else b.get("max_metric", b.get(f"max_{metric}")))
    bar = Bar(metric=metric, min_metric=min_metric, max_metric=max_metric,
              max_p95_ms=pick(args.max_p95_ms, b, "max_p95_ms"),
              max_cost_per_1k=pick(args.max_cost_per_1k, b, "max_cost_per_1k"),
              max_one_off=pick(args.max_one_off, b, "max_one_off"),
              monthly_volume=pick(args.monthly_volume, b, "monthly_volume"),
              margin=pick(args.margin, b, "margin", DEFAULT_MARGIN))
    for name in ("max_p95_ms", "max_cost_per_1k", "max_one_off", "monthly_volume"):
        v = getattr(bar, name)
        if v is not None and v < 0:
            raise BadInput(f"--{name.replace('_', '-')} must be zero or more (got {v})")
    lowest = -float("inf") if named_metric == "r2" else 0.0  # R² may be below 0
    if bar.min_metric is not None and not lowest <= bar.min_metric <= 1:
        raise BadInput(f"--min-metric must be between 0 and 1 (got {bar.min_metric})")
    if bar.max_metric is not None and bar.max_metric < 0:
        raise BadInput(f"--max-metric must be zero or more (got {bar.max_metric})")
    if bar.margin < 0:
        raise BadInput("--margin must be zero or more")
    return bar


def value_inputs(args: argparse.Namespace, cfg: dict[str, Any]):
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
