"""Memory a finished stage freed, handed back to the system between the stages of a large run."""

from __future__ import annotations

from baseline.data import release_arrow_pool


def release_memory() -> None:
    """Hand memory freed by the last stage back to the system (glibc's ``malloc_trim``; a no-op elsewhere): a large
    run's stages free hundreds of MB of temporary strings and arrays that would otherwise stay in the process."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    release_arrow_pool()
