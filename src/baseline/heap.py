"""The command's allocator settings (Arrow on the C heap, one C heap arena) and the C heap's freed pages, handed back to
the system mid-run (each a no-op where the C library or the environment says otherwise)."""

from __future__ import annotations

import os

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def trim_heap() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``): after a stage frees many small and
    mid-sized arrays, glibc keeps their pages (those under its adaptive mmap threshold, up to 32 MB each) resident, and
    the next stage's allocations come on top of them."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def one_arena() -> bool:
    """Let every thread allocate from the C heap's main arena (glibc's ``mallopt(M_ARENA_MAX, 1)``), unless the user
    set the arena count (``MALLOC_ARENA_MAX``, or ``arena_max`` in ``GLIBC_TUNABLES``). By default glibc gives each
    thread that allocates under contention an arena of its own (up to 8 a core): Arrow's CSV reader threads then
    map, fault in and unmap heaps of their own block after block, where on one arena the block buffers are reused.
    The default run's load at 3M binary rows: 1.9-4.9 s -> 1.2-1.9 s, five runs each
    (bench/results/scale_3m_sentiment_one_arena.json); its peak at 100k rows of 50 classes 293 -> 279 MB
    (scale_memory_one_arena.json). Takes effect only before a second arena exists (call it
    before any thread allocates). True when set."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def arrow_uses_the_system_heap() -> None:
    """Arrow (the CSV reader, the split's strings) allocates from the C library's heap, unless the user chose a pool
    (``ARROW_DEFAULT_MEMORY_POOL``). pyarrow's default, mimalloc, keeps freed pages in the heaps of the threads that
    allocated them (the CSV reader's), which ``release_unused`` cannot return from the main thread; the C heap is
    trimmed between stages (``release_memory``). Peak of the default run at 1M rows of tickets 1,093 -> 1,025 MB
    (bench/results/scale_1m_arrow_system_pool.json). Arrow reads the variable when pyarrow is first imported: in a
    process that imported it already (a notebook), its pool is left as it is."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def set_allocators() -> None:
    """The command's allocator settings, both before any thread allocates: Arrow on the C heap, one C heap arena."""
    arrow_uses_the_system_heap()
    one_arena()
