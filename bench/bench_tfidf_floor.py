"""tfidf-logreg's floor before and after issue 22, on the shared datasets: accuracy with CIs, objective, convergence.

Per dataset, on the pipeline's own split (``make_split(load_dataset(path), 0.25, 42)``):

- ``shipped``: the floor as it was: ``TfidfVectorizer`` word 1-2-grams (sublinear tf, accents stripped) +
  ``LogisticRegression(C=10, max_iter=2000)`` (lbfgs, tol 1e-4);
- ``exact+plan``: the same exact features, fitted by the new rule (``solver_plan``: newton-cg, tol scaled to rows):
  isolates the solver change; its objective against ``shipped``'s says which fit is nearer the optimum (lower is
  nearer: the same function of the same features);
- ``new``: the adapter as it is now (hashed features with float32 values, min_df scaled to the data, the rule,
  convergence checked; ``dtype`` says which values it fitted on). Its objective is the float32 fit's, scored by the
  same ``objective``: on these four sets within 1e-8 (relative) of the float64 fit's, figures unchanged; at 1M rows
  see ``bench/results/tfidf_floor_1m_float32.json``.

Reported: macro-F1 with the run's bootstrap 95% CI (``baseline.metrics.evaluate``, 1,000 resamples, seed 0),
the paired difference new − shipped with its CI, iterations, converged, objective, LR fit seconds, columns.

Run: python bench/bench_tfidf_floor.py [--datasets sst2 sms_spam ag_news_test banking77]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"


def main() -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from baseline.adapters.base import AdapterContext
    from baseline.adapters.trivial import TfidfLogReg, fit_logreg, objective
    from baseline.data import load_dataset, make_split
    from baseline.metrics import evaluate

    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["sst2", "sms_spam", "ag_news_test", "banking77"])
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "tfidf_floor.json"))
    a = ap.parse_args()
    results = []
    for name in a.datasets:
        split = make_split(load_dataset(SHARED / name / f"{name}.csv"), 0.25, 42)
        xtr, ytr = split.train["text"].tolist(), np.asarray(split.train["label"].astype(str).tolist())
        xte, yte = split.test["text"].tolist(), split.test["label"].astype(str).tolist()
        labels = sorted(set(ytr) | set(yte))
        row: dict = {"dataset": name, "train": len(xtr), "test": len(xte), "classes": len(labels)}
        preds = {}
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
        X = vec.fit_transform(xtr)
        Xte = vec.transform(xte)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            old = LogisticRegression(C=10.0, max_iter=2000).fit(X, ytr)
        row["shipped"] = {"features": "exact", "columns": X.shape[1], "solver": "lbfgs", "tol": 1e-4,
                          "lr_fit_s": round(time.perf_counter() - t0, 2), "iterations": int(np.max(old.n_iter_)),
                          "converged": int(np.max(old.n_iter_)) < 2000 and not any(
                              issubclass(w.category, ConvergenceWarning) for w in caught),
                          "objective": objective(old, X, ytr, 10.0)}
        preds["shipped"] = old.predict(Xte).tolist()
        t0 = time.perf_counter()
        plan, info = fit_logreg(X, ytr, 10.0, None, 42)
        row["exact+plan"] = {"features": "exact", "columns": X.shape[1], "lr_fit_s": round(time.perf_counter() - t0, 2),
                             **info}
        preds["exact+plan"] = plan.predict(Xte).tolist()
        ad = TfidfLogReg(AdapterContext(labels=labels))
        t0 = time.perf_counter()
        fit = ad.fit(xtr, ytr.tolist())
        row["new"] = {**fit.details, "adapter_fit_s": round(time.perf_counter() - t0, 2)}
        preds["new"] = ad.predict_batch(xte).labels
        ev = evaluate(labels, yte, preds)
        for k in preds:
            m = ev.metrics[k]
            row[k]["macro_f1"] = round(float(m["macro_f1"]), 4)
            row[k]["macro_f1_ci"] = [round(float(v), 4) for v in m["ci"]["macro_f1"]]
            row[k]["agreement_with_shipped"] = round(float(np.mean(np.asarray(preds[k]) == np.asarray(preds["shipped"]))), 4)
        for k in ("exact+plan", "new"):
            p = ev.pairwise[k]["shipped"]
            row[k]["paired_vs_shipped"] = {"diff": round(float(p["difference"]), 4), "ci": [round(float(v), 4) for v in p["ci"]]}
        print(json.dumps(row), flush=True)
        results.append(row)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"runs": results}, indent=2))


if __name__ == "__main__":
    main()
