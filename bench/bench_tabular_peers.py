"""`baseline compare` side by side with LazyPredict and PyCaret on the very same tabular split (issue 21).

For each dataset and repeat, in turn (never two at once: the machine has 2 cores shared with other work):

1. ``baseline compare --task tabular-… --adapters <floors>,linear,lightgbm,flaml --fresh`` as a user runs it (flaml
   on its default budget, scaled to the table: 1 s per 300 train rows, 5-60 s; ``--time-budget`` pins one), one process, timed from outside (a fresh ``--home`` each time, so nothing is reused). Its run
   folder gives the split (``split.csv``: file row id → train/test), the columns it kept (``results.json``
   ``profile.tabular.columns``: what it dropped and why), the truth and every candidate's answers on the test rows
   (``predictions.csv``), and its decision (``decision.choice``).
2. The peers get exactly those train/test rows and exactly the feature columns baseline kept (the dropped ones —
   identifiers, constants, target leaks — are dropped for them too); a column baseline reads as numbers that the
   file stores as text with blanks (telco's ``TotalCharges``) is handed over as numbers with missing values, as
   baseline reads it, and a column baseline reads as a date (bike's ``dteday``) is handed over as a datetime
   (PyCaret extracts its parts, as baseline does; LazyPredict's preprocessor takes only number and object columns
   and so leaves it out — the JSON lists it under ``columns_it_ignores``). Everything else is the file's own
   values; each peer does its own preprocessing.
   - LazyPredict: ``LazyClassifier`` / ``LazyRegressor`` with its defaults (``random_state=42``), fitted on train
     and — as LazyPredict is designed — ranked on the test rows it is given. Its "best" is the top of its own
     leaderboard (Balanced Accuracy for classification, Adjusted R² for regression), so it is chosen ON THE TEST
     ROWS: an optimistic (winner's-curse) figure that baseline, which chooses before it looks at test, cannot have.
   - PyCaret: ``setup(data=train, test_data=test, target=…, session_id=42)`` then ``compare_models()`` with its
     defaults (10-fold CV on train, sorted by Accuracy / R², turbo), the best refitted on all of train by
     ``compare_models`` itself, ``predict_model`` on the test rows. Selection never sees test. ``budget_time``
     (``--pycaret-budget-min``, default 20 min) only stops a search that runs past it; the JSON says whether it did.
   Each peer is one process of the peers' own venv (``bench/peers_env.sh``), timed from outside like baseline.
3. Scoring is OURS: the peer's best model's test predictions are scored in the main venv by baseline's own metric
   code on the same rows (``baseline.metrics.evaluate`` for classification — headline macro-F1;
   ``baseline.tasks.regression_metrics.evaluate_regression`` for regression — headline RMSE), with the same
   seed and resamples as the run, so the peer and baseline's chosen candidate share every bootstrap resample
   (``bootstrap_chunks``). Reported: the peer's figure (also recomputed with ``sklearn.metrics`` and checked equal),
   whether it lies inside the 95% CI of baseline's chosen candidate, and the paired (peer − ours) difference with
   its 95% CI. "Ours not significantly worse" = that paired CI does not lie wholly on the peer's better side.

Caveats, measured and recorded rather than corrected: the peers' train rows are handed over in file order
(baseline's split is random, so they are a random sample, but ``bike_sharing_hourly`` is time-ordered and PyCaret's
default ``fold_shuffle=False`` then makes its 10 CV folds contiguous blocks of time: its CV figures there are
pessimistic, which affects only which model it picks); PyCaret ranks by Accuracy / R² and LazyPredict by
Balanced Accuracy / Adjusted R², not by our headline, so ``secondary`` also gives accuracy / weighted-F1 (MAE / R²);
xgboost and catboost are optional for both peers and are not installed by ``peers_env.sh`` (plain
``pip install pycaret lazypredict``), so neither peer tries them. Wall times are end-to-end processes (imports,
reading the CSV, the search, predicting; for baseline also its latency probes, permutation importance and the
report) on a 2-core machine shared with other work: the load average before and after each run is recorded.

Datasets: ``telco_churn`` and ``bike_sharing_hourly`` (../shared/datasets) and scikit-learn's bundled
``breast_cancer`` and ``wine`` (classification) and ``diabetes`` (regression), written to CSV under the work folder.

Run (main venv; the peers' venv made first with ``bash bench/peers_env.sh``):
    .venv/bin/python bench/bench_tabular_peers.py [--datasets a,b] [--repeats N] [--peers lazypredict,pycaret]
Each dataset's raw record (every repeat appended) goes to bench/results/tabular_peers_<dataset>.json and the
summary table of all of them to bench/results/tabular_peers.json; ``--summarize`` only rebuilds the summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
RESULTS = Path(os.environ.get("TABULAR_PEERS_RESULTS", REPO / "bench" / "results"))
PEERS_PY = REPO / "bench" / ".peers-venv" / "bin" / "python"
BASELINE = REPO / ".venv" / "bin" / "baseline"
WORK = Path(tempfile.gettempdir()) / "baseline-bench" / "tabular_peers"
ID = "__baseline_row_id"

CLS_ADAPTERS = "majority,linear,lightgbm,flaml"
REG_ADAPTERS = "mean,median,linear,lightgbm,flaml"

DATASETS = {
    "telco_churn": {"kind": "classification", "label": "Churn", "path": DATA / "telco_churn" / "telco_churn.csv"},
    "bike_sharing_hourly": {"kind": "regression", "label": "cnt",
                            "path": DATA / "bike_sharing_hourly" / "bike_sharing_hourly.csv"},
    "breast_cancer": {"kind": "classification", "label": "target", "sklearn": "load_breast_cancer"},
    "wine": {"kind": "classification", "label": "target", "sklearn": "load_wine"},
    "diabetes": {"kind": "regression", "label": "target", "sklearn": "load_diabetes"},
}


# ---- the peers (run inside bench/.peers-venv) ------------------------------------------------------------------

def peer_main(argv: list[str]) -> None:
    """``_peer --peer NAME --kind K --train CSV --test CSV --label L --out DIR``: fit, pick, predict, write."""
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True, choices=("lazypredict", "pycaret"))
    ap.add_argument("--kind", required=True, choices=("classification", "regression"))
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--budget-min", type=float, default=None)
    ap.add_argument("--date-cols", default="", help="columns baseline reads as dates: handed over as datetimes")
    a = ap.parse_args(argv)
    import importlib.metadata as md

    import pandas as pd

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    label_dtype = {a.label: str} if a.kind == "classification" else {}
    train = pd.read_csv(a.train, dtype=label_dtype)
    test = pd.read_csv(a.test, dtype=label_dtype)
    train_ids, test_ids = train.pop(ID), test.pop(ID)
    dates = [c for c in a.date_cols.split(",") if c]
    for frame in (train, test):
        for c in dates:
            frame[c] = pd.to_datetime(frame[c], errors="coerce")
    meta: dict = {"date_cols": dates,
                  "unparsed_dates": {c: int(train[c].isna().sum() + test[c].isna().sum()) for c in dates},"peer": a.peer, "kind": a.kind, "rows": {"train": len(train), "test": len(test)},
                  "features": [c for c in train.columns if c != a.label]}
    t_imported = None
    if a.peer == "lazypredict":
        from lazypredict.Supervised import LazyClassifier, LazyRegressor
        t_imported = time.perf_counter()
        est = (LazyClassifier if a.kind == "classification" else LazyRegressor)(
            verbose=0, ignore_warnings=True, predictions=True, random_state=a.seed)
        xtr, ytr = train.drop(columns=[a.label]), train[a.label]
        xte, yte = test.drop(columns=[a.label]), test[a.label]
        t0 = time.perf_counter()
        board, preds = est.fit(xtr, xte, ytr, yte)
        meta["fit_s"] = time.perf_counter() - t0
        meta["models"] = len(board)
        meta["best"] = str(board.index[0])
        meta["ranked_by"] = "Balanced Accuracy on the test rows" if a.kind == "classification" else \
            "Adjusted R-Squared on the test rows"
        meta["leaderboard_head"] = json.loads(board.head(10).reset_index().to_json(orient="records"))
        # LazyPredict's ColumnTransformer takes number/bool and object columns only: a datetime is left out
        meta["columns_it_ignores"] = [c for c in xtr.columns if not (pd.api.types.is_numeric_dtype(xtr[c])
                                                                     or pd.api.types.is_bool_dtype(xtr[c])
                                                                     or xtr[c].dtype == object)]
        preds = pd.DataFrame(preds)
        preds.insert(0, "id", test_ids.to_numpy())
        preds.to_csv(out / "all_predictions.csv", index=False)
        best = preds[meta["best"]]
    else:
        if a.kind == "classification":
            from pycaret.classification import compare_models, predict_model, pull, setup
        else:
            from pycaret.regression import compare_models, predict_model, pull, setup
        t_imported = time.perf_counter()
        # the file's row ids as the index: unique across train and test, as PyCaret's setup requires
        train.index, test.index = train_ids.to_numpy(), test_ids.to_numpy()
        t0 = time.perf_counter()
        setup(data=train, test_data=test, target=a.label, session_id=a.seed, verbose=False, html=False)
        meta["setup_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        kw = {"verbose": False}
        if a.budget_min:
            kw["budget_time"] = a.budget_min
        model = compare_models(**kw)
        meta["compare_models_s"] = time.perf_counter() - t1
        meta["budget_time_min"] = a.budget_min
        meta["budget_time_reached"] = bool(a.budget_min and meta["compare_models_s"] >= a.budget_min * 60)
        board = pull()
        meta["models"] = len(board)
        meta["best"] = type(model).__name__
        meta["best_pycaret_name"] = str(board["Model"].iloc[0]) if "Model" in board else None
        meta["ranked_by"] = ("Accuracy" if a.kind == "classification" else "R2") + " in 10-fold CV on train"
        meta["leaderboard_head"] = json.loads(board.head(10).reset_index().to_json(orient="records"))
        t2 = time.perf_counter()
        pred = predict_model(model, data=test.drop(columns=[a.label]), verbose=False)
        meta["predict_s"] = time.perf_counter() - t2
        meta["fit_s"] = meta["setup_s"] + meta["compare_models_s"]
        best = pred["prediction_label"].reindex(test_ids.to_numpy())
    pd.DataFrame({"id": test_ids.to_numpy(), "prediction": best.to_numpy()}).to_csv(out / "predictions.csv",
                                                                                    index=False)
    meta["import_s"] = t_imported - t_start if t_imported else None
    meta["inner_total_s"] = time.perf_counter() - t_start
    meta["versions"] = {n: md.version(n) for n in ("pycaret", "lazypredict", "scikit-learn", "pandas", "numpy",
                                                    "lightgbm")}
    meta["python"] = platform.python_version()
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))


# ---- the orchestrator (main venv) ------------------------------------------------------------------------------

def dataset_csv(name: str) -> Path:
    spec = DATASETS[name]
    if "path" in spec:
        return spec["path"]
    import sklearn.datasets as skd

    path = WORK / "data" / f"{name}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        d = getattr(skd, spec["sklearn"])(as_frame=True)
        df = d.frame.copy()
        if spec["kind"] == "classification":  # class names, as a user's file has them
            df["target"] = [str(d.target_names[i]) for i in d.target]
        df.to_csv(path, index=False)
    return path


def run_timed(cmd: list[str], log: Path, timeout: float | None = None) -> dict:
    load_before = os.getloadavg()
    t = time.perf_counter()
    with open(log, "w") as fh:
        try:
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    return {"rc": rc, "wall_s": time.perf_counter() - t, "load_before": load_before,
            "load_after": os.getloadavg(), "log": str(log)}


def code_state() -> dict:
    """Which baseline ran: HEAD and a digest of src/ as it was (the editable install is the working tree)."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((REPO / "src").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(REPO)).encode())
            h.update(f.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True,
                           cwd=REPO).stdout
    return {"head": head.strip(), "src_dirty": bool(dirty.strip()), "src_sha256": h.hexdigest()[:16]}


