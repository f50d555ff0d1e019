"""The decision report: content, agreement with results.json, self-containment, and a real browser load."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from chromium_cdp import Browser, find_chromium
from threadpoolctl import threadpool_limits

from baseline.analysis import confused_pairs, coverage_precision, pareto_front
from baseline.cli import main
from baseline.report import render
from baseline.report.markdown import render_markdown
from baseline.report.plots import cost_chart
from baseline.report.view import build_view, usd

HTML_SECTIONS = ["verdict", "leaderboard", "cost", "latency", "confusion", "per-class", "disagreements", "coverage",
                 "monthly", "learning-curve", "profile", "explain", "provenance"]
MD_SECTIONS = ["Verdict", "Leaderboard", "Metric against cost", "Latency", "Confusion", "Per class",
               "Where candidates disagree", "Coverage against precision", "Monthly cost", "Learning curve",
               "Data profile", "Explainability", "Provenance"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One real run on the demo data: majority + TF-IDF, a bar, a volume and a learning curve."""
    out = tmp_path_factory.mktemp("reports")
    with threadpool_limits(1):
        rc = main(["compare", "--adapters", "majority,tfidf-logreg", "--out", str(out), "--min-metric", "0.5",
                   "--max-p95-ms", "500", "--monthly-volume", "100000", "--learning-curve", "--resamples", "200",
                   "--latency-probe", "10", "--no-progress"])
    assert rc == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and (p / "results.json").exists()]
    return run_dir


@pytest.fixture(scope="module")
def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def md(run: Path) -> str:
    return (run / "report.md").read_text(encoding="utf-8")


# ---- content --------------------------------------------------------------------------------------------

def test_verdict_comes_first_in_both_reports(results, page, md):
    d = results["decision"]
    assert d["verdict"] == "ADOPT" and d["choice"] == "tfidf-logreg"
    assert md.index("## Verdict") < md.index("## Leaderboard")
    assert "**ADOPT**: `tfidf-logreg`" in md
    assert d["reason"] in md
    assert '<span class="badge">ADOPT</span><span class="choice">tfidf-logreg</span>' in page
    assert html.escape(d["reason"], quote=False) in page
    assert page.index('data-testid="verdict"') < page.index('id="leaderboard"')


def test_sections_present_in_order(page, md):
    pos = [page.index(f'<section id="{s}">') for s in HTML_SECTIONS]
    assert pos == sorted(pos)
    pos = [md.index(f"\n## {s}\n") for s in MD_SECTIONS]
    assert pos == sorted(pos)


def test_bar_table_shows_every_candidate_and_bar(results, page, md):
    assert "macro-F1 ≥ 0.5" in md and "p95 latency ≤ 500 ms" in md
    for c in results["decision"]["candidates"]:
        m = c["checks"]["metric"]
        mark = "✅" if m["pass"] else "❌"
        assert re.search(rf"\| {re.escape(c['name'])} \| {c['simplicity']} \|.*\| {mark} {m['value']:.3f} \|", md)
    assert page.count('<td class="fail">✗') >= 1 and page.count('<td class="pass">✓') >= 3


def test_numbers_match_results_json(results, page, md):
    for a in results["adapters"]:
        m = a["metrics"]
        lo, hi = m["ci"]["macro_f1"]
        cell = f"{m['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]"
        assert cell in md and cell in page, a["name"]
        assert f"{m['accuracy']:.3f}" in md
        assert usd(a["cost"]["per_1k_usd"]) in md and html.escape(usd(a["cost"]["per_1k_usd"])) in page
        for lab, pc in m["per_class"].items():
            assert f"{pc['f1']:.2f}" in md, (a["name"], lab)
    assert results["split"]["hash"] in md and results["split"]["hash"] in page
    assert f"prices as of {results['prices']['effective_date']}" in md
    vol = results["settings"]["bar"]["monthly_volume"]
    for r in results["analysis"]["monthly"]["rows"]:
        assert usd(r["usage_usd"]) in md and f"usage @ {vol:,}/month" in md


