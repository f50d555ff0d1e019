"""The C heap's freed pages, handed back to the system mid-run (a no-op where the C library cannot)."""

from __future__ import annotations


def trim_heap() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``): after a stage frees many small and
    mid-sized arrays, glibc keeps their pages (those under its adaptive mmap threshold, up to 32 MB each) resident, and
    the next stage's allocations come on top of them."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
