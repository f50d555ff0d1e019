"""(a) hf-embeddings fit time vs encode + one logistic-regression fit, paired, at equal accuracy, on every shape.

A: the adapter's ``fit`` (embedding cache off: it encodes the train texts, chooses C on its warm-started
   regularisation path with newton-cg, the folds' paths on threads of their own, each on one BLAS thread, then
   refits from the chosen solution). Its encode and its probe (C path + final fit) are timed apart.
B: the plain recipe: ``SentenceTransformer.encode(train texts)`` + ``LogisticRegression(max_iter=2000)``
   (sklearn's default lbfgs) at C = 1, fit once. The target is A / B ≤ 1.5.
Before (``--before``): the probe as shipped before issue 22 (the same path, folds one after another, BLAS threads
as the process has them), timed on the adapter's own embeddings in the same round; its ratio is
(A's encode + that probe) / B. Its C and accuracy come from the same fits, so they show whether the C choice moved.

Rounds alternate the order (A then B, then B then A, ...); medians of each time and of the per-round ratios.
``--encode-once``: for the 15k shapes on a busy machine: the train texts are encoded once per data set (plain
``encode``, timed: E); each round then times the adapter's probe P (its ``fit`` on those embeddings) and one plain
fit p on the same embeddings, alternating, and the ratio is (E + P) / (E + p): the adapter encodes exactly what
the plain recipe does (the full mode's rounds show its encode within noise of the plain one).

Shapes (``--datasets NAME[:ROWS]``, ``--rows``): ``sst2`` (2 classes), ``ag_news_test`` (4 classes; test-only upstream: 2,600
rows drawn as test, the other 5,000 are train), ``banking77`` (77 classes), and ``trec6``: a stand-in for the
TREC 6-class question set (not shipped by any PyPI package, not in shared/): banking77's customer questions, its
77 intents grouped into 6 coarse classes (``TREC6_GROUPS``), sampled to TREC's own class counts (train 1,250 /
1,223 / 1,162 / 896 / 835 / 86 = 5,452; test 94 / 65 / 138 / 113 / 81 / 9 = 500 from banking77's test split).
``--rows N``: N train rows: a sample without replacement when the data set has N, else all its rows plus N − n
drawn with replacement (trec6: each class scaled to N / 5,452 of its TREC count, the same way).

Run: HF_HUB_OFFLINE=1 python bench/bench_hf_fit.py [--datasets trec6 sst2 ag_news_test banking77] [--rows N]
     [--rounds 2] [--before] [--encode-once] [--torch-threads N] [--blas-threads N]
     (--torch-threads / --blas-threads cap the encoder's and numpy's threads for A, B and before alike: on the
     shared, oversubscribed 2-core machine two threads of either ran 3-15x slower than one)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"

# TREC coarse classes, train 5,452 / test 500: ENTY, HUM, DESC, NUM, LOC, ABBR (largest first, ABBR the rare one)
TREC_TRAIN = (1250, 1223, 1162, 896, 835, 86)
TREC_TEST = (94, 65, 138, 113, 81, 9)
# banking77's intents grouped into 6 coarse classes, ranked by their train rows (3,165 … 1,101): the largest takes
# TREC's largest count, and so on down to ABBR's 86
TREC6_GROUPS = ("card", "transfer", "payments", "account", "top_up", "cash")


def banking_group(intent: str) -> str:
    s = intent.lower()
    if any(k in s for k in ("verify", "identity", "passcode", "personal", "age_limit", "terminate", "country",
                            "phone", "source_of_funds")):
        return "account"
    if "top_up" in s or "topping" in s:
        return "top_up"
    if any(k in s for k in ("exchange", "currenc", "fiat", "refund", "charged_twice", "statement")):
        return "payments"
    if any(k in s for k in ("cash", "atm", "cheque")):
        return "cash"
    if any(k in s for k in ("transfer", "beneficiary", "receiving", "direct_debit")):
        return "transfer"
    return "card"


def resample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n rows: a sample without replacement when df has them, else all of df plus n - len(df) drawn with it."""
    if n <= len(df):
        return df.sample(n, random_state=seed)
    return pd.concat([df, df.sample(n - len(df), replace=True, random_state=seed)])


