"""Where a candidate loads, fits and predicts: in this process (``load_and_fit``) or elsewhere (``BatchStream``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from baseline.adapters.base import Adapter, BatchResult
from baseline.data import Split, TextColumn, shared_strings


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
