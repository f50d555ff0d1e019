"""The candidates of a run: estimated before paying, reused from an earlier run on the split, or run now."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baseline.adapters.base import AdapterContext
from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.errors import BadInput
from baseline.ledger import SpendLedger
from baseline.pipeline.memory import release_memory
from baseline.redact import one_line
from baseline.reuse import plan_reuse, reprice, save_identity
from baseline.runner import AdapterResult, Progress, RunOptions, run_all, save_result, show_phase
from baseline.store import Store


@dataclass
class Reuse:
    """Which candidates an earlier run on the same split answers already, and why each of the others runs."""

    identities: dict[str, Any]
    reused: dict[str, AdapterResult]
    why_run: dict[str, str]


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
                                     schema=split.schema,
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


def reuse_earlier(registry: Registry, names: list[str], split: Split, opts: RunOptions, store: Store | None,
                  resuming: bool, rerun: list[str] | None, fresh: bool, run_dir: Path, progress: Progress) -> Reuse:
    """Copy each unchanged candidate's result from the newest earlier run on the split (repriced) into this run."""
    identities, reused, why_run = plan_reuse(
        split, names, {n: registry.get(n).cls for n in names}, opts,
        store.runs_on_split(split.hash, opts.run_id) if store is not None and not resuming else [],
        set(rerun or []), fresh)
    for n in names:
        if n in reused:
            reprice(reused[n], registry.get(n).cls, opts, len(split.test))
            save_result(reused[n], run_dir)
            progress.message(f"{n}: reused from run {reused[n].reused_from['run_id']} (same split and identity)")
            progress.done(reused[n])
    return Reuse(identities, reused, why_run)


def adapter_seconds(r: AdapterResult) -> float:
    """Time spent inside the adapter: cold start, fit, warm-up, batched predict, latency probe, explanation."""
    return sum(r.timing.get(k) or 0.0 for k in ("cold_start_s", "fit_s", "warmup_s", "predict_s", "probe_s", "explain_s"))


def run_candidates(registry: Registry, names: list[str], reuse: Reuse, split: Split, opts: RunOptions,
                   run_dir: Path, progress: Progress, resuming: bool,
                   ledger: SpendLedger) -> tuple[list[AdapterResult], float]:
    """Run what was not reused, on the chosen executor; every result in ``names`` order, and the adapters' seconds."""
    to_run = [n for n in names if n not in reuse.reused]
    show_phase(progress, f"running {len(to_run)} adapter(s) on {len(split.train):,} train / {len(split.test):,} test rows")
    if opts.executor == "ray":
        from baseline.executors.ray import run_all_ray

        ran = run_all_ray(registry, to_run, split, opts, run_dir, progress, resume=resuming,
                          ledger=ledger, address=opts.ray_address)
    else:
        ran = run_all(registry, to_run, split, opts, run_dir, progress, resume=resuming, ledger=ledger)
    release_memory()
    by_name = {r.name: r for r in ran} | reuse.reused
    results = [by_name[n] for n in names]
    for n, ident in reuse.identities.items():
        save_identity(run_dir, n, ident)
    return results, sum(adapter_seconds(r) for r in ran)