def load(name: str, rows: int | None, seed: int = 0) -> tuple[list[str], list[str], list[str], list[str]]:
    if name == "trec6":
        df = pd.read_csv(DATA / "banking77" / "banking77.csv")
        df["label"] = df.label.map(banking_group)
        scale = (rows or sum(TREC_TRAIN)) / sum(TREC_TRAIN)
        tr_parts, te_parts = [], []
        for g, n_tr, n_te in zip(TREC6_GROUPS, TREC_TRAIN, TREC_TEST, strict=True):
            tr_parts.append(resample(df[(df.split == "train") & (df.label == g)], round(n_tr * scale), seed))
            te_parts.append(df[(df.split == "test") & (df.label == g)].sample(n_te, random_state=seed))
        tr, te = pd.concat(tr_parts).sample(frac=1, random_state=seed), pd.concat(te_parts)
    else:
        df = pd.read_csv(DATA / name / f"{name}.csv")
        if name == "ag_news_test":
            te = df.sample(2600, random_state=seed)
            tr = df.drop(te.index)
        else:
            tr, te = df[df.split == "train"], df[df.split == "test"]
        if rows:
            tr = resample(tr, rows, seed)
    return (tr.text.astype(str).tolist(), tr.label.astype(str).tolist(),
            te.text.astype(str).tolist(), te.label.astype(str).tolist())


def probe_before(ad, X: np.ndarray, y: np.ndarray):
    """The single-label probe as shipped before issue 22: each fold's warm-started newton-cg path one after
    another, BLAS threads as the process has them, then the final fit from fold 0's solution at the chosen C."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

    counts = Counter(y.tolist())
    folds = ad._folds(len(y), min(counts.values()), len(counts))
    splitter = (StratifiedShuffleSplit(1, test_size=0.2, random_state=ad.ctx.seed) if folds == 1
                else StratifiedKFold(folds, shuffle=True, random_state=ad.ctx.seed))
    cs = sorted(ad.Cs)
    scores = np.zeros(len(cs))
    start = {}
    for f, (tr, va) in enumerate(splitter.split(X, y)):
        clf = ad._logreg(cs[0], warm=True)
        for j, c in enumerate(cs):
            clf.set_params(C=c).fit(X[tr], y[tr])
            scores[j] += f1_score(y[va], clf.predict(X[va]), average="macro")
            if f == 0:
                start[c] = (clf.coef_.copy(), clf.intercept_.copy())
    c = cs[int(np.argmax(scores))]
    clf = ad._logreg(c, warm=True)
    clf.coef_, clf.intercept_, clf.classes_ = *start[c], np.unique(y)
    return clf.fit(X, y), c


def run_adapter(ad, Xt: list[str], yt: list[str], row: dict, spent: dict, shared_encode_s: float | None) -> None:
    """A: the adapter's fit, its encode (``spent``, from the wrapped ``embed``) and probe apart."""
    t = time.perf_counter()
    info = ad.fit(Xt, yt)
    fit_s = time.perf_counter() - t
    row["adapter_probe_s"] = fit_s - spent["encode_s"]
    row["adapter_encode_s"] = spent["encode_s"] if shared_encode_s is None else shared_encode_s
    row["adapter_fit_s"] = row["adapter_encode_s"] + row["adapter_probe_s"]
    row.update(C=info.details["C"], cv_folds=info.details["cv_folds"])


