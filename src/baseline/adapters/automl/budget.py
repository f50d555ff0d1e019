"""The search's clocks: per-learner trial-time projections and the moving end of the search."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from baseline.adapters.automl.config import LINEAR_FACTOR, RETRAIN_MARGIN


class _TrialClock:
    """Seconds per unit of work (non-zero entries × classes) per linear learner, to skip hopeless trials."""

    def __init__(self, n_classes: int) -> None:
        self.binary = n_classes <= 2
        self.k = 1 if self.binary else n_classes
        self.base_rate: float | None = None
        self.seed_work = 0.0
        self.rates: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()
        self.fits: Counter[str] = Counter()
        self.tree_min: float | None = None    # seconds of the quickest tree trial so far

    def work(self, nnz: int) -> float:
        return float(nnz) * self.k

    def seed(self, seconds: float, nnz: int) -> None:
        """The selection SVM's rate, from its largest fit so far.

        Small fits carry a per-class overhead that inflates their rate (a 1,500-row pilot on 151 classes
        projected every svc trial past the budget when the largest rate was kept), so the fit closest to
        full size is the one to extrapolate from.
        """
        work = self.work(nnz)
        if self.base_rate is None or work >= self.seed_work:
            self.base_rate = seconds / max(1.0, work)
            self.seed_work = work

    def project(self, learner: str, nnz: int) -> float | None:
        rate = self.rates.get(learner)
        if rate is None and self.base_rate is not None:
            rate = self.base_rate * LINEAR_FACTOR.get((learner, self.binary), 3.0)
        return None if rate is None else rate * self.work(nnz)

    def observe(self, learner: str, seconds: float, nnz: int) -> None:
        self.fits[learner] += 1
        self.rates[learner] = seconds / max(1.0, self.work(nnz))


class _SearchGuard:
    """The search's end, moved earlier when svc's measured cost says its retrain needs more time.

    ``reserve`` starts as the projected retrain (from the selection SVM's rate) and follows svc's measured
    trials once there are some: seconds on the trial's rows scaled to all ``n_rows`` × ``RETRAIN_MARGIN``,
    capped at ``cap``. When the reserve grows, FLAML's remaining search budget shrinks by as much: FLAML
    offers no public way to end a running search, so its ``_state.time_budget`` (the number its loop
    compares with the elapsed time after every trial) is lowered; without that attribute nothing changes
    and the retrain step alone keeps the budget (by skipping the retrain).
    """

    def __init__(self, deadline: float, reserve: float, cap: float, slack: float, n_rows: int) -> None:
        self.deadline, self.reserve, self.cap, self.slack, self.n_rows = deadline, reserve, cap, slack, n_rows
        self.automl: Any = None
        self.shifted = 0.0          # seconds the search's end moved (+ earlier, - later)
        self.per_row = 0.0          # svc's slowest measured seconds per training row
        self.released = False

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def observe_svc(self, seconds: float, rows: int) -> None:
        self.per_row = max(self.per_row, seconds / max(1, rows))
        want = self.per_row * self.n_rows * RETRAIN_MARGIN
        if want > self.cap + self.slack:   # the retrain cannot fit: hold nothing back for it
            want, self.released = 0.0, True
        else:
            want, self.released = min(want, self.cap), False
        delta = want - self.reserve
        if abs(delta) < 0.25:
            return
        self.reserve = want
        state = getattr(self.automl, "_state", None)
        if state is not None and getattr(state, "time_budget", -1) > 0:
            state.time_budget = max(0.0, state.time_budget - delta)
            self.deadline -= delta
            self.shifted += delta
