"""The report is drawn after the stages' data is let go: a run's split, answers and scores are not alive beside the
report's libraries and pages (issue 22: at 100k rows they were most of the run's late peak)."""

from __future__ import annotations

import json
import weakref

import baseline.pipeline.flow as flow
from baseline.cli import main


def test_the_report_is_rendered_with_no_split_or_answers_alive(tiny_csv, tmp_path, monkeypatch):
    refs: list[weakref.ref] = []
    alive_at_render: list[int] = []
    load, run, render = flow.load_inputs, flow.run_candidates, flow.render_report

    def watched_load(*a, **k):  # each stage runs as usual; only weak references to what it made are kept
        inp = load(*a, **k)
        refs.append(weakref.ref(inp[0].split))
        return inp

    def watched_run(*a, **k):
        results, seconds = run(*a, **k)
        refs.extend(weakref.ref(r) for r in results)
        return results, seconds

    def watched_render(*a, **k):
        alive_at_render.append(sum(r() is not None for r in refs))
        return render(*a, **k)

    monkeypatch.setattr(flow, "load_inputs", watched_load)
    monkeypatch.setattr(flow, "run_candidates", watched_run)
    monkeypatch.setattr(flow, "render_report", watched_render)
    out = tmp_path / "o"
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(out),
                 "--no-progress"]) == 0
    assert len(refs) == 3 and alive_at_render == [0]
    (run_dir,) = out.iterdir()
    assert (run_dir / "report.html").stat().st_size > 0
    saved = json.loads((run_dir / "results.json").read_text())
    assert {a["name"] for a in saved["adapters"]} == {"majority", "tfidf-logreg"} and saved["timing"]["render_s"] > 0
