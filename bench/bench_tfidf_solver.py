"""tfidf-logreg's solver at scale: the shipped lbfgs against newton-cg on the same features, split and C.

Generates (or reuses) ``bench_scale.py``'s synthetic CSV, splits it as ``baseline compare`` does (seed 42,
test 0.25), builds the adapter's features (word 1–2-gram TF-IDF, sublinear tf, accents stripped) and fits
``LogisticRegression(C=10, max_iter=2000)`` with each solver, each in its own child process so that peak RSS is
that solver's alone. Reports per solver: vectorize and LR fit seconds, peak RSS, macro-F1 on test, iterations,
and how often the two solvers give the same answer. Not a change to the adapter: a measurement for the issue
that would change it.

Run: python bench/bench_tfidf_solver.py [--rows 1000000] [--solvers lbfgs newton-cg newton-cg@rule ours@rule]
     [--set tickets|sentiment|topics] [--features exact|hashed]
(``@rule``: the tolerance of ``baseline.adapters.trivial.solver_plan`` instead of 1e-4; ``ours``: the adapter's own
Newton-CG, ``trivial.newton_fit``: binary, or multinomial on scikit-learn's driver; ``lean``: scikit-learn's
multinomial newton-cg run by ``lean_logreg.fit_newton_multinomial`` (the same weights in fewer arrays); ``ours-half`` / ``ours-float32``: the
same with the multinomial fit's probabilities forced to half precision / float32, whatever ``HALF_MIN_ELEMENTS`` says;
``--features hashed``: the adapter's ``HashedTfidf`` instead of the
vocabulary. Every run records its objective value, whether it converged, and ``fit_added_mb``: the fit's peak RSS
above the RSS just before it, the solver's own memory beside the matrix)

The solver pairs of issue 22: ``--set sentiment --features hashed --solvers newton-cg@rule ours@rule`` (binary) and
``--set topics --rows 300000 --features hashed --solvers newton-cg@rule ours@rule`` (50 classes); the probabilities'
precision: ``--set topics --rows 100000 --features hashed --solvers ours-float32@rule ours-half@rule``; the hashing's
chunk: ``--set sentiment --rows 100000 --features hashed --solvers ours@rule --chunk-rows 20000 10000 20000 10000``
(``peak_rss_mb_vectorize`` against ``peak_rss_mb_before_features``); the multinomial fit's row slices: ``--set topics
--rows 100000 --features hashed --solvers ours@rule --slice-elements 2000000 500000 2000000 500000``
(``fit_added_mb``, ``lr_fit_s``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def _rss_mb(field: str) -> float:
    """VmRSS or VmHWM (the peak since the last reset) of this process, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def fit_one(data: Path, solver: str, preds_out: Path, features: str = "exact") -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from baseline.adapters.trivial import (
        MAX_WEIGHTS,
        HashedTfidf,
        newton_fit,
        objective,
        solver_plan,
    )
    from baseline.data import load_dataset, make_split

    split = make_split(load_dataset(data), 0.25, 42)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    y = split.train["label"].astype(str).to_numpy()
    k_eff = 1 if len(set(y)) <= 2 else len(set(y))
    t0 = time.perf_counter()
    if features == "hashed":   # as the adapter builds them (min_df raised until columns x weight vectors fit)
        vec = HashedTfidf(2)
        x = vec.fit_transform(split.train["text"].tolist(), max_columns=max(1, MAX_WEIGHTS // k_eff))
    else:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
        x = vec.fit_transform(split.train["text"].tolist())
    vec_s = time.perf_counter() - t0
    vec_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    # "<solver>" at scikit-learn's tol 1e-4 (as shipped before issue 22), "<solver>@rule" at solver_plan's tol
    name, _, rule = solver.partition("@")
    precision = ""
    if name in ("ours-half", "ours-float32"):   # not newton-cg's hyphen
        name, _, precision = name.partition("-")
    if precision:   # ours-half / ours-float32: the multinomial probabilities' precision, whatever the size
        from baseline.adapters import newton_logreg

        newton_logreg.HALF_MIN_ELEMENTS = 1 if precision == "half" else 2**62
    _, rule_tol, rule_iter = solver_plan(x.shape[0], x.shape[1], k_eff, 10.0)
    tol = rule_tol if rule else 1e-4
    Path("/proc/self/clear_refs").write_text("5")   # the peak (VmHWM) restarts from here
    before_fit_mb = _rss_mb("VmRSS")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf = LogisticRegression(C=10.0, max_iter=rule_iter if name == "ours" else 2000, solver="newton-cg", tol=tol)
        msgs: list[str] = []
        if name == "ours":
            _, msgs = newton_fit(clf, x, y)
        elif name == "lean":  # scikit-learn's multinomial newton-cg, step for step, in fewer weight-sized arrays
            from baseline.adapters.lean_logreg import fit_newton_multinomial

            fit_newton_multinomial(clf, x, y)
        else:
            clf.set_params(solver=name).fit(x, y)
    fit_s = time.perf_counter() - t0
    fit_added_mb = _rss_mb("VmHWM") - before_fit_mb
    warned = bool(msgs) or any(issubclass(w.category, ConvergenceWarning) for w in caught)
    pred = clf.predict(vec.transform(split.test["text"].tolist()))
    np.save(preds_out, pred.astype(str))
    return {"solver": solver, "features": int(x.shape[1]), "vectorize_s": round(vec_s, 1), "lr_fit_s": round(fit_s, 1),
            "peak_rss_mb_before_features": round(base_mb), "peak_rss_mb_vectorize": round(vec_peak_mb),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "fit_added_mb": round(fit_added_mb), "features_kind": features, "nonzeros": int(x.nnz),
            "macro_f1": round(float(f1_score(split.test["label"].tolist(), pred, average="macro")), 4),
            "iterations": int(np.max(clf.n_iter_)), "tol": tol,
            "converged": int(np.max(clf.n_iter_)) < 2000 and not warned,
            # the averaged objective both solvers minimise on the same features: lower is nearer the optimum
            "objective": objective(clf, x, y, 10.0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--solvers", nargs="+", default=["lbfgs", "newton-cg"])
    ap.add_argument("--set", dest="kind", choices=["tickets", "sentiment", "topics"], default="tickets")
    ap.add_argument("--features", choices=["exact", "hashed"], default="exact")
    ap.add_argument("--chunk-rows", type=int, nargs="+", default=[None],
                    help="HashedTfidf's CHUNK_ROWS (texts hashed at a time), each value in turn for every solver")
    ap.add_argument("--slice-elements", type=int, nargs="+", default=[None],
                    help="newton_logreg's SLICE_ELEMENTS (multinomial rows per slice x classes), each value in turn "
                         "for every solver and chunk")
    ap.add_argument("--single", nargs=2, metavar=("SOLVER", "PREDS"), help="one fit in this process")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "tfidf_solver.json"))
    a = ap.parse_args()
    from bench_scale import data_path

    data = data_path(a.kind, a.rows)
    if a.single:
        if a.chunk_rows[0] is not None:
            from baseline.adapters import trivial

            trivial.CHUNK_ROWS = a.chunk_rows[0]
        if a.slice_elements[0] is not None:
            from baseline.adapters import newton_logreg

            newton_logreg.SLICE_ELEMENTS = a.slice_elements[0]
        print(json.dumps(fit_one(data, a.single[0], Path(a.single[1]), a.features)))
        return
    runs, preds = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for slice_elements in a.slice_elements:
            for chunk in a.chunk_rows:
                for solver in a.solvers:
                    key = (solver + ("" if chunk is None else f" chunk {chunk}")
                           + ("" if slice_elements is None else f" slices {slice_elements}"))
                    out = Path(tmp) / f"{len(runs)}.npy"
                    p = subprocess.run([sys.executable, __file__, "--rows", str(a.rows), "--set", a.kind,
                                        "--features", a.features, "--single", solver, str(out),
                                        *(["--chunk-rows", str(chunk)] if chunk is not None else []),
                                        *(["--slice-elements", str(slice_elements)] if slice_elements else [])],
                                       capture_output=True, text=True)
                    if p.returncode != 0:
                        raise SystemExit(p.stderr[-3000:])
                    runs.append({**json.loads(p.stdout.strip().splitlines()[-1]), "chunk_rows": chunk,
                                 "slice_elements": slice_elements})
                    print(json.dumps(runs[-1]), flush=True)
                    preds[key] = np.load(out)
    keys = list(preds)
    agreement = {s: round(float((preds[s] == preds[keys[0]]).mean()), 4) for s in keys[1:]}
    result = {"rows": a.rows, "set": a.kind, "features": a.features, "runs": runs,
              f"agreement_with_{keys[0]}": agreement}
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(agreement))


if __name__ == "__main__":
    main()