def run_baseline(name: str, rep: int, budget: float | None) -> dict:
    spec = DATASETS[name]
    out = WORK / name / f"r{rep}" / "baseline"
    home = WORK / name / f"r{rep}" / "home"
    for d in (out, home):  # an empty home: no history, no cache, nothing to reuse
        if d.exists():
            shutil.rmtree(d)
    out.mkdir(parents=True, exist_ok=True)
    task = "tabular-classification" if spec["kind"] == "classification" else "tabular-regression"
    adapters = CLS_ADAPTERS if spec["kind"] == "classification" else REG_ADAPTERS
    cmd = [str(BASELINE), "compare", "--task", task, "--data", str(dataset_csv(name)), "--label-col", spec["label"],
           "--adapters", adapters, *(["--time-budget", f"{budget:g}"] if budget else []), "--out", str(out),
           "--home", str(home), "--no-progress", "--fresh"]
    r = run_timed(cmd, out.parent / "baseline.log")
    r["command"] = " ".join(cmd)
    r["code"] = code_state()
    runs = sorted(p for p in out.iterdir() if p.is_dir())
    if not runs or not (runs[-1] / "results.json").exists():
        raise SystemExit(f"{name}: baseline wrote no results.json (rc {r['rc']}); see {r['log']}")
    r["run_dir"] = str(runs[-1])
    if r["rc"] != 0:
        r["note"] = "exit status non-zero after results.json was written (see log); timing still end-to-end"
    return r


