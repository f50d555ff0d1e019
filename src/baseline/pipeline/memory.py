"""Memory a finished stage freed, handed back to the system between the stages of a large run."""

from __future__ import annotations

import gc

from baseline.data import release_arrow_pool
from baseline.heap import trim_heap


def release_memory(collect: bool = True) -> None:
    """Hand memory freed by the last stage back to the system (glibc's ``malloc_trim``; a no-op elsewhere): a large
    run's stages free hundreds of MB of temporary strings and arrays that would otherwise stay in the process.
    ``collect=False``: what reference counting freed only, without walking every live object again."""
    if collect:
        gc.collect()
    trim_heap()
    release_arrow_pool()


class SettledHeap:
    """What one run keeps between its stages, kept out of the cyclic garbage collector's later passes.

    After the adapters a large run holds a million or more score rows and answers; every full collection after that
    (``release_memory``'s and the interpreter's own) walked them again, 0.08 s per million rows each time, several
    times in the late stages. ``settle`` freezes (``gc.freeze``) everything alive at a stage boundary, so later
    collections walk only what later stages make; ``close`` unfreezes it when the run ends, so a process that runs
    again (a notebook, the tests) collects it as usual. A caller that froze objects itself (a pre-fork server) keeps
    its own freeze: then nothing is frozen or unfrozen here."""

    def __init__(self) -> None:
        self.active = gc.get_freeze_count() == 0

    def settle(self) -> None:
        if self.active:
            gc.freeze()

    def close(self) -> None:
        if self.active:
            gc.unfreeze()
