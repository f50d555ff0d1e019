"""The profile and the label check at scale, paired: one source tree against another on the same generated file.

Each measurement is a fresh child process that loads and splits the file as ``baseline compare`` does (seed 42,
test 0.25), imports what the default adapters (tfidf-logreg) have imported by the time the data plan runs
(scikit-learn's text features and linear models), then times ``profile`` and the label check (``label_check_rows`` +
``label_check``) as the pipeline calls them, in wall and CPU seconds (CPU time is the steadier figure on a shared
machine), and returns their answers so that the trees can be checked for the same figures. Trees alternate within
each repeat (old, new, old, new …), so load drifts hit both alike; the table gives medians and the new/old ratios.

    python bench/bench_profile_labelcheck.py --set sentiment topics --rows 1000000 --repeats 3 \\
        --src /tmp/baseline-before/src src

``/tmp/baseline-before`` is e.g. ``git worktree add /tmp/baseline-before <commit>`` (or ``git archive <commit> src |
tar -x -C /tmp/baseline-before``). The sets are ``bench_scale.py``'s generators (sentiment: 2 classes, topics: 50).
Writes bench/results/profile_labelcheck.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def measure(path: str) -> dict:
    import tempfile

    import sklearn.feature_extraction.text  # noqa: F401  # imported by tfidf-logreg before the data plan runs
    import sklearn.linear_model  # noqa: F401

    from baseline.data import load_dataset, make_split, profile
    from baseline.dataplan import label_check, label_check_rows

    ds = load_dataset(path)
    split = make_split(ds, 0.25, 42)
    out: dict = {}
    w, c = time.perf_counter(), time.process_time()
    prof = profile(ds, split)
    out["profile"] = {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c}
    w, c = time.perf_counter(), time.process_time()
    rows, sampled_from = label_check_rows(split.train, 42)
    with tempfile.TemporaryDirectory() as d:
        lq = label_check(rows, 42, d, sampled_from=sampled_from)
        issues = (Path(d) / "label_issues.csv").read_text() if (Path(d) / "label_issues.csv").exists() else ""
    out["label_check"] = {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c}
    lq.pop("seconds", None)
    out["answers"] = {"profile": {k: v for k, v in prof.items() if k not in ("path",)}, "label_quality": lq,
                      "label_issues_csv_sha256": hashlib.sha256(issues.encode()).hexdigest()[:16]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", nargs="+", default=["sentiment", "topics"])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--src", nargs="+", default=[str(REPO / "src")], help="source trees, alternated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single", help="one measurement of this CSV in this process")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "profile_labelcheck.json"))
    a = ap.parse_args()
    if a.single:
        print(json.dumps(measure(a.single), default=str))
        return
    from bench_scale import data_path

    runs, summary = [], {}
    for kind in a.set:
        data = data_path(kind, a.rows)
        for rep in range(a.repeats):
            for src in a.src:
                env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
                p = subprocess.run([sys.executable, __file__, "--single", str(data)], capture_output=True, text=True,
                                   env=env)
                if p.returncode != 0:
                    raise SystemExit(p.stderr[-3000:])
                r = {"set": kind, "rows": a.rows, "src": src, "repeat": rep,
                     **json.loads(p.stdout.strip().splitlines()[-1])}
                print(json.dumps({k: v for k, v in r.items() if k != "answers"}), flush=True)
                runs.append(r)
        for stage in ("profile", "label_check"):
            for src in a.src:
                mine = [r[stage] for r in runs if r["set"] == kind and r["src"] == src]
                summary.setdefault(kind, {}).setdefault(stage, {})[src] = {
                    m: round(statistics.median(x[m] for x in mine), 2) for m in ("wall_s", "cpu_s")}
            if len(a.src) == 2:
                old, new = (summary[kind][stage][s] for s in a.src)
                summary[kind][stage]["ratio_new_over_old"] = {m: round(new[m] / old[m], 3) for m in old}
        answers = [r["answers"] for r in runs if r["set"] == kind]
        summary[kind]["same_answers"] = all(x == answers[0] for x in answers)
    print(json.dumps(summary, indent=2))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"summary": summary, "runs": runs}, indent=2, default=str))


if __name__ == "__main__":
    main()
