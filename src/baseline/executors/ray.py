"""``--executor ray``: free candidates as Ray tasks, paid ones on the driver under one budget.

* Each free (local-compute) adapter runs its whole life cycle (``runner.run_adapter``) as one Ray task with a
  resource request: ``num_cpus`` = ``--threads`` (or the adapter's ``ray_num_cpus``, 1), and one GPU when the
  adapter uses a device and ``--device cuda`` is asked for. Tasks run side by side as the cluster's resources
  allow; the split travels once through the object store.
* Paid adapters run on the driver, one after another, exactly as the local executor runs them: one
  ``--max-cost`` budget, one spend ledger, one response cache and each service's rate limiter for the whole
  run, never one per worker.
* The run folder, the cache and the history stay with the driver: a task works in a scratch folder of its
  own and returns its result; the driver saves it (``adapters/<name>/result.json``) as the local executor does.
* Same seed, same code, same data: the same predictions and metrics as the local executor (timings differ).

``--ray-address`` connects to an existing cluster (``ray://host:10001`` or ``auto``); without it a local
Ray instance is started for the run and stopped after it. The worker processes need ``baseline`` importable:
on a local instance they inherit this process's ``PYTHONPATH``; on a cluster install it there (or use a
runtime environment).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.errors import BadInput
from baseline.ledger import SpendLedger
from baseline.runner import (
    STATUS_OK,
    STATUS_UNAVAILABLE,
    AdapterResult,
    Budget,
    Progress,
    RunOptions,
    _empty_result,
    _thread_cap,
    load_result,
    run_adapter,
    run_all,
    save_result,
)


def ray_available() -> str | None:
    """None when Ray can be imported, else the reason (extra ``ray`` not installed)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return 'extra "ray" not installed (pip install "baseline[ray]")'
    return None


def _resources(cls: type, opts: RunOptions) -> dict[str, float]:
    cpus = float(opts.threads or getattr(cls, "ray_num_cpus", 1) or 1)
    gpus = 1.0 if getattr(cls, "uses_device", False) and opts.device == "cuda" else 0.0
    return {"num_cpus": cpus, "num_gpus": gpus}


def _run_remote(cls: type, split: Split, opts: RunOptions) -> AdapterResult:
    """Body of one Ray task: the adapter's life cycle in a scratch folder; the driver keeps the run folder."""
    with tempfile.TemporaryDirectory(prefix=f"baseline-{cls.name}-") as scratch:
        with _thread_cap(opts.threads):
            return run_adapter(cls, split, opts, Budget(None), Path(scratch), None)


class _Session:
    """ray.init for the run (local by default) and ray.shutdown after, unless Ray was already running."""

    def __init__(self, address: str | None, num_cpus: int | None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.started = False

    def __enter__(self) -> Any:
        import ray

        if not ray.is_initialized():
            env = {k: os.environ[k] for k in ("PYTHONPATH", "HF_HUB_OFFLINE") if k in os.environ}
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "runtime_env": {"env_vars": env} if env else None}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.num_cpus, **kwargs)
            self.started = True
        return ray

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()


def run_all_ray(registry: Registry, names: list[str], split: Split, opts: RunOptions, workdir: Path,
                progress: Progress | None = None, resume: bool = False,
                on_result: Callable[[AdapterResult], None] | None = None,
                ledger: SpendLedger | None = None, address: str | None = None,
                num_cpus: int | None = None) -> list[AdapterResult]:
    """``run_all`` with free adapters as Ray tasks; results in the order of ``names``."""
    why = ray_available()
    if why:
        raise BadInput(f"--executor ray: {why}")
    progress = progress or Progress()
    remote_names, driver_names = [], []
    for name in names:
        entry = registry.get(name)
        prior = load_result(workdir, name) if resume else None
        if entry.cls is None or entry.cls.paid or (prior is not None and prior.status in (STATUS_OK, STATUS_UNAVAILABLE)):
            driver_names.append(name)  # paid (one budget, cache, ledger, rate limit), unimportable, or resumed
        else:
            remote_names.append(name)
    results: dict[str, AdapterResult] = {}
    with _Session(address, num_cpus) as ray:
        task_opts = replace(opts, cache=None)  # the response cache is the driver's (and paid answers only)
        split_ref = ray.put(split)
        pending: dict[Any, str] = {}
        for name in remote_names:
            cls = registry.get(name).cls
            avail = cls.availability(opts.task, opts.adapter_options.get(name, {}))
            if not avail.ok:
                results[name] = _empty_result(cls, name, STATUS_UNAVAILABLE, avail.reason)
                continue
            task = ray.remote(_run_remote).options(name=f"baseline:{name}", max_retries=0, **_resources(cls, opts))
            pending[task.remote(cls, split_ref, task_opts)] = name
            progress.stage(name, "ray task")
        # paid adapters meanwhile, on the driver, under the run's one budget and ledger
        for res in run_all(registry, driver_names, split, opts, workdir, progress, resume=resume, ledger=ledger):
            results[res.name] = res
            if on_result:
                on_result(res)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(done[0])
            try:
                res = ray.get(done[0])
            except Exception as e:  # a task that died (worker lost, out of memory): failed, not a crash
                from baseline.redact import one_line

                res = _empty_result(registry.get(name).cls, name, "failed", f"ray task failed: {one_line(e)}")
            res.timing["executor"] = "ray"
            save_result(res, workdir)
            results[name] = res
            if on_result:
                on_result(res)
            progress.done(res)
    return [results[n] for n in names]
