"""Reruns that run only what is new, `baseline history` per dataset, `baseline diff`, `baseline gate`, the release section.

Real runs with cheap adapters (majority, tfidf-logreg, and a counting plugin adapter registered the
way a third-party one would be); nothing of baseline's own is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from baseline.adapters.registry import Registry
from baseline.adapters.trivial import Majority
from baseline.cli import main
from baseline.decide import Bar, metric_standing
from baseline.pipeline import CompareRequest, compare
from baseline.runner import Progress, RunOptions
from baseline.store import Store
from baseline.workflow import gate

FAST = ["--no-progress", "--resamples", "100", "--latency-probe", "5"]


def _runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if (p / "results.json").exists())


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text(encoding="utf-8"))


def _by(r: dict) -> dict:
    return {a["name"]: a for a in r["adapters"]}


class Counting(Majority):
    """A plugin adapter that counts how often it is fitted and asked (class-wide, across runs)."""

    name = "counting"
    calls: ClassVar[dict[str, int]] = {"fit": 0, "predict": 0}

    def fit(self, texts, labels):
        type(self).calls["fit"] += 1
        return super().fit(texts, labels)

    def predict_batch(self, texts):
        type(self).calls["predict"] += 1
        return super().predict_batch(texts)


class Stages(Progress):
    """Records which adapters the runner actually took through load / fit / predict."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, str]] = []

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None:
        self.stages.append((adapter, stage))


def _compare(data: Path, out: Path, adapters: str, store: Store, progress: Progress, **kw):
    reg = Registry.discover()
    reg.add(Counting)
    opts = RunOptions(latency_probe=5, **kw)
    req = CompareRequest(data=str(data), adapters=adapters, out=out, resamples=100)
    return compare(req, reg, opts, Bar(), store, progress)


def test_rerun_with_one_added_adapter_runs_only_that_adapter(tiny_csv, tmp_path, baseline_home):
    store = Store(baseline_home / "history.sqlite3")
    first = Stages()
    r1, d1 = _compare(tiny_csv, tmp_path, "majority,tfidf-logreg", store, first)
    assert {a for a, _ in first.stages} == {"majority", "tfidf-logreg"}
    Counting.calls.update(fit=0, predict=0)

    second = Stages()
    r2, d2 = _compare(tiny_csv, tmp_path, "majority,tfidf-logreg,counting", store, second)
    store.close()
    # only the new adapter went through load / fit / predict; it was fitted once and asked in batches
    assert {a for a, _ in second.stages} == {"counting"}
    assert Counting.calls["fit"] == 1 and Counting.calls["predict"] >= 1
    a1, a2 = _by(r1), _by(r2)
    for name in ("majority", "tfidf-logreg"):
        assert a2[name]["reused_from"]["run_id"] == r1["run_id"]
        assert a2[name]["timing"] == a1[name]["timing"]          # the measurements of the first run, not new ones
        assert a2[name]["metrics"]["macro_f1"] == a1[name]["metrics"]["macro_f1"]
    assert a2["counting"]["reused_from"] is None and a2["counting"]["status"] == "ok"
    # the reused results keep their predictions: scored and paired on the same rows
    p1, p2 = pd.read_csv(d1 / "predictions.csv", dtype=str), pd.read_csv(d2 / "predictions.csv", dtype=str)
    assert (p1["tfidf-logreg"] == p2["tfidf-logreg"]).all() and "counting" in p2
    assert "counting" in r2["pairwise"]["tfidf-logreg"]
    assert r2["reuse"]["ran"] == {"counting": "new"}
    assert r2["timing"]["adapters_s"] < r1["timing"]["adapters_s"] + a2["counting"]["timing"]["fit_s"] + 1
    prev = r2["previous_run"]
    assert prev["run_id"] == r1["run_id"] and prev["new"] == ["counting"] and set(prev["reused"]) == {
        "majority", "tfidf-logreg"}
    assert prev["verdict_moved"] is False and prev["verdict_now"] == r1["decision"]["verdict"]
    # the verdict section reports the change, and the leaderboard marks where reused results come from
    md = (d2 / "report.md").read_text(encoding="utf-8")
    verdict = md[md.index("## Verdict"):md.index("## Leaderboard")]
    assert f"Since run {r1['run_id']}: verdict unchanged" in verdict and "new: counting" in verdict
    assert f"ok (reused from run {r1['run_id']} of {r1['finished'][:10]})" in md
    assert "reused unchanged: tfidf-logreg, measured in run" in md
    page = (d2 / "report.html").read_text(encoding="utf-8")
    assert "new: counting" in page and f"reused from run {r1['run_id']}" in page


