"""Run adapters on the frozen split: availability → estimate → budget gate → fit → predict → teardown.

The runner times everything (warm-up excluded), batches to each adapter's declared limits,
serves paid answers from the response cache, enforces ``--max-cost``, and survives a failing
adapter. It never looks at the test labels.

Spend is counted twice over: ``billed`` (confirmed by an answer) and ``possibly billed`` (billed plus
every attempt that may have reached the service without an answer coming back). ``--max-cost`` is
enforced on the possibly-billed figure, across resumes (the run folder's spend ledger). An item the
service did not answer is an item error, never an abstention; an adapter that ends with such items is
``incomplete``, and a rerun or ``--resume`` asks only those items again.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.base import Adapter, AdapterContext, AdapterGaveUp, BatchResult, Cost
from baseline.adapters.registry import Registry
from baseline.costs import PriceTable, compute_usd, local_instance_price, per_1k
from baseline.data import Split, TextColumn, shared_strings
from baseline.errors import AdapterUnavailable, BadInput
from baseline.interrupts import shielded
from baseline.ledger import SpendLedger
from baseline.redact import one_line, redact, redact_tree
from baseline.store import ResponseCache

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_UNAVAILABLE = "unavailable"
STATUS_STOPPED = "stopped"  # budget reached mid-run: partial predictions kept
STATUS_INCOMPLETE = "incomplete"  # finished, but some items got no answer (item errors): rerun asks only those
SCORED = (STATUS_OK, STATUS_STOPPED, STATUS_INCOMPLETE)  # statuses whose (partial) predictions are scored
NOT_SENT_BUDGET = "not sent: --max-cost reached"


@dataclass
class Budget:
    """What ``--max-cost`` leaves to spend across the run (USD). ``None`` means no cap."""

    max_usd: float | None = None
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return float("inf") if self.max_usd is None else self.max_usd - self.spent


@dataclass
class RunOptions:
    """Runner configuration; the CLI builds it from flags and baseline.toml."""

    task: str = "text-classification"
    seed: int = 42
    device: str = "auto"
    threads: int | None = None
    metric: str = "macro_f1"
    max_cost: float | None = None
    latency_probe: int = 100          # single-item requests timed per free adapter
    adapter_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    prices: PriceTable = field(default_factory=PriceTable.default)
    cache: ResponseCache | None = None
    cache_dir: Path = Path(".baseline-cache")
    run_id: str = ""  # the run folder's name; adapters derive resource names, tokens and tags from it
    executor: str = "local"           # "ray": free adapters as Ray tasks (baseline.executors.ray)
    ray_address: str | None = None    # an existing Ray cluster; None starts a local instance for the run
    # with --executor ray: free local-compute adapters predict through ray.data batch inference when the test
    # set has at least this many rows (0: always; None: never); ray_data_actors caps the actor pool
    ray_data_min_rows: int | None = 20_000
    ray_data_actors: int | None = None


@dataclass
class AdapterResult:
    """Everything measured for one adapter; predictions align with the test rows."""

    name: str
    family: str
    simplicity: int
    paid: bool
    status: str
    reason: str = ""
    predictions: list[str | None] = field(default_factory=list)
    scores: list[dict[str, float] | None] = field(default_factory=list)
    raw: list[str | None] = field(default_factory=list)
    item_errors: list[str | None] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explain: dict[str, Any] = field(default_factory=dict)
    reused_from: dict[str, Any] | None = None  # copied from an earlier run on the same split: its run id, date

    def to_json(self) -> dict[str, Any]:
        # shallow: every field already holds JSON-ready values, and a deep copy of thousands of
        # per-item score dicts (dataclasses.asdict) costs more than the rest of the bookkeeping
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AdapterResult:
        return cls(**d)


class Progress:
    """Callbacks the runner emits; the CLI renders them with rich. Default: silent."""

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None: ...
    def phase(self, name: str) -> None: ...  # a stage outside the adapters (load, profile, scoring, report)
    def advance(self, adapter: str, n: int) -> None: ...
    def message(self, text: str) -> None: ...
    def done(self, result: AdapterResult) -> None: ...


def train_inputs(cls: type[Adapter], split: Split) -> tuple[Sequence[str], list[str]]:
    """What ``fit`` gets: the train texts (streamed a piece at a time to an adapter that ``streams_texts``, so a
    1M-row split is never copied whole into Python strings; a list otherwise) and the labels (one string object
    per distinct label)."""
    texts = split.train["text"]
    return (TextColumn(texts) if cls.streams_texts else texts.tolist()), shared_strings(split.train["label"])


def load_and_fit(adapter: Adapter, texts: Sequence[str], labels: list[str],
                 on_fit: Callable[[], None] | None = None) -> tuple[float, float, Any]:
    """Load (timed as cold start), then fit when the adapter learns: (cold-start s, fit s, ``FitInfo`` or None)."""
    t0 = time.perf_counter()
    adapter.load()
    cold = time.perf_counter() - t0
    if not type(adapter).learns:
        return cold, 0.0, None
    if on_fit is not None:
        on_fit()
    t0 = time.perf_counter()
    info = adapter.fit(texts, labels)
    return cold, time.perf_counter() - t0, info


class BatchStream:
    """A free adapter's load, fit and batched predict done elsewhere (``--executor ray``: a Ray task fits,
    ray.data predicts). The runner keeps everything else: estimate, warm-up, bookkeeping, probe, teardown.

    ``run_adapter(..., stream=...)`` calls ``load_fit`` at the load stage (it returns the loaded, fitted
    adapter the rest of the run uses, its cold-start and fit seconds and its ``FitInfo``), then the stream
    itself at the predict stage with that adapter, warmed up, the runner's own batches (lists of test-row
    indices) and the test texts. It yields ``(rows, answer, ms)`` per request as answers come back, in any
    order: ``rows`` key them, and each goes through the same bookkeeping as a local request.
    ``concurrency`` and ``timing`` are reported with the result.
    """

    concurrency: int = 1

    def __init__(self) -> None:
        self.timing: dict[str, Any] = {}

    def load_fit(self, adapter: Adapter, texts: Sequence[str], labels: list[str]) -> tuple[Adapter, float, float, Any]:
        """Here, as the runner would (``load_and_fit``)."""
        return (adapter, *load_and_fit(adapter, texts, labels))

    def __call__(self, adapter: Adapter, batches: list[list[int]],
                 texts: list[str]) -> Iterator[tuple[list[int], BatchResult, float]]:  # pragma: no cover
        raise NotImplementedError


class _InlineExecutor:
    """Runs each call at once in the calling thread: for adapters that declare no concurrency.

    Local models run measurably slower from a worker thread (OpenMP teams are per thread), so
    sequential adapters predict on the main thread, as a user's own loop would.
    """

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[[], Any]) -> Future:
        f: Future = Future()
        try:
            f.set_result(fn())
        except BaseException as e:  # delivered through f.result(), as from a pool
            if isinstance(e, KeyboardInterrupt):
                raise
            f.set_exception(e)
        return f


UNSTABLE_P95_SPREAD = 0.5   # p95's 95% CI wider than half of p95 itself: the figure is noise-dominated


def percentiles(values_ms: list[float] | np.ndarray) -> dict[str, Any]:
    """p50/p95/p99 with a distribution-free 95% CI on p95, and whether p95 is too noisy to judge a bar by.

    The CI comes from order statistics (the ranks a Binomial(n, 0.95) count puts around p95), so it
    costs one sort whatever the number of items.
    """
    v = np.asarray(values_ms, dtype=float)
    if v.size == 0:
        return {"n": 0}
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    out: dict[str, Any] = {"n": int(v.size), "p50": float(p50), "p95": float(p95), "p99": float(p99),
                           "mean": float(v.mean()), "max": float(v.max())}
    if v.size >= 20:
        n = v.size
        half = 1.96 * math.sqrt(n * 0.95 * 0.05)
        lo_i, hi_i = max(0, math.floor(n * 0.95 - half) - 1), min(n - 1, math.ceil(n * 0.95 + half) - 1)
        srt = np.sort(v)
        lo, hi = float(srt[lo_i]), float(srt[hi_i])
        out["p95_ci"] = [lo, hi]
        # sub-millisecond figures are below any latency bar worth setting: never "unstable"
        out["unstable"] = bool(hi >= 1.0 and p95 > 0 and (hi - lo) / p95 > UNSTABLE_P95_SPREAD)
    return out


def resolve_device(device: str) -> str:
    """``auto`` → cuda, then mps, then cpu (only probes torch if it is installed)."""
    if device != "auto":
        return device
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return "cpu"
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
    except Exception:
        pass
    return "cpu"


def _batches(idx: list[int], size: int) -> list[list[int]]:
    return [idx[i:i + size] for i in range(0, len(idx), max(1, size))]


def _empty_result(cls: type[Adapter] | None, name: str, status: str, reason: str) -> AdapterResult:
    return AdapterResult(name=name, family=cls.family if cls else "?", simplicity=cls.simplicity if cls else 999,
                         paid=bool(cls and cls.paid), status=status, reason=reason)


def run_adapter(cls: type[Adapter], split: Split, opts: RunOptions, budget: Budget, workdir: Path,
                progress: Progress | None = None, prior: AdapterResult | None = None,
                ledger: SpendLedger | None = None, stream: BatchStream | None = None) -> AdapterResult:
    """Run one adapter through its whole life cycle and measure it. Never raises for adapter errors.

    ``prior``: this adapter's saved result from an earlier attempt (``--resume`` of an incomplete or
    stopped adapter): its answered items are kept and only the unanswered ones are sent.
    ``ledger``: where each paid request's spend is appended as it happens.
    ``stream``: free adapters only: where the batched predict runs instead of this process (see ``BatchStream``).
    """
    progress = progress or Progress()
    name = cls.name
    options = opts.adapter_options.get(name, {})
    avail = cls.availability(opts.task, options)
    if not avail.ok:
        return _empty_result(cls, name, STATUS_UNAVAILABLE, avail.reason)

    device = resolve_device(opts.device) if cls.uses_device else "cpu"
    adir = workdir / "adapters" / name
    adir.mkdir(parents=True, exist_ok=True)
    ctx = AdapterContext(labels=split.labels, options=options, label_map=opts.label_maps.get(name), task=opts.task,
                         prices=opts.prices, workdir=adir, cache_dir=opts.cache_dir, seed=opts.seed,
                         device=device, threads=opts.threads, metric=opts.metric, run_id=opts.run_id,
                         log=progress.message)
    res = _empty_result(cls, name, STATUS_OK, "")
    train_texts, train_labels = train_inputs(cls, split)
    test_texts = TextColumn(split.test["text"])
    n = len(test_texts)
    res.predictions = [None] * n
    res.scores = [None] * n
    res.raw = [None] * n
    res.item_errors = [None] * n
    counts = {"requests": 0, "retries": 0, "throttles": 0, "item_errors": 0, "truncated": 0, "cached_items": 0}
    timing: dict[str, Any] = {"device": device}
    billed = Cost()
    unconfirmed = Cost()
    cached_cost = Cost()
    fit_cost = Cost()
    adapter: Adapter | None = None
    if stream is not None and cls.paid:
        raise ValueError(f"{name}: a paid adapter predicts in this process, under the run's budget")
    try:
        adapter = cls(ctx)
        # estimate_fit sees the train split first, so an identity may depend on it (few-shot examples)
        est_fit = adapter.estimate_fit(train_texts, train_labels) if cls.learns else Cost()
        # ---- cache lookup (paid answers only) ------------------------------------------------
        identity = adapter.cache_identity()
        cache = opts.cache if identity is not None else None
        keys: list[str] = []
        todo = list(range(n))
        if prior is not None and len(prior.predictions) == n:  # resume: keep what the earlier attempt answered
            errs = prior.item_errors or [None] * n
            todo = [i for i in range(n) if errs[i]]
            for i in todo:  # still unanswered until this attempt answers them
                res.item_errors[i] = errs[i]
            for i in set(range(n)) - set(todo):
                res.predictions[i] = prior.predictions[i]
                res.scores[i] = prior.scores[i] if prior.scores else None
                res.raw[i] = prior.raw[i] if prior.raw else None
            pc = prior.cost or {}
            cached_cost = cached_cost + Cost(float(pc.get("predict_usd") or 0.0), dict(pc.get("billed_units") or {}))
            counts["resumed_items"] = n - len(todo)
        if cache is not None:
            keys = [cache.key(name, identity, t) for t in test_texts]
            hits = cache.get_many([keys[i] for i in todo])
            still = []
            for i in todo:
                h = hits.get(keys[i])
                if h is None:
                    still.append(i)
                    continue
                v = h["value"]
                res.predictions[i], res.scores[i], res.raw[i] = v.get("label"), v.get("scores"), v.get("raw")
                cached_cost = cached_cost + Cost(h["usd"], h["units"])
            counts["cached_items"] = len(todo) - len(still)
            todo = still

        # ---- estimate and budget gate --------------------------------------------------------
        est_pred = adapter.estimate_predict(test_texts if len(todo) == n else test_texts.take(todo))
        estimate = est_fit + est_pred
        res.cost["estimate_usd"] = estimate.usd
        res.cost["estimate_units"] = estimate.units
        if estimate.usd > budget.remaining:
            res.status = STATUS_SKIPPED
            res.reason = (f"estimated ${estimate.usd:.4f} exceeds the ${max(budget.remaining, 0):.4f} left "
                          f"under --max-cost {budget.max_usd}")
            if counts.get("resumed_items"):  # the earlier attempt's answers stand; the rest stays unsent
                res.status = STATUS_STOPPED
                res.reason = f"stopped by --max-cost {budget.max_usd}: {res.reason}; {len(todo)} texts left unanswered"
                for i in todo:
                    res.item_errors[i] = NOT_SENT_BUDGET
            return res
        if cls.paid and todo:
            where = adapter.endpoint_description() or cls.name
            resumed = f", {counts['resumed_items']} kept from the earlier attempt" if counts.get("resumed_items") else ""
            progress.message(f"{name}: sending {len(todo)} texts to {where} (estimate ${estimate.usd:.4f}; "
                             f"{counts['cached_items']} answered from cache{resumed})")

        # ---- cold start, fit -----------------------------------------------------------------
        progress.stage(name, "load")
        if stream is not None:  # loaded and fitted where the stream puts it: the fitted adapter comes back
            if cls.learns:
                progress.stage(name, "fit")
            adapter, timing["cold_start_s"], timing["fit_s"], info = stream.load_fit(adapter, train_texts, train_labels)
        else:
            timing["cold_start_s"], timing["fit_s"], info = load_and_fit(
                adapter, train_texts, train_labels, on_fit=lambda: progress.stage(name, "fit"))
        if info is not None:
            res.fit = info.details
            fit_cost = info.cost
            budget.spent += info.cost.usd
            if ledger is not None:
                ledger.record(name, "fit", info.cost.usd)

        # ---- warm-up (untimed), batched predict ------------------------------------------------
        if cls.warmup and not cls.paid and todo:
            t0 = time.perf_counter()
            adapter.predict_batch(test_texts.take(todo[: min(8, len(todo))]))
            timing["warmup_s"] = time.perf_counter() - t0
            timing["warmup_excluded"] = True
        progress.stage(name, "predict", len(todo))
        request_ms: list[float] = []
        item_ms = np.full(n, np.nan)
        service_ms: list[float] = []
        batches = _batches(todo, adapter.batch_size)
        reserved = 0.0
        answered = 0
        stopped_reason = ""
        failure: BaseException | None = None

        def submit(pool: ThreadPoolExecutor | _InlineExecutor, b: list[int]) -> Future:
            def call() -> tuple[BatchResult, float]:
                t = time.perf_counter()
                try:
                    r = adapter.predict_batch(test_texts.take(b))
                except AdapterGaveUp as e:
                    e.ms = (time.perf_counter() - t) * 1000  # type: ignore[attr-defined]
                    raise
                return r, (time.perf_counter() - t) * 1000
            return pool.submit(call)

        def take(b: list[int], r: BatchResult, ms: float) -> None:
            if len(r.labels) != len(b):
                raise RuntimeError(f"{name} returned {len(r.labels)} answers for {len(b)} texts")
            ms = max(0.0, ms - r.queued_ms)  # time spent waiting on our own rate limiter is not latency
            request_ms.append(ms)
            if r.service_ms is not None:
                service_ms.append(r.service_ms)
            counts["requests"] += 1
            counts["retries"] += r.retries
            counts["throttles"] += r.throttles
            counts["truncated"] += r.truncated
            rows = []
            share = r.cost.usd / len(b) if b else 0.0
            unit_share = {k: v / len(b) for k, v in r.cost.units.items()}
            for j, i in enumerate(b):
                res.predictions[i] = r.labels[j]
                res.scores[i] = r.scores[j] if r.scores else None
                res.raw[i] = r.raw[j] if r.raw else None
                err = r.errors[j] if r.errors else None
                res.item_errors[i] = redact(err) if err else None
                item_ms[i] = ms
                if err:
                    counts["item_errors"] += 1
                elif cache is not None:
                    rows.append((keys[i], {"label": r.labels[j], "raw": res.raw[i], "scores": res.scores[i]},
                                 share, unit_share))
            if cache is not None and rows:
                cache.put_many(name, identity, rows)
            progress.advance(name, len(b))

        t_pred = time.perf_counter()
        workers = max(1, int(adapter.max_concurrency))
        if stream is not None:  # predicted elsewhere: answers keyed by their rows, in whatever order they come back
            for b, r, ms in stream(adapter, batches, test_texts):
                answered += len(b)
                take(b, r, ms)
            workers = stream.concurrency
            timing.update(stream.timing)
        with ThreadPoolExecutor(max_workers=workers) if workers > 1 and stream is None else _InlineExecutor() as pool:
            pending: dict[Future, tuple[list[int], float, str | None]] = {}
            queue = list(batches) if stream is None else []  # a stream has answered every batch already
            while queue or pending:
                while queue and len(pending) < workers and not stopped_reason and failure is None:
                    b = queue[0]
                    c = 0.0
                    if cls.paid:  # the larger of the estimate and what the bill has run at so far
                        c = adapter.estimate_predict(test_texts.take(b)).usd
                        if answered:
                            c = max(c, (billed.usd + unconfirmed.usd) / answered * len(b))
                    if budget.spent + reserved + c > (budget.max_usd if budget.max_usd is not None else float("inf")):
                        left = [i for q in queue for i in q]
                        stopped_reason = (f"stopped by --max-cost {budget.max_usd}: the next request would cross it; "
                                          f"{len(left)} texts left unanswered")
                        for i in left:
                            res.item_errors[i] = NOT_SENT_BUDGET
                        queue.clear()
                        break
                    queue.pop(0)
                    reserved += c
                    rid = ledger.sent(name, c) if ledger is not None and cls.paid else None
                    pending[submit(pool, b)] = (b, c, rid)
                if not pending:
                    break
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for f in finished:
                    b, c, rid = pending.pop(f)
                    reserved -= c
                    try:
                        r, ms = f.result()
                    except AdapterGaveUp as e:  # keep what the failing call saw, finish the calls in flight
                        r, ms = e.partial, float(getattr(e, "ms", 0.0))
                        failure = failure or e
                    except Exception as e:  # the calls in flight still finish and are counted; this one's
                        failure = failure or e  # spend stays in the ledger at its expected cost
                        continue
                    billed = billed + r.cost
                    unconfirmed = unconfirmed + r.unconfirmed
                    answered += len(b)
                    budget.spent += r.cost.usd + r.unconfirmed.usd
                    if rid is not None:
                        ledger.record(name, "predict", r.cost.usd, r.unconfirmed.usd, req=rid)
                    take(b, r, ms)
                if failure is not None:
                    queue.clear()
        if failure is not None:
            raise failure
        timing["predict_s"] = time.perf_counter() - t_pred
        timing["throughput_per_s"] = (len(todo) / timing["predict_s"]) if todo and timing["predict_s"] > 0 else None
        timing["batch_size"] = adapter.batch_size
        timing["concurrency"] = workers
        timing["request_latency_ms"] = percentiles(request_ms)
        if service_ms:
            timing["service_latency_ms"] = percentiles(service_ms)

        # ---- single-item latency (free adapters only: it would bill twice otherwise) -----------
        if not cls.paid and opts.latency_probe > 0 and n:
            rng = random.Random(opts.seed)
            sample = rng.sample(range(n), min(opts.latency_probe, n))
            probe = []
            t0 = time.perf_counter()
            for i in sample:
                t = time.perf_counter()
                adapter.predict_batch([test_texts[i]])
                probe.append((time.perf_counter() - t) * 1000)
            timing["probe_s"] = time.perf_counter() - t0
            timing["item_latency_ms"] = {**percentiles(probe), "mode": "single-item requests"}
        else:
            timing["item_latency_ms"] = {**percentiles(item_ms[~np.isnan(item_ms)]),
                                         "mode": "latency of the batched request carrying each item"}
        unanswered = sum(1 for e in res.item_errors if e)
        if stopped_reason:
            res.status = STATUS_STOPPED
            res.reason = stopped_reason
        elif unanswered:
            res.status = STATUS_INCOMPLETE
            res.reason = (f"{unanswered} of {n} items unanswered (item errors): rerun, or --resume the run folder, "
                          "to ask only those again")
        t0 = time.perf_counter()
        res.explain = adapter.explain() if res.status in (STATUS_OK, STATUS_INCOMPLETE) else {}
        timing["explain_s"] = time.perf_counter() - t0  # the adapter's own work (e.g. naming 4M n-gram features)
    except KeyboardInterrupt:
        res.status = STATUS_FAILED
        res.reason = "interrupted"
        raise
    except BadInput:
        raise
    except AdapterUnavailable as e:  # found late (e.g. at load): skipped with its reason, not failed
        res.status = STATUS_UNAVAILABLE
        res.reason = one_line(e).removeprefix("AdapterUnavailable: ")
    except Exception as e:
        res.status = STATUS_FAILED
        res.reason = one_line(e)
    finally:
        if adapter is not None:
            try:
                with shielded(f"{name} teardown"):  # a second Ctrl-C / SIGTERM must not abandon it
                    adapter.teardown()
            except Exception as e:  # teardown failure is loud: billable things may be left
                res.notes.append(f"TEARDOWN FAILED: {one_line(e)} — check the resources listed below; "
                                 "`baseline cleanup` retries")
                if res.status == STATUS_OK:
                    res.status = STATUS_FAILED
                    res.reason = f"teardown failed: {one_line(e)}"
            adapter.save_ledger()
            res.resources = list(adapter.resources)
            res.notes.extend(adapter.notes)
            fit_cost = fit_cost + adapter.extra_cost
            budget.spent += adapter.extra_cost.usd
            if ledger is not None:
                ledger.record(name, "hosting", adapter.extra_cost.usd)
        res.counts = counts
        res.counts["unanswered"] = sum(1 for e in res.item_errors if e)
        # an abstention is a real answer that maps to no dataset label; unanswered items are not abstentions
        res.counts["abstained"] = sum(p is None and not e for p, e in zip(res.predictions, res.item_errors, strict=True))
        res.timing.update(timing)
        res.cost.update(_price(cls, res, opts, fit_cost, billed, cached_cost, n, unconfirmed))
    return res


def _price(cls: type[Adapter], res: AdapterResult, opts: RunOptions, fit_cost: Cost, billed: Cost,
           cached: Cost, n: int, unconfirmed: Cost | None = None) -> dict[str, Any]:
    """One-off and per-1k costs: measured compute for local adapters, billed units for services.

    Services also get ``possibly_billed_now_usd``: billed (confirmed by answers) plus every attempt
    that may have been billed without an answer (``unconfirmed_usd``); it is never below the bill.
    """
    unconfirmed = unconfirmed or Cost()
    out: dict[str, Any] = {}
    if cls.local_compute:
        rate, row = local_instance_price(opts.prices, res.timing.get("device", "cpu"))
        fit_s = res.timing.get("fit_s") or 0.0
        pred_s = res.timing.get("predict_s") or 0.0
        one_off = compute_usd(fit_s, rate) + fit_cost.usd
        run_pred = compute_usd(pred_s, rate)
        out.update(pricing=f"measured compute seconds × ${rate}/h ({row})", price_rows=[row],
                   one_off_usd=one_off, predict_usd=run_pred, per_1k_usd=per_1k(run_pred, n),
                   billed_now_usd=one_off + run_pred, cached_usd=0.0, billed_units={},
                   possibly_billed_now_usd=one_off + run_pred, unconfirmed_usd=0.0)
    else:
        units = (billed + cached).units
        answered = n
        out.update(pricing="provider billing units × price table", one_off_usd=fit_cost.usd,
                   predict_usd=billed.usd + cached.usd, per_1k_usd=per_1k(billed.usd + cached.usd, answered),
                   billed_now_usd=fit_cost.usd + billed.usd, cached_usd=cached.usd, billed_units=units,
                   billed_now_units=billed.units, one_off_units=fit_cost.units,
                   unconfirmed_usd=unconfirmed.usd, unconfirmed_units=unconfirmed.units,
                   possibly_billed_now_usd=fit_cost.usd + billed.usd + unconfirmed.usd)
    out["total_usd"] = out["one_off_usd"] + out["predict_usd"]
    return out


def unanswered_summary(results: list[AdapterResult], first: int = 3) -> list[dict[str, Any]]:
    """Per adapter with unanswered items: how many, and the first distinct error messages."""
    out = []
    for r in results:
        errs = [e for e in r.item_errors if e]
        if not errs:
            continue
        out.append({"name": r.name, "status": r.status, "unanswered": len(errs), "of": len(r.item_errors),
                    "first_errors": list(dict.fromkeys(errs))[:first]})
    return out


def _write_json(d: dict[str, Any], f: Any, rows: int = 20_000) -> None:
    """``json.dump(d, f)`` for a dict whose long lists (per-item answers) are written ``rows`` items at a time: the
    same text, without one string of a large run's whole result in memory (and at ``json.dumps`` speed, which
    ``json.dump``'s many small writes are far from)."""
    f.write("{")
    for k, (key, value) in enumerate(d.items()):
        f.write(("" if k == 0 else ", ") + json.dumps(key) + ": ")
        if isinstance(value, list) and len(value) > rows:
            f.write("[")
            for start in range(0, len(value), rows):
                f.write(("" if start == 0 else ", ") + json.dumps(value[start:start + rows], default=float)[1:-1])
            f.write("]")
        else:
            f.write(json.dumps(value, default=float))
    f.write("}")


