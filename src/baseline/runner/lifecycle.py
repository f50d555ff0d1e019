"""One adapter's whole life cycle, a stage at a time: availability → estimate → budget gate → fit → predict → teardown.

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

from pathlib import Path

from baseline.adapters.base import Adapter
from baseline.data import Split
from baseline.errors import AdapterUnavailable, BadInput
from baseline.ledger import SpendLedger
from baseline.redact import one_line
from baseline.runner.admit import look_up_answers, within_budget
from baseline.runner.finish import finalise, settle_status
from baseline.runner.latency import probe_latency
from baseline.runner.predict import predict, warm_up
from baseline.runner.results import (
    STATUS_FAILED,
    STATUS_UNAVAILABLE,
    AdapterResult,
    Budget,
    Progress,
    RunOptions,
    empty_result,
)
from baseline.runner.state import AdapterRun, start_run
from baseline.runner.stream import BatchStream, load_and_fit


def run_adapter(cls: type[Adapter], split: Split, opts: RunOptions, budget: Budget, workdir: Path,
                progress: Progress | None = None, prior: AdapterResult | None = None,
                ledger: SpendLedger | None = None, stream: BatchStream | None = None) -> AdapterResult:
    """Run one adapter through its whole life cycle and measure it. Never raises for adapter errors.

    ``prior``: this adapter's saved result from an earlier attempt (``--resume`` of an incomplete or
    stopped adapter): its answered items are kept and only the unanswered ones are sent.
    ``ledger``: where each paid request's spend is appended as it happens.
    ``stream``: free adapters only: where the batched predict runs instead of this process (see ``BatchStream``).
    """
    avail = cls.availability(opts.task, opts.adapter_options.get(cls.name, {}))
    if not avail.ok:
        return empty_result(cls, cls.name, STATUS_UNAVAILABLE, avail.reason)
    run = start_run(cls, split, opts, budget, workdir, progress or Progress(), ledger)
    if stream is not None and cls.paid:
        raise ValueError(f"{cls.name}: a paid adapter predicts in this process, under the run's budget")
    res = run.res
    try:
        run.adapter = cls(run.ctx)
        look_up_answers(run, prior)
        if within_budget(run):
            load_fit(run, stream)
            warm_up(run)
            predict(run, stream)
            probe_latency(run)
            settle_status(run)
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
        finalise(run)  # teardown always runs, shielded from a second interrupt
    return res


def load_fit(run: AdapterRun, stream: BatchStream | None) -> None:
    """Cold start (with the device probe ``start_run`` timed), then fit when the adapter learns (here, or where the
    stream puts it); fit spend is booked."""
    name, timing, progress = run.name, run.timing, run.progress
    progress.stage(name, "load")
    if stream is not None:  # loaded and fitted where the stream puts it: the fitted adapter comes back
        if run.cls.learns:
            progress.stage(name, "fit")
        run.adapter, timing["cold_start_s"], timing["fit_s"], info = stream.load_fit(run.adapter, *run.train)
    else:
        timing["cold_start_s"], timing["fit_s"], info = load_and_fit(
            run.adapter, *run.train, on_fit=lambda: progress.stage(name, "fit"))
    timing["cold_start_s"] += timing.get("device_probe_s", 0.0)   # the device probe (torch imported) is its load too
    if info is not None:
        run.res.fit = info.details
        run.spend.fit = info.cost
        run.budget.spent += info.cost.usd
        if run.ledger is not None:
            run.ledger.record(name, "fit", info.cost.usd)
