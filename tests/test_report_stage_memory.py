"""The report is drawn after the stages' data is let go: a run's split, answers and scores are not alive beside the
report's libraries and pages (issue 22: at 100k rows they were most of the run's late peak)."""

from __future__ import annotations

import json
import weakref

import baseline.pipeline.flow as flow
from baseline.cli import main


def test_the_report_is_rendered_with_no_split_or_answers_alive(tiny_csv, tmp_path, monkeypatch):
    refs: list[weakref.ref] = []
    alive: dict[str, int] = {}
    load = flow.load_inputs

    def watched_load(*a, **k):  # each stage runs as usual; only weak references to what it made are kept
        inp = load(*a, **k)
        refs.append(weakref.ref(inp[0].split))
        return inp

    monkeypatch.setattr(flow, "load_inputs", watched_load)
    _keep_refs_to_results(monkeypatch, refs)
    _count_alive_at(monkeypatch, "render_report", refs, alive)
    out = tmp_path / "o"
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(out),
                 "--no-progress"]) == 0
    assert len(refs) == 3 and alive == {"render_report": 0}
    (run_dir,) = out.iterdir()
    assert (run_dir / "report.html").stat().st_size > 0
    saved = json.loads((run_dir / "results.json").read_text())
    assert {a["name"] for a in saved["adapters"]} == {"majority", "tfidf-logreg"} and saved["timing"]["render_s"] > 0


def test_the_answers_are_let_go_before_the_late_stages(tiny_csv, tmp_path, monkeypatch):
    """The analysis and the data plan (the label check's fits) read predictions.csv and results.json, not the
    adapters' answers: those are no longer alive when they run."""
    refs: list[weakref.ref] = []
    alive: dict[str, int] = {}
    _keep_refs_to_results(monkeypatch, refs)
    for stage in ("add_analysis", "add_business_and_data_plan"):
        _count_alive_at(monkeypatch, stage, refs, alive)
    out = tmp_path / "o"
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(out),
                 "--no-progress"]) == 0
    assert len(refs) == 2 and alive == {"add_analysis": 0, "add_business_and_data_plan": 0}
    (run_dir,) = out.iterdir()
    saved = json.loads((run_dir / "results.json").read_text())
    assert all(a["metrics"]["macro_f1"] is not None for a in saved["adapters"])
    assert saved["data_plan"]["label_quality"]["status"] == "ok"


def _keep_refs_to_results(monkeypatch, refs: list[weakref.ref]) -> None:
    """``run_candidates`` as usual, keeping a weak reference to each adapter's result."""
    run = flow.run_candidates

    def watched(*a, **k):
        results, seconds = run(*a, **k)
        refs.extend(weakref.ref(r) for r in results)
        return results, seconds

    monkeypatch.setattr(flow, "run_candidates", watched)


def _count_alive_at(monkeypatch, stage: str, refs: list[weakref.ref], alive: dict[str, int]) -> None:
    """The flow's ``stage`` as usual, first counting how many of ``refs`` are still alive."""
    original = getattr(flow, stage)

    def watched(*a, **k):
        alive[stage] = sum(r() is not None for r in refs)
        return original(*a, **k)

    monkeypatch.setattr(flow, stage, watched)