def test_changed_option_reruns_that_candidate_and_flags_force_reruns(tiny_csv, tmp_path, capsys):
    out = tmp_path / "r"
    args = ["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(out), *FAST]
    assert main(args) == 0
    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[adapters.tfidf-logreg]\nC = 0.5\n")
    assert main([*args, "--config", str(cfg)]) == 0
    r1, r2 = (_results(d) for d in _runs(out))
    a2 = _by(r2)
    assert a2["majority"]["reused_from"]["run_id"] == r1["run_id"]
    assert a2["tfidf-logreg"]["reused_from"] is None and a2["tfidf-logreg"]["fit"]["C"] == 0.5
    assert r2["reuse"]["ran"] == {"tfidf-logreg": "changed"}
    assert r2["previous_run"]["reconfigured"] == [{"name": "tfidf-logreg", "what": ["options"]}]
    md = (_runs(out)[-1] / "report.md").read_text(encoding="utf-8")
    assert "changed, so rerun: tfidf-logreg (options differ)" in md

    # --rerun names one candidate; --fresh reruns everything
    assert main([*args, "--config", str(cfg), "--rerun", "majority"]) == 0
    r3 = _results(_runs(out)[-1])
    assert _by(r3)["majority"]["reused_from"] is None and r3["reuse"]["ran"] == {"majority": "forced"}
    assert _by(r3)["tfidf-logreg"]["reused_from"]["run_id"] == r2["run_id"]
    assert main([*args, "--config", str(cfg), "--fresh"]) == 0
    r4 = _results(_runs(out)[-1])
    assert not any(a["reused_from"] for a in r4["adapters"]) and r4["reuse"]["fresh"]
    capsys.readouterr()
    assert main([*args, "--rerun", "flaml"]) == 2
    assert "--rerun names flaml" in capsys.readouterr().err


def test_reused_result_points_at_its_origin_and_resume_reuses_nothing(tiny_csv, tmp_path):
    out = tmp_path / "r"
    args = ["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(out), *FAST]
    for _ in range(3):
        assert main(args) == 0
    r1, r2, r3 = (_results(d) for d in _runs(out))
    assert _by(r2)["majority"]["reused_from"]["run_id"] == r1["run_id"]
    assert _by(r3)["majority"]["reused_from"]["run_id"] == r1["run_id"]  # the run that measured it
    assert sum("reused from" in n for n in _by(r3)["majority"]["notes"]) == 1


def test_history_per_dataset_with_verdicts(tiny_csv, tmp_path, capsys):
    other = tmp_path / "other.csv"
    pd.read_csv(tiny_csv).to_csv(other, index=False)
    for data in (tiny_csv, other, tiny_csv):
        assert main(["compare", "--data", str(data), "--adapters", "majority,tfidf-logreg", "--out",
                     str(tmp_path / "r"), *FAST]) == 0
    capsys.readouterr()
    assert main(["history", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["dataset"] for r in runs] == ["tiny", "other", "tiny"]
    assert all(r["verdict"].startswith(("ADOPT", "TOO CLOSE", "PIVOT")) for r in runs)
    assert runs[0]["reused"] == ["majority", "tfidf-logreg"] and runs[2]["reused"] == []
    assert main(["history"]) == 0
    text = capsys.readouterr().out
    assert "tiny — runs and verdicts" in text and "other — runs and verdicts" in text


def test_diff_two_runs_pairs_metrics_on_the_same_split(tiny_csv, tmp_path, capsys):
    out = tmp_path / "r"
    base = ["compare", "--data", str(tiny_csv), "--out", str(out), *FAST]
    assert main([*base, "--adapters", "majority,tfidf-logreg"]) == 0
    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[adapters.tfidf-logreg]\nC = 0.01\nngram_max = 1\n")
    assert main([*base, "--adapters", "tfidf-logreg", "--config", str(cfg)]) == 0
    a, b = _runs(out)
    capsys.readouterr()
    assert main(["diff", str(a), _results(b)["run_id"], "--json", "--resamples", "200"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["same_split"] and d["removed"] == ["majority"] and d["added"] == []
    (c,) = d["candidates"]
    assert c["name"] == "tfidf-logreg" and c["changed"] == ["options"]
    assert c["paired"]["n"] == _results(a)["split"]["rows"]["test"]
    assert c["paired"]["difference"] == pytest.approx(c["metric"][1] - c["metric"][0])
    assert c["paired"]["ci"][0] <= c["paired"]["difference"] <= c["paired"]["ci"][1]
    assert main(["diff", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "not in B: majority" in text and "B − A" in text
    assert main(["diff", str(a), "no-such-run"]) == 2


def test_gate_exit_codes_pass_pivot_and_worsened_metric(tmp_path, capsys):
    out = tmp_path / "r"  # the bundled demo data: tfidf-logreg reaches macro-F1 ~0.64 there
    base = ["compare", "--out", str(out), "--adapters", "majority,tfidf-logreg", *FAST]
    assert main([*base, "--min-metric", "0.5"]) == 0
    good = _runs(out)[-1]
    capsys.readouterr()
    # pass: the verdict is ADOPT and the run's bar holds for the choice
    assert main(["gate", str(good), "--require", "adopt"]) == 0
    assert capsys.readouterr().out.startswith("gate passed: ")
    assert main(["gate", "latest", "--min-metric", "0.5"]) == 0
    # a stricter figure than the run reached: no-go, one line
    capsys.readouterr()
    assert main(["gate", "latest", "--min-metric", "0.999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gate failed: ") and "vs --min-metric 0.999: below" in err and err.count("\n") == 1

    # pivot: nothing clears an unreachable bar
    assert main([*base, "--min-metric", "0.999"]) == 0
    pivot = _runs(out)[-1]
    assert _results(pivot)["decision"]["verdict"] == "PIVOT"
    capsys.readouterr()
    assert main(["gate", str(pivot)]) == 1
    err = capsys.readouterr().err
    assert "verdict is PIVOT" in err and err.count("\n") == 1
    assert main(["gate", str(pivot), "--require", "adopt"]) == 1

    # a worsened metric: the same candidate, a worse setting, gated against the earlier run
    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[adapters.tfidf-logreg]\nC = 0.01\nngram_max = 1\nmin_df = 3\n"
                   "[gate]\ncandidate = \"tfidf-logreg\"\nagainst = \"previous\"\nrequire = \"any\"\n")
    assert main([*base, "--adapters", "tfidf-logreg", "--config", str(cfg)]) == 0
    worse = _runs(out)[-1]
    rw, rg = _by(_results(worse))["tfidf-logreg"], _by(_results(pivot))["tfidf-logreg"]
    assert rw["metrics"]["macro_f1"] < rg["metrics"]["macro_f1"]
    capsys.readouterr()
    assert main(["gate", str(worse), "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "worsened from" in err and "paired on the same" in err and err.count("\n") == 1
    assert main(["gate", str(worse), "--config", str(cfg), "--max-drop", "1"]) == 0
    assert main(["gate", str(good), "--candidate", "tfidf-logreg", "--against", str(good)]) == 0
    assert main(["gate", str(good), "--against", "previous"]) == 2  # 'previous' is earlier than RUN: none here
    assert main(["gate", "no-such-run"]) == 2
    assert main(["gate", str(good), "--require", "maybe"]) == 2


def test_gate_applies_the_verdicts_ci_rule_not_the_point_estimate(tmp_path, capsys):
    """A point estimate above the bar with a CI straddling it: the verdict says borderline, so the gate says no-go."""
    out = tmp_path / "r"
    base = ["compare", "--out", str(out), "--adapters", "majority,tfidf-logreg", *FAST]
    assert main([*base, "--min-metric", "0.3"]) == 0
    run = _runs(out)[-1]
    r = _results(run)
    m = _by(r)["tfidf-logreg"]["metrics"]
    point, (lo, hi) = m["macro_f1"], m["ci"]["macro_f1"]
    assert lo < point < hi
    bar = round((lo + point) / 2, 4)   # the point estimate clears it; the CI straddles it
    # the verdict on a run with that bar: borderline, so not cleared
    assert main([*base, "--min-metric", str(bar)]) == 0
    judged = _results(_runs(out)[-1])["decision"]
    row = next(c for c in judged["candidates"] if c["name"] == "tfidf-logreg")
    assert row["checks"]["metric"]["standing"] == "borderline" and not row["passes"]
    # the gate on the first run with the same figure as --min-metric: the same rule, so no-go, naming the rule
    capsys.readouterr()
    assert main(["gate", str(run), "--candidate", "tfidf-logreg", "--min-metric", str(bar)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"macro-F1 {point:.3f} [{lo:.3f}, {hi:.3f}] vs --min-metric {bar:g}: borderline" in err
    assert "the 95% CI straddles the bar; the verdict's rule counts only a CI wholly at or above the bar" in err
    # the run's own bar, on the second run: the same words
    assert main(["gate", str(_runs(out)[-1]), "--require", "any", "--candidate", "tfidf-logreg"]) == 1
    err = capsys.readouterr().err
    assert "the run's bar does not hold" in err and ": borderline (the 95% CI straddles the bar" in err
    # every limit: the gate holds exactly when decide's rule says clear
    for limit in (lo - 0.01, lo, bar, point + 0.001, hi + 0.01):
        st = metric_standing(point, (lo, hi), limit)
        ok, line = gate(r, run, candidate="tfidf-logreg", require="any", min_metric=limit)
        assert ok == (st == "clear") and f": {st} (" in line, (limit, line)
    # a pass says which rule it applied too
    capsys.readouterr()
    assert main(["gate", str(run), "--min-metric", str(round(lo - 0.01, 4))]) == 0
    assert "clear (the whole 95% CI is at or above the bar: the verdict's rule for clearing)" in capsys.readouterr().out


def test_gate_reads_any_tasks_headline_metric(tmp_path, capsys):
    """A multi-label run: the gate judges micro-F1 (the task's headline) on its CI and pairs it against a rerun."""
    import random

    rng = random.Random(0)
    words = {"billing": "invoice", "bug": "crash", "praise": "thanks"}
    rows = []
    for _ in range(300):
        labs = sorted(lab for lab in words if rng.random() < 0.4)
        rows.append({"text": " ".join(["my", "order", "today", *(words[lab] for lab in labs)]), "labels": "|".join(labs)})
    data = tmp_path / "ml.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "r"
    assert main(["compare", "--data", str(data), "--label-col", "labels", "--multi-label", "--out", str(out),
                 "--adapters", "majority,tfidf-logreg", "--no-label-check", *FAST]) == 0
    run = _runs(out)[-1]
    r = _results(run)
    assert r["settings"]["metric"] == "micro_f1"
    m = _by(r)[r["decision"]["choice"]]["metrics"]
    lo = m["ci"]["micro_f1"][0]
    capsys.readouterr()
    assert main(["gate", str(run), "--min-metric", str(round(lo - 0.01, 4)), "--against", str(run)]) == 0
    line = capsys.readouterr().out
    assert f"micro-F1 {m['micro_f1']:.3f} [{lo:.3f}" in line and ": clear (" in line and "paired on the same" in line
    assert main(["gate", str(run), "--min-metric", str(round(m["ci"]["micro_f1"][1] + 0.001, 4))]) == 1
    assert "micro-F1" in capsys.readouterr().err


def test_release_section_names_choice_fallback_and_figures_to_watch(tiny_csv, tmp_path):
    out = tmp_path / "r"
    assert main(["compare", "--data", str(tiny_csv), "--out", str(out), "--adapters", "majority,tfidf-logreg",
                 "--min-metric", "0.2", *FAST]) == 0
    run = _runs(out)[-1]
    r = _results(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    rel = md[md.index("## Release"):md.index("## Provenance")]
    choice = r["decision"]["choice"]
    assert f"- release: {choice}" in rel
    pcs = _by(r)[choice]["metrics"]["per_class"]
    low = min(pcs, key=lambda k: (pcs[k]["recall"], k))
    assert f"recall of class '{low}', the lowest here: {pcs[low]['recall']:.3f}" in rel
    assert "the bar is 0.2" in rel and "fallback:" in rel
    assert '<section id="release">' in (run / "report.html").read_text(encoding="utf-8")


def test_reused_local_result_is_repriced_at_todays_prices(tiny_csv, tmp_path):
    out = tmp_path / "r"
    args = ["compare", "--data", str(tiny_csv), "--adapters", "tfidf-logreg", "--out", str(out), *FAST]
    assert main(args) == 0
    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[prices.local.cpu]\nusd_per_hour = 100.0\n")  # a price, not part of the identity
    assert main([*args, "--config", str(cfg)]) == 0
    (a1,), (a2,) = (_results(d)["adapters"] for d in _runs(out))
    assert a2["reused_from"] and a2["timing"] == a1["timing"]
    rate1 = float(a1["cost"]["pricing"].split("$")[1].split("/")[0])
    assert a2["cost"]["per_1k_usd"] == pytest.approx(a1["cost"]["per_1k_usd"] * 100.0 / rate1)
