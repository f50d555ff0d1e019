"""How well the label check finds labels flipped on purpose: precision and recall on a corrupted copy.

Reads a shared dataset (../shared/datasets/<name>/<name>.csv; never copied into the project), keeps its
official train split, flips a share of the train labels to another class chosen at random (seeded), and
runs ``baseline.dataplan.label_check`` on the clean and on the corrupted copy. A flagged row counts as a
hit only when its label was flipped here, so rows the source itself mislabeled count against precision;
the clean run's flag count is printed beside it for that reason. Above 20,000 train rows the check reads its seeded
sample: the figures are then over the sampled rows (flipped rows outside it neither hits nor misses). Writes
bench/results/label_issues.json (``--out``).

    PYTHONPATH=src python bench/bench_label_issues.py sst2 banking77 --flip 0.05 --seeds 0 1 2

A dataset is a shared set's name, or NAME=PATH for any CSV with text and label columns (its train split when it has
a split column, else every row), e.g. the four shared text sets' mix that ``bench_near_duplicates.py --make-mix``
writes. Another tree's check: ``PYTHONPATH=<tree>/src python bench/bench_label_issues.py … --out <file>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from baseline.dataplan import label_check, label_check_rows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def corrupt(train: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``train`` with ``share`` of its labels flipped to a different class; returns (copy, flipped mask)."""
    rng = np.random.default_rng(seed)
    labels = sorted(train["label"].astype(str).unique())
    n = len(train)
    idx = rng.choice(n, size=int(round(share * n)), replace=False)
    out = train.copy()
    lab = out["label"].astype(str).to_numpy().copy()
    for i in idx:
        others = [x for x in labels if x != lab[i]]
        lab[i] = others[rng.integers(len(others))]
    out["label"] = lab
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return out, mask


def measure(train: pd.DataFrame, share: float, seed: int) -> dict:
    train = train.reset_index(drop=True).assign(id=lambda d: [str(i) for i in range(len(d))],
                                               label=lambda d: d["label"].astype(str))
    clean = label_check(train, seed)
    bad, flipped = corrupt(train, share, seed)
    flagged = np.zeros(len(bad), dtype=bool)

    rows, sampled_from = label_check_rows(bad, seed)   # all of train, or the check's seeded sample, as a run takes it
    with tempfile.TemporaryDirectory() as d:  # the ranked ids come from label_issues.csv
        res = label_check(rows, seed, d, sampled_from=sampled_from)
        if res["status"] != "ok":   # e.g. no train split in the file: the check says why and writes no file
            return {"status": res["status"], "reason": res.get("reason"), "train_rows": len(train)}
        ids = pd.read_csv(Path(d) / "label_issues.csv", dtype=str)["id"].astype(int).to_numpy()
    checked = np.zeros(len(bad), dtype=bool)   # the rows the check read
    checked[rows["id"].astype(int).to_numpy()] = True
    flipped = flipped & checked
    flagged[ids] = True
    hits = int((flagged & flipped).sum())
    k = int(flipped.sum())
    return {"precision_at_flipped_count": float(flipped[ids[:k]].mean()), "train_rows": len(train),
            "rows_checked": int(checked.sum()), "flipped": k, "flagged": int(flagged.sum()),
            "hits": hits, "precision": hits / max(1, int(flagged.sum())), "recall": hits / k,
            "flagged_on_clean_copy": clean["flagged"], "oof_accuracy_corrupted": res["oof_accuracy"],
            "model": res.get("model", "logreg"), "seconds": res["seconds"]}


def read_train(name: str) -> tuple[str, pd.DataFrame]:
    """(label, train rows) of a shared set's name or of NAME=PATH."""
    label, _, path = name.partition("=")
    df = pd.read_csv(path if path else SHARED / name / f"{name}.csv")
    return label, df[df["split"] == "train"] if "split" in df.columns else df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--flip", type=float, default=0.05)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="flip seeds (each also seeds the check)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "label_issues.json"))
    a = ap.parse_args(argv)
    rows: dict[str, dict] = {}
    for name in a.datasets:
        label, train = read_train(name)
        rows[label] = {}
        for seed in a.seeds:
            if train.empty:
                r = {"status": "skipped", "reason": "no train rows in the file's split column", "train_rows": 0}
            else:
                r = measure(train[["text", "label"]], a.flip, seed)
            rows[label][str(seed)] = r
            if r.get("status", "ok") != "ok":
                print(f"{label}: label check {r['status']}: {r['reason']}", file=sys.stderr)
                break
            print(f"{label} (seed {seed}): {r['rows_checked']:,} train rows checked, {r['flipped']:,} flipped "
                  f"({a.flip:.0%}); flagged {r['flagged']:,} (clean copy: {r['flagged_on_clean_copy']:,}); precision "
                  f"{r['precision']:.3f}, recall {r['recall']:.3f}; precision of the top {r['flipped']:,} ranked "
                  f"{r['precision_at_flipped_count']:.3f}; out-of-fold accuracy {r['oof_accuracy_corrupted']:.3f}; "
                  f"{r['model']}; {r['seconds']:.1f} s", file=sys.stderr)
        ok = [r for r in rows[label].values() if r.get("status", "ok") == "ok"]
        if len(ok) > 1:
            rows[label]["mean"] = {k: float(np.mean([r[k] for r in ok])) for k in
                                   ("precision", "recall", "precision_at_flipped_count", "flagged", "seconds")}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"flip": a.flip, "seeds": a.seeds, "datasets": rows}, indent=2) + "\n", encoding="utf-8")
    if a.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
