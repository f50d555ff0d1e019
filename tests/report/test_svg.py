"""The report's SVG canvas and charts: valid XML whatever the labels hold, data where the axes say it is, round
ticks, the same bytes for the same data."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from baseline.report import plots
from baseline.report.svg import Figure, LegendItem, Scale, blend, log_ticks, nice_ticks, tick_text

NS = {"s": "http://www.w3.org/2000/svg"}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.parametrize(("lo", "hi"), [(0, 1), (0.62, 0.81), (-3.2, 17.5), (0, 8760), (1e-4, 3e-4), (5, 5.0001)])
def test_nice_ticks_are_round_evenly_spaced_and_inside(lo, hi):
    t = nice_ticks(lo, hi)
    assert 2 <= len(t) <= 7
    assert all(lo - 1e-12 <= v <= hi + 1e-12 for v in t)
    steps = {round(b - a, 12) for a, b in zip(t[:-1], t[1:], strict=True)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


def test_log_ticks_are_decades_or_their_multiples_inside_the_range():
    assert log_ticks(3e-7, 0.02) == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3, 1e-2])
    few = log_ticks(0.3, 4)    # one decade inside: its 2 and 5 multiples join it
    assert few == pytest.approx([0.5, 1, 2])
    assert tick_text(2500.0, [0, 2500, 5000]) == "2,500"
    assert tick_text(0.25, [0.0, 0.25, 0.5]) == "0.25"


def test_axes_put_a_point_where_its_ticks_say():
    fig = Figure(400, 300)
    ax = fig.add_axes(50, 20, 300, 200, Scale(1e-3, 10, log=True), Scale(0, 1))
    assert ax.px(1e-3) == pytest.approx(50) and ax.px(10) == pytest.approx(350)
    assert ax.px(0.1) == pytest.approx(50 + 300 * 2 / 4)       # two decades of four
    assert ax.py(0) == pytest.approx(220) and ax.py(1) == pytest.approx(20) and ax.py(0.25) == pytest.approx(170)
    ax.markers([0.1], [0.25], "#000000")
    circle = ET.fromstring(fig.svg().encode()).find(".//s:circle", NS)
    assert (float(circle.get("cx")), float(circle.get("cy"))) == (200, 170)


def test_blend_runs_from_the_first_stop_to_the_last():
    assert blend(0, plots.BLUES) == plots.BLUES[0] and blend(1, plots.BLUES) == plots.BLUES[-1]
    assert blend(0.5, ["#000000", "#ffffff"]) == "#808080"
    assert blend(7, ["#000000", "#ffffff"]) == "#ffffff"   # clipped


def test_labels_with_markup_characters_stay_text():
    odd = ['a<b & "c"', "naïve > 'x'", "]]>"]
    svg = plots.confusion_chart("m&m", {"labels": odd, "columns": [*odd, "(abstained)"],
                                        "matrix": [[3, 1, 0, 0], [0, 4, 1, 1], [1, 0, 5, 0]]})
    texts = _texts(svg)
    for label in odd:
        assert label in texts
    assert "m&m: confusion (count, share of true class)" in texts
    assert "(abstained)" in texts          # a column with answers is kept
    root = ET.fromstring(svg.encode())
    assert root.get("aria-label") == "m&m: confusion (count, share of true class)"


def test_a_confusion_matrix_drops_empty_extra_columns_and_shades_by_share():
    svg = plots.confusion_chart("x", {"labels": ["a", "b"], "columns": ["a", "b", "(no answer)"],
                                      "matrix": [[9, 1, 0], [0, 10, 0]]})
    assert "(no answer)" not in _texts(svg)
    fills = [r.get("fill") for r in ET.fromstring(svg.encode()).iter("{http://www.w3.org/2000/svg}rect")]
    assert blend(0.9, plots.BLUES) in fills and blend(1.0, plots.BLUES) in fills and blend(0.0, plots.BLUES) in fills


def test_every_chart_is_valid_deterministic_svg_or_none_when_empty():
    points = [{"name": "majority", "cost": 0.0, "metric": 0.2, "ci": [0.1, 0.3]},
              {"name": "llm", "cost": 0.42, "metric": 0.8, "ci": [0.7, 0.9]}]
    lat = [{"name": "majority", "p50": 0.01, "p95": 0.02, "p99": 0.03, "max": 0.5},
           {"name": "llm", "p50": 300.0, "p95": 900.0, "p99": 1500.0, "batched": True}]
    cov = {"llm": {"target": 0.95, "curve": [[0.1, 1.0], [0.5, 0.9], [1.0, 0.8]],
                   "at_target": {"coverage": 0.1, "precision": 1.0}}}
    curve = {"adapters": {"tfidf": [{"n_train": n, "macro_f1": f, "ci": [f - 0.1, f + 0.1]}
                                    for n, f in ((50, 0.4), (125, 0.5), (250, 0.6), (500, 0.65))]}}
    res = {"truth": [float(v) for v in range(40)], "predicted": {"a": [v * 1.1 for v in range(40)], "b": [20.0] * 40}}
    cal = {"a": {"ece": 0.03, "bins": [{"confidence": 0.55, "accuracy": 0.5, "count": 10},
                                       {"confidence": 0.95, "accuracy": 0.97, "count": 90}]}}
    imp = [{"feature": "tenure", "mean": 0.15, "std": 0.01}, {"feature": "gender", "mean": -0.002, "std": 0.003}]
    charts = {
        "cost": lambda: plots.cost_chart(points, "macro_f1", ["majority", "llm"], "llm", 0.7, 1.0),
        "cost-rmse": lambda: plots.cost_chart([{"name": "m", "cost": 0.0, "metric": 181.0, "ci": [176, 186]}],
                                              "rmse", ["m"], "m", name="RMSE", lower_is_better=True),
        "latency": lambda: plots.latency_chart(lat, 1000.0),
        "coverage": lambda: plots.coverage_chart(cov, "llm"),
        "learning": lambda: plots.learning_chart(curve, "macro_f1", 0.7),
        "balance": lambda: plots.class_balance_chart({"No": 5174, "Yes": 1869}),
        "histogram": lambda: plots.target_histogram({"counts": [3, 0, 5], "edges": [0, 1, 2, 3]}, "cnt",
                                                    {"mean": 1.7, "quantiles": {"median": 2.0}}),
        "residuals": lambda: plots.residual_chart(res, ["a", "b"], "cnt"),
        "predicted": lambda: plots.predicted_true_chart(res, ["a", "b"], "cnt"),
        "calibration": lambda: plots.calibration_chart(cal, "a"),
        "importance": lambda: plots.importance_chart(imp, "linear", "drop in macro-F1"),
    }
    for name, draw in charts.items():
        svg = draw()
        assert svg.startswith("<?xml"), name
        root = ET.fromstring(svg.encode("utf-8"))
        assert float(root.get("width")) > 0 and float(root.get("height")) > 0, name
        assert not re.search(r"nan|inf", " ".join(e.get(a, "") for e in root.iter() for a in ("x", "y", "cx", "cy",
                                                                                             "points", "d"))), name
        assert draw() == svg, name     # the same data, the same bytes: a re-render changes nothing
    assert "≤$0.000001" in _texts(charts["cost"]())           # $0 is drawn at the floor, and says so
    assert "llm (chosen)" in _texts(charts["cost"]())
    assert "llm *" in _texts(charts["latency"]())              # batched answers are marked
    assert "running median" in _texts(charts["residuals"]())
    assert plots.cost_chart([], "macro_f1", [], None) is None
    assert plots.latency_chart([{"name": "x", "p50": None}]) is None
    assert plots.coverage_chart({}) is None
    assert plots.learning_chart({"adapters": {}}, "macro_f1") is None
    assert plots.class_balance_chart({}) is None
    assert plots.target_histogram({"counts": [1], "edges": [0]}, "y") is None
    assert plots.residual_chart({"truth": [], "predicted": {}}, ["a"], "y") is None
    assert plots.calibration_chart({"a": {"bins": [{"count": 0}]}}) is None
    assert plots.importance_chart([{"feature": "f", "mean": 0.0}], "m", "drop") is None


def test_a_legend_wraps_to_the_figure_width():
    items = [LegendItem(f"a rather long legend entry number {i}", "#000000") for i in range(4)]
    fig = Figure(400, 200)
    used = fig.legend(items, 10, ncol=4)
    xs = [float(m.group(1)) for m in re.finditer(r'<text x="([\d.]+)"', "\n".join(fig.extra))]
    assert used == pytest.approx(4 * 19)        # one entry a row: four would not fit in 400 px
    assert max(xs) < 400


def test_a_many_class_confusion_thins_its_labels_but_keeps_the_extra_columns():
    k = 77
    labels = [f"intent_{i}" for i in range(k)]
    matrix = [[30 if i == j else 1 for j in range(k)] + [2] for i in range(k)]
    texts = _texts(plots.confusion_chart("m", {"labels": labels, "columns": [*labels, "(no answer)"], "matrix": matrix}))
    shown = [t for t in texts if t.startswith("intent_")]
    assert "intent_0" in shown and "(no answer)" in texts
    assert k // 4 <= len(set(shown)) < k        # every other or so on each axis, never all 77 crowded together
    assert not any("%" in t for t in texts if t.startswith("30"))   # cells too small for their counts: colour only
    small = plots.confusion_chart("m", {"labels": ["a", "b", "c"], "columns": ["a", "b", "c"],
                                        "matrix": [[5, 1, 0], [0, 6, 0], [1, 0, 4]]})
    assert {"a", "b", "c"} <= set(_texts(small))                          # three classes: every label
    assert "583%" in _texts(small)         # and each cell's count over its share (two tspans: "5", "83%")
