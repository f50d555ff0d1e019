"""The batched predict: an untimed warm-up, then batches sent (or streamed) and every answer booked as it comes back.

Paid requests pass a budget gate one at a time: a request is sent only while what the run has spent, what is in
flight and this request's expected cost stay under ``--max-cost``. An item the service did not answer is an item
error, never an abstention.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from baseline.adapters.base import Adapter, AdapterGaveUp, BatchResult
from baseline.data import TextColumn
from baseline.redact import redact
from baseline.runner.latency import percentiles
from baseline.runner.results import NOT_SENT_BUDGET
from baseline.runner.state import AdapterRun
from baseline.runner.stream import BatchStream


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


def split_batches(idx: list[int], size: int) -> list[list[int]]:
    """The rows in consecutive batches of at most ``size``."""
    return [idx[i:i + size] for i in range(0, len(idx), max(1, size))]


def warm_up(run: AdapterRun) -> None:
    """A free adapter's first small batch, timed apart and excluded from every latency figure."""
    if run.cls.warmup and not run.cls.paid and run.todo:
        t0 = time.perf_counter()
        run.adapter.predict_batch(run.test_texts.take(run.todo[: min(8, len(run.todo))]))
        run.timing["warmup_s"] = time.perf_counter() - t0
        run.timing["warmup_excluded"] = True


def predict(run: AdapterRun, stream: BatchStream | None) -> None:
    """Every row still to send, in the adapter's batches, here or through ``stream``; timing and throughput."""
    adapter, timing, todo = run.adapter, run.timing, run.todo
    run.progress.stage(run.name, "predict", len(todo))
    batches = split_batches(todo, adapter.batch_size)
    t_pred = time.perf_counter()
    workers = max(1, int(adapter.max_concurrency))
    if stream is not None:  # predicted elsewhere: answers keyed by their rows, in whatever order they come back
        for b, r, ms in stream(adapter, batches, run.test_texts):
            _take(run, b, r, ms)
        workers = stream.concurrency
        timing.update(stream.timing)
    else:
        _send(run, batches, workers)
    timing["predict_s"] = time.perf_counter() - t_pred
    timing["throughput_per_s"] = (len(todo) / timing["predict_s"]) if todo and timing["predict_s"] > 0 else None
    timing["batch_size"] = adapter.batch_size
    timing["concurrency"] = workers
    timing["request_latency_ms"] = percentiles(run.latency.request)
    if run.latency.service:
        timing["service_latency_ms"] = percentiles(run.latency.service)


def _send(run: AdapterRun, batches: list[list[int]], workers: int) -> None:
    """Up to ``workers`` requests in flight, each past the budget gate; the first failure stops new sends and is
    raised once the calls in flight have finished and been counted."""
    budget, ledger, spend = run.budget, run.ledger, run.spend
    reserved = 0.0
    answered = 0
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers) if workers > 1 else _InlineExecutor() as pool:
        pending: dict[Future, tuple[list[int], float, str | None]] = {}
        queue = list(batches)
        while queue or pending:
            while queue and len(pending) < workers and not run.stopped_reason and failure is None:
                b = queue[0]
                c = _request_cost(run, b, answered)
                if budget.spent + reserved + c > (budget.max_usd if budget.max_usd is not None else float("inf")):
                    _stop_at_budget(run, queue)
                    break
                queue.pop(0)
                reserved += c
                rid = ledger.sent(run.name, c) if ledger is not None and run.cls.paid else None
                pending[_submit(pool, run.adapter, run.test_texts, b)] = (b, c, rid)
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
                spend.billed = spend.billed + r.cost
                spend.unconfirmed = spend.unconfirmed + r.unconfirmed
                answered += len(b)
                budget.spent += r.cost.usd + r.unconfirmed.usd
                if rid is not None:
                    ledger.record(run.name, "predict", r.cost.usd, r.unconfirmed.usd, req=rid)
                _take(run, b, r, ms)
            if failure is not None:
                queue.clear()
    if failure is not None:
        raise failure


def _request_cost(run: AdapterRun, b: list[int], answered: int) -> float:
    """A paid request's expected cost: the larger of the estimate and what the bill has run at so far."""
    c = 0.0
    if run.cls.paid:
        c = run.adapter.estimate_predict(run.test_texts.take(b)).usd
        if answered:
            c = max(c, (run.spend.billed.usd + run.spend.unconfirmed.usd) / answered * len(b))
    return c


def _stop_at_budget(run: AdapterRun, queue: list[list[int]]) -> None:
    """The next request would cross ``--max-cost``: what is still queued stays unsent, as item errors."""
    left = [i for q in queue for i in q]
    run.stopped_reason = (f"stopped by --max-cost {run.budget.max_usd}: the next request would cross it; "
                          f"{len(left)} texts left unanswered")
    for i in left:
        run.res.item_errors[i] = NOT_SENT_BUDGET
    queue.clear()


def _submit(pool: ThreadPoolExecutor | _InlineExecutor, adapter: Adapter, texts: TextColumn, b: list[int]) -> Future:
    """One timed request for the rows ``b``; a call that gives up carries its elapsed ms on the exception."""
    def call() -> tuple[BatchResult, float]:
        t = time.perf_counter()
        try:
            r = adapter.predict_batch(texts.take(b))
        except AdapterGaveUp as e:
            e.ms = (time.perf_counter() - t) * 1000  # type: ignore[attr-defined]
            raise
        return r, (time.perf_counter() - t) * 1000
    return pool.submit(call)


def _take(run: AdapterRun, b: list[int], r: BatchResult, ms: float) -> None:
    """Book one request's answers: per row the label, scores, raw output or item error; counts, latency, cache."""
    res, counts, lat = run.res, run.counts, run.latency
    if len(r.labels) != len(b):
        raise RuntimeError(f"{run.name} returned {len(r.labels)} answers for {len(b)} texts")
    ms = max(0.0, ms - r.queued_ms)  # time spent waiting on our own rate limiter is not latency
    lat.request.append(ms)
    if r.service_ms is not None:
        lat.service.append(r.service_ms)
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
        lat.item[i] = ms
        if err:
            counts["item_errors"] += 1
        elif run.cache is not None:
            rows.append((run.keys[i], {"label": r.labels[j], "raw": res.raw[i], "scores": res.scores[i]},
                         share, unit_share))
    if run.cache is not None and rows:
        run.cache.put_many(run.name, run.identity, rows)
    run.progress.advance(run.name, len(b))
