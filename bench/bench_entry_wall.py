"""Does bench_scale's child (``bench/stage_peaks.py``) take as long as the ``baseline`` command it stands for?

Paired runs of the same ``compare`` (``--adapters majority``, so the run is mostly harness) through each entry
point in turn: ``python -m baseline.cli`` (the command) and ``stage_peaks.py`` (and, with ``--old FILE``, an earlier
stage_peaks.py). Per entry: the median wall and the median of wall − the run's own ``timing.total_s`` (start-up,
imports before the pipeline, exit). An entry whose ``outside`` is above the command's adds to every harness
overhead bench_scale reports.

    python bench/bench_entry_wall.py --data /tmp/baseline-scale-sentiment-1000000.csv --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(entry: list[str], data: str) -> tuple[float, float]:
    """(wall seconds, wall − the run's total_s) of one ``compare``."""
    with tempfile.TemporaryDirectory() as out:
        Path(out, "b.toml").write_text("")
        cmd = [sys.executable, *entry, "compare", "--data", data, "--adapters", "majority", "--out", out,
               "--home", f"{out}/.home", "--no-progress", "--config", f"{out}/b.toml"]
        env = {**os.environ, "BASELINE_STAGE_PEAKS": f"{out}/peaks.json"}
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            raise SystemExit(f"rc {p.returncode}: {p.stderr[-2000:]}")
        run = next(q for q in Path(out).iterdir() if q.is_dir() and not q.name.startswith("."))
        total = json.loads((run / "results.json").read_text())["timing"]["total_s"]
    return wall, wall - total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", help="an earlier stage_peaks.py to run beside the current one")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "entry_wall.json"))
    a = ap.parse_args()
    entries = {"command": ["-m", "baseline.cli"], "stage_peaks": [str(REPO / "bench" / "stage_peaks.py")]}
    if a.old:
        entries["stage_peaks_old"] = [a.old]
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in entries}
    for _ in range(a.repeats):
        for k, entry in entries.items():  # in turn, so load drifts hit every entry alike
            runs[k].append(run_once(entry, a.data))
    summary = {k: {"wall_s": round(statistics.median(w for w, _ in v), 3),
                   "outside_pipeline_s": round(statistics.median(o for _, o in v), 3), "runs": len(v)}
               for k, v in runs.items()}
    print(json.dumps(summary, indent=2))
    Path(a.out).write_text(json.dumps({"data": a.data, "summary": summary,
                                       "runs": {k: [[round(w, 3), round(o, 3)] for w, o in v]
                                                for k, v in runs.items()}}, indent=2))


if __name__ == "__main__":
    main()
