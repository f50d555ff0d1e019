"""The report of a table: columns, target, residuals or calibration, the winner's permutation importance, the
not-applicable lines, and the regression business case against a hand computation — from real runs on generated
tables (the mean / majority floors and the linear model)."""

from __future__ import annotations

import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from baseline.business import ValueInputs, business_case
from baseline.cli import main
from baseline.report import render
from baseline.report.plan_view import business_view
from baseline.report.table_view import num
from baseline.report.view import build_view

VOLUME, ERROR_COST, MANUAL = 10_000, 0.5, 2.0


def _table(n: int, seed: int, regression: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "row_id": [f"r{i:04d}" for i in range(n)],                                     # identifier: dropped
        "day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),  # rises: time-order warning
        "temp": rng.normal(15, 6, n).round(2),
        "zone": rng.choice(["north", "south", "east"], n),
        "promo": rng.choice(["yes", "no"], n),
        "price": rng.uniform(5, 50, n).round(2).astype(object),
        "source": "web",                                                               # constant: dropped
    })
    df.loc[rng.choice(n, 12, replace=False), "price"] = ""                             # numbers stored as text
    z = 0.8 * df["temp"] + 6 * (df["zone"] == "north") + 3 * (df["promo"] == "yes") + rng.normal(0, 1.5, n)
    if regression:
        df["demand"] = (z + 20).round(3)
        df["demand_x2"] = 2 * df["demand"] + 1                                         # a target leak: dropped
    else:
        df["churn"] = np.where(z > np.median(z), "yes", "no")
    return df


def _compare(tmp: Path, task: str, target: str, adapters: str, regression: bool, *extra: str) -> Path:
    data = tmp / f"{task}.csv"
    _table(400, 3, regression).to_csv(data, index=False)
    out = tmp / "out"
    with threadpool_limits(1):
        rc = main(["compare", "--task", task, "--data", str(data), "--label-col", target, "--adapters", adapters,
                   "--out", str(out), "--resamples", "200", "--latency-probe", "5", "--no-progress", *extra])
    assert rc == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and (p / "results.json").exists()]
    return run_dir


@pytest.fixture(scope="module")
def reg(tmp_path_factory) -> Path:
    return _compare(tmp_path_factory.mktemp("reg"), "tabular-regression", "demand", "mean,linear", True,
                    "--error-cost", str(ERROR_COST), "--monthly-volume", str(VOLUME),
                    "--manual-cost-per-item", str(MANUAL))


@pytest.fixture(scope="module")
def cls(tmp_path_factory) -> Path:
    return _compare(tmp_path_factory.mktemp("cls"), "tabular-classification", "churn", "majority,linear", False)


def _read(run: Path) -> tuple[dict, str, str]:
    r = json.loads((run / "results.json").read_text(encoding="utf-8"))
    return r, (run / "report.md").read_text(encoding="utf-8"), (run / "report.html").read_text(encoding="utf-8")


def _section(md: str, title: str) -> str:
    start = md.index(f"\n## {title}\n")
    nxt = md.find("\n## ", start + 4)
    return md[start:nxt if nxt > 0 else len(md)]


def _html_section(page: str, sid: str) -> str:
    start = page.index(f'<section id="{sid}">')
    return page[start:page.index("</section>", start)]


def _plain(s: str) -> str:
    """HTML text with tags dropped and entities decoded, to compare with the view's strings."""
    return html.unescape(re.sub(r"<[^>]+>", "", s))


# ---- regression -------------------------------------------------------------------------------------------------

def test_regression_sections_in_both_reports(reg):
    r, md, page = _read(reg)
    assert r["task"] == "tabular-regression"
    for title in ("Columns", "Target", "Residuals", "Explainability"):
        assert f"\n## {title}\n" in md
    for sid in ("columns", "target", "residuals", "explain"):
        assert f'<section id="{sid}">' in page and f'href="#{sid}"' in page
    assert "## Calibration" not in md and 'id="calibration"' not in page
    # the meta line names the numeric target, not "0 classes"
    assert "target demand: numbers" in md and "0 classes" not in md


