"""Run ``baseline`` (the arguments as given) and write each pipeline stage's peak resident memory to the JSON file
named by ``BASELINE_STAGE_PEAKS``: bench_scale's child, so that a large run's peak can be set against what the *same
stage* holds on a tiny file, not against the tiny run's own peak, which comes later (the report's and the label
check's libraries load after the adapters) and would flatter every ratio above it.

Linux only: the kernel's high-water mark (``VmHWM`` in /proc/self/status) is reset on entering each stage (writing 5
to /proc/self/clear_refs) and read on leaving it. The reset also lowers what the parent's ``ru_maxrss`` reports for
this process: the peak of the whole run is the largest stage peak here (with start-up and exit as ``outside``).

It leaves as the ``baseline`` command does (``exit_now``: exit handlers, flushed streams, no interpreter teardown),
so that the wall time the parent measures is the command's: a plain ``sys.exit`` here added the teardown of a large
run's heap and modules (about 0.4 s at 1M rows), which the command skips, to every run's harness overhead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STAGES = ("load_inputs", "write_split_files", "run_candidates", "score", "write_predictions", "keep_label_rows",
          "build_results", "add_analysis", "add_business_and_data_plan", "render_report")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class StagePeaks:
    """Per stage: resident memory on entering it and its peak; ``outside`` is the peak between the stages."""

    def __init__(self) -> None:
        self.peaks: dict[str, dict[str, float]] = {}
        self.outside = 0.0

    def wrap(self, module: object, name: str) -> None:
        inner = getattr(module, name)

        def staged(*args: object, **kwargs: object) -> object:
            self.outside = max(self.outside, _status_mb("VmHWM"))
            start = _status_mb("VmRSS")
            _reset_peak()
            try:
                return inner(*args, **kwargs)
            finally:
                peak = _status_mb("VmHWM")
                self.peaks[name] = {"start_mb": round(start, 1), "peak_mb": round(peak, 1)}
                _reset_peak()

        setattr(module, name, staged)

    def report(self) -> dict[str, object]:
        self.outside = max(self.outside, _status_mb("VmHWM"))
        stages = {**self.peaks, "outside": {"peak_mb": round(self.outside, 1)}}
        top = max(stages, key=lambda k: stages[k]["peak_mb"])
        return {"stages": stages, "peak_mb": stages[top]["peak_mb"], "peak_stage": top}


def main(argv: list[str]) -> int:
    from baseline.cli import app

    try:
        from baseline.heap import set_allocators
    except ImportError:  # a tree from before the two settings lived together (--src of an older commit)
        def set_allocators() -> None:
            app._arrow_allocates_from_the_system_heap()
            app.one_arena()

    _reset_peak()  # fails here, before the run, where the kernel has no such file
    # the allocators as the command sets them, before pyarrow is imported (importing the flow imports it)
    set_allocators()
    import baseline.pipeline.flow as flow

    peaks = StagePeaks()
    for name in STAGES:
        peaks.wrap(flow, name)
    code = app.main(argv)
    Path(os.environ["BASELINE_STAGE_PEAKS"]).write_text(json.dumps(peaks.report()))
    return code


def leave(code: int) -> None:
    """End the process as the command's entry point does; ``sys.exit`` for a ``--src`` tree from before
    ``exit_now``."""
    from baseline.cli import app

    getattr(app, "exit_now", sys.exit)(code)


if __name__ == "__main__":
    leave(main(sys.argv[1:]))
