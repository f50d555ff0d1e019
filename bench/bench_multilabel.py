"""Multi-label candidates on real and generated data: micro/macro-F1 with CIs, fit and predict time, the verdict.

    python bench/bench_multilabel.py semeval                     # ../shared/datasets/semeval2018_ec (6,858 tweets)
    python bench/bench_multilabel.py generated --rows 30000      # banking77 queries joined: 77 labels, 30k rows
    python bench/bench_multilabel.py semeval --adapters majority,tfidf-logreg,hf-embeddings,flaml --time-budget 60

Each dataset runs once through ``baseline compare`` (its own empty home: nothing reused), as a user would; the
figures come from the run's results.json and are written to ``bench/results/multilabel_<dataset>.json``.

The generated set is real language: support messages that raise one to three issues at once, built by joining
banking77 queries (their intents are the row's labels, 77 in all), with one row in ten an off-topic AG News
sentence carrying no label (the empty set).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "datasets"
SEMEVAL = SHARED / "semeval2018_ec" / "semeval2018_ec.tsv"
SEMEVAL_LABELS = ["anger", "anticipation", "disgust", "fear", "joy", "love", "optimism", "pessimism", "sadness",
                  "surprise", "trust"]


def generate(rows: int, seed: int = 7) -> pd.DataFrame:
    """A tagging set in real language: each row joins 1-3 banking77 queries (its labels: their intents, 77 in all);
    one row in ten is an AG News sentence instead (no label: the empty set). Built from ../shared/datasets."""
    b = pd.read_csv(SHARED / "banking77" / "banking77.csv")
    news = pd.read_csv(SHARED / "ag_news_test" / "ag_news_test.csv")["text"].str.split(".").str[0].tolist()
    rng = np.random.default_rng(seed)
    texts, sets = [], []
    q, intents = b["text"].tolist(), b["label"].tolist()
    for _ in range(rows):
        if rng.random() < 0.1:
            texts.append(news[rng.integers(len(news))].strip())
            sets.append("")
            continue
        k = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        idx = rng.choice(len(q), size=k, replace=False)
        texts.append(" ".join(str(q[i]).strip() for i in idx))
        sets.append("|".join(sorted({intents[i] for i in idx})))
    return pd.DataFrame({"text": texts, "labels": sets})


def run(name: str, data: Path, flags: list[str], adapters: str, time_budget: float, out: Path) -> dict:
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as reports:
        env = {**os.environ, "BASELINE_HOME": home, "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "baseline.cli", "compare", "--multi-label", "--data", str(data), *flags,
               "--adapters", adapters, "--time-budget", str(time_budget), "--out", reports, "--no-progress",
               "--latency-probe", "20"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        runs = sorted(Path(reports).iterdir())
        if not runs:
            raise SystemExit(f"{name}: exit {r.returncode}\n{r.stderr[-3000:]}")
        res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
    rows = []
    for a in res["adapters"]:
        m = a.get("metrics") or {}
        t = a.get("timing") or {}
        rows.append({"name": a["name"], "status": a["status"], "reason": a.get("reason", ""),
                     "micro_f1": m.get("micro_f1"), "micro_f1_ci": (m.get("ci") or {}).get("micro_f1"),
                     "macro_f1": m.get("macro_f1"), "macro_f1_ci": (m.get("ci") or {}).get("macro_f1"),
                     "samples_f1": m.get("samples_f1"), "subset_accuracy": m.get("accuracy"),
                     "hamming_loss": m.get("hamming_loss"), "cardinality": m.get("cardinality"),
                     "fit_s": t.get("fit_s"), "predict_s": t.get("predict_s"),
                     "vs_best": (a.get("comparison") or {}).get("ci")})
    out_doc = {"dataset": name, "command": " ".join(cmd[1:]), "exit_code": r.returncode,
               "rows": res["split"]["rows"], "labels": len(res["split"]["labels"]),
               "profile": res["profile"].get("multi_label", {}).get("cardinality"),
               "candidates": rows, "verdict": res["decision"].get("verdict"), "choice": res["decision"].get("choice"),
               "reason": res["decision"].get("reason"), "wall_s": res["timing"]["total_s"],
               "harness_s": res["timing"]["total_s"] - res["timing"]["adapters_s"]}
    out.write_text(json.dumps(out_doc, indent=2, default=float), encoding="utf-8")
    return out_doc


def show(doc: dict) -> None:
    print(f"\n{doc['dataset']}: {doc['rows']} · {doc['labels']} labels · verdict {doc['verdict']} {doc['choice'] or ''}")
    print(f"{'candidate':<16}{'micro-F1 [95% CI]':<26}{'macro-F1 [95% CI]':<26}{'fit s':>8}{'predict s':>10}  status")
    for c in doc["candidates"]:
        if c["micro_f1"] is None:
            print(f"{c['name']:<16}{'—':<26}{'—':<26}{'':>8}{'':>10}  {c['status']}: {c['reason'][:60]}")
            continue
        mi, ma = c["micro_f1_ci"], c["macro_f1_ci"]
        print(f"{c['name']:<16}{c['micro_f1']:.3f} [{mi[0]:.3f}, {mi[1]:.3f}]      {c['macro_f1']:.3f} "
              f"[{ma[0]:.3f}, {ma[1]:.3f}]      {c['fit_s'] or 0:>8.1f}{c['predict_s'] or 0:>10.2f}  {c['status']}")
    print(f"wall {doc['wall_s']:.0f} s, harness {doc['harness_s']:.1f} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=["semeval", "generated"])
    p.add_argument("--rows", type=int, default=30_000)
    p.add_argument("--adapters", default="majority,tfidf-logreg,hf-embeddings,flaml")
    p.add_argument("--time-budget", type=float, default=60)
    a = p.parse_args()
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    if a.dataset == "semeval":
        if not SEMEVAL.exists():
            raise SystemExit(f"{SEMEVAL} not found")
        doc = run("semeval2018_ec", SEMEVAL, ["--text-col", "Tweet", "--label-cols", ",".join(SEMEVAL_LABELS)],
                  a.adapters, a.time_budget, out_dir / "multilabel_semeval2018_ec.json")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"generated_tags_{a.rows}.csv"
            generate(a.rows).to_csv(path, index=False)
            doc = run(f"generated_tags_{a.rows}", path, ["--label-col", "labels"], a.adapters, a.time_budget,
                      out_dir / f"multilabel_generated_{a.rows}.json")
    show(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
