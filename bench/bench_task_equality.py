"""Single-label results before and after a restructure: run ``baseline compare`` from two source trees on the same
datasets and compare everything that is not a timing.

    # record the figures of a tree (e.g. a worktree of the commit before the change)
    python bench/bench_task_equality.py run --src /tmp/before/src --out bench/results/equality_before
    python bench/bench_task_equality.py run --src src --out bench/results/equality_after
    python bench/bench_task_equality.py diff bench/results/equality_before bench/results/equality_after \
        --json bench/results/task_equality.json

Each run gets its own empty ``BASELINE_HOME`` (nothing reused from another run). Compared per dataset: the split
hash, ``predictions.csv`` cell for cell, every adapter's metrics with CIs, the pairwise comparisons, the verdict
and choice, the profile, the label check and the near-duplicate leakage check; timings and the costs priced from them
are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATASETS = {  # name: (file, extra flags)
    "demo": (None, []),
    "sst2": (SHARED / "sst2" / "sst2.csv", []),
    "sms_spam": (SHARED / "sms_spam" / "sms_spam.csv", []),
    "ag_news_test": (SHARED / "ag_news_test" / "ag_news_test.csv", []),
    "banking77": (SHARED / "banking77" / "banking77.csv", []),
}
ADAPTERS = "majority,tfidf-logreg,hf-embeddings"


def run(src: Path, out: Path, names: list[str], adapters: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        path, flags = DATASETS[name]
        with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as reports:
            env = {**os.environ, "PYTHONPATH": str(src.resolve()), "BASELINE_HOME": home, "HF_HUB_OFFLINE": "1"}
            cmd = [sys.executable, "-m", "baseline.cli", "compare", "--task", "text-classification",
                   "--adapters", adapters, "--out", reports, "--no-progress", "--latency-probe", "0", *flags]
            if path is not None:
                cmd += ["--data", str(path)]
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            runs = sorted(Path(reports).iterdir())
            if r.returncode not in (0, 3) or not runs:
                print(f"{name}: exit {r.returncode}\n{r.stderr[-2000:]}", file=sys.stderr)
                continue
            d = out / name
            d.mkdir(exist_ok=True)
            res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
            (d / "results.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
            (d / "predictions.csv").write_bytes((runs[-1] / "predictions.csv").read_bytes())
            print(f"{name}: {res['decision'].get('verdict')} {res['decision'].get('choice')} "
                  f"in {res['timing']['total_s']:.0f} s", flush=True)


def figures(res: dict) -> dict:
    """What must not move: everything but timings, costs priced from them, and run identity."""
    adapters = {a["name"]: {"status": a["status"], "metrics": a.get("metrics"), "comparison": a.get("comparison"),
                            "counts": a.get("counts")} for a in res["adapters"]}
    dec = res.get("decision") or {}
    prof = {k: v for k, v in res["profile"].items() if k not in ("path",)}
    lq = (res.get("data_plan") or {}).get("label_quality") or {}
    labels_check = {k: lq.get(k) for k in ("status", "rows_checked", "folds", "flagged", "share", "oof_accuracy",
                                           "classes", "pairs", "examples")}
    # the near-duplicate leakage check: every figure, its examples and the headline without leaked rows
    leakage = {k: v for k, v in ((res.get("data_plan") or {}).get("leakage") or {}).items() if k != "seconds"}
    return {"split_hash": res["split"]["hash"], "labels": res["split"]["labels"], "profile": prof,
            "label_check": labels_check, "leakage": leakage,
            "adapters": adapters, "pairwise": res.get("pairwise"), "best": res.get("best"),
            "verdict": dec.get("verdict"), "choice": dec.get("choice"), "leaderboard": res.get("leaderboard")}


def _walk(a, b, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _walk(a.get(k), b.get(k), f"{path}.{k}", out)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {str(a)[:80]} != {str(b)[:80]}")


def diff(before: Path, after: Path, out_path: Path | None = None) -> int:
    bad = 0
    summary: dict[str, object] = {"before": str(before), "after": str(after), "datasets": {}}
    for d in sorted(p for p in before.iterdir() if p.is_dir()):
        other = after / d.name
        if not other.exists():
            print(f"{d.name}: missing after")
            bad += 1
            continue
        out: list[str] = []
        _walk(figures(json.loads((d / "results.json").read_text())),
              figures(json.loads((other / "results.json").read_text())), d.name, out)
        same_preds = (d / "predictions.csv").read_bytes() == (other / "predictions.csv").read_bytes()
        if not same_preds:
            out.append(f"{d.name}: predictions.csv differs")
        print(f"{d.name}: {'identical' if not out else f'{len(out)} difference(s)'}")
        for line in out[:20]:
            print("   ", line)
        bad += bool(out)
        res = json.loads((d / "results.json").read_text())
        summary["datasets"][d.name] = {  # type: ignore[index]
            "identical": not out, "differences": out[:50], "split_hash": res["split"]["hash"],
            "test_rows": res["split"]["rows"].get("test"), "verdict": res["decision"].get("verdict"),
            "choice": res["decision"].get("choice"),
            "macro_f1": {a["name"]: (a.get("metrics") or {}).get("macro_f1") for a in res["adapters"]}}
    if out_path is not None:
        out_path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--src", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--datasets", default=",".join(DATASETS))
    r.add_argument("--adapters", default=ADAPTERS)
    d = sub.add_parser("diff")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    d.add_argument("--json", type=Path, help="write the comparison here (e.g. bench/results/task_equality.json)")
    a = p.parse_args()
    if a.cmd == "run":
        run(a.src, a.out, a.datasets.split(","), a.adapters)
        return 0
    return diff(a.before, a.after, a.json)


if __name__ == "__main__":
    sys.exit(main())