def run_plain(model, Xt: list[str], y: np.ndarray, row: dict, shared: np.ndarray | None,
              shared_encode_s: float | None) -> None:
    """B: plain encode (or the shared embeddings and their one timing) + one LogisticRegression(max_iter=2000)."""
    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    if shared is None:
        emb = model.encode(Xt, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        row["plain_encode_s"] = time.perf_counter() - t
    else:
        emb, row["plain_encode_s"] = shared, shared_encode_s
    t = time.perf_counter()
    row["_plain"] = LogisticRegression(max_iter=2000, random_state=42).fit(emb, y)
    row["plain_lr_s"] = time.perf_counter() - t
    row["plain_total_s"] = row["plain_encode_s"] + row["plain_lr_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["trec6", "sst2", "ag_news_test", "banking77"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rows", type=int, default=None, help="train rows (see the docstring), default all")
    ap.add_argument("--limit", type=int, default=None, help="old name for --rows")
    ap.add_argument("--before", action="store_true", help="also time the probe as shipped before issue 22")
    ap.add_argument("--encode-once", action="store_true", help="encode once per data set (see the docstring)")
    ap.add_argument("--out", default=None, help="default bench/results/hf_fit_<datasets>[_<rows>].json")
    ap.add_argument("--torch-threads", type=int, default=None, help="cap torch threads (A, B, before alike)")
    ap.add_argument("--blas-threads", type=int, default=None, help="cap BLAS threads (A, B, before alike)")
    a = ap.parse_args()
    rows = a.rows or a.limit
    if a.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(a.blas_threads, user_api="blas")
    import torch

    if a.torch_threads:
        torch.set_num_threads(a.torch_threads)
    from sklearn.metrics import accuracy_score, f1_score

    from baseline.adapters.base import AdapterContext
    from baseline.adapters.hf import HFEmbeddings

    out_path = Path(a.out) if a.out else (
        REPO / "bench" / "results" / f"hf_fit_{'_'.join(d.replace(':', '_') for d in a.datasets)}{f'_{rows}' if rows else ''}.json")
    out = {"command": "HF_HUB_OFFLINE=1 python bench/bench_hf_fit.py " + " ".join(sys.argv[1:]),
           "load_avg_start": os.getloadavg(), "cpus": os.cpu_count(), "blas_threads": a.blas_threads,
           "torch_threads": torch.get_num_threads(), "mode": "encode-once" if a.encode_once else "full",
           "datasets": {}}
    for spec in a.datasets:  # NAME or NAME:ROWS (ROWS overrides --rows for that data set)
        name, _, n = spec.partition(":")
        Xt, yt, Xe, ye = load(name, int(n) if n else rows)
        y = np.asarray(yt)
        labels = sorted(set(yt) | set(ye))
        with tempfile.TemporaryDirectory() as tmp:
            ctx = AdapterContext(labels=labels, options={"embedding_cache": False}, cache_dir=Path(tmp), seed=42,
                                 device="cpu", workdir=Path(tmp))
            ad = HFEmbeddings(ctx)
            ad.load()
            model = ad.model
            test_emb = model.encode(Xe, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
            shared, shared_encode_s = None, None
            if a.encode_once:
                t = time.perf_counter()
                shared = model.encode(Xt, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
                shared_encode_s = time.perf_counter() - t
            real_embed = ad.embed
            spent = {}

            def timed_embed(texts, _real=real_embed, _spent=spent, _shared=shared):
                t0 = time.perf_counter()
                res = (_shared, 0) if _shared is not None else _real(texts)
                _spent["encode_s"] = time.perf_counter() - t0
                return res

            ad.embed = timed_embed
            rounds = []
            for r in range(a.rounds):
                row: dict = {"order": "AB" if r % 2 == 0 else "BA"}
                for step in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    if step == "A":
                        run_adapter(ad, Xt, yt, row, spent, shared_encode_s)
                    else:
                        run_plain(model, Xt, y, row, shared, shared_encode_s)
                row["ratio"] = row["adapter_fit_s"] / row["plain_total_s"]
                pa, pb = ad.clf.predict(test_emb), row.pop("_plain").predict(test_emb)
                row.update(adapter_accuracy=accuracy_score(ye, pa), plain_accuracy=accuracy_score(ye, pb),
                           adapter_macro_f1=f1_score(ye, pa, average="macro"),
                           plain_macro_f1=f1_score(ye, pb, average="macro"))
                if a.before:
                    t = time.perf_counter()
                    old, c_old = probe_before(ad, ad._train_X, y)
                    row["before_probe_s"] = time.perf_counter() - t
                    row["before_ratio"] = (row["adapter_encode_s"] + row["before_probe_s"]) / row["plain_total_s"]
                    po = old.predict(test_emb)
                    row.update(before_C=c_old, before_accuracy=accuracy_score(ye, po),
                               before_macro_f1=f1_score(ye, po, average="macro"),
                               same_answers_as_before=bool((po == pa).all()))
                print(spec, json.dumps(row), flush=True)
                rounds.append(row)
            ad.teardown()
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]
               if isinstance(rounds[0][k], float) and not isinstance(rounds[0][k], bool)}
        out["datasets"][spec] = {"train": len(Xt), "unique_train_texts": len(set(Xt)), "test": len(Xe),
                                 "classes": len(labels), "train_class_counts": dict(Counter(yt).most_common()),
                                 "rounds": rounds, "median": med}
        print(spec, "median", json.dumps(med), flush=True)
        out["load_avg_end"] = os.getloadavg()
        out_path.write_text(json.dumps(out, indent=2))  # after each data set: a long run keeps what it measured


if __name__ == "__main__":
    main()
