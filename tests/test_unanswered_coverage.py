"""Unanswered items (the service gave no answer: item errors) are not abstentions, in every figure that shows coverage.

Coverage is answered items that map to a dataset label over answered items; the unanswered are counted apart.
The case that would have caught it: 20 test items, 3 unanswered and 2 abstentions → coverage 15/17 and
3 unanswered, not 15/20.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from baseline.adapters.base import Adapter, BatchResult
from baseline.adapters.registry import Registry
from baseline.adapters.trivial import Majority
from baseline.business import ValueInputs
from baseline.decide import Bar
from baseline.metrics import coverage_of, evaluate, score, split_unanswered
from baseline.pipeline import CompareRequest, compare
from baseline.runner import RunOptions
from baseline.tasks.multilabel_metrics import evaluate_multilabel
from baseline.tracking import candidate_metrics

LABELS = ["negative", "neutral", "positive"]
WORD = {"positive": "good", "negative": "bad", "neutral": "meh"}


def _items() -> tuple[list[str], list[str | None], list[str | None]]:
    """20 items: 15 answered with a label (13 right), 2 abstentions, 3 unanswered (item errors)."""
    truth = [LABELS[i % 3] for i in range(20)]
    preds: list[str | None] = list(truth)
    preds[0], preds[1] = LABELS[1], LABELS[2]            # two wrong answers
    errors: list[str | None] = [None] * 20
    for i in (2, 3, 4):                                  # unanswered: no answer at all
        preds[i], errors[i] = None, "503 service unavailable"
    for i in (5, 6):                                     # abstentions: an answer that maps to no label
        preds[i] = None
    return truth, preds, errors


def test_score_keeps_unanswered_apart_and_the_default_is_unchanged():
    truth, preds, errors = _items()
    before = score(LABELS, truth, preds)
    assert before["coverage"] == 15 / 20 and before["abstained"] == 5 and "unanswered" not in before
    m = score(LABELS, truth, preds, unanswered=errors)
    assert m["coverage"] == pytest.approx(15 / 17) and m["unanswered"] == 3 and m["abstained"] == 2
    assert m["answered"] == 17 and m["unanswered_share"] == pytest.approx(3 / 20)
    # nothing else moves: unanswered items still count as wrong
    for k in ("accuracy", "macro_f1", "weighted_f1", "confusion", "per_class"):
        assert m[k] == before[k]
    assert m["accuracy"] == pytest.approx(13 / 20)


def test_after_the_fact_split_matches_the_scorer_for_every_task():
    truth, preds, errors = _items()
    ev = evaluate(LABELS, truth, {"svc": preds}, resamples=100, seed=0)
    split_unanswered(ev.metrics, {"svc": errors})
    direct = evaluate(LABELS, truth, {"svc": preds}, resamples=100, seed=0, unanswered={"svc": errors}).metrics["svc"]
    for k in ("coverage", "abstained", "answered", "unanswered", "unanswered_share", "accuracy", "ci"):
        assert ev.metrics["svc"][k] == direct[k]
    # multi-label: label sets, the same counts
    sets = [lab for lab in truth]
    ml_preds = [None if p is None else p for p in preds]
    ml = evaluate_multilabel(LABELS, sets, {"svc": ml_preds}, resamples=100, seed=0, unanswered={"svc": errors})
    m = ml.metrics["svc"]
    assert m["coverage"] == pytest.approx(15 / 17) and m["unanswered"] == 3 and m["abstained"] == 2
    plain = evaluate_multilabel(LABELS, sets, {"svc": ml_preds}, resamples=100, seed=0).metrics
    assert plain["svc"]["coverage"] == 15 / 20
    plain["svc"]["rows"] = 20   # the multi-label task states its rows (no confusion matrix to count them from)
    split_unanswered(plain, {"svc": errors})
    assert plain["svc"]["coverage"] == pytest.approx(15 / 17) and plain["svc"]["unanswered"] == 3
    # no item errors: the figures are the scorer's, plus the zero count
    ok = evaluate(LABELS, truth, {"svc": preds}, resamples=100, seed=0).metrics
    split_unanswered(ok, {"svc": [None] * 20})
    assert ok["svc"]["coverage"] == 15 / 20 and ok["svc"]["unanswered"] == 0 and ok["svc"]["abstained"] == 5


def test_figures_of_a_run_scored_before_the_split_are_worked_out_from_the_counts():
    truth, preds, errors = _items()
    m = score(LABELS, truth, preds)       # what results.json held: unanswered counted as abstentions
    c = coverage_of(m, {"unanswered": 3, "abstained": 2})
    assert c["coverage"] == pytest.approx(15 / 17) and c["unanswered"] == 3 and c["abstained"] == 2
    assert coverage_of(m, None)["coverage"] == 15 / 20


class FlakyService(Adapter):
    """A service double: keyword answers; an item error on 'outage' texts; an abstention on 'nolabel' texts."""

    name: ClassVar[str] = "flaky-service"
    family: ClassVar[str] = "cloud"
    warmup: ClassVar[bool] = False

    def predict_batch(self, texts):
        labels, scores, errors = [], [], []
        for t in texts:
            lab = next((k for k, w in WORD.items() if w in t), None)
            if "outage" in t:
                labels.append(None), scores.append(None), errors.append("503 service unavailable")
            elif "nolabel" in t:
                labels.append(None), scores.append(None), errors.append(None)
            else:
                labels.append(lab), scores.append({lab: 0.9}), errors.append(None)
        return BatchResult(labels=labels, scores=scores, errors=errors)


@pytest.fixture(scope="module")
def flaky_run(tmp_path_factory) -> tuple[dict, Path]:
    """A run on a file with its own split: 60 train rows, 20 test rows of which 3 go unanswered and 2 abstain."""
    tmp = tmp_path_factory.mktemp("flaky")
    rows = [{"text": f"{WORD[LABELS[i % 3]]} thing {i}", "label": LABELS[i % 3], "split": "train"} for i in range(60)]
    for i in range(20):
        lab = LABELS[i % 3]
        tag = "outage" if i in (2, 3, 4) else "nolabel" if i in (5, 6) else ""
        rows.append({"text": f"{WORD[lab]} item {i} {tag}".strip(), "label": lab, "split": "test"})
    data = tmp / "flaky.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    reg = Registry({})
    reg.add(Majority)
    reg.add(FlakyService)
    req = CompareRequest(data=str(data), adapters="majority,flaky-service", out=tmp / "out", resamples=100,
                         label_check=False, value=ValueInputs(manual_cost_per_item=1.0, error_cost=5.0))
    results, run_dir = compare(req, reg, RunOptions(cache=None, latency_probe=0), Bar(monthly_volume=1000))
    return results, run_dir


def _flaky(results: dict) -> dict:
    return next(a for a in results["adapters"] if a["name"] == "flaky-service")


def test_run_records_unanswered_apart_from_abstentions(flaky_run):
    """results.json's metrics split the unanswered off (pipeline score stage), and the CLI column says so."""
    from rich.console import Console

    from baseline.cli import print_leaderboard

    results, run_dir = flaky_run
    con = Console(record=True, width=400)
    print_leaderboard(con, results)
    assert "coverage (of answered items)" in con.export_text()
    a = _flaky(results)
    assert a["counts"]["unanswered"] == 3 and a["counts"]["abstained"] == 2
    m = a["metrics"]
    assert m["coverage"] == pytest.approx(15 / 17) and m["unanswered"] == 3 and m["abstained"] == 2
    assert m["answered"] == 17
    stored = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert _flaky(stored)["metrics"]["coverage"] == pytest.approx(15 / 17)


