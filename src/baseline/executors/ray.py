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
* Large test sets (``RunOptions.ray_data_min_rows``, 20,000 rows; ``--ray-data-min-rows``): a free local-compute
  adapter goes through the same ``run_adapter`` as with the local executor, on the driver, with a ``RayDataStream``:
  load and fit run once in a Ray task (same resource request as above), which leaves the pickled, fitted adapter
  in the object store; the predict stage streams the test texts through ``ray.data`` batch inference, an
  autoscaling pool of actors each holding one copy of that adapter, each call one of the runner's own batches
  (blocks are cut on batch boundaries, so every request holds the same texts as locally). Answers come back keyed
  by row and go through the runner's own bookkeeping (progress, item errors, request latency); the warm-up, the
  single-item latency probe and the teardown run on the driver with a copy of the fitted adapter, as locally.
  Such adapters run side by side, each on a driver thread that holds no Ray resources while it waits, so the
  actors never wait on a CPU the driver keeps.

"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, as_completed
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from baseline.adapters.base import Adapter, BatchResult
from baseline.adapters.registry import Registry
from baseline.data import Split, TextColumn
from baseline.errors import BadInput
from baseline.ledger import SpendLedger
from baseline.runner import (
    STATUS_OK,
    STATUS_UNAVAILABLE,
    AdapterResult,
    BatchStream,
    Budget,
    Progress,
    RunOptions,
    _empty_result,
    _thread_cap,
    load_and_fit,
    load_saved_result,
    resume_note,
    run_adapter,
    run_all,
    save_result,
    train_inputs,
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


RAY_DATA_MIN_TEST_ROWS = 20_000  # the default of RunOptions.ray_data_min_rows, for the docs
BLOCK_ROWS = 16_384              # rows per ray.data block, rounded down to whole batches (at least one)


def uses_ray_data(cls: type[Adapter], test_rows: int, opts: RunOptions) -> bool:
    """A free local-compute adapter on a test set of at least ``opts.ray_data_min_rows`` rows."""
    least = opts.ray_data_min_rows
    return (least is not None and test_rows >= least and bool(cls.local_compute) and not cls.paid
            and test_rows > 0)


def _log(msg: str) -> None:
    logging.getLogger("baseline").info(msg)


def _shippable(adapter: Adapter) -> Adapter:
    """A shallow copy for the object store: the driver's progress callback stays behind (it may hold a terminal)."""
    a = copy.copy(adapter)
    a.ctx = replace(adapter.ctx, log=_log)
    return a


class _Predictor:
    """A ray.data actor: one copy of the fitted adapter (resolved from the object store), one request per batch.

    Returns one row per call: the pickled ``(rows, BatchResult, ms, warm-up s, pid)``, or the exception the adapter
    raised (pickled, or its type's name and text), which the driver raises: the adapter fails with the local reason.
    """

    def __init__(self, blob_ref: list[Any], threads: int | None, warm: list[str]) -> None:
        import ray

        adapter: Adapter = ray.cloudpickle.loads(ray.get(blob_ref[0]))  # one copy per actor, from the object store
        if threads:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=threads)  # this actor's process only, for its whole life
        self.adapter = adapter
        self.pid = os.getpid()
        self.warmup_s = 0.0
        if warm:  # untimed, as the runner's own warm-up: not part of any request's latency
            t = time.perf_counter()
            adapter.predict_batch(list(warm))
            self.warmup_s = time.perf_counter() - t

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = [int(i) for i in batch["row"]]
        texts = [str(t) for t in batch["text"]]
        t = time.perf_counter()
        try:
            r = self.adapter.predict_batch(texts)
            out = ("ok", rows, r, (time.perf_counter() - t) * 1000, self.warmup_s, self.pid)
        except Exception as e:
            try:
                blob = pickle.dumps(e)
                pickle.loads(blob)
            except Exception:  # sent as its type's name and its text instead
                blob = pickle.dumps((type(e).__name__, str(e)))
            out = ("error", rows, blob, 0.0, self.warmup_s, self.pid)
        return {"payload": np.array([pickle.dumps(out)], dtype=object)}


