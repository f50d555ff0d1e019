"""(a) hf-embeddings fit time vs encode + one logistic-regression fit, paired, at equal accuracy.

A: the adapter's ``fit`` (embedding cache off: it encodes the train texts, chooses C on its warm-started
   regularisation path with newton-cg, refits from the chosen solution).
B: the plain recipe: ``SentenceTransformer.encode(train texts)`` + ``LogisticRegression(max_iter=2000)``
   (sklearn's default lbfgs) at C = 1, fit once. The target is A / B ≤ 1.5.
Also reported: B' = encode + one plain lbfgs fit at the C the adapter chose (what the adapter's accuracy
would cost without a search, had C been known), and the ratio A / B'.
Run A, B, A, B … (``--rounds``), same model object, same process, same thread count; the medians and the
median of per-round ratios A/B are reported (target ≤ 1.5). Accuracy and macro-F1 of both on the test split
are computed from the same test embeddings (target: |difference| ≤ 0.005 or the adapter ahead).

Run: HF_HUB_OFFLINE=1 python bench/bench_hf_fit.py [--datasets sst2 banking77] [--rounds 2] [--limit N]
     [--blas-threads N] (caps numpy/scipy BLAS threads for A and B alike: on a shared, oversubscribed CPU two
     BLAS threads made one lbfgs fit ~15x slower than one thread)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"


def load(name: str, limit: int | None):
    df = pd.read_csv(DATA / name / f"{name}.csv")
    tr, te = df[df.split == "train"], df[df.split == "test"]
    if limit:
        tr = tr.sample(min(limit, len(tr)), random_state=0)
    return tr.text.astype(str).tolist(), tr.label.astype(str).tolist(), te.text.astype(str).tolist(), te.label.astype(str).tolist()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["sst2", "banking77"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="train rows (sampled), default all")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "hf_fit.json"))
    ap.add_argument("--blas-threads", type=int, default=None, help="cap BLAS threads (A and B alike)")
    a = ap.parse_args()
    if a.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(a.blas_threads, user_api="blas")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from baseline.adapters.base import AdapterContext
    from baseline.adapters.hf import HFEmbeddings

    out = {"command": "HF_HUB_OFFLINE=1 python bench/bench_hf_fit.py " + " ".join(__import__("sys").argv[1:]),
           "load_avg_start": os.getloadavg(), "cpus": os.cpu_count(), "blas_threads": a.blas_threads, "datasets": {}}
    for name in a.datasets:
        Xt, yt, Xe, ye = load(name, a.limit)
        labels = sorted(set(yt) | set(ye))
        with tempfile.TemporaryDirectory() as tmp:
            ctx = AdapterContext(labels=labels, options={"embedding_cache": False}, cache_dir=Path(tmp), seed=42,
                                 device="cpu", workdir=Path(tmp))
            ad = HFEmbeddings(ctx)
            ad.load()
            model = ad.model
            test_emb = model.encode(Xe, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
            rounds = []
            for _ in range(a.rounds):
                t = time.perf_counter()
                info = ad.fit(Xt, yt)
                fa = time.perf_counter() - t
                t = time.perf_counter()
                emb = model.encode(Xt, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
                te = time.perf_counter() - t
                plain = LogisticRegression(max_iter=2000, random_state=42).fit(emb, np.asarray(yt))
                fb = time.perf_counter() - t
                t = time.perf_counter()
                at_c = LogisticRegression(C=info.details["C"], max_iter=2000, random_state=42).fit(emb, np.asarray(yt))
                fc = time.perf_counter() - t
                pa, pb = ad.clf.predict(test_emb), plain.predict(test_emb)
                row = {"adapter_fit_s": fa, "plain_encode_s": te, "plain_lr_s": fb - te, "plain_total_s": fb,
                       "ratio": fa / fb, "plain_lr_at_C_s": fc, "ratio_vs_one_fit_at_C": fa / (te + fc),
                       "C": info.details["C"], "cv_folds": info.details["cv_folds"],
                       "solver": info.details.get("solver"),
                       "adapter_accuracy": accuracy_score(ye, pa), "plain_accuracy": accuracy_score(ye, pb),
                       "adapter_macro_f1": f1_score(ye, pa, average="macro"),
                       "plain_macro_f1": f1_score(ye, pb, average="macro"),
                       "plain_at_C_accuracy": accuracy_score(ye, at_c.predict(test_emb))}
                # the probe alone on the same embeddings (no encoder noise): C path + final fit vs one LR fit
                y = np.asarray(yt)
                folds = ad._folds(len(y), min(pd.Series(yt).value_counts()), len(set(yt)))
                t = time.perf_counter()
                c, _, coef, icpt = ad._choose_C(emb, y, folds)
                probe = ad._logreg(c, warm=True)
                probe.coef_, probe.intercept_, probe.classes_ = coef, icpt, np.unique(y)
                probe.fit(emb, y)
                row["probe_path_s"] = time.perf_counter() - t
                t = time.perf_counter()
                LogisticRegression(max_iter=2000, random_state=42).fit(emb, y)
                row["probe_one_fit_s"] = time.perf_counter() - t
                row["probe_extra_over_encode_plus_fit"] = (row["probe_path_s"] - row["probe_one_fit_s"]) / fb
                print(name, json.dumps(row), flush=True)
                rounds.append(row)
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0] if isinstance(rounds[0][k], float)}
        out["datasets"][name] = {"train": len(Xt), "test": len(Xe), "classes": len(labels), "rounds": rounds,
                                 "median": med}
        print(name, "median", json.dumps(med), flush=True)
    out["load_avg_end"] = os.getloadavg()
    Path(a.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
