"""hf-embeddings on the full sst2 test split, against a plain sentence-transformers encode loop.

1. The adapter through the real runner (``run_adapter``): train on sst2 train (6,920), predict the
   test split (1,821), embedding cache off so the model is timed. Reports accuracy, macro-F1, cold
   start, fit time, batched throughput (as the runner measures it), single-item latency, $/1k.
2. Throughput ratio in the same process: the adapter's ``predict_batch`` on each of the runner's
   batches vs ``SentenceTransformer.encode(batch, batch_size=B)`` on the same batch (same model,
   same batch size), back to back with alternating order, over ``--rounds`` passes of the test
   split, both after an untimed warm-up: pairing keeps other processes' load out of the ratio.
   Target: adapter / plain ≥ 0.95. For (2) the probe is refit on 300 train rows: it only needs
   to exist, the encoder dominates predict time.

Run: python bench/bench_hf_embeddings.py [--batch-size 32] [--rounds 3] [--device cpu]
Timing on a shared machine is noisy: the load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SST2 = REPO.parent / "shared" / "datasets" / "sst2" / "sst2.csv"


def runner_pass(split, batch_size: int, device: str, probe: int) -> dict:
    """The adapter's whole life cycle through the runner, as `baseline compare` runs it."""
    from sklearn.metrics import accuracy_score, f1_score

    from baseline.adapters.hf import HFEmbeddings
    from baseline.runner import Budget, RunOptions, run_adapter

    with tempfile.TemporaryDirectory() as tmp:
        opts = RunOptions(device=device, latency_probe=probe, cache_dir=Path(tmp) / "cache",
                          adapter_options={"hf-embeddings": {"embedding_cache": False, "batch_size": batch_size}})
        res = run_adapter(HFEmbeddings, split, opts, Budget(), Path(tmp))
    assert res.status == "ok", res.reason
    y = split.test["label"].tolist()
    t = res.timing
    return {"status": res.status, "accuracy": accuracy_score(y, res.predictions),
            "macro_f1": f1_score(y, res.predictions, average="macro"), "C": res.fit.get("C"),
            "cold_start_s": t["cold_start_s"], "fit_s": t["fit_s"], "predict_s": t["predict_s"],
            "throughput_per_s": t["throughput_per_s"], "request_size": t["batch_size"],
            "item_latency_ms": t["item_latency_ms"], "per_1k_usd": res.cost["per_1k_usd"],
            "one_off_usd": res.cost["one_off_usd"], "truncated": res.counts["truncated"], "notes": res.notes}