def read_run(run_dir: Path) -> dict:
    import pandas as pd

    res = json.loads((run_dir / "results.json").read_text())
    split = pd.read_csv(run_dir / "split.csv", dtype={"id": int, "split": str})
    preds = pd.read_csv(run_dir / "predictions.csv", dtype=str, keep_default_na=False)
    cols = res["profile"].get("tabular", {}).get("columns", [])
    return {"results": res, "split": split, "predictions": preds, "columns": cols}


def peer_frames(name: str, run: dict, rep_dir: Path) -> tuple[Path, Path, dict]:
    """The train/test CSVs the peers get: baseline's rows, baseline's kept columns, the row id apart."""
    import pandas as pd

    spec = DATASETS[name]
    df = pd.read_csv(dataset_csv(name), dtype={spec["label"]: str} if spec["kind"] == "classification" else None)
    dropped = {c["name"]: c["dropped"] for c in run["columns"] if c.get("dropped")}
    kinds = {c["name"]: c["kind"] for c in run["columns"]}
    converted = []
    for col, kind in kinds.items():
        if kind == "numeric" and col in df and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = pd.to_numeric(df[col].str.strip().replace("", None), errors="coerce")
            converted.append(col)
    df = df.drop(columns=list(dropped))
    df.insert(0, ID, range(len(df)))
    part = run["split"].set_index("id")["split"]
    df["__part"] = part.reindex(df[ID]).to_numpy()
    train = df[df["__part"] == "train"].drop(columns="__part")
    test = df[df["__part"] == "test"].drop(columns="__part")
    # the test rows in the order of baseline's predictions.csv, and the truth checked against it
    order = run["predictions"]["id"].astype(int).to_numpy()
    test = test.set_index(ID).loc[order].reset_index()
    truth = run["predictions"]["label"].to_numpy()
    if spec["kind"] == "classification":
        assert (test[spec["label"]].astype(str).to_numpy() == truth).all(), "truth differs from the file's rows"
    else:
        assert all(math.isclose(float(a), float(b)) for a, b in zip(test[spec["label"]], truth, strict=True)), \
            "truth differs"
    rep_dir.mkdir(parents=True, exist_ok=True)
    tr, te = rep_dir / "peer_train.csv", rep_dir / "peer_test.csv"
    train.to_csv(tr, index=False)
    test.to_csv(te, index=False)
    info = {"dropped_as_baseline": dropped, "read_as_numbers": converted,
            "dates": [c for c, k in kinds.items() if k == "datetime" and c not in dropped],
            "features": [c for c in test.columns if c not in (ID, spec["label"])],
            "rows": {"train": len(train), "test": len(test)}}
    return tr, te, info


