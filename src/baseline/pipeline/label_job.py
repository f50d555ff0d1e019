"""The label check beside the adapters: on a large train split it runs in a child process while they fit.

The check (``dataplan.label_check``: cleanlab on out-of-fold TF-IDF + logistic-regression probabilities of at most
``MAX_CHECK_ROWS`` sampled train rows) reads only the split's train rows and the seed, so nothing it needs comes from
the adapters. Run after them it is seconds of harness time on every large run (about 3 s at 1M rows on a quiet
machine, 6 s at load 10, half of it importing cleanlab and scikit-learn); beside them it costs no wall time
while an adapter leaves a core free, as the default floors do (a sparse logistic regression fits on one core).
Small splits (under ``BACKGROUND_MIN_ROWS`` train rows) keep the inline check: a child process's start and
imports would cost more than the check itself.

The child is started with ``spawn`` (a fresh interpreter: no thread or lock of this process is copied into it),
as a daemon (it ends with this process, however that ends), on one BLAS/OpenMP thread (it takes the spare core, not
both). It writes ``label_issues.csv`` into the run folder as the inline check does and sends back the same
dict; ``result`` waits for it and adds how long this process waited. The figures are the inline check's,
row for row (tested).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import pandas as pd

from baseline.dataplan import MAX_CHECK_ROWS, label_check, label_check_rows
from baseline.redact import redact

BACKGROUND_MIN_ROWS = MAX_CHECK_ROWS   # train rows from which the check runs beside the adapters


def _child(rows: pd.DataFrame, seed: int, run_dir: str, sampled_from: int | None, conn: Any) -> None:
    """In the child: the check on one thread, its dict (or the failure) sent back."""
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            out = label_check(rows, seed, run_dir, sampled_from=sampled_from)
    except BaseException as ex:  # reported, never a failed run
        out = {"status": "failed", "reason": redact(f"{type(ex).__name__}: {ex}")[:300]}
    conn.send(out)
    conn.close()


class LabelJob:
    """One label check running in a child process; ``result()`` waits for its dict."""

    def __init__(self, rows: pd.DataFrame, sampled_from: int | None, seed: int, run_dir: Path) -> None:
        ctx = mp.get_context("spawn")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(rows, seed, str(run_dir), sampled_from, send),
                                 name="baseline-label-check", daemon=True)
        self._started = time.perf_counter()
        self._proc.start()
        send.close()   # the child holds the only sending end: a child that dies is seen as end-of-file

    def result(self) -> dict[str, Any]:
        """The check's dict (as ``dataplan.label_check`` returns it), once the child has sent it."""
        t = time.perf_counter()
        try:
            out = self._recv.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            out = {"status": "failed", "reason": f"the label check's process ended without an answer "
                                                 f"(exit code {self._proc.exitcode})"}
        self._proc.join(5)
        out["ran"] = "beside the adapters, in a child process"
        out["waited_s"] = time.perf_counter() - t
        out["wall_s"] = time.perf_counter() - self._started
        return out

    def cancel(self) -> None:
        """Stop the child (the run is ending early)."""
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)


def start_label_job(check: bool, train: pd.DataFrame, seed: int, run_dir: Path,
                    min_rows: int | None = None) -> LabelJob | None:
    """Start the check beside the adapters when it will run and train has at least ``min_rows`` rows
    (``BACKGROUND_MIN_ROWS``), else None."""
    if not check or len(train) < (BACKGROUND_MIN_ROWS if min_rows is None else min_rows):
        return None
    rows, sampled_from = label_check_rows(train, seed)
    return LabelJob(rows, sampled_from, seed, run_dir)