def test_analysis_stored_in_results_agrees_with_predictions(run, results):
    an = results["analysis"]
    df = pd.read_csv(run / "predictions.csv", dtype=str, keep_default_na=False)
    # coverage at 95% precision, recomputed the slow way from predictions.csv
    score = df["tfidf-logreg:score"].astype(float)
    order = score.sort_values(ascending=False, kind="stable").index
    best = 0
    for k in range(1, len(order) + 1):
        if k < len(order) and score[order[k]] == score[order[k - 1]]:
            continue  # a threshold cannot split tied scores
        top = order[:k]
        if (df.loc[top, "tfidf-logreg"] == df.loc[top, "label"]).mean() >= 0.95:
            best = k
    cp = an["coverage_precision"]["tfidf-logreg"]
    assert cp["at_target"]["items"] == best
    assert cp["at_target"]["coverage"] == pytest.approx(best / len(df))
    assert cp["full_coverage_precision"] == pytest.approx((df["tfidf-logreg"] == df["label"]).mean())
    # disagreements: the four cells partition the test rows
    d = an["disagreements"]
    assert {d["a"], d["b"]} == {"tfidf-logreg", "majority"}
    assert d["both_right"] + d["only_a_right"] + d["only_b_right"] + d["both_wrong"] == len(df)
    assert d["agree"] == int((df[d["a"]] == df[d["b"]]).sum())
    for e in d["a_right_b_wrong"]:
        assert e[d["a"]] == e["label"] != e[d["b"]]
    assert an["top"][0] == "tfidf-logreg"
    assert "tfidf-logreg" in an["pareto"]


def test_learning_curve_and_explainability_sections(results, md, page):
    lc = results["learning_curve"]["adapters"]["tfidf-logreg"]
    assert [p["fraction"] for p in lc] == [0.1, 0.25, 0.5, 1.0]
    assert f"{lc[0]['n_train']:,}" in md
    assert "highest-weight n-grams per class" in md and "always answers" in md
    assert "![learning curve](plots/learning-curve.svg)" in md
    assert '<section id="learning-curve">' in page


def test_html_is_self_contained_and_printable(run, page):
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "url(http" not in page
    assert "@media print" in page
    imgs = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(imgs) >= 5
    for b64, alt in imgs:
        svg = base64.b64decode(b64).decode("utf-8")
        ET.fromstring(svg)  # well-formed
        assert alt
    files = sorted(p.name for p in (run / "plots").glob("*.svg"))
    assert {"cost.svg", "latency.svg", "coverage.svg", "learning-curve.svg", "confusion-tfidf-logreg.svg"} <= set(files)
    titles = {"cost.svg": "macro-F1 against cost", "latency.svg": "Latency per item",
              "coverage.svg": "How much can be automated", "learning-curve.svg": "Learning curve"}
    for f, title in titles.items():
        text = (run / "plots" / f).read_text(encoding="utf-8")
        assert title in text, f  # the charts keep their text as text


def test_rerender_from_the_folder_is_identical(run, md):
    assert main(["report", str(run)]) == 0
    assert (run / "report.md").read_text(encoding="utf-8") == md