def run_peer(name: str, peer: str, rep: int, tr: Path, te: Path, budget_min: float | None,
             dates: list[str]) -> dict:
    spec = DATASETS[name]
    out = WORK / name / f"r{rep}" / peer
    cmd = [str(PEERS_PY), str(Path(__file__).resolve()), "_peer", "--peer", peer, "--kind", spec["kind"],
           "--train", str(tr), "--test", str(te), "--label", spec["label"], "--out", str(out)]
    if dates:
        cmd += ["--date-cols", ",".join(dates)]
    if peer == "pycaret" and budget_min:
        cmd += ["--budget-min", str(budget_min)]
    out.mkdir(parents=True, exist_ok=True)
    r = run_timed(cmd, out.parent / f"{peer}.log")
    r["command"] = " ".join(cmd)
    if r["rc"] != 0 or not (out / "meta.json").exists():
        tail = Path(r["log"]).read_text()[-2000:]
        r["error"] = tail
        return r
    r["meta"] = json.loads((out / "meta.json").read_text())
    r["out"] = str(out)
    return r


def score_peer(name: str, run: dict, peer_run: dict, against: str | None = None) -> dict:
    """The peer's best on baseline's test rows, by baseline's metric code, paired with baseline's choice (or with
    ``against``, another of baseline's candidates)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import f1_score, mean_squared_error

    spec = DATASETS[name]
    res = run["results"]
    settings = res["settings"]
    metric, resamples, seed, level = settings["metric"], settings["resamples"], settings["seed"], \
        settings.get("ci_level", 0.95)
    choice = against or res["decision"].get("choice") or res.get("best")
    preds = run["predictions"]
    ids = preds["id"].astype(int).to_numpy()
    y_true = preds["label"].tolist()
    ours = preds[choice].tolist()
    peer = pd.read_csv(Path(peer_run["out"]) / "predictions.csv", dtype={"prediction": str})
    peer = peer.set_index("id")["prediction"].reindex(ids)
    peer_vals = [None if (isinstance(v, float) and math.isnan(v)) else str(v) for v in peer.tolist()]
    key = f"peer:{peer_run['meta']['peer']}"
    if spec["kind"] == "classification":
        from baseline.metrics import evaluate

        labels = res["split"].get("labels") or sorted(set(y_true))
        ev = evaluate(labels, y_true, {choice: ours, key: peer_vals}, headline=metric, resamples=resamples,
                      seed=seed, level=level)
        sk = {"macro_f1": f1_score(y_true, peer_vals, labels=labels, average="macro", zero_division=0),
              "accuracy": float(np.mean(np.array(y_true) == np.array(peer_vals, dtype=object)))}
        sk_fig = sk.get(metric)
        lower_better = False
    else:
        from baseline.tasks.regression_metrics import evaluate_regression

        ev = evaluate_regression(y_true, {choice: ours, key: peer_vals}, headline=metric, resamples=resamples,
                                 seed=seed, level=level)
        yt = np.array(y_true, dtype=float)
        yp = np.array(peer_vals, dtype=float)
        sk_fig = {"rmse": float(np.sqrt(mean_squared_error(yt, yp))),
                  "mae": float(np.mean(np.abs(yt - yp)))}.get(metric)
        lower_better = metric in ("rmse", "mae", "mape")
    ours_m = ev.metrics[choice]
    ours_ci = list(ours_m["ci"][metric])
    run_ci = next((list(a["metrics"]["ci"][metric]) for a in res["adapters"] if a["name"] == choice), None)
    peer_fig = ev.metrics[key][metric]
    pair = ev.pairwise[key][choice]  # peer − ours, on the same resamples
    lo, hi = pair["ci"]
    tol = 1e-9  # floating-point dust (a difference of -1e-16 on identical answers is no difference)
    ours_sig_worse = (hi < -tol) if lower_better else (lo > tol)
    peer_sig_worse = (lo > tol) if lower_better else (hi < -tol)
    out = {
        "metric": metric, "lower_is_better": lower_better, "ours": choice, "ours_figure": ours_m[metric],
        "ours_ci": ours_ci, "ours_ci_as_in_results_json": run_ci == ours_ci if run_ci else None,
        "peer_best": peer_run["meta"]["best"], "peer_figure": peer_fig, "peer_figure_sklearn": sk_fig,
        "sklearn_agrees": sk_fig is not None and math.isclose(sk_fig, peer_fig, rel_tol=1e-9, abs_tol=1e-12),
        "peer_inside_our_ci": bool(ours_ci[0] <= peer_fig <= ours_ci[1]),
        "paired_peer_minus_ours": {"difference": pair["difference"], "ci": [lo, hi],
                                   "p_bootstrap": pair.get("p_bootstrap"), "n": pair.get("n")},
        "ours_significantly_worse": bool(ours_sig_worse), "peer_significantly_worse": bool(peer_sig_worse),
        "resamples": resamples, "seed": seed,
        # the other figures, point values with our candidate's CI (the peers rank by these, not by our headline)
        "secondary": {m: {"peer": ev.metrics[key].get(m), "ours": ours_m.get(m),
                          "ours_ci": list(ours_m["ci"][m]) if ours_m.get("ci", {}).get(m) else None}
                      for m in (("accuracy", "weighted_f1") if spec["kind"] == "classification" else ("mae", "r2"))},
    }
    if peer_run["meta"]["peer"] == "lazypredict":
        # LazyPredict ranks on the test rows; what its best by OUR headline on those rows would be (an oracle)
        allp = pd.read_csv(Path(peer_run["out"]) / "all_predictions.csv", dtype=str).set_index("id")
        allp.index = allp.index.astype(int)
        allp = allp.reindex(ids)
        figs = {}
        for col in allp.columns:
            if spec["kind"] == "classification":
                figs[col] = f1_score(y_true, allp[col].astype(str).tolist(), labels=labels, average="macro",
                                     zero_division=0) if metric == "macro_f1" else None
            else:
                v = allp[col].astype(float).to_numpy()
                if np.isfinite(v).all():
                    figs[col] = float(np.sqrt(mean_squared_error(np.array(y_true, dtype=float), v)))
        figs = {k: v for k, v in figs.items() if v is not None}
        if figs:
            best = (min if lower_better else max)(figs, key=figs.get)
            out["lazypredict_oracle_by_our_metric"] = {"model": best, "figure": figs[best],
                                                       "inside_our_ci": bool(ours_ci[0] <= figs[best] <= ours_ci[1])}
    return out


def add_scores(name: str, run: dict, entry: dict) -> None:
    """Score the peer against baseline's choice and, when the decision chose another, its best by the headline."""
    res = run["results"]
    entry["score"] = score_peer(name, run, entry)
    best = res.get("best")
    if best and best != entry["score"]["ours"]:
        entry["score_vs_best"] = score_peer(name, run, entry, against=best)
    else:
        entry.pop("score_vs_best", None)