def ratio_rounds(split, batch_size: int, device: str, rounds: int) -> dict:
    """Adapter predict vs a plain encode loop on the same runner batches, paired and adjacent in time.

    Each runner batch (the adapter's request size) is answered by both, back to back, the order
    alternating from batch to batch and pass to pass, so load from other processes hits both alike.
    """
    from sentence_transformers import SentenceTransformer

    from baseline.adapters.base import AdapterContext
    from baseline.adapters.hf import HFEmbeddings
    from baseline.runner import _batches

    texts = split.test["text"].tolist()
    n = len(texts)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AdapterContext(labels=split.labels, options={"embedding_cache": False, "batch_size": batch_size},
                             workdir=Path(tmp), cache_dir=Path(tmp), device=device)
        adapter = HFEmbeddings(ctx)
        adapter.load()
        sub = split.train.sample(min(300, len(split.train)), random_state=0)
        adapter.fit(sub["text"].tolist(), sub["label"].tolist())
        plain = SentenceTransformer(adapter.source.location, device=device)
        batches = [[texts[i] for i in b] for b in _batches(list(range(n)), adapter.batch_size)]

        def time_plain(b: list[str]) -> float:
            t0 = time.perf_counter()
            plain.encode(b, batch_size=batch_size, show_progress_bar=False)
            return time.perf_counter() - t0

        def time_adapter(b: list[str]) -> float:
            t0 = time.perf_counter()
            adapter.predict_batch(b)
            return time.perf_counter() - t0

        plain.encode(texts[:8], batch_size=batch_size)          # untimed warm-up, as the runner does
        adapter.predict_batch(texts[:8])
        passes = []
        k = 0
        for _ in range(rounds):
            t_plain = t_adapter = 0.0
            for b in batches:
                if k % 2 == 0:
                    t_plain += time_plain(b)
                    t_adapter += time_adapter(b)
                else:
                    t_adapter += time_adapter(b)
                    t_plain += time_plain(b)
                k += 1
            passes.append({"plain_per_s": n / t_plain, "adapter_per_s": n / t_adapter, "ratio": t_plain / t_adapter})
        adapter.teardown()
    plain_s = sum(n / q["plain_per_s"] for q in passes)
    adapter_s = sum(n / q["adapter_per_s"] for q in passes)
    return {"rounds": rounds, "texts": n, "request_size": len(batches[0]), "requests_per_pass": len(batches),
            "passes": passes, "plain_per_s": rounds * n / plain_s, "adapter_per_s": rounds * n / adapter_s,
            "ratio": plain_s / adapter_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-size", type=int, default=32, help="texts per forward pass, both sides (default 32)")
    ap.add_argument("--rounds", type=int, default=3, help="paired passes over the test split (default 3)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--latency-probe", type=int, default=100)
    ap.add_argument("--limit", type=int, help="smoke test: only the first N train and N test rows")
    args = ap.parse_args()
    if not SST2.exists():
        sys.exit(f"{SST2} not found: this benchmark needs ../shared/datasets/sst2")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from baseline.data import load_dataset, make_split

    split = make_split(load_dataset(SST2), seed=42)
    if args.limit:
        split.train, split.test = split.train.head(args.limit), split.test.head(args.limit)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    run = runner_pass(split, args.batch_size, args.device, args.latency_probe)
    ratio = ratio_rounds(split, args.batch_size, args.device, args.rounds)
    out = {"dataset": "sst2" + (f" (first {args.limit} rows of each split: smoke test)" if args.limit else ""),
           "train": len(split.train), "test": len(split.test), "batch_size": args.batch_size,
           "device": args.device, "runner": run, "throughput_ratio": ratio,
           "runner_pass_vs_plain": run["throughput_per_s"] / ratio["plain_per_s"],
           "environment": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                           "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
                           "python": platform.python_version(), "torch": version("torch"),
                           "transformers": version("transformers"),
                           "sentence_transformers": version("sentence-transformers")},
           "wall_s": time.perf_counter() - t0}

    lat = run["item_latency_ms"]
    rows = [
        ("accuracy / macro-F1", f"{run['accuracy']:.4f} / {run['macro_f1']:.4f} (C = {run['C']})"),
        ("cold start (model load)", f"{run['cold_start_s']:.2f} s"),
        (f"fit (encode {len(split.train):,} + CV probe)", f"{run['fit_s']:.1f} s"),
        ("runner batched throughput", f"{run['throughput_per_s']:.0f} texts/s (requests of {run['request_size']})"),
        ("single-item latency p50 / p95", f"{lat['p50']:.1f} / {lat['p95']:.1f} ms"),
        ("cost per 1k predictions", f"${run['per_1k_usd']:.6f}"),
        (f"plain encode, same batches ({args.rounds} passes)", f"{ratio['plain_per_s']:.0f} texts/s"),
        (f"adapter predict, same batches ({args.rounds} passes)", f"{ratio['adapter_per_s']:.0f} texts/s"),
        ("ratio adapter / plain (paired)", f"{ratio['ratio']:.3f} (per pass: "
         + ", ".join(f"{q['ratio']:.3f}" for q in ratio["passes"]) + "; target >= 0.95)"),
        ("runner pass / plain (unpaired)", f"{out['runner_pass_vs_plain']:.3f} (different moments: load differs)"),
        ("load average before / after", f"{load_before:.1f} / {out['environment']['load_average_after']:.1f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"hf-embeddings on sst2 ({len(split.train):,} train / {len(split.test):,} test), batch size "
          f"{args.batch_size}, device {args.device}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    dest = REPO / "bench" / "results" / "hf_embeddings.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {dest.relative_to(REPO)}")


if __name__ == "__main__":
    main()
