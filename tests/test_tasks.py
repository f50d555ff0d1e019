"""The task layer: a task added outside the pipeline is picked up, multi-label input is read and refused the way a
user would meet it, and a multi-label comparison runs end to end with per-label figures."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from baseline.adapters.base import Adapter, BatchResult
from baseline.adapters.registry import Registry
from baseline.adapters.trivial import Majority, TfidfLogReg
from baseline.cli import main
from baseline.decide import Bar
from baseline.pipeline import CompareRequest, compare
from baseline.runner import RunOptions
from baseline.tasks import MULTI_LABEL, TaskInputs, get_task, labelsets, register
from baseline.tasks.registry import _REGISTERED
from baseline.tasks.text_classification import TextClassification

WORDS = {"billing": ["invoice", "refund", "charge"], "urgent": ["asap", "now", "immediately"],
         "bug": ["crash", "error", "broken"], "praise": ["thanks", "great", "love"]}
FILLER = ["the", "my", "account", "please", "today", "team", "app", "order", "this", "we"]


def ticket_rows(n: int, seed: int = 0) -> list[tuple[str, set[str]]]:
    """Texts whose keywords imply their labels; some rows carry no label, some several."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        labs = {lab for lab in WORDS if rng.random() < 0.3}
        words = [rng.choice(FILLER) for _ in range(6)] + [rng.choice(WORDS[lab]) for lab in labs]
        rng.shuffle(words)
        rows.append((" ".join(words), labs))
    return rows


def write_joined(path: Path, rows: list[tuple[str, set[str]]], sep: str = "|") -> Path:
    pd.DataFrame({"text": [t for t, _ in rows], "labels": [sep.join(sorted(s)) for _, s in rows]}).to_csv(path, index=False)
    return path


def write_columns(path: Path, rows: list[tuple[str, set[str]]]) -> Path:
    df = pd.DataFrame({"text": [t for t, _ in rows]})
    for lab in WORDS:
        df[lab] = [int(lab in s) for _, s in rows]
    df.to_csv(path, index=False)
    return path


# ---- the seam ---------------------------------------------------------------------------------
class ShoutingText(TextClassification):
    """A task defined only here: labels are read upper-cased. The pipeline must run it without knowing it."""

    name: ClassVar[str] = "test-shouting-text"
    title: ClassVar[str] = "shouting text classification"

    def load(self, inputs: TaskInputs):
        ds = super().load(TaskInputs(**{**inputs.__dict__, "explicit": True}))
        ds.frame["label"] = ds.frame["label"].str.upper()
        return ds


class EchoFirstLabel(Adapter):
    """Answers the first label for every text; supports only the test task."""

    name: ClassVar[str] = "test-echo"
    tasks: ClassVar[tuple[str, ...]] = ("test-shouting-text",)

    def predict_batch(self, texts):
        return BatchResult(labels=[self.ctx.labels[0]] * len(texts))


def test_a_task_registered_in_a_test_module_runs_through_the_pipeline(tmp_path):
    register(ShoutingText)
    try:
        reg = Registry({})
        reg.add(EchoFirstLabel)
        reg.add(Majority)
        path = write_joined(tmp_path / "t.csv", [(t, {"a" if i % 2 else "b"}) for i, (t, _) in enumerate(ticket_rows(80))])
        req = CompareRequest(data=str(path), out=tmp_path / "out", resamples=200, label_check=False, task_explicit=True)
        results, run_dir = compare(req, reg, RunOptions(task="test-shouting-text", cache=None, latency_probe=0), Bar())
        assert results["task"] == "test-shouting-text"
        assert results["split"]["labels"] == ["A", "B"]  # the task's own reading of the file
        by = {a["name"]: a for a in results["adapters"]}
        assert by["test-echo"]["status"] == "ok"
        # majority does not declare the task: skipped with the line `baseline adapters --task` shows
        assert by["majority"]["status"] == "unavailable"
        assert by["majority"]["reason"] == "does not support shouting text classification"
    finally:
        _REGISTERED.pop(ShoutingText.name, None)


