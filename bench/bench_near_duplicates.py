"""The near-duplicate leakage scan, paired: one source tree against another on the same data, answers compared.

Each measurement is a fresh child process (``PYTHONPATH`` = the tree) that loads and splits the file as ``baseline
compare`` does (text classification, seed 42, test 0.25), imports scikit-learn's text features first (the default
adapters have by the time the data plan runs), then times ``near_duplicates`` on the split. Trees alternate within
each repeat, so load drifts hit both alike; the summary gives the median seconds per tree and data, and whether every
tree gave the same answer (every figure, the leaked rows and the examples).

    python bench/bench_near_duplicates.py --src /tmp/before/src src --repeats 3 \\
        --data ../shared/datasets/sst2/sst2.csv ../shared/datasets/banking77/banking77.csv

A larger set of real text, beyond the scan's full-size bound: ``--make-mix FILE`` writes the text and label of sst2,
banking77, ag_news_test and sms_spam together, shuffled (35,870 rows, ~85 classes; outside the project), then
``--data FILE`` as any other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
MIX = ("sst2", "banking77", "ag_news_test", "sms_spam")

CHILD = r"""
import hashlib, json, resource, sys, time
import sklearn.feature_extraction.text  # noqa: F401
from baseline.dataplan import near_duplicates
from baseline.tasks import get_task
from baseline.tasks.base import TaskInputs
task = get_task("text-classification")
split = task.split(task.load(TaskInputs(sys.argv[1])), 0.25, 42)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
r = near_duplicates(split.train, split.test)
seconds = time.perf_counter() - t
mask = r.pop("leaked_mask")
r.pop("seconds")
answer = json.dumps(r, sort_keys=True, default=str) + "".join("1" if m else "0" for m in mask)
# the process's peak (MB; Linux kilobytes) and what the scan added to the peak the load and split had reached
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": round(peak, 1), "scan_added_mb": round(peak - before, 1),
                  "pairs": len(split.train) * len(split.test), "near": r.get("near"),
                  "answer": hashlib.sha256(answer.encode()).hexdigest()}))
"""


def measure(src: str, data: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    p = subprocess.run([sys.executable, "-c", CHILD, data], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{src} on {data}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_mix(path: Path) -> None:
    """The four shared text sets' texts and labels as one shuffled CSV (every row, seeded order)."""
    import pandas as pd

    parts = [pd.read_csv(SHARED / name / f"{name}.csv")[["text", "label"]].astype(str) for name in MIX]
    pd.concat(parts, ignore_index=True).sample(frac=1, random_state=0).to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", nargs="+", default=["src"])
    ap.add_argument("--data", nargs="+", default=[])
    ap.add_argument("--make-mix", type=Path, help="write the shared text sets' mix to this CSV first")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "near_duplicates.json"))
    a = ap.parse_args()
    if a.make_mix:
        make_mix(a.make_mix)
    if not a.data:
        return
    runs = []
    for data in a.data:
        for rep in range(a.repeats):
            for src in a.src:
                r = {"data": data, "src": src, "repeat": rep, **measure(src, data)}
                print(json.dumps(r), flush=True)
                runs.append(r)
    summary: dict[str, dict] = {}
    for data in a.data:
        mine = [r for r in runs if r["data"] == data]
        per = {src: round(statistics.median(r["seconds"] for r in mine if r["src"] == src), 3) for src in a.src}
        peak = {src: statistics.median(r.get("peak_mb", 0.0) for r in mine if r["src"] == src) for src in a.src}
        summary[Path(data).name] = {"pairs": mine[0]["pairs"], "near": mine[0]["near"], "seconds": per,
                                    "peak_mb": peak,
                                    "ratio_last_over_first": round(per[a.src[-1]] / per[a.src[0]], 3),
                                    "same_answer": len({r["answer"] for r in mine}) == 1}
    print(json.dumps(summary, indent=2))
    Path(a.out).write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
