"""One adapter's run in progress: the plain record its stages read and fill in, and how it starts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.base import Adapter, AdapterContext, Cost
from baseline.data import Split, TextColumn
from baseline.devices import resolve_device
from baseline.ledger import SpendLedger
from baseline.runner.results import (
    STATUS_OK,
    AdapterResult,
    Budget,
    Progress,
    RunOptions,
    empty_result,
)
from baseline.runner.stream import train_inputs
from baseline.store import ResponseCache


@dataclass
class Spend:
    """This adapter's money so far: billed (answered), unconfirmed (maybe billed, no answer), cached, one-off."""

    billed: Cost = field(default_factory=Cost)
    unconfirmed: Cost = field(default_factory=Cost)
    cached: Cost = field(default_factory=Cost)
    fit: Cost = field(default_factory=Cost)


@dataclass
class Latencies:
    """Milliseconds as answers come back: per request, as the service reports it, and per test item."""

    request: list[float]
    service: list[float]
    item: np.ndarray


@dataclass
class AdapterRun:
    """What one adapter's stages share: its context, its result so far, what is left to send and what it cost."""

    cls: type[Adapter]
    ctx: AdapterContext
    opts: RunOptions
    budget: Budget
    progress: Progress
    ledger: SpendLedger | None
    res: AdapterResult
    train: tuple[Sequence[str], list[str]]  # what ``fit`` gets: texts and labels
    test_texts: TextColumn
    latency: Latencies
    adapter: Adapter | None = None
    todo: list[int] = field(default_factory=list)  # test rows still to send
    cache: ResponseCache | None = None  # paid answers only: None when the adapter has no cache identity
    identity: Any = None
    keys: list[str] = field(default_factory=list)  # the cache key of every test row
    est_fit: Cost = field(default_factory=Cost)
    spend: Spend = field(default_factory=Spend)
    counts: dict[str, int] = field(default_factory=lambda: {
        "requests": 0, "retries": 0, "throttles": 0, "item_errors": 0, "truncated": 0, "cached_items": 0})
    timing: dict[str, Any] = field(default_factory=dict)
    stopped_reason: str = ""  # set when --max-cost stopped the batched predict

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def n(self) -> int:
        return len(self.test_texts)


def start_run(cls: type[Adapter], split: Split, opts: RunOptions, budget: Budget, workdir: Path,
              progress: Progress, ledger: SpendLedger | None) -> AdapterRun:
    """The adapter's context (device, work folder, options) and an empty answer for every test row."""
    name = cls.name
    options = opts.adapter_options.get(name, {})
    t0 = time.perf_counter()
    # probing the device imports torch (about 1 s) for the adapters that use one: part of their cold start, which
    # ``load_fit`` adds it to, not the harness's time
    device = resolve_device(opts.device) if cls.uses_device else "cpu"
    device_probe_s = time.perf_counter() - t0
    adir = workdir / "adapters" / name
    adir.mkdir(parents=True, exist_ok=True)
    ctx = AdapterContext(labels=split.labels, options=options, label_map=opts.label_maps.get(name), task=opts.task,
                         schema=split.schema,
                         prices=opts.prices, workdir=adir, cache_dir=opts.cache_dir, seed=opts.seed,
                         device=device, threads=opts.threads, metric=opts.metric, run_id=opts.run_id,
                         log=progress.message)
    res = empty_result(cls, name, STATUS_OK, "")
    train = train_inputs(cls, split)
    test_texts = TextColumn(split.test["text"])
    n = len(test_texts)
    res.predictions = [None] * n
    res.scores = [None] * n
    res.raw = [None] * n
    res.item_errors = [None] * n
    return AdapterRun(cls=cls, ctx=ctx, opts=opts, budget=budget, progress=progress, ledger=ledger, res=res,
                      train=train, test_texts=test_texts, latency=Latencies([], [], np.full(n, np.nan)),
                      timing={"device": device, "device_probe_s": device_probe_s})