def rescore() -> None:
    """Recompute every stored repeat's scores from its run folder and the peers' saved predictions."""
    for f in sorted(RESULTS.glob("tabular_peers_*.json")):
        d = json.loads(f.read_text())
        for rec in d["repeats"]:
            run = read_run(Path(rec["baseline"]["run_dir"]))
            rec["baseline"].update({k: v for k, v in baseline_summary(run, {**rec["baseline"], "command":
                                    rec["baseline"]["command"]}).items() if k not in ("wall_s", "rc")})
            for peer, entry in rec["peers"].items():
                if entry.get("meta"):
                    entry.setdefault("out", str(WORK / d["dataset"] / f"r{rec['repeat']}" / peer))
                    add_scores(d["dataset"], run, entry)
        f.write_text(json.dumps(d, indent=1, default=str))


def baseline_summary(run: dict, b: dict) -> dict:
    res = run["results"]
    metric = res["settings"]["metric"]
    choice = res["decision"].get("choice") or res.get("best")
    adapters = {a["name"]: a for a in res["adapters"]}
    ch = adapters[choice]["metrics"]
    timing = res.get("timing") or {}
    return {
        "wall_s": b["wall_s"], "rc": b["rc"], "run_dir": b["run_dir"], "command": b["command"],
        "code": b.get("code"),
        "metric": metric, "choice": choice, "best": res.get("best"), "verdict": res["decision"].get("verdict"),
        "figure": ch[metric], "ci": ch["ci"][metric],
        "best_figure": adapters[res["best"]]["metrics"][metric] if res.get("best") else None,
        "best_ci": adapters[res["best"]]["metrics"]["ci"][metric] if res.get("best") else None,
        "lower_is_better": res["decision"].get("bar", {}).get("lower_is_better"),
        "candidates": {n: {"figure": (a.get("metrics") or {}).get(metric), "status": a.get("status"),
                           "fit_s": (a.get("timing") or {}).get("fit_s"),
                           "probe_s": (a.get("timing") or {}).get("probe_s"),
                           "explain_s": (a.get("timing") or {}).get("explain_s"),
                           "time_budget_s": (a.get("fit") or {}).get("time_budget_s")}
                       for n, a in adapters.items()},
        "timing": {k: timing.get(k) for k in ("total_s", "adapters_s", "scoring_s", "render_s", "near_duplicates_s")},
        "split_hash": res["split"].get("hash"), "rows": res["split"].get("rows"),
        "load_before": b["load_before"], "load_after": b["load_after"],
    }


