"""Scale: the harness's own cost from 10k to 1M rows, local vs ``--executor ray``.

Generates a synthetic labeled CSV (``--rows`` rows, 4 classes, ~220 bytes a row: about 220 MB at 1M) in
/tmp, runs ``baseline compare --adapters majority,tfidf-logreg`` as a child process under the stdlib's
``resource`` accounting, and reports, per run: wall, time inside the adapters (cold start, fit, warm-up,
predict, latency probe), harness overhead (wall − adapters) and its share, the pipeline's own stage
timings, peak RSS of the child and its ratio to the input file.

Run: python bench/bench_scale.py --rows 10000 100000 1000000 [--executor local ray] [--repeats 1]
     [--adapters majority] [--config default|unigram]

``--config default`` runs the adapters as shipped (tfidf-logreg: word 1-2-grams, C = 10), what a user gets
and what the issue measured; ``--config unigram`` a cheaper floor (unigrams, C = 1, min_df = 2), whose smaller
adapter time makes the harness's fixed cost a larger share. ``--adapters majority`` alone measures the harness
(the floor's own work is milliseconds). Each configuration runs in its own child process, one after another.

With ``--executor ray`` and a test set of at least 20,000 rows (``--ray-data-min-rows``; 100k rows and up here),
the free adapters predict through ray.data batch inference; ``adapter_timing`` says where (actors, blocks).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("billing", "delivery", "account", "technical")


def generate(rows: int, path: Path, seed: int = 0) -> Path:
    """Ticket-like texts: shared filler words plus a few class-leaning words; ~220 bytes a row."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i:04d}" for i in range(5000)])
    lean = {c: np.array([f"{c[:3]}{i:03d}" for i in range(200)]) for c in CLASSES}
    y = rng.integers(0, len(CLASSES), rows)
    words = 36
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        step = 50_000
        for s in range(0, rows, step):
            m = min(step, rows - s)
            filler = vocab[rng.zipf(1.3, size=(m, words)) % len(vocab)]
            k = rng.integers(1, 4, m)
            for i in range(m):
                c = CLASSES[y[s + i]]
                toks = list(filler[i])
                # a noisy signal: class words (sometimes another class's)
                src = lean[c] if rng.random() < 0.8 else lean[CLASSES[rng.integers(0, 4)]]
                toks[: k[i]] = src[rng.integers(0, 200, k[i])]
                f.write(" ".join(toks) + "," + c + "\n")
    return path


# --config default: the adapters as shipped (what a user runs; what the issue measured). --config unigram: unigram
# TF-IDF at C = 1, min_df = 2, a cheaper floor (less adapter time, so the harness's share is larger)
CONFIGS = {"default": "", "unigram": '[adapters.tfidf-logreg]\nngram_max = 1\nC = 1.0\nmin_df = 2\n'}
CONFIG = CONFIGS["default"]


def run_once(data: Path, executor: str, extra: list[str], adapters: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cfg = Path(out) / "baseline.toml"
        cfg.write_text(CONFIG)
        cmd = [sys.executable, "-m", "baseline.cli", "compare", "--data", str(data), "--adapters",
               adapters, "--out", out, "--home", f"{out}/.home", "--no-progress", "--config", str(cfg), *extra]
        if executor != "local":
            cmd += ["--executor", executor]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        wall = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if p.returncode != 0:
            raise SystemExit(f"rc {p.returncode}: {p.stderr[-2000:]}")
        run = next(q for q in Path(out).iterdir() if q.is_dir() and not q.name.startswith("."))
        r = json.loads((run / "results.json").read_text())
    keys = ("cold_start_s", "fit_s", "warmup_s", "predict_s", "probe_s", "explain_s")
    inside = sum(sum(a["timing"].get(k) or 0.0 for k in keys) for a in r["adapters"])
    size = data.stat().st_size
    return {"executor": executor, "rows": r["profile"]["rows"], "wall_s": round(wall, 2),
            "pipeline_total_s": round(r["timing"]["total_s"], 2), "adapters_s": round(inside, 2),
            "overhead_s": round(wall - inside, 2), "overhead_share": round((wall - inside) / wall, 4),
            "stages": {k: round(v, 2) for k, v in r["timing"].items() if isinstance(v, int | float)},
            # ru_maxrss of children is the largest child so far: only meaningful when it grows run to run,
            # so each configuration is best run in its own bench process (the default loop below does)
            "peak_rss_mb": round(peak_kb / 1024, 1), "peak_rss_mb_before": round(before / 1024, 1),
            "file_mb": round(size / 1e6, 1), "peak_over_file": round(peak_kb * 1024 / size, 2),
            "macro_f1": {a["name"]: (a.get("metrics") or {}).get("macro_f1") for a in r["adapters"]},
            # per adapter: where its predict ran (ray.data on --executor ray above --ray-data-min-rows) and its times
            "adapter_timing": {a["name"]: {k: (round(v, 3) if isinstance(v, float) else v)
                                           for k, v in {**{k: a["timing"].get(k) for k in (*keys, "throughput_per_s")},
                                                        "ray_data_actors": (a["timing"].get("ray_data") or {}).get("actors"),
                                                        "ray_data_blocks": (a["timing"].get("ray_data") or {}).get("blocks"),
                                                        }.items()}
                               for a in r["adapters"]}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--executor", nargs="+", default=["local"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--adapters", default="majority,tfidf-logreg")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="default")
    ap.add_argument("--single", action="store_true", help="one run (rows[0], executor[0]) in this process")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "scale.json"))
    a = ap.parse_args()
    global CONFIG
    CONFIG = CONFIGS[a.config]
    if a.single:
        data = generate(a.rows[0], Path(tempfile.gettempdir()) / f"baseline-scale-{a.rows[0]}.csv")
        print(json.dumps({"adapters": a.adapters, "config": a.config,
                          **run_once(data, a.executor[0], [], a.adapters)}))
        return
    runs = []
    for rows in a.rows:
        generate(rows, Path(tempfile.gettempdir()) / f"baseline-scale-{rows}.csv")
        for rep in range(a.repeats):
            for ex in a.executor:  # paired: local then ray, repeated
                p = subprocess.run([sys.executable, __file__, "--single", "--rows", str(rows), "--executor", ex,
                                    "--adapters", a.adapters, "--config", a.config],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    print(p.stdout, p.stderr[-3000:], file=sys.stderr)
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                r["repeat"] = rep
                print(json.dumps(r), flush=True)
                runs.append(r)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"runs": runs}, indent=2))


if __name__ == "__main__":
    main()
