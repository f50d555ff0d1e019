"""report.html: one self-contained file (inline CSS, charts as embedded SVG, no scripts, no external URLs).

Rendered with Jinja2 from the same view as report.md; the charts are also kept under ``plots/``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from baseline import __version__
from baseline.report import plots
from baseline.report.view import build_view, plot_file


def _env() -> Environment:
    return Environment(loader=PackageLoader("baseline.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def make_plots(v: dict[str, Any], r: dict[str, Any]) -> dict[str, str]:
    """Every chart the view calls for, as SVG text keyed by the template's figure key."""
    out: dict[str, str | None] = {}
    c = v["cost"]
    out["cost"] = plots.cost_chart(c["points"], v["metric"], c["pareto"], c["chosen"], c["min_metric"], c["max_cost"],
                                   name=v["metric_name"], lower_is_better=v["lower_is_better"])
    out["latency"] = plots.latency_chart(v["latency"]["rows"], v["latency"]["max_p95_ms"])
    for cm in v["confusion"]:
        if cm["kind"] == "matrix":
            out[f"confusion-{cm['name']}"] = plots.confusion_chart(cm["name"], cm["confusion"])
    out["coverage"] = plots.coverage_chart(v["coverage"]["curves"], v["verdict"]["choice"])
    if r.get("learning_curve"):
        out["learning-curve"] = plots.learning_chart(r["learning_curve"], v["learning"]["metric"],
                                                     (r["settings"].get("bar") or {}).get("min_metric"),
                                                     name=v["learning"].get("metric_name"),
                                                     lower_is_better=v["lower_is_better"])
    out.update(table_plots(v))
    return {k: s for k, s in out.items() if s}


def table_plots(v: dict[str, Any]) -> dict[str, str | None]:
    """The charts of a table's sections: target, residuals and predicted-vs-true, calibration, importance."""
    out: dict[str, str | None] = {}
    t = v.get("target")
    if t:
        out["target"] = (plots.class_balance_chart(t["classes"]) if t["kind"] == "classification"
                         else plots.target_histogram(t.get("histogram") or {}, t["target"], t.get("summary")))
    res = v.get("residuals")
    if res and res.get("points") and res["plotted"]:
        out["residuals"] = plots.residual_chart(res["points"], res["plotted"], res["target"])
        out["predicted-vs-true"] = plots.predicted_true_chart(res["points"], res["plotted"], res["target"])
    cal = v.get("calibration")
    if cal and cal["curves"]:
        out["calibration"] = plots.calibration_chart(cal["curves"], v["verdict"]["choice"])
    imp = v.get("importance")
    if imp and imp.get("shown"):
        out["importance"] = plots.importance_chart(imp["features"], imp["shown"], imp["meaning"])
    return out


def render_html(results: dict[str, Any], run_dir: str | Path, analysis: dict[str, Any] | None = None) -> list[Path]:
    """Write report.html and plots/*.svg into the run folder; returns the paths written."""
    run_dir = Path(run_dir)
    v = build_view(results, analysis)
    svgs = make_plots(v, results)
    pdir = run_dir / "plots"
    pdir.mkdir(exist_ok=True)
    written = []
    uris = {}
    for key, svg in svgs.items():
        p = pdir / plot_file(key)
        p.write_text(svg, encoding="utf-8")
        written.append(p)
        uris[key] = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    hidden = set()
    if not v["learning"]:
        hidden.add("learning-curve")
    if not v["previous"]:
        hidden.add("previous")
    if not v["answers"]["show"]:
        hidden.add("answers")
    if not v["data_plan"]:
        hidden.add("data-plan")
    html = _env().get_template("report.html.j2").render(v=v, plots=uris, hidden=hidden, version=__version__)
    out = run_dir / "report.html"
    out.write_text(html, encoding="utf-8")
    return [out, *written]