def test_old_run_folder_without_analysis_still_renders(run, results, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(run, old)
    r = dict(results)
    r.pop("analysis")
    (old / "results.json").write_text(json.dumps(r), encoding="utf-8")
    written = render(old)
    assert old / "report.html" in written and old / "report.md" in written
    text = (old / "report.md").read_text(encoding="utf-8")
    at = results["analysis"]["coverage_precision"]["tfidf-logreg"]["at_target"]
    assert f"| tfidf-logreg | {at['coverage']:.1%} |" in text


def test_since_the_last_run(results):
    r = json.loads(json.dumps(results))
    r["previous_run"] = {"run_id": "20260101-000000-feedback", "run_dir": "x", "new": ["tfidf-logreg"],
                         "dropped": [], "verdict_before": "PIVOT", "choice_before": None,
                         "changed": [{"name": "majority", "macro_f1_before": 0.19, "macro_f1_now": 0.19, "delta": 0.0}]}
    text = render_markdown(r)
    sec = text[text.index("## Since the last run"):text.index("## Provenance")]
    assert "verdict then: PIVOT; now: ADOPT tfidf-logreg (changed)" in sec
    assert "new candidates: tfidf-logreg" in sec and "majority: macro-F1 0.190 → 0.190 (+0.000)" in sec


def test_pivot_report_names_the_nearest_miss(results):
    r = json.loads(json.dumps(results))
    r["decision"].update(verdict="PIVOT", choice=None, best_passing=None, nearest_miss="tfidf-logreg",
                         reason="no candidate clears every bar; the nearest miss is tfidf-logreg: macro-F1 0.640 < 0.9")
    v = build_view(r)
    assert v["verdict"]["css"] == "pivot" and v["verdict"]["focus"] == "tfidf-logreg"
    assert v["verdict"]["focus_role"] == "nearest miss"
    assert "**PIVOT**" in render_markdown(r)


def test_too_close_report_names_the_leader_and_the_rule_once(results, page, md):
    rule = results["decision"]["rule"]
    assert md.count(rule) == 1 and page.count(html.escape(rule, quote=False)) == 1
    r = json.loads(json.dumps(results))
    r["decision"].update(verdict="TOO CLOSE TO CALL", settled=False,
                         reason="tfidf-logreg leads; too close to call on 178 test rows")
    v = build_view(r)
    assert v["verdict"]["css"] == "close" and v["verdict"]["focus_role"] == "leading"
    assert "**TOO CLOSE TO CALL**: `tfidf-logreg`" in render_markdown(r)


# ---- pieces ---------------------------------------------------------------------------------------------

def test_coverage_precision_respects_ties_and_abstentions():
    truth = ["a", "a", "b", "b", "a"]
    preds = ["a", "a", "a", None, "a"]
    scores = [0.9, 0.9, 0.8, None, 0.7]
    cp = coverage_precision(truth, preds, scores, target=0.95)
    assert cp["at_target"] == {"coverage": 0.4, "precision": 1.0, "threshold": 0.9, "items": 2}
    assert cp["max_coverage"] == 0.8 and cp["answered_with_score"] == 4
    tied = coverage_precision(["a", "b"], ["a", "a"], [0.5, 0.5], target=0.95)
    assert tied["at_target"] is None  # cannot automate half of a tie


def test_pareto_front_and_confused_pairs():
    pts = [("cheap-bad", 0.0, 0.5), ("mid", 1.0, 0.8), ("dominated", 2.0, 0.7), ("dear-best", 5.0, 0.9)]
    assert pareto_front(pts) == ["cheap-bad", "mid", "dear-best"]
    conf = {"labels": ["x", "y", "z"], "columns": ["x", "y", "z", "(abstain)"],
            "matrix": [[8, 2, 0, 0], [5, 5, 0, 1], [0, 0, 10, 0]]}
    pairs = confused_pairs(conf)
    assert pairs[0] == {"true": "y", "predicted": "x", "count": 5, "share_of_true": 5 / 11}
    assert [(p["true"], p["predicted"]) for p in pairs] == [("y", "x"), ("x", "y"), ("y", "(abstain)")]


def test_zero_costs_are_floored_on_the_log_axis_and_said_so(results):
    r = json.loads(json.dumps(results))
    for a in r["adapters"]:
        a["cost"]["per_1k_usd"] = 0.0
    v = build_view(r)
    assert set(v["cost"]["floored"]) == {"majority", "tfidf-logreg"}
    assert "are drawn at $0.000001" in render_markdown(r)
    assert cost_chart(v["cost"]["points"], "macro_f1", ["majority"], None).startswith("<?xml")


def test_money_reads_well_at_every_size():
    assert [usd(x) for x in (0, 1e-9, 0.000183, 0.0421, 0.5, 12.5, 1234.5)] == [
        "$0", "<$0.000001", "$0.00018", "$0.042", "$0.50", "$12.50", "$1,234.50"]


# ---- a real browser ---------------------------------------------------------------------------------------

def test_report_loads_in_headless_chromium_without_console_errors(run, results):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium); the browser check needs it")
    d = results["decision"]
    with Browser(binary, window=(1280, 900)) as b:
        s = b.open((run / "report.html").resolve().as_uri())
        state = b.evaluate(s, """(() => {
            const v = document.querySelector('[data-testid=verdict]');
            const r = v.getBoundingClientRect();
            const st = getComputedStyle(v);
            const imgs = [...document.images];
            return {text: v.innerText, top: r.top, bottom: r.bottom, width: r.width, height: innerHeight,
                    visible: st.visibility === 'visible' && st.display !== 'none' && +st.opacity > 0,
                    images: imgs.length, broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).length,
                    external: [...document.querySelectorAll('[src],[href]')]
                        .map(e => e.getAttribute('src') || e.getAttribute('href'))
                        .filter(u => !u.startsWith('data:') && !u.startsWith('#'))};
        })()""")
        assert b.problems(s) == []
        pdf = b.send("Page.printToPDF", {"printBackground": True}, session=s, timeout=60)
    assert state["visible"] and state["width"] > 0
    assert 0 <= state["top"] < state["bottom"] <= state["height"]  # the verdict is on the first screen
    assert state["text"].startswith(d["verdict"]) and d["choice"] in state["text"]
    assert state["images"] >= 5 and state["broken"] == 0
    assert state["external"] == []
    assert base64.b64decode(pdf["data"])[:5] == b"%PDF-"


def test_explainability_marks_black_boxes_and_tolerates_odd_features(results):
    r = json.loads(json.dumps(results))
    r["adapters"][0].update(family="cloud", explain={})
    r["adapters"][1]["explain"] = {"kind": "black_box", "text": "fine-tuned classifier used as is",
                                   "features": {"positive": "model label POS", "negative": [1, 2]}}
    ex = {e["name"]: e for e in build_view(r)["explain"]}
    first, second = r["adapters"][0]["name"], r["adapters"][1]["name"]
    assert ex[first]["black_box"] and "managed service" in ex[first]["text"]
    assert ex[second]["black_box"] and ex[second]["features"] == {"positive": ["model label POS"], "negative": ["1", "2"]}
    assert "  - negative: 1, 2" in render_markdown(r)
