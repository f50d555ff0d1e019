"""Progress a person sees when the output is not a terminal: periodic one-line progress for a log.

``LineProgress`` renders the runner's callbacks (``baseline.runner.Progress``) as plain lines on stderr:
one when a stage starts, then at most one every ``interval`` seconds while items are being done, with
the stage, items done of the total, the rate and an ETA, and one when an adapter finishes::

    [19:04:05] tfidf-logreg predict 48,128/250,000 (19%) · 3,012/s · ETA 1m07s

The live display in a terminal is ``cli.RichProgress``; this is what a redirected run writes instead.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from baseline.redact import redact


def _duration(s: float) -> str:
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class LineProgress:
    """One line per stage change, then one per ``interval`` seconds of work: stage, done/total, rate, ETA."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0,
                 clock: Any = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.clock = clock
        self.state: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> LineProgress:
        # a heartbeat: a stage with no items to count (a long fit) still gets a line every interval
        self._beat = threading.Thread(target=self._heartbeat, name="baseline-progress", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *a: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=1)

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(self.interval / 2, 0.05)):
            now = self.clock()
            for adapter, st in list(self.state.items()):
                if now - st["last"] >= self.interval:
                    st["last"] = now
                    self._line(self.status(adapter))

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._lock:
            self.stream.write(f"[{stamp}] {redact(text)}\n")
            self.stream.flush()

    def phase(self, name: str) -> None:
        """A stage of the run outside any adapter (load, split, profile, scoring, report)."""
        self._line(name)

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None:
        now = self.clock()
        self.state[adapter] = {"stage": stage, "total": total, "done": 0, "start": now, "last": now}
        self._line(f"{adapter} {stage}" + (f" 0/{total:,}" if total else ""))

    def status(self, adapter: str) -> str:
        st = self.state[adapter]
        done, total = st["done"], st["total"]
        elapsed = self.clock() - st["start"]
        rate = done / elapsed if elapsed > 0 else 0.0
        if not total and not done:  # a stage with nothing to count (a fit): how long it has run
            return f"{adapter} {st['stage']} · {_duration(elapsed)} elapsed"
        text = f"{adapter} {st['stage']} {done:,}" + (f"/{total:,} ({done / total:.0%})" if total else "")
        text += f" · {rate:,.0f}/s" if rate >= 10 else f" · {rate:.2f}/s"
        if total and rate > 0:
            text += f" · ETA {_duration((total - done) / rate)}"
        return text + f" · {_duration(elapsed)} elapsed"

    def advance(self, adapter: str, n: int) -> None:
        st = self.state.get(adapter)
        if st is None:
            return
        st["done"] += n
        now = self.clock()
        if now - st["last"] >= self.interval:
            st["last"] = now
            self._line(self.status(adapter))

    def message(self, text: str) -> None:
        self._line(text)

    def done(self, result: Any) -> None:
        took = ""
        st = self.state.pop(result.name, None)
        if st is not None:
            took = f" after {_duration(self.clock() - st['start'])} in {st['stage']}"
        reason = f" — {result.reason}" if result.reason else ""
        self._line(f"{result.name}: {result.status}{took}{reason}")