def bench_dataset(name: str, rep: int, peers: list[str], budget: float | None, budget_min: float | None) -> dict:
    print(f"[{name} r{rep}] baseline compare …", flush=True)
    b = run_baseline(name, rep, budget)
    run = read_run(Path(b["run_dir"]))
    rec = {"repeat": rep, "baseline": baseline_summary(run, b), "peers": {}}
    bs = rec["baseline"]
    print(f"[{name} r{rep}] baseline: {bs['choice']} {bs['metric']} {bs['figure']:.4f} "
          f"[{bs['ci'][0]:.4f}, {bs['ci'][1]:.4f}] in {bs['wall_s']:.1f} s", flush=True)
    tr, te, info = peer_frames(name, run, WORK / name / f"r{rep}")
    rec["peer_data"] = info
    for peer in peers:
        print(f"[{name} r{rep}] {peer} …", flush=True)
        p = run_peer(name, peer, rep, tr, te, budget_min, info["dates"])
        entry = {k: p.get(k) for k in ("rc", "wall_s", "load_before", "load_after", "command", "error", "meta")}
        if "meta" in p:
            entry["out"] = p["out"]
            add_scores(name, run, entry)
            s = entry["score"]
            print(f"[{name} r{rep}] {peer}: {s['peer_best']} {s['metric']} {s['peer_figure']:.4f} "
                  f"(inside our CI: {s['peer_inside_our_ci']}; peer−ours {s['paired_peer_minus_ours']['difference']:+.4f} "
                  f"[{s['paired_peer_minus_ours']['ci'][0]:+.4f}, {s['paired_peer_minus_ours']['ci'][1]:+.4f}]) "
                  f"in {p['wall_s']:.1f} s", flush=True)
        else:
            print(f"[{name} r{rep}] {peer} FAILED (rc {p['rc']}): {p.get('error', '')[-400:]}", flush=True)
        rec["peers"][peer] = entry
    return rec


