"""The run folder's spend ledger: what every request of every attempt at a run may have billed.

One JSON line per paid request (and per training / hosting charge), appended as it happens, so a
run interrupted at any point — Ctrl-C, a failed adapter, kill -9 — leaves what it spent behind, and
``--resume`` starts the ``--max-cost`` budget from everything earlier attempts spent.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

LEDGER_FILE = "spend.jsonl"


class SpendLedger:
    """Append-only spend lines in ``<run folder>/spend.jsonl``: confirmed and unconfirmed USD."""

    def __init__(self, run_dir: Path, attempt: str | None = None) -> None:
        self.path = Path(run_dir) / LEDGER_FILE
        self.attempt = attempt or time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"

    def record(self, adapter: str, kind: str, billed_usd: float, unconfirmed_usd: float = 0.0) -> None:
        """Append one charge; nothing is written for a zero charge."""
        if not billed_usd and not unconfirmed_usd:
            return
        line = json.dumps({"attempt": self.attempt, "adapter": adapter, "kind": kind,
                           "billed_usd": float(billed_usd), "unconfirmed_usd": float(unconfirmed_usd)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()

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
        def tot(rs: list[dict[str, Any]], key: str) -> float:
            return sum(float(r.get(key) or 0.0) for r in rs)
        now = [r for r in rows if r.get("attempt") == self.attempt]
        earlier = [r for r in rows if r.get("attempt") != self.attempt]
        return {"file": LEDGER_FILE, "attempts": len({r.get("attempt") for r in rows} | {self.attempt}),
                "billed_usd": tot(rows, "billed_usd"),
                "possibly_billed_usd": tot(rows, "billed_usd") + tot(rows, "unconfirmed_usd"),
                "this_attempt_possibly_billed_usd": tot(now, "billed_usd") + tot(now, "unconfirmed_usd"),
                "earlier_attempts_possibly_billed_usd": tot(earlier, "billed_usd") + tot(earlier, "unconfirmed_usd")}

    def earlier_possibly_billed(self) -> float:
        return self.summary()["earlier_attempts_possibly_billed_usd"]
