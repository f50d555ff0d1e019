"""A run freezes what it keeps between stages for the garbage collector, and always unfreezes it at the end."""

from __future__ import annotations

import gc

from baseline.cli import main
from baseline.pipeline.memory import SettledHeap


def test_settle_freezes_and_close_unfreezes():
    heap = SettledHeap()
    assert heap.active
    try:
        kept = [[i] for i in range(1000)]
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        heap.close()
    assert gc.get_freeze_count() == 0


def test_a_run_leaves_nothing_frozen_and_keeps_a_callers_freeze(tiny_csv, tmp_path):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path / "a"),
                 "--no-progress"]) == 0
    assert gc.get_freeze_count() == 0
    gc.freeze()   # a pre-fork server's own freeze
    try:
        before = gc.get_freeze_count()
        assert not SettledHeap().active
        assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path / "b"),
                     "--no-progress"]) == 0
        after = gc.get_freeze_count()   # a frozen object the run let go leaves the count: never added, not cleared
        assert before - 5000 < after <= before
    finally:
        gc.unfreeze()


def test_a_failed_run_unfreezes_too(tmp_path):
    bad = tmp_path / "one_class.csv"
    bad.write_text("text,label\n" + "".join(f"text {i},a\n" for i in range(30)))
    assert main(["compare", "--data", str(bad), "--adapters", "majority", "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 2
    assert gc.get_freeze_count() == 0