def versions() -> dict:
    import importlib.metadata as md

    v = {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    for n in ("baseline", "scikit-learn", "lightgbm", "flaml", "pandas", "numpy"):
        try:
            v[f"main:{n}"] = md.version(n)
        except md.PackageNotFoundError:
            pass
    if PEERS_PY.exists():
        code = ("import importlib.metadata as md, json; print(json.dumps({n: md.version(n) for n in "
                "('pycaret','lazypredict','scikit-learn','pandas','numpy','lightgbm','scipy')}))")
        try:
            out = subprocess.run([str(PEERS_PY), "-c", code], capture_output=True, text=True, check=True).stdout
            v.update({f"peers:{k}": val for k, val in json.loads(out).items()})
        except Exception as e:  # noqa: BLE001
            v["peers"] = f"unreadable: {e}"
    for opt in ("xgboost", "catboost"):
        r = subprocess.run([str(PEERS_PY), "-c", f"import {opt}"], capture_output=True) if PEERS_PY.exists() else None
        v[f"peers:{opt}"] = "installed" if r is not None and r.returncode == 0 else "not installed (optional; not used)"
    return v


def _median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _vs(s: dict) -> dict:
    return {"ours": s["ours"], "ours_figure": s["ours_figure"], "ours_ci": s["ours_ci"],
            "peer_inside_our_ci": s["peer_inside_our_ci"], "paired_peer_minus_ours": s["paired_peer_minus_ours"],
            "ours_significantly_worse": s["ours_significantly_worse"],
            "peer_significantly_worse": s["peer_significantly_worse"],
            "ours_ci_as_in_results_json": s["ours_ci_as_in_results_json"]}


def summarize(names: list[str] | None = None) -> dict:
    rows = {}
    for f in sorted(RESULTS.glob("tabular_peers_*.json")):
        d = json.loads(f.read_text())
        name = d["dataset"]
        if names and name not in names:
            continue
        reps = d["repeats"]
        first = reps[0]
        bl = first["baseline"]
        row = {"kind": DATASETS[name]["kind"], "repeats": len(reps), "rows": bl["rows"],
               "dropped_for_everyone": first["peer_data"]["dropped_as_baseline"],
               "read_as_numbers": first["peer_data"]["read_as_numbers"],
               "baseline": {"choice": bl["choice"], "verdict": bl["verdict"], "metric": bl["metric"],
                            "figure": bl["figure"], "ci": bl["ci"], "best": bl.get("best"),
                            "best_figure": bl.get("best_figure"), "best_ci": bl.get("best_ci"),
                            "decision_lower_is_better": bl.get("lower_is_better"),
                            "choices_across_repeats": [r["baseline"]["choice"] for r in reps],
                            "figures_across_repeats": [r["baseline"]["figure"] for r in reps],
                            "wall_s_median": _median([r["baseline"]["wall_s"] for r in reps]),
                            "wall_s_all": [round(r["baseline"]["wall_s"], 1) for r in reps]},
               "peers": {}}
        for peer in ("lazypredict", "pycaret"):
            ok = [r["peers"][peer] for r in reps if peer in r["peers"] and r["peers"][peer].get("score")]
            if not ok:
                fails = [r["peers"][peer] for r in reps if peer in r["peers"]]
                if fails:
                    row["peers"][peer] = {"failed": (fails[0].get("error") or "")[-600:]}
                continue
            s = ok[0]["score"]
            row["peers"][peer] = {
                "best": s["peer_best"], "figure": s["peer_figure"], "figure_sklearn": s["peer_figure_sklearn"],
                "sklearn_agrees": s["sklearn_agrees"], "secondary_vs_choice": s.get("secondary"),
                "vs_choice": _vs(s), "vs_best": _vs(ok[0].get("score_vs_best") or s),
                "best_across_repeats": [o["score"]["peer_best"] for o in ok],
                "wall_s_median": _median([o["wall_s"] for o in ok]),
                "wall_s_all": [round(o["wall_s"], 1) for o in ok],
                "inner_fit_s_median": _median([o["meta"].get("fit_s") for o in ok]),
                "ranked_by": ok[0]["meta"].get("ranked_by"), "models": ok[0]["meta"].get("models"),
            }
            if peer == "pycaret":
                row["peers"][peer]["budget_time_reached"] = any(o["meta"].get("budget_time_reached") for o in ok)
            if "lazypredict_oracle_by_our_metric" in s:
                row["peers"][peer]["oracle_by_our_metric_on_test"] = s["lazypredict_oracle_by_our_metric"]
        pc = row["peers"].get("pycaret", {})
        row["goal"] = {
            "choice_not_significantly_worse_than_each_peer": all(
                not p["vs_choice"]["ours_significantly_worse"] for p in row["peers"].values() if "figure" in p),
            "best_not_significantly_worse_than_each_peer": all(
                not p["vs_best"]["ours_significantly_worse"] for p in row["peers"].values() if "figure" in p),
            "wall_le_pycaret": (row["baseline"]["wall_s_median"] <= pc["wall_s_median"]) if pc.get("wall_s_median")
            else None,
        }
        row["baseline_command"] = bl["command"]
        rows[name] = row
    return rows


def print_table(rows: dict) -> None:
    for name, r in rows.items():
        b = r["baseline"]
        m = b["metric"]
        print(f"\n== {name} ({r['kind']}, headline {m}; train {r['rows']['train']}, test {r['rows']['test']}; "
              f"dropped for everyone: {', '.join(r['dropped_for_everyone']) or 'none'}; repeats {r['repeats']}) ==")
        print(f"{'who':<12} {'model':<30} {m:>8}  {'95% CI':<20} {'wall s, median (all)':<24}")
        walls = ", ".join(f"{w:.0f}" for w in b["wall_s_all"])
        print(f"{'baseline':<12} {(b['choice'] + ' = choice (' + str(b['verdict']) + ')')[:30]:<30} {b['figure']:>8.4f}"
              f"  [{b['ci'][0]:.4f}, {b['ci'][1]:.4f}] {b['wall_s_median']:>6.0f} ({walls})")
        if b.get("best") and b["best"] != b["choice"]:
            print(f"{'':<12} {(b['best'] + ' = best ' + m)[:30]:<30} {b['best_figure']:>8.4f}"
                  f"  [{b['best_ci'][0]:.4f}, {b['best_ci'][1]:.4f}]")
        for peer, p in r["peers"].items():
            if "failed" in p:
                print(f"{peer:<12} FAILED: {p['failed'][-200:]}")
                continue
            walls = ", ".join(f"{w:.0f}" for w in p["wall_s_all"])
            print(f"{peer:<12} {p['best'][:30]:<30} {p['figure']:>8.4f}  {'':<20} {p['wall_s_median']:>6.0f} ({walls})")
            for which in ("vs_choice", "vs_best"):
                v = p[which]
                if which == "vs_best" and v["ours"] == p["vs_choice"]["ours"]:
                    continue
                d = v["paired_peer_minus_ours"]
                flag = "OURS SIG. WORSE" if v["ours_significantly_worse"] else (
                    "peer sig. worse" if v["peer_significantly_worse"] else "not sig. different")
                print(f"{'':<12}   vs {v['ours']}: inside our CI {'yes' if v['peer_inside_our_ci'] else 'NO'}; "
                      f"peer − ours {d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}] → {flag}")
            if "oracle_by_our_metric_on_test" in p:
                o = p["oracle_by_our_metric_on_test"]
                print(f"{'':<12}   (its best by our {m} picked on test, an oracle: {o['model']} {o['figure']:.4f})")
        g = r["goal"]
        print(f"goal: choice not significantly worse than each peer: {g['choice_not_significantly_worse_than_each_peer']}"
              f" (best: {g['best_not_significantly_worse_than_each_peer']}); wall ≤ PyCaret: {g['wall_le_pycaret']}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_peer":
        peer_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--peers", default="lazypredict,pycaret")
    ap.add_argument("--repeats", type=int, default=1, help="repeats to add (appended to earlier ones)")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="baseline's --time-budget (flaml); default: baseline's own, scaled to the table")
    ap.add_argument("--pycaret-budget-min", type=float, default=20.0,
                    help="compare_models budget_time in minutes: stops only a search that runs past it (0: none)")
    ap.add_argument("--fresh", action="store_true", help="drop earlier repeats of these datasets")
    ap.add_argument("--summarize", action="store_true", help="only rebuild bench/results/tabular_peers.json")
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the stored repeats' scores from their run folders, then summarize")
    a = ap.parse_args()
    names = [n for n in a.datasets.split(",") if n]
    for n in names:
        if n not in DATASETS:
            raise SystemExit(f"unknown dataset {n!r}; one of {list(DATASETS)}")
    peers = [p for p in a.peers.split(",") if p]
    RESULTS.mkdir(parents=True, exist_ok=True)
    if a.rescore:
        rescore()
    elif not a.summarize:
        if peers and not PEERS_PY.exists():
            raise SystemExit(f"{PEERS_PY} missing: run `bash bench/peers_env.sh` first")
        for name in names:
            f = RESULTS / f"tabular_peers_{name}.json"
            d = json.loads(f.read_text()) if f.exists() and not a.fresh else {"dataset": name, "repeats": []}
            for _ in range(a.repeats):
                rep = len(d["repeats"]) + 1
                rec = bench_dataset(name, rep, peers, a.time_budget, a.pycaret_budget_min or None)
                d["repeats"].append(rec)
                d["versions"] = versions()
                f.write_text(json.dumps(d, indent=1, default=str))
    rows = summarize()
    summary = {"issue": 21, "what": __doc__.split("\n")[0], "method": __doc__, "versions": versions(),
               "commands": {"peers_env": "bash bench/peers_env.sh",
                            "bench": ".venv/bin/python bench/bench_tabular_peers.py [--datasets …] [--repeats N]",
                            "baseline": "per dataset: see datasets.*.baseline_command"},
               "datasets": rows}
    (RESULTS / "tabular_peers.json").write_text(json.dumps(summary, indent=1, default=str))
    print_table(rows)


if __name__ == "__main__":
    main()
