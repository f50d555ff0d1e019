"""The business-case and data-plan sections, with and without value inputs, from real demo runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from baseline.cli import main

pytest.importorskip("cleanlab")


def _run(out: Path, *extra: str) -> Path:
    with threadpool_limits(1):
        rc = main(["compare", "--adapters", "majority,tfidf-logreg", "--out", str(out), "--resamples", "200",
                   "--latency-probe", "5", "--no-progress", *extra])
    assert rc == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and (p / "results.json").exists()]
    return run_dir


@pytest.fixture(scope="module")
def valued(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("valued"), "--manual-cost-per-item", "0.40", "--error-cost", "2.5",
                "--monthly-volume", "50000", "--precision-target", "0.9", "--learning-curve")


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("plain"), "--no-label-check")


def test_business_figures_match_the_predictions_by_hand(valued):
    r = json.loads((valued / "results.json").read_text(encoding="utf-8"))
    assert r["settings"]["business"] == {"manual_cost_per_item": 0.4, "error_cost": 2.5, "monthly_volume": 50000,
                                         "precision_target": 0.9}
    row = next(x for x in r["business"]["rows"] if x["name"] == "tfidf-logreg")
    df = pd.read_csv(valued / "predictions.csv", dtype=str, keep_default_na=False, na_values=[""])
    score = pd.to_numeric(df["tfidf-logreg:score"]).to_numpy()
    auto = score >= row["threshold"]
    wrong = auto & (df["tfidf-logreg"] != df["label"]).to_numpy()
    n = len(df)
    assert row["automated_share"] == pytest.approx(auto.mean())
    assert 1 - wrong.sum() / auto.sum() >= 0.9                                      # the target holds
    a = next(x for x in r["adapters"] if x["name"] == "tfidf-logreg")
    running = a["cost"]["per_1k_usd"] * 50000 / 1000
    by_hand = 50000 * (auto.sum() * 0.40 - wrong.sum() * 2.5) / n - running
    assert row["monthly_saving_usd"] == pytest.approx(by_hand)
    lo, hi = row["monthly_saving_ci"]
    assert lo <= by_hand <= hi
    assert row["break_even_months"] == pytest.approx(a["cost"]["one_off_usd"] / by_hand)
    # the next-deeper cut would break the target: the threshold is the lowest that keeps it
    deeper = np.sort(np.unique(score[score < row["threshold"]]))
    if deeper.size:
        more = score >= deeper[-1]
        assert 1 - (more & (df["tfidf-logreg"] != df["label"]).to_numpy()).sum() / more.sum() < 0.9


def test_business_section_and_verdict_card(valued):
    md = (valued / "report.md").read_text(encoding="utf-8")
    page = (valued / "report.html").read_text(encoding="utf-8")
    assert md.index("## Verdict") < md.index("## Business case") < md.index("## Leaderboard")
    assert "monthly value **" in md and "break-even **" in md
    assert "At 50,000 items a month, tfidf-logreg decides" in md and "≥90% precision" in md
    assert "Assumptions:" in md and "one wrong automatic decision costs $2.5" in md
    assert 'id="business"' in page and "monthly value" in page and "break-even" in page
    assert "Enough data?" in md and "Enough data?" in page          # advice on an ADOPT verdict too


def test_data_plan_with_label_check(valued):
    r = json.loads((valued / "results.json").read_text(encoding="utf-8"))
    lq = r["data_plan"]["label_quality"]
    assert lq["status"] == "ok" and lq["rows_checked"] == r["split"]["rows"]["train"]
    issues = pd.read_csv(valued / "label_issues.csv")
    assert len(issues) == lq["flagged"] and list(issues.columns)[:5] == ["rank", "id", "text", "given_label",
                                                                        "suggested_label"]
    assert (issues["given_label"] != issues["suggested_label"]).mean() > 0.9
    assert r["timing"]["label_check_s"] < 20 and r["files"]["label_issues"] == "label_issues.csv"
    assert r["data_plan"]["enough_data"]["status"] == "ok"
    assert r["decision"]["labels_advice"] == r["data_plan"]["enough_data"]["text"]
    md = (valued / "report.md").read_text(encoding="utf-8")
    assert "## Data plan" in md and "look mislabeled to cleanlab" in md and "Top suspected rows" in md
    assert "0 of 178 test rows (0.0%) leak from train" in md


def test_without_value_inputs_the_section_names_the_flags(plain):
    r = json.loads((plain / "results.json").read_text(encoding="utf-8"))
    assert r["business"]["missing"] == ["--manual-cost-per-item", "--error-cost", "--monthly-volume"]
    md = (plain / "report.md").read_text(encoding="utf-8")
    sec = md[md.index("## Business case"):md.index("## Leaderboard")]
    assert "Give --manual-cost-per-item, --error-cost, --monthly-volume" in sec and "|" not in sec
    assert "monthly value" not in md
    assert r["data_plan"]["label_quality"] == {"status": "skipped", "reason": "--no-label-check"}
    assert not (plain / "label_issues.csv").exists()
    assert "label check skipped: --no-label-check" in md
    assert "rerun with --learning-curve" in r["decision"]["labels_advice"]
    # a re-render from the folder gives the same sections
    assert main(["report", str(plain)]) == 0
    assert (plain / "report.md").read_text(encoding="utf-8") == md


def test_value_flags_are_checked(tmp_path, capsys):
    assert main(["compare", "--error-cost", "-1", "--out", str(tmp_path)]) == 2
    assert "--error-cost must be zero or more" in capsys.readouterr().err
    assert main(["compare", "--precision-target", "1.5", "--out", str(tmp_path)]) == 2
