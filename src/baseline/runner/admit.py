"""Before anything is paid: keep earlier answers, answer from the response cache, estimate, gate on the budget."""

from __future__ import annotations

from baseline.adapters.base import Cost
from baseline.runner.results import NOT_SENT_BUDGET, STATUS_SKIPPED, STATUS_STOPPED, AdapterResult
from baseline.runner.state import AdapterRun


def look_up_answers(run: AdapterRun, prior: AdapterResult | None) -> None:
    """Settle which test rows still need sending: not those a resumed attempt or the cache already answered."""
    adapter, cls = run.adapter, run.cls
    # estimate_fit sees the train split first, so an identity may depend on it (few-shot examples)
    run.est_fit = adapter.estimate_fit(*run.train) if cls.learns else Cost()
    run.identity = adapter.cache_identity()
    run.cache = run.opts.cache if run.identity is not None else None
    run.todo = list(range(run.n))
    if prior is not None and len(prior.predictions) == run.n:  # resume: keep what the earlier attempt answered
        _keep_earlier_answers(run, prior)
    if run.cache is not None:
        _answer_from_cache(run)


def _keep_earlier_answers(run: AdapterRun, prior: AdapterResult) -> None:
    """The earlier attempt's answers stand; its unanswered rows stay item errors until this attempt answers them."""
    n, res = run.n, run.res
    errs = prior.item_errors or [None] * n
    run.todo = [i for i in range(n) if errs[i]]
    for i in run.todo:  # still unanswered until this attempt answers them
        res.item_errors[i] = errs[i]
    for i in set(range(n)) - set(run.todo):
        res.predictions[i] = prior.predictions[i]
        res.scores[i] = prior.scores[i] if prior.scores else None
        res.raw[i] = prior.raw[i] if prior.raw else None
    pc = prior.cost or {}
    run.spend.cached = run.spend.cached + Cost(float(pc.get("predict_usd") or 0.0), dict(pc.get("billed_units") or {}))
    run.counts["resumed_items"] = n - len(run.todo)


def _answer_from_cache(run: AdapterRun) -> None:
    """Rows whose validated answer is in the response cache are answered from it, at the price they cost then."""
    res, cache = run.res, run.cache
    run.keys = [cache.key(run.name, run.identity, t) for t in run.test_texts]
    hits = cache.get_many([run.keys[i] for i in run.todo])
    still = []
    for i in run.todo:
        h = hits.get(run.keys[i])
        if h is None:
            still.append(i)
            continue
        v = h["value"]
        res.predictions[i], res.scores[i], res.raw[i] = v.get("label"), v.get("scores"), v.get("raw")
        run.spend.cached = run.spend.cached + Cost(h["usd"], h["units"])
    run.counts["cached_items"] = len(run.todo) - len(still)
    run.todo = still


def within_budget(run: AdapterRun) -> bool:
    """Estimate what is left to do; False (skipped, or stopped after a resume) when it would cross ``--max-cost``."""
    adapter, res, budget, todo, counts = run.adapter, run.res, run.budget, run.todo, run.counts
    est_pred = adapter.estimate_predict(run.test_texts if len(todo) == run.n else run.test_texts.take(todo))
    estimate = run.est_fit + est_pred
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
        return False
    if run.cls.paid and todo:
        where = adapter.endpoint_description() or run.cls.name
        resumed = f", {counts['resumed_items']} kept from the earlier attempt" if counts.get("resumed_items") else ""
        run.progress.message(f"{run.name}: sending {len(todo)} texts to {where} (estimate ${estimate.usd:.4f}; "
                             f"{counts['cached_items']} answered from cache{resumed})")
    return True