def test_not_applicable_sections_show_their_one_line(reg):
    r, md, page = _read(reg)
    na = r["task_info"]["not_applicable"]
    for title, key in (("Confusion", "confusion"), ("Per class", "per_class"),
                       ("Where candidates disagree", "disagreements"), ("Coverage against precision", "coverage_precision")):
        sec = _section(md, title)
        assert na[key] + "." in sec, title
        assert "|" not in sec and "![" not in sec, title                 # no table, no figure
    for sid, key in (("confusion", "confusion"), ("per-class", "per_class"), ("disagreements", "disagreements"),
                     ("coverage", "coverage_precision")):
        sec = _html_section(page, sid)
        assert html.escape(na[key], quote=False) in sec and "<img" not in sec and "<table" not in sec
    assert "Needs two scored candidates" not in md and "No candidate gives scores" not in md
    # the string-comparing figures were not computed for numbers
    assert r["analysis"]["disagreements"] is None and r["analysis"]["coverage_precision"] == {}
    plan = _section(md, "Data plan")
    assert na["near_duplicates"] in plan and na["label_quality"] in plan
    assert "near-duplicates (cosine" not in plan                        # the text scan's figure is not shown


def test_columns_section_reads_every_column_and_why_it_was_dropped(reg):
    r, md, page = _read(reg)
    sec = _section(md, "Columns")
    rows = {c["name"]: c for c in r["profile"]["tabular"]["columns"]}
    assert set(rows) == {"row_id", "day", "temp", "zone", "promo", "price", "source", "demand_x2"}
    for name, c in rows.items():
        line = next(x for x in sec.splitlines() if x.startswith(f"| {name} |"))
        assert f"| {c['kind']} |" in line
        assert (f"dropped: {c['dropped']}" in line) if c["dropped"] else ("| kept |" in line)
    assert rows["row_id"]["kind"] == "identifier" and rows["source"]["kind"] == "constant"
    assert rows["demand_x2"]["dropped"].startswith("target leak")
    assert "numbers stored as text; 12 blank value(s) read as missing" in sec and "price 12 (3.0%)" in sec
    assert "3 column(s) dropped" in sec
    # the time-order warning: in the Columns section and in the verdict, in both reports
    warn = next(n for n in r["profile"]["notes"] if "looks time-ordered" in n)
    assert f"> ⚠ {warn}." in sec and f"> ⚠ {warn}." in _section(md, "Verdict")
    esc = html.escape(warn, quote=False)
    assert esc in _html_section(page, "columns") and esc in _html_section(page, "verdict")


def test_target_section_holds_the_distribution(reg):
    r, md, _ = _read(reg)
    ts = r["profile"]["tabular"]["target_summary"]
    sec = _section(md, "Target")
    assert f"| mean | {num(ts['mean'])} |" in sec and f"| median | {num(ts['quantiles']['median'])} |" in sec
    assert f"RMSE ≈ {num(ts['std'])}" in sec
    assert "![distribution of demand](plots/target.svg)" in sec
    hist = r["analysis"]["residuals"]["histogram"]
    assert sum(hist["counts"]) == r["split"]["rows"]["test"]


def test_plots_exist_parse_and_are_embedded(reg):
    _, md, page = _read(reg)
    for key in ("residuals", "predicted-vs-true", "target", "importance", "cost"):
        p = reg / "plots" / f"{key}.svg"
        assert p.exists(), key
        ET.parse(p)                                                     # well-formed SVG
        assert f"](plots/{key}.svg)" in md
    assert page.count("data:image/svg+xml;base64,") >= 5
    assert not (reg / "plots" / "calibration.svg").exists()


def test_leaderboard_shows_rmse_mae_r2_with_lower_is_better(reg):
    r, md, _ = _read(reg)
    sec = _section(md, "Leaderboard")
    assert "RMSE [95% CI], lower is better" in sec and "MAE [95% CI], lower is better" in sec and "| R² [95% CI] |" in sec
    assert "McNemar" not in sec and "accuracy" not in sec
    assert "Headline metric RMSE (lower is better, in the target's units)" in sec
    for a in r["adapters"]:
        m = a["metrics"]
        line = next(x for x in sec.splitlines() if x.startswith(f"| {a['name']} |"))
        for k in ("rmse", "mae", "r2"):
            assert f"{num(m[k])} [{num(m['ci'][k][0])}, {num(m['ci'][k][1])}]" in line


