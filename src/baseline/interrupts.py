"""One interrupt path for SIGINT, SIGTERM and SIGHUP, and a shield that lets teardown finish.

``timeout``, ``docker stop`` and CI cancellation send SIGTERM; a closed terminal sends SIGHUP.
Python's default for both is to die at once, skipping every ``finally``, so billable resources
would outlive the run. :func:`interrupts_as_keyboard_interrupt` turns them into the same
``KeyboardInterrupt`` as Ctrl-C. While :func:`shielded` is active (teardown of billable
resources), any further interrupt is refused with one line on stderr and teardown finishes.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_state = threading.local()


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _raise(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(_name(signum))


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``KeyboardInterrupt`` like SIGINT does, for the duration of the block."""
    if not _main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in SIGNALS if s != signal.SIGINT}  # SIGINT already raises it
    for s in old:
        signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextmanager
def shielded(what: str) -> Iterator[None]:
    """Refuse interrupts while ``what`` runs (e.g. deleting billable resources); one stderr line each.

    Nested use is fine; off the main thread (where signals cannot be handled) it does nothing.
    """
    if not _main_thread() or getattr(_state, "depth", 0):
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            yield
        finally:
            _state.depth -= 1
        return

    def refuse(signum: int, frame: Any) -> None:
        print(f"baseline: {_name(signum)} refused: {what} in progress, so nothing billable is left "
              "running; it finishes first (kill -9 would leave resources: `baseline cleanup` deletes them)",
              file=sys.stderr, flush=True)

    old = {s: signal.getsignal(s) for s in SIGNALS}
    _state.depth = 1
    for s in SIGNALS:
        signal.signal(s, refuse)
    try:
        yield
    finally:
        _state.depth = 0
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
