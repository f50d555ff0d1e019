"""Render a run folder into reports. Works from ``results.json`` alone: no adapter is rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baseline.errors import BadInput
from baseline.report.markdown import render_markdown


def load_results(run_dir: str | Path) -> dict[str, Any]:
    p = Path(run_dir) / "results.json"
    if not p.exists():
        raise BadInput(f"{run_dir} holds no results.json: pass a run folder written by `baseline compare`")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BadInput(f"{p} is not valid JSON ({e.msg}); the run may have been interrupted: rerun with --resume") from e


def render(run_dir: str | Path) -> list[Path]:
    """Write report.html (with plots/) and report.md into the run folder from its results.json.

    The derived figures (``analysis``: disagreements, coverage/precision, Pareto front, monthly cost)
    come from results.json, or are recomputed from predictions.csv for older run folders.
    """
    from baseline.report.view import ensure_analysis

    run_dir = Path(run_dir)
    results = load_results(run_dir)
    analysis = ensure_analysis(results, run_dir)
    written: list[Path] = []
    try:
        from baseline.report.html import render_html
    except ImportError:  # jinja2 missing: Markdown only
        render_html = None
    if render_html is not None:
        written.extend(render_html(results, run_dir, analysis))
    md = run_dir / "report.md"
    md.write_text(render_markdown(results, run_dir, analysis), encoding="utf-8")
    written.insert(0, md)
    return written