def save_result(res: AdapterResult, workdir: Path) -> Path:
    p = workdir / "adapters" / res.name / "result.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        _write_json(redact_tree(res.to_json()), f)
    tmp.replace(p)
    return p


def load_result(workdir: Path, name: str) -> AdapterResult | None:
    p = workdir / "adapters" / name / "result.json"
    if not p.exists():
        return None
    return AdapterResult.from_json(json.loads(p.read_text(encoding="utf-8")))


@contextmanager
def _thread_cap(threads: int | None) -> Iterator[None]:
    """``--threads``: cap BLAS/OpenMP pools (numpy, scikit-learn, LightGBM) as well as torch."""
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


def run_all(registry: Registry, names: list[str], split: Split, opts: RunOptions, workdir: Path,
            progress: Progress | None = None, resume: bool = False,
            on_result: Callable[[AdapterResult], None] | None = None,
            ledger: SpendLedger | None = None) -> list[AdapterResult]:
    """Run every named adapter in turn; with ``resume``, adapters already finished are loaded, not rerun.

    With ``resume``, the budget starts from everything earlier attempts possibly billed (the run
    folder's spend ledger, whatever their adapters' status), an ``ok`` adapter is loaded, and an
    ``incomplete`` or ``stopped`` one keeps its answers and sends only its unanswered items.
    """
    progress = progress or Progress()
    budget = Budget(opts.max_cost)
    if opts.max_cost is not None and opts.max_cost < 0:
        raise BadInput(f"--max-cost must be zero or more (got {opts.max_cost})")
    ledger = ledger or SpendLedger(workdir)
    if not resume:
        ledger.touch()
    if resume:
        if ledger.exists():
            budget.spent = ledger.earlier_possibly_billed()
        else:  # a run folder from before the ledger: what its saved results say they spent
            for name in names:
                prior = load_result(workdir, name)
                if prior is not None and prior.paid:
                    c = prior.cost or {}
                    budget.spent += float(c.get("possibly_billed_now_usd", c.get("billed_now_usd", 0.0)) or 0.0)
        if budget.spent:
            progress.message(f"resumed: earlier attempts possibly billed ${budget.spent:.4f}, counted against --max-cost")
    results: list[AdapterResult] = []
    for name in names:
        entry = registry.get(name)
        prior = load_result(workdir, name) if resume else None
        if prior is not None and prior.status in (STATUS_OK, STATUS_UNAVAILABLE):
            prior.notes.append("resumed: loaded from the interrupted run, not rerun")
            results.append(prior)
            progress.done(prior)
            continue
        # an incomplete or stopped adapter keeps its answers (a result saved before item errors marked the
        # unsent items has none to go by: it is rerun, the cache answering what it already asked)
        keep = prior if (prior is not None and prior.status in (STATUS_INCOMPLETE, STATUS_STOPPED)
                         and any(prior.item_errors)) else None
        if entry.cls is None:
            res = _empty_result(None, name, STATUS_UNAVAILABLE, entry.import_error)
        else:
            with _thread_cap(opts.threads):
                res = run_adapter(entry.cls, split, opts, budget, workdir, progress, prior=keep, ledger=ledger)
            if keep is not None:
                res.notes.append(f"resumed: {res.counts.get('resumed_items', 0)} answers kept from the earlier attempt, "
                                 "only its unanswered items sent again")
        save_result(res, workdir)
        results.append(res)
        if on_result:
            on_result(res)
        progress.done(res)
    return results