def _load_fit_remote(adapter: Adapter, split: Split, threads: int | None, scratch: bool) -> tuple[Any, tuple]:
    """Ray task: load and fit the adapter, then pickle it for the actors (two returns: the bytes, the figures)."""
    import ray

    from baseline.redact import one_line

    with tempfile.TemporaryDirectory(prefix=f"baseline-{adapter.name}-") as tmp, _thread_cap(threads):
        if scratch:  # a cluster node: the driver's run folder is not there
            adapter.ctx = replace(adapter.ctx, workdir=Path(tmp))
        cold, fit_s, info = load_and_fit(adapter, *train_inputs(type(adapter), split))
        try:
            blob, why = ray.cloudpickle.dumps(adapter), ""
        except Exception as e:
            blob, why = None, one_line(e)
    return blob, (cold, fit_s, info, why)


class RayDataStream(BatchStream):
    """The runner's predict stage through ``ray.data``: test texts with their row ids, ``map_batches`` over an
    actor pool holding the fitted adapter, answers streamed back as each request finishes (keyed by row).

    Actors request ``num_cpus`` = ``--threads`` (or the adapter's ``ray_num_cpus``, 1) and one GPU when the adapter
    uses a device and ``--device cuda`` is given. The pool starts as many actors as the cluster's CPUs hold at that
    size (no more than there are blocks) and may shrink to 1; ``ray_data_actors`` (``--ray-data-actors``) fixes
    its size. The driver holds no Ray resources while it waits, so the actors can never wait on a CPU it keeps.
    """

    def __init__(self, ray: Any, cls: type[Adapter], opts: RunOptions, split_ref: Any,
                 block_rows: int = BLOCK_ROWS) -> None:
        super().__init__()
        self.ray = ray
        self.cls = cls
        self.threads = opts.threads
        self.split_ref = split_ref
        self.scratch = bool(opts.ray_address)
        self.blob_ref: Any = None
        self.resources = _resources(cls, opts)
        self.num_cpus, self.num_gpus = self.resources["num_cpus"], self.resources["num_gpus"]
        fits = max(1, int(float(ray.cluster_resources().get("CPU", 1.0)) // max(self.num_cpus, 1e-9)))
        # ray_data_actors: a fixed pool of that many (no more than the cluster's CPUs hold); unset: up to as many as
        # they hold, all asked for at once, the pool free to shrink to 1
        self.fixed = min(opts.ray_data_actors, fits) if opts.ray_data_actors else None
        self.max_actors = self.fixed or fits
        self.block_rows = block_rows

    def load_fit(self, adapter: Adapter, texts: list[str], labels: list[str]) -> tuple[Adapter, float, float, Any]:
        """Load and fit once, in a Ray task with the adapter's resource request; the pickled, fitted adapter stays
        in the object store for the actors, and one copy comes back for the driver's warm-up, probe and teardown."""
        from ray.exceptions import RayTaskError

        task = self.ray.remote(_load_fit_remote).options(name=f"baseline:{self.cls.name}:fit", max_retries=0,
                                                         num_returns=2, **self.resources)
        blob_ref, meta_ref = task.remote(_shippable(adapter), self.split_ref, self.threads, self.scratch)
        try:
            cold, fit_s, info, why = self.ray.get(meta_ref)
        except RayTaskError as e:  # the adapter's own error, as the local executor reports it
            cause = getattr(e, "cause", None)
            raise cause if isinstance(cause, Exception) else e from None
        if why:  # fitted, but it does not pickle: fit and predict here instead (the one case that fits twice)
            self.timing["ray_data"] = {"used": False, "reason": f"the fitted adapter does not pickle: {why}"}
            adapter.notes.append(f"ray.data: the fitted adapter could not be sent to the workers ({why}); "
                                 "fitted and predicted on the driver instead")
            return super().load_fit(adapter, texts, labels)
        fitted: Adapter = self.ray.cloudpickle.loads(self.ray.get(blob_ref))
        fitted.ctx = adapter.ctx  # the driver's log (progress) and run folder again
        self.blob_ref = blob_ref
        return fitted, cold, fit_s, info

    def __call__(self, adapter: Adapter, batches: list[list[int]],
                 texts: TextColumn) -> Iterator[tuple[list[int], BatchResult, float]]:
        if not batches:
            return
        import pyarrow as pa
        from ray.data import ActorPoolStrategy

        t0 = time.perf_counter()
        ref = self.blob_ref
        if ref is None:  # not fitted in a task (it does not pickle): its requests run here, as locally
            for b in batches:
                t = time.perf_counter()
                r = adapter.predict_batch(texts.take(b))
                yield b, r, (time.perf_counter() - t) * 1000
            return
        per_block = max(1, self.block_rows // max(1, len(batches[0])))
        tables = []
        for s in range(0, len(batches), per_block):  # whole batches per block: Ray's batches are the runner's
            rows = [i for b in batches[s:s + per_block] for i in b]
            tables.append(pa.table({"row": pa.array(rows, pa.int64()),
                                    "text": pa.array(texts.take(rows), pa.string())}))
        first = batches[0]
        warm = texts.take(first[: min(8, len(first))]) if type(adapter).warmup else []
        most = min(self.max_actors, len(tables))
        # all actors asked for at once and started asynchronously: requests go to whichever is up first, and one
        # that never gets a CPU (another job holds them) delays nothing
        ds = self.ray.data.from_arrow(tables).map_batches(
            _Predictor, batch_size=adapter.batch_size, batch_format="numpy",
            compute=(ActorPoolStrategy(size=most) if self.fixed
                     else ActorPoolStrategy(min_size=1, max_size=most, initial_size=most)),
            num_cpus=self.num_cpus, num_gpus=self.num_gpus or None,
            fn_constructor_args=([ref], self.threads, warm))  # nested: each actor fetches it itself
        expected = {b[0]: b for b in batches}
        want, got = sum(len(b) for b in batches), 0
        pids: set[int] = set()
        warmups: dict[int, float] = {}
        split = 0
        first_s = None
        for row in ds.iter_rows():
            kind, rows, r, ms, warm_s, pid = pickle.loads(row["payload"])
            if first_s is None:
                first_s = time.perf_counter() - t0
            pids.add(pid)
            warmups[pid] = warm_s
            if kind == "error":
                e = pickle.loads(r)
                # an exception that does not pickle: one of the same name and text, so the reason reads as locally
                raise e if isinstance(e, BaseException) else type(e[0], (RuntimeError,), {})(e[1])
            if expected.get(rows[0]) != rows:
                split += 1  # Ray cut a request differently from the runner: same rows, other company
            got += len(rows)
            yield rows, r, ms
        if got != want:  # a stream that ended early (Ray shut down, a lost connection) is a failure, never abstentions
            raise RuntimeError(f"ray.data returned answers for {got} of {want} texts")
        self.concurrency = len(pids)
        self.timing["ray_data"] = {
            "used": True, "blocks": len(tables), "batch_size": adapter.batch_size, "max_actors": self.max_actors,
            "actors": len(pids), "num_cpus_per_actor": self.num_cpus, "num_gpus_per_actor": self.num_gpus,
            "first_answer_s": first_s, "actor_warmup_s": max(warmups.values()) if warmups else None,
            "requests_not_as_batched": split,
            "predict_s_is": "wall from the dataset's start to the last answer back, actor start-up (fetching "
                            "the fitted adapter) and warm-up included"}


@contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """The run's own progress reports items as they come back: no ray.data bars or per-dataset lines meanwhile."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    log = logging.getLogger("ray.data")
    saved = (log.level, ctx.enable_progress_bars, ctx.print_on_execution_start)
    log.setLevel(logging.ERROR)
    ctx.enable_progress_bars = ctx.print_on_execution_start = False
    try:
        yield
    finally:
        log.setLevel(saved[0])
        ctx.enable_progress_bars, ctx.print_on_execution_start = saved[1], saved[2]


def _in_thread(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` on a daemon thread: a Ctrl-C on the driver ends the run without waiting for it."""
    f: Future = Future()

    def body() -> None:
        try:
            f.set_result(fn(*args))
        except BaseException as e:
            f.set_exception(e)

    threading.Thread(target=body, name="baseline-ray-data", daemon=True).start()
    return f


def _run_streamed(stream: RayDataStream, split: Split, opts: RunOptions, workdir: Path,
                  progress: Progress) -> AdapterResult:
    """One adapter above the ray.data threshold, on a driver thread: it mostly waits on its fit task and its actors."""
    res = run_adapter(stream.cls, split, opts, Budget(None), workdir, progress, stream=stream)
    res.timing["executor"] = "ray"
    return res


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
            import signal
            import threading

            from baseline.interrupts import SIGNALS

            main = threading.current_thread() is threading.main_thread()
            handlers = {s: signal.getsignal(s) for s in SIGNALS} if main else {}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.num_cpus, **kwargs)
            # ray.init installs its own SIGTERM handler (exit at once): put back the run's, so SIGTERM / SIGHUP
            # still end it like Ctrl-C (results kept, run marked interrupted, Ray shut down on the way out)
            for sig, h in handlers.items():
                if h is not None:
                    signal.signal(sig, h)
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
                num_cpus: int | None = None, block_rows: int = BLOCK_ROWS) -> list[AdapterResult]:
    """``run_all`` with free adapters as Ray tasks (or, on a large test set, ray.data batch inference);
    results in the order of ``names``. ``block_rows``: rows per ray.data block (whole batches)."""
    why = ray_available()
    if why:
        raise BadInput(f"--executor ray: {why}")
    progress = progress or Progress()
    remote_names, driver_names = [], []
    rerun: dict[str, str] = {}   # resumed candidates whose saved result could not be read: why
    for name in names:
        entry = registry.get(name)
        prior, unreadable = load_saved_result(workdir, name) if resume else (None, None)
        if entry.cls is None or entry.cls.paid or (prior is not None and prior.status in (STATUS_OK, STATUS_UNAVAILABLE)):
            driver_names.append(name)  # paid (one budget, cache, ledger, rate limit), unimportable, or resumed
        else:
            remote_names.append(name)
            if unreadable:  # run again as a Ray task (run_all says so itself for the driver's candidates)
                rerun[name] = resume_note(unreadable)
                progress.message(f"{name}: {rerun[name]}")
    n_test = len(split.test)
    stream_names = [n for n in remote_names if uses_ray_data(registry.get(n).cls, n_test, opts)]
    remote_names = [n for n in remote_names if n not in stream_names]
    results: dict[str, AdapterResult] = {}
    # one --threads cap for the driver's threads together (per-thread caps would restore each other's limits)
    with _Session(address, num_cpus) as ray, _quiet_ray_data(), _thread_cap(opts.threads):
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
        # large test sets: each adapter on a driver thread (fit in a Ray task, predict through ray.data), side
        # by side as the Ray tasks above; the driver threads hold no Ray resources, so they cannot starve the actors
        streamed = {_in_thread(_run_streamed, RayDataStream(ray, registry.get(name).cls, opts, split_ref, block_rows),
                               split, task_opts, workdir, progress): name for name in stream_names}
        # paid adapters meanwhile, on the driver, under the run's one budget and ledger
        for res in run_all(registry, driver_names, split, opts, workdir, progress, resume=resume, ledger=ledger):
            results[res.name] = res
            if on_result:
                on_result(res)
        for f in as_completed(streamed):
            name = streamed[f]
            try:
                res = f.result()
            except BadInput:
                raise
            except Exception as e:  # run_adapter reports adapter errors itself: this is Ray's or ours
                from baseline.redact import one_line

                res = _empty_result(registry.get(name).cls, name, "failed", f"ray.data: {one_line(e)}")
            if name in rerun:
                res.notes.append(rerun[name])
            save_result(res, workdir)
            results[name] = res
            if on_result:
                on_result(res)
            progress.done(res)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(done[0])
            try:
                res = ray.get(done[0])
            except Exception as e:  # a task that died (worker lost, out of memory): failed, not a crash
                from baseline.redact import one_line

                res = _empty_result(registry.get(name).cls, name, "failed", f"ray task failed: {one_line(e)}")
            res.timing["executor"] = "ray"
            if name in rerun:
                res.notes.append(rerun[name])
            save_result(res, workdir)
            results[name] = res
            if on_result:
                on_result(res)
            progress.done(res)
    return [results[n] for n in names]
