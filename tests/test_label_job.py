"""The label check beside the adapters (a child process on large splits): the inline check's figures, failures
reported not raised, and a run that ends early leaves no child behind."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import baseline.pipeline.label_job as lj
from baseline.cli import main


def _data(tmp_path):
    rng = np.random.default_rng(0)
    words = {"pos": ["love", "great", "superb", "fine"], "neg": ["awful", "broken", "refund", "bad"]}
    rows = [(f"{rng.choice(words[lab])} {rng.choice(words[lab])} item {i}", lab)
            for i, lab in enumerate(["pos", "neg"] * 120)]
    for i in (4, 9, 30, 77, 120):   # flipped labels for the check to find
        rows[i] = (rows[i][0], "neg" if rows[i][1] == "pos" else "pos")
    path = tmp_path / "d.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


def _run(tmp_path, data, name):
    assert main(["compare", "--data", str(data), "--adapters", "majority", "--out", str(tmp_path / name),
                 "--home", str(tmp_path / f"h-{name}"), "--no-progress"]) == 0
    run = next((tmp_path / name).glob("*/results.json")).parent
    return json.loads((run / "results.json").read_text()), run


def test_beside_the_adapters_the_check_gives_the_inline_figures(tmp_path, monkeypatch):
    data = _data(tmp_path)
    inline, run_i = _run(tmp_path, data, "inline")
    monkeypatch.setattr(lj, "BACKGROUND_MIN_ROWS", 0)      # every split counts as large
    beside, run_b = _run(tmp_path, data, "beside")
    a, b = inline["data_plan"]["label_quality"], beside["data_plan"]["label_quality"]
    assert "ran" not in a and b["ran"] == "beside the adapters, in a child process"
    assert a["status"] == b["status"] == "ok" and a["flagged"] > 0
    for k in ("rows_checked", "flagged", "share", "share_ci", "classes", "pairs", "examples", "oof_accuracy", "folds"):
        assert a[k] == b[k], k
    assert (run_i / "label_issues.csv").read_bytes() == (run_b / "label_issues.csv").read_bytes()
    assert 0 <= beside["timing"]["label_check_s"] == b["waited_s"] <= b["wall_s"]


def test_a_check_that_fails_in_the_child_is_reported_not_raised(tmp_path):
    job = lj.LabelJob(pd.DataFrame({"id": ["1", "2"], "text": ["a", "b"]}), None, 0, tmp_path)  # no label column
    out = job.result()
    assert out["status"] == "failed" and "KeyError" in out["reason"]


def test_a_run_that_ends_early_stops_the_child(tmp_path):
    job = lj.LabelJob(pd.DataFrame({"id": ["1"] * 50, "text": ["x y"] * 50, "label": ["a", "b"] * 25}), None, 0,
                      tmp_path)
    job.cancel()
    assert not job._proc.is_alive()


def test_small_splits_and_runs_without_the_check_keep_it_inline(tmp_path):
    train = pd.DataFrame({"id": ["1", "2"], "text": ["a", "b"], "label": ["x", "y"]})
    assert lj.start_label_job(True, train, 0, tmp_path) is None               # under BACKGROUND_MIN_ROWS
    assert lj.start_label_job(False, train, 0, tmp_path, min_rows=0) is None  # --no-label-check / not applicable
