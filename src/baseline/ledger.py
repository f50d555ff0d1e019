"""The run folder's spend ledger: what every request of every attempt at a run may have billed.

A paid request writes a ``sent`` line (what it is expected to cost) before it goes out and a
``predict`` line (billed and unconfirmed USD) once its outcome is known; training and hosting
charges are one line each. A request with no outcome line — the run was interrupted (Ctrl-C,
kill -9) or the call failed — counts at its expected cost as possibly billed. So a run stopped at
any point leaves what it may have spent behind, and ``--resume`` starts the ``--max-cost`` budget
from everything earlier attempts may have spent.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

LEDGER_FILE = "spend.jsonl"


class SpendLedger:
    """Append-only spend lines in ``<run folder>/spend.jsonl``: confirmed and unconfirmed USD."""

    def __init__(self, run_dir: Path, attempt: str | None = None) -> None:
        self.path = Path(run_dir) / LEDGER_FILE
        self.attempt = attempt or time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _append(self, line: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()

    def sent(self, adapter: str, expected_usd: float) -> str:
        """Before a paid request goes out: its id; until its outcome is recorded it counts at ``expected_usd``."""
        req = f"{self.attempt}/{next(self._ids)}"
        self._append({"attempt": self.attempt, "adapter": adapter, "kind": "sent", "req": req,
                      "expected_usd": float(expected_usd)})
        return req

    def record(self, adapter: str, kind: str, billed_usd: float, unconfirmed_usd: float = 0.0,
               req: str | None = None) -> None:
        """Append one charge (the outcome of request ``req``, when given); a zero charge without ``req`` is skipped."""
        if not billed_usd and not unconfirmed_usd and req is None:
            return
        self._append({"attempt": self.attempt, "adapter": adapter, "kind": kind, "req": req,
                      "billed_usd": float(billed_usd), "unconfirmed_usd": float(unconfirmed_usd)})

    def touch(self) -> None:
        """Create the (empty) ledger: its presence marks a run folder whose spend is all in it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:  # a line cut short by kill -9: its request is counted again below
                continue
        return out

    def exists(self) -> bool:
        return self.path.exists()

    def summary(self) -> dict[str, Any]:
        """Totals overall, for this attempt and for earlier ones (possibly billed = billed + unconfirmed)."""
        rows = self.lines()
        done = {r.get("req") for r in rows if r.get("kind") != "sent" and r.get("req")}
        # a request sent with no outcome line counts at its expected cost, as possibly billed
        open_reqs = [dict(r, billed_usd=0.0, unconfirmed_usd=r.get("expected_usd") or 0.0)
                     for r in rows if r.get("kind") == "sent" and r.get("req") not in done]
        charges = [r for r in rows if r.get("kind") != "sent"] + open_reqs

        def tot(rs: list[dict[str, Any]], key: str) -> float:
            return sum(float(r.get(key) or 0.0) for r in rs)

        now = [r for r in charges if r.get("attempt") == self.attempt]
        earlier = [r for r in charges if r.get("attempt") != self.attempt]
        return {"file": LEDGER_FILE, "attempts": len({r.get("attempt") for r in rows} | {self.attempt}),
                "billed_usd": tot(charges, "billed_usd"),
                "possibly_billed_usd": tot(charges, "billed_usd") + tot(charges, "unconfirmed_usd"),
                "requests_without_outcome": len(open_reqs),
                "this_attempt_possibly_billed_usd": tot(now, "billed_usd") + tot(now, "unconfirmed_usd"),
                "earlier_attempts_possibly_billed_usd": tot(earlier, "billed_usd") + tot(earlier, "unconfirmed_usd")}

    def earlier_possibly_billed(self) -> float:
        return self.summary()["earlier_attempts_possibly_billed_usd"]
