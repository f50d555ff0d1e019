"""flaml vs tfidf-logreg with the default 60 s budget on sst2 and banking77 (one run each).

The bar (issue 4): flaml's macro-F1 >= tfidf-logreg's - 0.01 on both datasets, measured in one run.
Each dataset is one `baseline compare --adapters flaml,tfidf-logreg` process, as a user would run it,
on the file's official train/test split. Prints macro-F1 of each, the difference, the wall time, and
what FLAML chose; the machine's load average before and after each run is recorded because the
2 vCPUs may be shared.

Run: python bench/bench_flaml.py [--datasets sst2,banking77] [--time-budget S]
Writes bench/results/flaml.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
MARGIN = 0.01


def adapter_seconds(a: dict) -> float:
    keys = ("cold_start_s", "fit_s", "warmup_s", "predict_s", "probe_s")
    return sum(a["timing"].get(k) or 0.0 for k in keys)


def run(dataset: str, time_budget: float | None) -> dict:
    path = DATA / dataset / f"{dataset}.csv"
    if not path.exists():
        sys.exit(f"{path} not found: this benchmark needs ../shared/datasets/{dataset}")
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "baseline.cli", "compare", "--fresh", "--data", str(path), "--adapters",
               "flaml,tfidf-logreg", "--out", out, "--no-progress"]
        if time_budget is not None:
            cmd += ["--time-budget", str(time_budget)]
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()
        if proc.returncode not in (0, 1):
            sys.exit(f"baseline compare failed on {dataset} (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        run_dir = next(p for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith("."))
        res = json.loads((run_dir / "results.json").read_text())
        log_lines = (run_dir / "adapters" / "flaml" / "flaml_search.log").read_text().splitlines()
    by = {a["name"]: a for a in res["adapters"]}
    fl, lr = by["flaml"], by["tfidf-logreg"]
    if fl["status"] != "ok" or lr["status"] != "ok":
        sys.exit(f"{dataset}: flaml {fl['status']} ({fl['reason']}), tfidf-logreg {lr['status']} ({lr['reason']})")
    f1_fl, f1_lr = fl["metrics"]["macro_f1"], lr["metrics"]["macro_f1"]
    fit = fl["fit"]
    return {
        "dataset": dataset, "train_rows": res["split"]["rows"].get("train"), "test_rows": res["split"]["rows"].get("test"),
        "classes": len(res["split"].get("labels") or []) or None,
        "macro_f1": {"flaml": f1_fl, "tfidf-logreg": f1_lr},
        "accuracy": {"flaml": fl["metrics"]["accuracy"], "tfidf-logreg": lr["metrics"]["accuracy"]},
        "difference": f1_fl - f1_lr, "bar": f"flaml >= tfidf-logreg - {MARGIN}", "bar_met": f1_fl >= f1_lr - MARGIN,
        "wall_s": {"whole_run": wall, "flaml": adapter_seconds(fl), "tfidf-logreg": adapter_seconds(lr)},
        "fit_s": {"flaml": fl["timing"].get("fit_s"), "tfidf-logreg": lr["timing"].get("fit_s")},
        "flaml": {k: fit.get(k) for k in ("time_budget_s", "budget_used_s", "search_budget_s", "seconds", "winner",
                                          "winner_config", "winner_features", "winner_val_score", "featurisation",
                                          "trials", "per_learner", "best_per_learner", "n_jobs")},
        "flaml_search_log_lines": len(log_lines),
        "cost": {"flaml": {k: fl["cost"].get(k) for k in ("one_off_usd", "per_1k_usd")},
                 "tfidf-logreg": {k: lr["cost"].get(k) for k in ("one_off_usd", "per_1k_usd")}},
        "load_avg_before": load_before, "load_avg_after": load_after,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="sst2,banking77")
    ap.add_argument("--time-budget", type=float, default=None, help="default: the adapter's own (60 s)")
    args = ap.parse_args()
    rows = []
    for ds in args.datasets.split(","):
        r = run(ds.strip(), args.time_budget)
        rows.append(r)
        f = r["flaml"]
        print(f"{r['dataset']} ({r['train_rows']:,} train / {r['test_rows']:,} test rows)")
        print(f"  macro-F1: flaml {r['macro_f1']['flaml']:.4f}  tfidf-logreg {r['macro_f1']['tfidf-logreg']:.4f}  "
              f"difference {r['difference']:+.4f}  bar (>= -{MARGIN}) {'met' if r['bar_met'] else 'MISSED'}")
        print(f"  wall: whole run {r['wall_s']['whole_run']:.1f} s; flaml {r['wall_s']['flaml']:.1f} s "
              f"(fit {r['fit_s']['flaml']:.1f} s, budget {f['time_budget_s']:g} s, used {f['budget_used_s']:.1f} s); "
              f"tfidf-logreg {r['wall_s']['tfidf-logreg']:.1f} s (fit {r['fit_s']['tfidf-logreg']:.1f} s)")
        print(f"  flaml chose {f['winner']} {f['winner_config']} on {f['winner_features']} after {f['trials']} trials; "
              f"featurisation CV {f['featurisation']['cv']}")
        print(f"  load average before {r['load_avg_before'][0]:.2f}, after {r['load_avg_after'][0]:.2f} "
              f"(1-min) on {os.cpu_count()} CPUs")
    out = {"runs": rows, "all_bars_met": all(r["bar_met"] for r in rows), "cpus": os.cpu_count(),
           "python": platform.python_version(), "command": "python bench/bench_flaml.py " + " ".join(sys.argv[1:])}
    dest = REPO / "bench" / "results" / "flaml.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {dest.relative_to(REPO)}")


if __name__ == "__main__":
    main()
