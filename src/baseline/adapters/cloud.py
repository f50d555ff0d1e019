"""Pieces every cloud adapter shares: size limits, truncation rules, throttle-aware pacing."""

from __future__ import annotations

import threading
import time


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes without splitting a character.

    Rule: keep the longest prefix that fits (AWS limits count bytes, not characters).
    """
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode("utf-8", errors="ignore"), True


def truncate_chars(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_chars`` characters (Azure limits count text elements)."""
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars], True


class RateLimiter:
    """Client-side pacing: at most ``rate`` calls per second across threads (burst 1)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 0.0 if not rate else 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, seconds: float | None = None) -> float:
        """Block until this call's slot; returns the milliseconds waited (report it as ``queued_ms``).

        ``seconds`` reserves that much of the shared schedule instead of ``1 / rate``: pacing by
        capacity, e.g. a Comprehend endpoint's characters per second.
        """
        w = self.interval if seconds is None else seconds
        if w <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + w
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            return delay * 1000.0
        return 0.0


class InvalidAnswer(Exception):
    """A response arrived but is not a valid answer to what was sent (malformed body, missing or
    duplicate documents, an unknown label): re-asked, then recorded as item errors, never cached."""


def check_indexes(indexes: list[object], n: int, what: str) -> None:
    """Every position 0..n-1 exactly once across results and errors, else ``InvalidAnswer``."""
    seen: set[int] = set()
    for ix in indexes:
        if not isinstance(ix, int) or isinstance(ix, bool) or not 0 <= ix < n:
            raise InvalidAnswer(f"{what}: index {ix!r} is not one of the {n} documents sent")
        if ix in seen:
            raise InvalidAnswer(f"{what}: document {ix} answered twice")
        seen.add(ix)
    if len(seen) != n:
        missing = sorted(set(range(n)) - seen)
        raise InvalidAnswer(f"{what}: {len(missing)} of {n} documents missing from the answer (first: {missing[0]})")