def test_adapters_listing_says_which_do_not_support_the_task(capsys):
    assert main(["adapters", "--task", "multi-label", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["aws-comprehend-sentiment"]["reason"] == "does not support multi-label text classification"
    assert rows["majority"]["available"] and rows["tfidf-logreg"]["available"]


def test_unknown_task_is_one_line_exit_2(capsys):
    assert main(["compare", "--task", "image-segmentation", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown task 'image-segmentation'" in err[0]


# ---- reading multi-label data -----------------------------------------------------------------
def test_joined_labels_and_label_columns_read_the_same_sets(tmp_path):
    rows = ticket_rows(120)
    task = get_task(MULTI_LABEL)
    a = task.load(TaskInputs(path=str(write_joined(tmp_path / "a.csv", rows, ";")), label_col="labels", label_sep=";"))
    b = task.load(TaskInputs(path=str(write_columns(tmp_path / "b.csv", rows)), label_cols=list(WORDS)))
    assert a.labels == b.labels == sorted(WORDS)
    assert a.frame["label"].tolist() == b.frame["label"].tolist() == [labelsets.encode(s) for _, s in rows]
    empty = sum(not s for _, s in rows)
    assert empty > 0 and a.frame["label"].tolist().count(labelsets.EMPTY) == empty
    assert any(f"{empty:,} row(s) have no label" in n for n in a.notes)


def test_separator_in_labels_is_detected_with_a_note(tmp_path, capsys):
    path = write_joined(tmp_path / "t.csv", ticket_rows(150))
    code = main(["compare", "--data", str(path), "--adapters", "majority", "--out", str(tmp_path / "o"),
                 "--no-progress", "--json", "--resamples", "100", "--latency-probe", "0", "--no-label-check"])
    out = capsys.readouterr()
    assert code == 0, out.err
    res = json.loads(out.out)
    assert res["task"] == MULTI_LABEL and res["settings"]["metric"] == "micro_f1"
    assert "read as multi-label" in out.err
    # --single-label keeps each joined value as one class (every row labelled: a blank label is an error there)
    path = write_joined(tmp_path / "u.csv", [(t, {"billing", "urgent"} if i % 3 else {"bug"})
                                             for i, (t, _) in enumerate(ticket_rows(150))])
    code = main(["compare", "--data", str(path), "--adapters", "majority", "--out", str(tmp_path / "o"),
                 "--no-progress", "--json", "--resamples", "100", "--latency-probe", "0", "--single-label",
                 "--no-label-check"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["task"] == "text-classification" and "billing|urgent" in res["split"]["labels"]


@pytest.mark.parametrize("case, expect", [
    ("sep_never", "never joins two labels"),
    ("numbers", "holds numbers"),
    ("once", "occurs in only 1 row"),
    ("not01", "must be 0/1"),
    ("missing_col", "label column 'nope' not found"),
    ("pipe_in_name", "contains '|'"),
])
def test_bad_multi_label_input_is_one_line_exit_2(tmp_path, capsys, case, expect):
    rows = ticket_rows(60)
    args = ["compare", "--multi-label", "--adapters", "majority", "--out", str(tmp_path / "o"), "--no-progress"]
    if case == "sep_never":
        path = write_joined(tmp_path / "t.csv", [(t, set(sorted(s)[:1])) for t, s in rows])
        args += ["--label-col", "labels"]
    elif case == "numbers":
        df = pd.DataFrame({"text": [t for t, _ in rows], "labels": [f"{i % 3}|{i % 5 + 3}" for i in range(60)]})
        path = tmp_path / "t.csv"
        df.to_csv(path, index=False)
        args += ["--label-col", "labels"]
    elif case == "once":
        rows = rows + [("a lone rare ticket", {"billing", "lonely"})]
        path = write_joined(tmp_path / "t.csv", rows)
        args += ["--label-col", "labels"]
    elif case == "not01":
        path = write_columns(tmp_path / "t.csv", rows)
        df = pd.read_csv(path)
        df.loc[3, "bug"] = 7
        df.to_csv(path, index=False)
        args += ["--label-cols", ",".join(WORDS)]
    elif case == "missing_col":
        path = write_columns(tmp_path / "t.csv", rows)
        args += ["--label-cols", "billing,nope"]
    else:
        path = write_columns(tmp_path / "t.csv", rows)
        df = pd.read_csv(path).rename(columns={"bug": "bug|defect"})
        df.to_csv(path, index=False)
        args += ["--label-cols", "billing,urgent,bug|defect,praise"]
    assert main(args + ["--data", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0], err


def test_split_keeps_every_label_on_both_sides_and_is_frozen(tmp_path):
    rows = ticket_rows(200, seed=3) + [("rare one alpha", {"rare"}), ("rare two beta", {"rare", "bug"})]
    path = write_joined(tmp_path / "t.csv", rows)
    task = get_task(MULTI_LABEL)
    splits = []
    for _ in range(2):
        ds = task.load(TaskInputs(path=str(path), label_col="labels"))
        splits.append(task.split(ds, 0.25, 42))
    a, b = splits
    assert a.hash == b.hash and a.test["id"].tolist() == b.test["id"].tolist()
    for part in (a.train, a.test):
        Y, _ = labelsets.binarize(part["label"], a.labels)
        assert (Y.sum(axis=0) > 0).all()  # the 2-row label "rare" too
    assert len(a.test) == int(np.ceil(0.25 * len(rows)))


# ---- end to end -------------------------------------------------------------------------------
def test_multi_label_compare_end_to_end(tmp_path):
    from sklearn.metrics import f1_score

    path = write_joined(tmp_path / "t.csv", ticket_rows(400, seed=1))
    reg = Registry({})
    reg.add(Majority)
    reg.add(TfidfLogReg)
    req = CompareRequest(data=str(path), label_col="labels", out=tmp_path / "out", resamples=200, label_check=False,
                         task_explicit=True)
    results, run_dir = compare(req, reg, RunOptions(task=MULTI_LABEL, cache=None, latency_probe=0), Bar())
    by = {a["name"]: a for a in results["adapters"]}
    assert results["settings"]["metric"] == "micro_f1"
    preds = pd.read_csv(run_dir / "predictions.csv", dtype=str, keep_default_na=False)
    labels = results["split"]["labels"]
    yt, _ = labelsets.binarize(preds["label"].tolist(), labels)
    for name in ("majority", "tfidf-logreg"):
        yp, _ = labelsets.binarize(preds[name].tolist(), labels)
        m = by[name]["metrics"]
        assert m["micro_f1"] == pytest.approx(f1_score(yt, yp, average="micro", zero_division=0))
        lo, hi = m["ci"]["micro_f1"]
        assert lo <= m["micro_f1"] <= hi
        assert set(m["per_class"]) <= set(labels)
    assert by["tfidf-logreg"]["metrics"]["micro_f1"] > by["majority"]["metrics"]["micro_f1"] + 0.2
    assert results["decision"]["verdict"] in ("ADOPT", "TOO CLOSE TO CALL")
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "a confusion matrix assumes one label per row" in md and "Labels per row" in md
    assert results["data_plan"]["label_quality"]["status"] == "skipped"
    assert results["profile"]["multi_label"]["labels"] == len(WORDS)
