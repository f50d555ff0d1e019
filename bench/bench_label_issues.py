"""How well the label check finds labels flipped on purpose: precision and recall on a corrupted copy.

Reads a shared dataset (../shared/datasets/<name>/<name>.csv; never copied into the project), keeps its
official train split, flips a share of the train labels to another class chosen at random (seeded), and
runs ``baseline.dataplan.label_check`` on the clean and on the corrupted copy. A flagged row counts as a
hit only when its label was flipped here, so rows the source itself mislabeled count against precision;
the clean run's flag count is printed beside it for that reason. Writes bench/results/label_issues.json.

    PYTHONPATH=src python bench/bench_label_issues.py sst2 banking77 --flip 0.05 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from baseline.dataplan import label_check

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

    with tempfile.TemporaryDirectory() as d:  # the ranked ids come from label_issues.csv
        res = label_check(bad, seed, d)
        if res["status"] != "ok":   # e.g. no train split in the file: the check says why and writes no file
            return {"status": res["status"], "reason": res.get("reason"), "train_rows": len(train)}
        ids = pd.read_csv(Path(d) / "label_issues.csv", dtype=str)["id"].astype(int).to_numpy()
    flagged[ids] = True
    hits = int((flagged & flipped).sum())
    k = int(flipped.sum())
    return {"precision_at_flipped_count": float(flipped[ids[:k]].mean()), "train_rows": len(train), "flipped": int(flipped.sum()), "flagged": int(flagged.sum()),
            "hits": hits, "precision": hits / max(1, int(flagged.sum())), "recall": hits / int(flipped.sum()),
            "flagged_on_clean_copy": clean["flagged"], "oof_accuracy_corrupted": res["oof_accuracy"],
            "seconds": res["seconds"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--flip", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "label_issues.json"))
    a = ap.parse_args(argv)
    rows = {}
    for name in a.datasets:
        df = pd.read_csv(SHARED / name / f"{name}.csv")
        train = df[df["split"] == "train"] if "split" in df.columns else df
        if train.empty:
            rows[name] = {"status": "skipped", "reason": "no train rows in the file's split column", "train_rows": 0}
        else:
            rows[name] = measure(train[["text", "label"]], a.flip, a.seed)
        r = rows[name]
        if r.get("status", "ok") != "ok":
            print(f"{name}: label check {r['status']}: {r['reason']}", file=sys.stderr)
            continue
        print(f"{name}: {r['train_rows']:,} train rows, {r['flipped']:,} flipped ({a.flip:.0%}); flagged {r['flagged']:,} "
              f"(clean copy: {r['flagged_on_clean_copy']:,}); precision {r['precision']:.3f}, recall {r['recall']:.3f}; "
              f"precision of the top {r['flipped']:,} ranked {r['precision_at_flipped_count']:.3f}; "
              f"out-of-fold accuracy {r['oof_accuracy_corrupted']:.3f}; {r['seconds']:.1f} s", file=sys.stderr)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"flip": a.flip, "seed": a.seed, "datasets": rows}, indent=2) + "\n", encoding="utf-8")
    if a.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
