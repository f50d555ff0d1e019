"""After predict: the status and the adapter's explanation, then always teardown, the tallies and the price."""

from __future__ import annotations

import time
from typing import Any

from baseline.adapters.base import Adapter, Cost
from baseline.costs import compute_usd, local_instance_price, per_1k
from baseline.interrupts import shielded
from baseline.redact import one_line
from baseline.runner.results import (
    STATUS_FAILED,
    STATUS_INCOMPLETE,
    STATUS_OK,
    STATUS_STOPPED,
    AdapterResult,
    RunOptions,
)
from baseline.runner.state import AdapterRun


def settle_status(run: AdapterRun) -> None:
    """Stopped by the budget, incomplete (item errors), or ok; an adapter that finished explains itself."""
    res = run.res
    unanswered = sum(1 for e in res.item_errors if e)
    if run.stopped_reason:
        res.status = STATUS_STOPPED
        res.reason = run.stopped_reason
    elif unanswered:
        res.status = STATUS_INCOMPLETE
        res.reason = (f"{unanswered} of {run.n} items unanswered (item errors): rerun, or --resume the run folder, "
                      "to ask only those again")
    t0 = time.perf_counter()
    res.explain = run.adapter.explain() if res.status in (STATUS_OK, STATUS_INCOMPLETE) else {}
    run.timing["explain_s"] = time.perf_counter() - t0  # the adapter's own work (e.g. naming 4M n-gram features)


def finalise(run: AdapterRun) -> None:
    """Whatever happened before: tear down, then the counts, timing and price on the result."""
    res = run.res
    if run.adapter is not None:
        _teardown(run)
    res.counts = run.counts
    res.counts["unanswered"] = sum(1 for e in res.item_errors if e)
    # an abstention is a real answer that maps to no dataset label; unanswered items are not abstentions
    res.counts["abstained"] = sum(p is None and not e for p, e in zip(res.predictions, res.item_errors, strict=True))
    res.timing.update(run.timing)
    s = run.spend
    res.cost.update(price(run.cls, res, run.opts, s.fit, s.billed, s.cached, run.n, s.unconfirmed))


def _teardown(run: AdapterRun) -> None:
    """Delete what the adapter made (a second interrupt cannot abandon it); book its ledger, notes and hosting."""
    adapter, res = run.adapter, run.res
    try:
        with shielded(f"{run.name} teardown"):  # a second Ctrl-C / SIGTERM must not abandon it
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
    run.spend.fit = run.spend.fit + adapter.extra_cost
    run.budget.spent += adapter.extra_cost.usd
    if run.ledger is not None:
        run.ledger.record(run.name, "hosting", adapter.extra_cost.usd)


def price(cls: type[Adapter], res: AdapterResult, opts: RunOptions, fit_cost: Cost, billed: Cost,
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