def test_report_leaderboard_mlflow_and_business_keep_unanswered_apart(flaky_run):
    """Report (leaderboard, confusion, coverage/precision), CLI table, MLflow and business case: unanswered apart."""
    from rich.console import Console

    from baseline.cli import print_leaderboard

    results, run_dir = flaky_run
    a = _flaky(results)
    cell = "88.2% of 17 answered; 3 unanswered"
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| flaky-service | cloud |"))
    assert cell in row and "75.0%" not in row
    assert "(unanswered)" in md    # the confusion table splits the no-label column
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert cell in html
    # the confusion view: 2 abstentions and 3 unanswered, not 5 abstentions
    from baseline.report.view import build_view

    v = build_view(results, results["analysis"])
    conf = next(c for c in v["confusion"] if c["name"] == "flaky-service")["confusion"]
    mat = np.asarray(conf["matrix"])
    assert conf["columns"][-2:] == ["(abstain)", "(unanswered)"]
    assert mat[:, -2].sum() == 2 and mat[:, -1].sum() == 3
    # automation share at the precision target: of the 17 answered
    cp = results["analysis"]["coverage_precision"]["flaky-service"]
    assert cp["n"] == 17 and cp["unanswered"] == 3 and cp["max_coverage"] == pytest.approx(15 / 17)
    # MLflow
    logged = candidate_metrics(a)
    assert logged["coverage"] == pytest.approx(15 / 17) and logged["unanswered"] == 3
    # business case: valued on the answered items, the unanswered named
    b = next(x for x in results["business"]["rows"] if x["name"] == "flaky-service")
    assert b["answered"] == 17 and b["unanswered"] == 3
    assert any("3 of 20 test items went unanswered" in n for n in b["notes"])
    # the CLI leaderboard prints the same cell
    con = Console(record=True, width=400)
    print_leaderboard(con, results)
    assert "3 unanswered" in con.export_text()
