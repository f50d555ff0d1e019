"""The local executor: every named adapter in turn, in this process, under one budget; resumable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.errors import BadInput
from baseline.ledger import SpendLedger
from baseline.runner.lifecycle import run_adapter
from baseline.runner.results import (
    STATUS_INCOMPLETE,
    STATUS_OK,
    STATUS_STOPPED,
    STATUS_UNAVAILABLE,
    AdapterResult,
    Budget,
    Progress,
    RunOptions,
    empty_result,
    load_saved_result,
    resume_note,
    save_result,
)


@contextmanager
def thread_cap(threads: int | None) -> Iterator[None]:
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
        budget.spent = _earlier_spend(ledger, workdir, names)
        if budget.spent:
            progress.message(f"resumed: earlier attempts possibly billed ${budget.spent:.4f}, counted against --max-cost")
    results: list[AdapterResult] = []
    for name in names:
        entry = registry.get(name)
        prior, unreadable = load_saved_result(workdir, name) if resume else (None, None)
        if unreadable:
            progress.message(f"{name}: {resume_note(unreadable)}")
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
            res = empty_result(None, name, STATUS_UNAVAILABLE, entry.import_error)
        else:
            with thread_cap(opts.threads):
                res = run_adapter(entry.cls, split, opts, budget, workdir, progress, prior=keep, ledger=ledger)
            if keep is not None:
                res.notes.append(f"resumed: {res.counts.get('resumed_items', 0)} answers kept from the earlier attempt, "
                                 "only its unanswered items sent again")
        if unreadable:
            res.notes.append(resume_note(unreadable))
        save_result(res, workdir)
        results.append(res)
        if on_result:
            on_result(res)
        progress.done(res)
    return results


def _earlier_spend(ledger: SpendLedger, workdir: Path, names: list[str]) -> float:
    """What earlier attempts possibly billed: the spend ledger, or for an older run folder its saved results."""
    if ledger.exists():
        return ledger.earlier_possibly_billed()
    spent = 0.0  # a run folder from before the ledger: what its saved results say they spent
    for name in names:
        prior, _ = load_saved_result(workdir, name)   # unreadable: nothing to go by, as for a missing one
        if prior is not None and prior.paid:
            c = prior.cost or {}
            spent += float(c.get("possibly_billed_now_usd", c.get("billed_now_usd", 0.0)) or 0.0)
    return spent