def test_residual_summary_matches_the_predictions(reg):
    r, md, _ = _read(reg)
    df = pd.read_csv(reg / "predictions.csv", dtype=str, keep_default_na=False)
    y = df["label"].astype(float).to_numpy()
    sec = _section(md, "Residuals")
    res = r["analysis"]["residuals"]
    assert res["truth"] == pytest.approx(y.tolist(), rel=1e-5) and not res["sampled"]
    for name in ("mean", "linear"):
        e = y - df[name].astype(float).to_numpy()
        line = next(x for x in sec.splitlines() if x.startswith(f"| {name} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == f"{len(y)} of {len(y)}"
        assert cells[2] == num(e.mean()) and cells[5] == num(np.median(e))
        assert cells[3] == num(e.min()) and cells[7] == num(e.max())
        assert cells[8] == num(np.median(np.abs(e)))
        assert res["predicted"][name] == pytest.approx(df[name].astype(float).tolist(), rel=1e-5)
    assert "above 0 the candidate predicted too low" in sec


def test_regression_business_case_equals_a_hand_computation(reg):
    from sklearn.metrics import mean_absolute_error

    r, md, page = _read(reg)
    b = r["business"]
    assert b["kind"] == "regression" and b["missing"] == []
    df = pd.read_csv(reg / "predictions.csv", dtype=str, keep_default_na=False)
    y = df["label"].astype(float).to_numpy()
    by = {a["name"]: a for a in r["adapters"]}
    for row in b["rows"]:
        a = by[row["name"]]
        mae = mean_absolute_error(y, df[row["name"]].astype(float).to_numpy())
        assert row["mae"] == pytest.approx(mae)
        lo, hi = a["metrics"]["ci"]["mae"]
        err = VOLUME * mae * ERROR_COST
        running = a["cost"]["per_1k_usd"] * VOLUME / 1000
        assert row["error_cost_usd"] == pytest.approx(err)
        assert row["error_cost_ci"] == pytest.approx([VOLUME * lo * ERROR_COST, VOLUME * hi * ERROR_COST])
        assert row["running_usd"] == pytest.approx(running)
        assert row["monthly_cost_usd"] == pytest.approx(err + running)
        saving = VOLUME * MANUAL - err - running
        assert row["monthly_saving_usd"] == pytest.approx(saving)
        assert row["monthly_saving_ci"] == pytest.approx([VOLUME * MANUAL - VOLUME * hi * ERROR_COST - running,
                                                          VOLUME * MANUAL - VOLUME * lo * ERROR_COST - running])
        if saving > 0:
            assert row["break_even_months"] == pytest.approx(a["cost"]["one_off_usd"] / saving)
        else:                                                            # the floor's errors cost more than people
            assert row["break_even_months"] is None and not row["pays_back"]
    assert b["rows"][0]["monthly_saving_usd"] > 0                        # the linear model pays
    # the highest saving first: the smaller MAE
    assert [x["name"] for x in b["rows"]] == sorted(by, key=lambda n: by[n]["metrics"]["mae"])
    sec = _section(md, "Business case")
    assert "MAE [95% CI] (demand)" in sec and "saving vs by hand / month [95% CI]" in sec
    assert "every unit of absolute error in demand costs $0.5 (--error-cost)" in sec
    assert "doing it by hand costs $2 an item" in sec
    assert f"At {VOLUME:,} predictions a month" in sec and "per unit of absolute error its errors cost" in sec
    assert "errors / month" in _section(md, "Verdict")
    assert 'id="business"' in page and "saving vs by hand" in page


def test_regression_business_case_without_a_manual_cost_and_without_flags(reg):
    r, _, _ = _read(reg)
    b = business_case(r, reg, ValueInputs(error_cost=1.0, monthly_volume=1000))
    assert b["missing"] == [] and all(x["monthly_saving_usd"] is None for x in b["rows"])
    assert [x["name"] for x in b["rows"]] == sorted((x["name"] for x in b["rows"]),
                                                   key=lambda n: next(x for x in b["rows"] if x["name"] == n)["mae"])
    v = business_view({**r, "business": b})
    assert v["show"] and "saving vs by hand / month [95% CI]" not in v["headers"]
    assert any("no --manual-cost-per-item" in a for a in v["assumptions"])
    none = business_case(r, reg, ValueInputs(manual_cost_per_item=2.0, monthly_volume=1000))
    assert none["missing"] == ["--error-cost"]
    text = business_view({**r, "business": none})["text"]
    assert "Give --error-cost" in text and "one unit of absolute error in demand" in text


def test_explainability_shows_the_winners_permutation_importance(reg, tmp_path):
    r, md, _ = _read(reg)
    by = {a["name"]: a for a in r["adapters"]}
    sec = _section(md, "Explainability")
    winner = r["decision"].get("choice") or r["best"]
    if any(f["mean"] for f in by[winner]["explain"]["permutation_importance"]):
        assert f"### Permutation importance of {winner}" in sec and "shown instead" not in sec
    else:
        assert f"{winner} (" in sec and "has no feature importance" in sec and "shown instead: linear" in sec
    # re-rendered with each candidate as the choice: the linear model's importance either way, the floor's said why
    for choice, note in (("linear", False), ("mean", True)):
        run = tmp_path / choice
        shutil.copytree(reg, run)
        rr = json.loads((run / "results.json").read_text(encoding="utf-8"))
        rr["decision"]["choice"] = choice
        (run / "results.json").write_text(json.dumps(rr), encoding="utf-8")
        render(run)
        s = _section((run / "report.md").read_text(encoding="utf-8"), "Explainability")
        assert "### Permutation importance of linear" in s
        assert ("always answers the train mean" in s and "shown instead: linear" in s) if note else "shown instead" not in s
        feats = by["linear"]["explain"]["permutation_importance"]
        table = [x for x in s.splitlines() if re.match(r"\| \d+ \|", x)]
        assert [x.split("|")[2].strip() for x in table] == [f["feature"] for f in feats]
        assert table[0].split("|")[4].strip() == num(feats[0]["mean"])
        assert "increase in RMSE (target units) when the feature is shuffled" in s
        assert (run / "plots" / "importance.svg").exists()


def test_rerender_is_identical_and_old_analysis_gets_residuals(reg, tmp_path):
    _, md, _ = _read(reg)
    run = tmp_path / "again"
    shutil.copytree(reg, run)
    rr = json.loads((run / "results.json").read_text(encoding="utf-8"))
    rr["analysis"].pop("residuals")                     # a run folder written before the residuals existed
    (run / "results.json").write_text(json.dumps(rr), encoding="utf-8")
    shutil.rmtree(run / "plots")
    render(run)
    assert (run / "report.md").read_text(encoding="utf-8") == md
    assert (run / "plots" / "residuals.svg").exists()


# ---- classification ---------------------------------------------------------------------------------------------

def test_classification_calibration_and_sections(cls):
    r, md, page = _read(cls)
    assert r["task"] == "tabular-classification"
    for title in ("Columns", "Target", "Calibration", "Confusion", "Explainability"):
        assert f"\n## {title}\n" in md
    assert "## Residuals" not in md
    sec = _section(md, "Calibration")
    assert "![reliability diagram](plots/calibration.svg)" in sec
    ET.parse(cls / "plots" / "calibration.svg")
    for a in r["adapters"]:
        pr = a["metrics"]["probabilities"]
        line = next(x for x in sec.splitlines() if x.startswith(f"| {a['name']} |"))
        for k in ("roc_auc", "log_loss", "brier"):
            lo, hi = pr["ci"][k]
            assert f"{pr[k]:.3f} [{lo:.3f}, {hi:.3f}]" in line
        assert f"{pr['calibration']['ece']:.3f}" in line
    assert "ROC-AUC of class 'yes' against the other (binary)" in sec
    assert 'id="calibration"' in page and "Reliability diagram" in page
    # classification keeps its confusion matrices; only the text-only checks are not applicable
    assert (cls / "plots" / "confusion-linear.svg").exists()
    assert set(r["task_info"]["not_applicable"]) == {"label_quality", "near_duplicates"}
    assert "McNemar" in _section(md, "Leaderboard")


def test_classification_target_and_importance(cls):
    r, md, _ = _read(cls)
    sec = _section(md, "Target")
    classes = r["profile"]["tabular"]["target_summary"]["classes"]
    for c, n in classes.items():
        assert re.search(rf"\| {c} \| \d+ \| \d+ \| {n} \| {n / sum(classes.values()):.1%} \|", sec)
    assert (cls / "plots" / "target.svg").exists()
    ex = _section(md, "Explainability")
    assert "### Permutation importance of linear" in ex and "drop in macro-F1 when the feature is shuffled" in ex
    assert "most important features:" in ex


def test_view_of_a_table_lists_its_sections_once(reg, cls):
    for run, extra in ((reg, "residuals"), (cls, "calibration")):
        r, _, _ = _read(run)
        ids = [s for s, _ in build_view(r)["sections"]]
        assert len(ids) == len(set(ids))
        assert ids.index(extra) < ids.index("confusion") and ids.index("columns") < ids.index("profile")
