"""One view of a run for every renderer: the strings, tables and notes that report.md and report.html share.

Built from results.json alone (plus its ``analysis`` block, recomputed from predictions.csv for
older run folders), so the Markdown and HTML reports cannot drift apart in content.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from baseline.analysis import split_abstain
from baseline.decide import WITHIN, WORSE, Bar, curve_trend, metric_name
from baseline.metrics import coverage_of
from baseline.report import table_view as tv
from baseline.report.plan_view import business_view, data_plan_view, verdict_tiles

SECTIONS = [
    ("verdict", "Verdict"), ("business", "Business case"), ("leaderboard", "Leaderboard"), ("answers", "Unanswered items and spend"),
    ("cost", "Metric against cost"),
    ("latency", "Latency"), ("confusion", "Confusion"), ("per-class", "Per class"),
    ("disagreements", "Where candidates disagree"), ("coverage", "Coverage against precision"),
    ("monthly", "Monthly cost"), ("learning-curve", "Learning curve"), ("data-plan", "Data plan"), ("profile", "Data profile"),
    ("explain", "Explainability"), ("release", "Release"), ("previous", "Since the last run"),
    ("provenance", "Provenance"),
]
MAX_MATRIX_CLASSES = 12      # above this, confusion is shown as the most-confused pairs, not a grid
MAX_CLASS_ROWS = 40          # above this, the per-class table keeps the weakest classes of the top candidate
COST_FLOOR = 1e-6


def plot_file(key: str) -> str:
    """File name under plots/ for a chart key (adapter names made safe for paths)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in key) + ".svg"


# ---- formatting ---------------------------------------------------------------------------------

def f3(v: Any, fmt: str = ".3f", none: str = "—") -> str:
    """A number with a format, or a dash for missing values."""
    if v is None:
        return none
    try:
        if isinstance(v, float) and math.isnan(v):
            return none
        return format(v, fmt)
    except (TypeError, ValueError):
        return str(v)


def usd(v: Any) -> str:
    """Dollars readable at any size: $0, <$0.000001, $0.00018, $0.42, $1,234.56."""
    if v is None:
        return "—"
    if v == 0:
        return "$0"
    if abs(v) < 1e-6:
        return "<$0.000001"
    if abs(v) < 1:
        digits = max(2, 1 - math.floor(math.log10(abs(v))))
        return f"${v:.{digits}f}"
    return f"${v:,.2f}"


def ms(v: Any) -> str:
    """Milliseconds with sensible precision."""
    if v is None:
        return "—"
    if v < 0.1:
        return f"{v:.3f}"
    if v < 10:
        return f"{v:.2f}"
    return f"{v:,.0f}"


def signed(v: float) -> str:
    """A difference with its sign, never '-0.000'."""
    return f"{0.0 if abs(v) < 0.0005 else v:+.3f}"


def diff_ci(d: float, ci: Any) -> str:
    """A paired difference with its CI: +0.012 [-0.010, +0.034]."""
    return f"{signed(d)} [{signed(ci[0])}, {signed(ci[1])}]"


def ci_text(v: float | None, ci: Any) -> str:
    if v is None:
        return "—"
    if not ci:
        return f"{v:.3f}"
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def coverage_cell(a: dict[str, Any]) -> str:
    """Coverage of the answered items, with the unanswered apart: ``88.2% of 17 answered; 3 unanswered``."""
    c = coverage_of(a.get("metrics") or {}, a.get("counts"))
    if c["coverage"] is None:
        return "—"
    if not c["unanswered"]:
        return f"{c['coverage']:.1%}"
    of = f" of {c['answered']:,} answered" if c["answered"] is not None else ""
    return f"{c['coverage']:.1%}{of}; {c['unanswered']:,} unanswered"


def said_nothing(example: dict[str, Any], name: str) -> str:
    """What to show for a candidate with no label on a disagreement example: unanswered (item error) or abstained."""
    return "(unanswered)" if name in (example.get("unanswered") or ()) else "(abstained)"


def leaderboard_headers(r: dict[str, Any]) -> list[str]:
    """The leaderboard's column names for this run (regression: RMSE, MAE and R², headline first)."""
    if tv.is_regression(r):
        return tv.regression_headers(r, COVERAGE_HEADER)
    return [h.format(metric=metric_name(r["settings"]["metric"])) for h in LEADERBOARD_HEADERS]


def leaderboard_rows(r: dict[str, Any]) -> list[list[str]]:
    """One row per scored candidate in leaderboard order (the CLI prints the same rows, under
    ``leaderboard_headers``)."""
    metric = r["settings"]["metric"]
    by = {a["name"]: a for a in r["adapters"]}
    rows = []
    regression = tv.is_regression(r)
    for name in r["leaderboard"]:
        a = by[name]
        m = a["metrics"]
        cmp = a.get("comparison")
        lat = a["timing"].get("item_latency_ms") or {}
        if regression:
            rows.append([name, a["family"], *tv.regression_metric_cells(r, a), coverage_cell(a),
                         tv.regression_vs_best(cmp), ms(lat.get("p50")), ms(lat.get("p95")),
                         f3(a["timing"].get("throughput_per_s"), ",.0f"), usd(a["cost"].get("per_1k_usd")),
                         usd(a["cost"].get("one_off_usd")), a["status"] + reused_text(a)])
            continue
        vs = "best" if cmp is None else (
            f"{diff_ci(cmp['difference'], cmp['ci'])}" + (" (CI holds 0)" if cmp["indistinguishable"] else "")
            + f"; accuracy McNemar p={cmp['mcnemar_p']:.2g}")
        rows.append([name, a["family"], ci_text(m[metric], m["ci"][metric]), ci_text(m["accuracy"], m["ci"]["accuracy"]),
                     coverage_cell(a), vs, ms(lat.get("p50")), ms(lat.get("p95")),
                     f3(a["timing"].get("throughput_per_s"), ",.0f"), usd(a["cost"].get("per_1k_usd")),
                     usd(a["cost"].get("one_off_usd")), a["status"] + reused_text(a)])
    return rows


def reused_text(a: dict[str, Any]) -> str:
    """`` (reused from run X of 2026-12-01)`` for a result copied from an earlier run, else ``""``."""
    rf = a.get("reused_from")
    return f" (reused from run {rf['run_id']} of {str(rf.get('date', ''))[:10]})" if rf else ""


COVERAGE_HEADER = "coverage (of answered items)"
COVERAGE_NOTE = ("Coverage is the share of answered items whose answer maps to a dataset label (the rest are "
                 "abstentions, scored as wrong); items the service never answered (item errors) are not abstentions: "
                 "they are counted apart as unanswered, and also scored as wrong.")
LEADERBOARD_HEADERS = ["candidate", "family", "{metric} [95% CI]", "accuracy [95% CI]", COVERAGE_HEADER,
                       "vs best: diff [95% CI]; accuracy McNemar p", "p50 ms", "p95 ms", "items/s", "cost / 1k", "one-off",
                       "status"]


# ---- sections -----------------------------------------------------------------------------------

def _verdict(r: dict[str, Any], by: dict[str, Any]) -> dict[str, Any]:
    d = r.get("decision") or {}
    metric = r["settings"]["metric"]
    focus = d.get("choice") or d.get("nearest_miss") or r.get("best")
    tiles = []
    a = by.get(focus) if focus else None
    if a and a.get("metrics"):
        m, c, t = a["metrics"], a.get("cost") or {}, a.get("timing") or {}
        vol = (r["settings"].get("bar") or {}).get("monthly_volume")
        fmt = tv.value_fmt(r)
        ci = (m.get("ci") or {}).get(metric)
        tiles = [
            {"label": tv.metric_label(r, metric), "value": fmt(m[metric]),
             "sub": f"95% CI {fmt(ci[0])}–{fmt(ci[1])}" if ci else "no CI"},
            {"label": "p95 latency", "value": f"{ms((t.get('item_latency_ms') or {}).get('p95'))} ms",
             "sub": (t.get("item_latency_ms") or {}).get("mode", "")},
            {"label": "cost per 1k", "value": usd(c.get("per_1k_usd")), "sub": f"one-off {usd(c.get('one_off_usd'))}"},
        ]
        if vol and c.get("per_1k_usd") is not None:
            tiles.append({"label": f"per month @ {vol:,}", "value": usd(c["per_1k_usd"] * vol / 1000),
                          "sub": "usage-priced, excl. one-off"})
    verdict = d.get("verdict", "—")
    return {"verdict": verdict, "choice": d.get("choice"), "reason": d.get("reason", ""),
            "css": {"ADOPT": "adopt", "PIVOT": "pivot"}.get(verdict, "close"), "rule": d.get("rule", ""),
            "warnings": (d.get("warnings") or []) + ([tv.time_warning(r)] if tv.time_warning(r) else []),
            "focus": focus,
            "focus_role": ("chosen" if verdict == "ADOPT" else "leading") if d.get("choice")
            else ("nearest miss" if d.get("nearest_miss") else "best"),
            "tiles": tiles + verdict_tiles(r), "margin": d.get("margin"), "since": _since(r),
            "labels_advice": d.get("labels_advice")}


def _since(r: dict[str, Any]) -> str | None:
    """One line for the verdict: did it move since the last run on this split, and what is new."""
    prev = r.get("previous_run")
    if not prev:
        return None
    d = r.get("decision") or {}
    now = d.get("verdict", "—") + (f" {d['choice']}" if d.get("choice") else "")
    before = (prev.get("verdict_before") or "—") + (f" {prev['choice_before']}" if prev.get("choice_before") else "")
    text = f"Since run {prev['run_id']}: " + (f"verdict unchanged ({now})" if now == before
                                              else f"verdict moved from {before} to {now}")
    if prev.get("new"):
        text += f"; new: {', '.join(prev['new'])}"
    if prev.get("reconfigured"):
        text += f"; changed and rerun: {', '.join(c['name'] for c in prev['reconfigured'])}"
    reused = prev.get("reused") or {}
    if reused:
        text += f"; reused unchanged: {', '.join(sorted(reused))}"
    return text


def _bars(r: dict[str, Any]) -> dict[str, Any]:
    d = r.get("decision") or {}
    cands = d.get("candidates") or []
    keys = list((cands[0]["checks"] if cands else {}) or {})
    headers = [cands[0]["checks"][k]["label"] for k in keys] if cands else []
    fmt = {"metric": tv.num if tv.is_regression(r) else (lambda v: f3(v)), "p95_ms": lambda v: f"{ms(v)} ms",
           "cost_per_1k": usd, "one_off": usd}
    chosen = next((c for c in cands if (c.get("role") or "").startswith("chosen")), None)
    rows = []
    for c in sorted(cands, key=lambda c: (c["simplicity"], c["name"])):
        cells = [{"text": fmt[k](c["checks"][k]["value"])
                  + (" (borderline: CI straddles the bar)" if c["checks"][k].get("standing") == "borderline" else ""),
                  "pass": c["checks"][k]["pass"]} for k in keys]
        v = c.get("vs_best_passing")
        margin = d.get("margin") or 0.0
        if c.get("role") in ("best passing", "chosen (best passing)", "leading (best)"):
            vs = "best passing"
        elif v:
            lo, hi = v["ci"]
            st = v.get("standing")
            if st == WITHIN:
                tag = f"shown within {margin:g}"
            elif st == WORSE:
                tag = f"shown worse by more than {margin:g}"
            else:
                need = v.get("rows_to_settle")
                tag = "too close to call" + (f" (~{need:,} test rows to settle)" if need else "")
            if c.get("dominated_by"):
                tag += f"; worse, dearer and slower than {c['dominated_by']}"
            elif st == WITHIN and chosen is not None and c is not chosen \
                    and c["simplicity"] > chosen["simplicity"]:
                tag += ", but less simple than the choice"
            vs = f"{diff_ci(v['difference'], [lo, hi])}: {tag}"
        elif not c["passes"]:
            vs = "borderline on the bar" if c.get("borderline") else "fails a bar"
        else:
            vs = "—"
        rows.append({"name": c["name"], "family": c["family"], "rank": c["simplicity"], "cells": cells,
                     "passes": c["passes"], "role": c.get("role") or "", "vs": vs,
                     "metric": tv.num_ci(c["metric"], c.get("ci")) if tv.is_regression(r)
                     else ci_text(c["metric"], c.get("ci"))})
    return {"headers": headers, "rows": rows, "none_set": not keys,
            "metric": tv.metric_label(r, d.get("metric", "macro_f1"))}


def _latency(r: dict[str, Any], names: list[str], by: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for n in names:
        t = by[n].get("timing") or {}
        lat = t.get("item_latency_ms") or {}
        if lat.get("p50") is None:
            continue
        c = by[n].get("counts") or {}
        req = t.get("request_latency_ms") or {}
        rows.append({"name": n, "p50": lat["p50"], "p95": lat["p95"], "p99": lat["p99"], "max": lat.get("max"),
                     "n": lat.get("n"), "mode": lat.get("mode", ""), "batched": "batched" in lat.get("mode", ""),
                     "unstable": bool(lat.get("unstable")), "p95_ci": lat.get("p95_ci"),
                     "cells": [n + (" *" if "batched" in lat.get("mode", "") else ""), ms(lat["p50"]),
                               ms(lat["p95"]) + (f" [{ms(lat['p95_ci'][0])}–{ms(lat['p95_ci'][1])}]" if lat.get("p95_ci") else "")
                               + (" ⚠ unstable" if lat.get("unstable") else ""), ms(lat["p99"]), ms(lat.get("max")),
                               str(lat.get("n", "")), f3(t.get("throughput_per_s"), ",.0f"),
                               f"{ms(req.get('p50'))} / {ms(req.get('p95'))}", f"{t.get('batch_size', '—')}×{t.get('concurrency', '—')}",
                               f3(t.get("cold_start_s"), ".2f"), f3(t.get("fit_s"), ".2f"),
                               f"{c.get('retries', 0)} / {c.get('throttles', 0)}", lat.get("mode", ""), t.get("device", "")]})
    return rows


def _latency_section(rows: list[dict[str, Any]], max_p95: float | None) -> dict[str, Any]:
    """The latency table plus a warning naming the candidates whose p95 is too noisy to judge."""
    shaky = [f"{x['name']} (p95 {ms(x['p95'])} ms, 95% CI {ms(x['p95_ci'][0])}–{ms(x['p95_ci'][1])} ms)"
             for x in rows if x["unstable"] and x.get("p95_ci")]
    warning = None
    if shaky:
        warning = ("unstable latency: " + "; ".join(shaky) + ". The p95 interval is wider than half the figure itself — "
                   "a busy machine or a variable service; rerun on a quiet machine (or with a larger --latency-probe) "
                   "before judging a latency bar on it")
    return {"rows": rows, "headers": LATENCY_HEADERS, "max_p95_ms": max_p95, "warning": warning}


LATENCY_HEADERS = ["candidate", "p50 ms", "p95 ms [95% CI]", "p99 ms", "max ms", "items timed", "items/s (batched)",
                   "request p50 / p95 ms", "batch × concurrency", "cold start s", "fit s", "retries / throttles",
                   "measured as", "device"]


def _confusion(r: dict[str, Any], top: list[str], by: dict[str, Any], analysis: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    k = len(r["split"]["labels"])
    for n in top:
        conf = by[n]["metrics"].get("confusion")
        if not conf:  # the task has none (multi-label): the view says why instead
            continue
        pairs = (analysis.get("confused_pairs") or {}).get(n) or []
        conf = split_abstain(conf, ((analysis.get("unanswered") or {}).get(n) or {}).get("by_label"))
        out.append({"name": n, "kind": "matrix" if k <= MAX_MATRIX_CLASSES else "pairs", "confusion": conf,
                    "pairs": [[p["true"], p["predicted"], str(p["count"]), f"{p['share_of_true']:.0%}"] for p in pairs]})
    return out


def _label_sets(r: dict[str, Any]) -> dict[str, Any] | None:
    """Multi-label runs: cardinality, empty rows, the most frequent label pairs and labels too rare to learn."""
    ml = (r.get("profile") or {}).get("multi_label")
    if not ml:
        return None
    card = ml.get("cardinality") or {}
    pairs = [[p["a"], p["b"], str(p["rows"]), f"{p['jaccard']:.2f}"] for p in ml["co_occurrence"]["top_pairs"]]
    cards = {}
    for a in r.get("adapters", []):
        c = (a.get("metrics") or {}).get("cardinality")
        if c:
            cards[a["name"]] = c.get("predicted")
    return {"cardinality": card, "empty_rows": ml.get("empty_rows") or {}, "pairs": pairs,
            "rare": ml.get("rare_labels") or [], "rare_rule": ml.get("rare_rule", ""),
            "distinct": ml.get("distinct_label_sets"), "predicted_cardinality": cards}


def _per_class(r: dict[str, Any], top: list[str], by: dict[str, Any]) -> dict[str, Any]:
    na = ((r.get("task_info") or {}).get("not_applicable") or {}).get("per_class")
    if na:
        return {"headers": [], "rows": [], "note": na + ".", "absent": []}
    labels = r["split"]["labels"]
    names = top or []
    if not names:
        return {"headers": [], "rows": [], "note": "", "absent": []}
    headers = ["class", "test support"] + [f"{n} P / R / F1" for n in names]
    first = by[names[0]]["metrics"]["per_class"]
    # a class with no test rows that nobody predicted is outside macro-F1 (scikit-learn's label set)
    scored = [lab for lab in labels if any(lab in by[n]["metrics"]["per_class"] for n in names)]
    absent = [lab for lab in labels if lab not in scored]
    order = list(scored)
    note = f"Precision (P), recall (R) and F1 per class for the top {len(names)} candidate(s)."
    if len(order) > MAX_CLASS_ROWS:
        order = sorted(order, key=lambda lab: ((first.get(lab) or {}).get("f1", 1.0), lab))[:MAX_CLASS_ROWS]
        note += (f" {len(scored)} classes: the {MAX_CLASS_ROWS} with the lowest F1 for {names[0]} are shown; "
                 "results.json holds all of them.")
    if absent:
        note += (f" {len(absent)} declared class(es) have no test rows and were never predicted, so they are "
                 f"outside macro-F1, as in scikit-learn: {', '.join(absent[:20])}{' …' if len(absent) > 20 else ''}.")
    rows = []
    for lab in order:
        support = next((by[n]["metrics"]["per_class"][lab]["support"] for n in names
                        if lab in by[n]["metrics"]["per_class"]), 0)
        row = [lab, str(support)]
        for n in names:
            pc = by[n]["metrics"]["per_class"].get(lab)
            row.append(f"{pc['precision']:.2f} / {pc['recall']:.2f} / {pc['f1']:.2f}" if pc else "— (absent)")
        rows.append(row)
    return {"headers": headers, "rows": rows, "note": note, "absent": absent}


def _monthly(mo: dict[str, Any] | None) -> dict[str, Any] | None:
    if not mo:
        return None
    rows = []
    for x in mo["rows"]:
        rows.append([x["name"], usd(x["per_1k_usd"]), usd(x["usage_usd"]), usd(x["one_off_usd"]),
                     usd(x["first_month_usd"]), usd(x["always_on_usd"]) if x.get("always_on_usd") is not None else "—",
                     f3(x.get("compute_hours"), ",.2f")])
    return {"volume": mo["volume"], "rows": rows,
            "headers": ["candidate", "per 1k", f"usage @ {mo['volume']:,}/month", "one-off", "first month",
                        f"always-on instance ({mo['hours_per_month']:.0f} h)", "compute hours / month"]}


def _profile(p: dict[str, Any], r: dict[str, Any] | None = None) -> dict[str, Any]:
    if p.get("tabular"):  # a table: no text lengths; columns and target have their own sections
        reg = tv.is_regression(r or {})
        return {"items": tv.table_profile_items(p, reg), "table": None}  # class counts: see Target
    items = [
        f"rows: {', '.join(f'{k} {v:,}' for k, v in p['rows'].items())}; {p['classes']} classes; split: {p.get('split_source', '')}",
        f"class balance: majority share {p['majority_share']:.1%}, minority share {p['minority_share']:.1%}",
    ]
    tc = p.get("text_chars") or {}
    for part in ("train", "test"):
        if part in tc:
            s = tc[part]
            items.append(f"text length ({part}, characters): median {s['median']:.0f}, mean {s['mean']:.0f}, "
                         f"p95 {s['p95']:.0f}, min {s['min']}, max {s['max']}")
    items.append(f"exact duplicate rows: {p['exact_duplicate_rows']}; duplicates after lower-casing and spacing: "
                 f"{p.get('normalized_duplicate_rows', '—')}")
    exact = p.get("test_texts_in_train_exact")
    items.append(f"test rows whose text is also in train, after lower-casing and spacing (leakage): {p['test_texts_in_train']}"
                 + (f" ({exact} byte-identical)" if exact is not None else "")
                 + (f" — e.g. “{p['test_texts_in_train_examples'][0][:120]}”" if p.get("test_texts_in_train_examples") else ""))
    items.append(f"texts with conflicting labels: {p['conflicting_label_texts']}"
                 + (f" — e.g. “{p['conflicting_label_examples'][0][:120]}”" if p.get("conflicting_label_examples") else ""))
    if p.get("labels_test_not_train"):
        lt = p["labels_test_not_train"]
        items.append(f"labels in test but never in train ({len(lt)}): {', '.join(lt[:20])}"
                     " — no candidate that learns from train can predict them")
    if p.get("labels_absent_from_test"):
        la = p["labels_absent_from_test"]
        items.append(f"declared labels with no test rows ({len(la)}): {', '.join(la[:20])}"
                     " — outside macro-F1 unless a candidate predicts them (scikit-learn's label set)")
    items += [f"note: {n}" for n in p.get("notes", [])]
    counts = p.get("class_counts") or {}
    parts = list(counts)
    table = None
    if counts and p["classes"] <= MAX_CLASS_ROWS:
        table = {"headers": ["class"] + parts,
                 "rows": [[lab] + [str(counts[pt].get(lab, 0)) for pt in parts] for lab in p["labels"]]}
    return {"items": items, "table": table}


def resource_state(x: dict) -> str:
    """What the provider confirmed about one billable resource; never "deleted" without a confirmation."""
    if not x.get("deleted"):
        state = x.get("state")
        return "NOT DELETED" + (f" (last seen {state}; `baseline cleanup` deletes it)" if state else "")
    return {"finished": "finished (nothing left running)", "stopped": "stopped",
            "never created": "never created (confirmed absent)"}.get(x.get("state") or "deleted", "deleted")


def _unfinished_resources(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Billable resources of adapters that did not finish (failed, interrupted): not in the explain list."""
    return [{"name": a["name"], "status": a.get("status", "?"),
             "resources": [f"{x.get('kind', '?')} {x.get('id', '')}: {resource_state(x)}" for x in a["resources"]]}
            for a in r["adapters"] if a.get("resources") and a.get("status") not in ("ok", "stopped")]


def _explain(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in r["adapters"]:
        if a.get("status") not in ("ok", "stopped"):
            continue
        e = a.get("explain") or {}
        black = e.get("kind") in ("black_box", "black box") or (a.get("family") == "cloud" and not e.get("features"))
        text = e.get("text") or ("black box: a managed service; only its answers are visible, not its model or features"
                                 if a.get("family") == "cloud" else "the adapter reports no explanation")
        fit = ", ".join(f"{k} {v}" for k, v in (a.get("fit") or {}).items() if not isinstance(v, dict | list))
        res = [f"{x.get('kind', '?')} {x.get('id', '')}: {resource_state(x)}" for x in a.get("resources") or []]
        feats = e.get("features") or {}
        feats = {str(k): [str(x) for x in (v if isinstance(v, list | tuple) else [v])] for k, v in feats.items()} \
            if isinstance(feats, dict) else {"": [str(feats)]}
        if tv.top_features(a):
            feats["most important features"] = tv.top_features(a)
        out.append({"name": a["name"], "family": a["family"], "kind": e.get("kind", "black box" if black else ""),
                    "text": text, "black_box": black, "features": feats, "fit": fit,
                    "notes": list(a.get("notes") or []), "resources": res})
    return out


def _learning(r: dict[str, Any]) -> dict[str, Any] | None:
    curve = r.get("learning_curve")
    if not curve:
        return None
    metric = curve.get("metric") or r["settings"]["metric"]
    rows, trends = [], []
    for name, pts in (curve.get("adapters") or {}).items():
        for p in pts:
            g = p.get("gain_to_full")
            rows.append([name, f"{p['fraction']:.0%}", f"{p['n_train']:,}", ci_text(p.get(metric), p.get("ci")),
                         diff_ci(g["difference"], g["ci"]) if g else "—",
                         f3(p.get("fit_s"), ".2f"), p.get("reason") or ("main run" if p.get("reused_main_run") else "")])
        t = curve_trend(pts, metric, bar=Bar.from_json(r["settings"].get("bar")))
        if t:
            trends.append(f"{name}: {'rising' if t['rising'] else 'flat'} ({signed(t['gain_per_doubling'])} "
                          f"{tv.metric_label(r, metric)} per doubling of train over the last points)")
    advice = ((r.get("decision") or {}).get("advice") or {}).get("text")
    return {"metric": metric, "metric_name": tv.metric_label(r, metric), "rows": rows, "trends": trends, "advice": advice,
            "skipped": [f"{k}: {v}" for k, v in (curve.get("skipped") or {}).items()],
            "headers": ["candidate", "share of train", "train rows", f"{tv.metric_label(r, metric)} [95% CI]",
                        "full size minus this, paired [95% CI]", "fit s", "note"]}


def _previous(r: dict[str, Any]) -> dict[str, Any] | None:
    prev = r.get("previous_run")
    if not prev:
        return None
    d = r.get("decision") or {}
    now = d.get("verdict", "—") + (f" {d['choice']}" if d.get("choice") else "")
    before = (prev.get("verdict_before") or "—") + (f" {prev['choice_before']}" if prev.get("choice_before") else "")
    items = [f"previous run {prev['run_id']} on the same split; verdict then: {before}; now: {now}"
             + (" (unchanged)" if now == before else " (changed)")]
    if prev.get("new"):
        items.append(f"new candidates: {', '.join(prev['new'])}")
    if prev.get("dropped"):
        items.append(f"not in this run: {', '.join(prev['dropped'])}")
    for c in prev.get("reconfigured") or []:
        items.append(f"changed, so rerun: {c['name']} ({', '.join(c['what'])} differ)")
    forced = sorted(n for n, why in (prev.get("ran") or {}).items() if why == "forced")
    if forced:
        items.append(f"rerun on request (--fresh / --rerun): {', '.join(forced)}")
    stale = sorted(n for n, why in (prev.get("ran") or {}).items() if why == "not reusable")
    if stale:
        items.append(f"rerun, earlier result not reusable (it did not finish ok, or predates identities): "
                     f"{', '.join(stale)}")
    for n, rf in sorted((prev.get("reused") or {}).items()):
        items.append(f"reused unchanged: {n}, measured in run {rf['run_id']} ({str(rf.get('date', ''))[:19]})")
    changed = [c for c in prev.get("changed") or []]
    for c in changed:
        if c.get("metric") and c.get("before") is not None and c.get("now") is not None:
            items.append(f"{c['name']}: {metric_name(c['metric'])} {c['before']:.3f} → {c['now']:.3f} "
                         f"({signed(c['now'] - c['before'])})")
        elif c.get("macro_f1_before") is not None and c.get("macro_f1_now") is not None:
            items.append(f"{c['name']}: macro-F1 {c['macro_f1_before']:.3f} → {c['macro_f1_now']:.3f} ({signed(c['delta'])})")
    if not prev.get("new") and not any(abs(c["delta"] or 0.0) > 1e-12 for c in changed):
        items.append("no new candidate and no score changed")
    return {"items": items}


def _release(r: dict[str, Any], by: dict[str, Any]) -> dict[str, Any]:
    """The release plan: the chosen candidate, its fallback (rollback), and the figures to watch after release.

    The fallback is the next simplest candidate that also passes (the nearest simpler one, else the next
    more complex one); "no ML" when that is the trivial floor. Without a metric bar a candidate counts as
    passing only when it is the best or shown within the margin of it. The figures to watch are the
    bar's metric and the class with the lowest recall.
    """
    d = r.get("decision") or {}
    metric = d.get("metric") or r["settings"]["metric"]
    name, fmt = tv.metric_label(r, metric), tv.value_fmt(r)
    choice = d.get("choice") if d.get("verdict") != "PIVOT" else None
    if not choice:
        return {"choice": None, "items": ["no release: nothing clears the bar (PIVOT); keep the current process"]}
    cands = d.get("candidates") or []
    bar = d.get("bar") or {}

    def ok(c: dict[str, Any]) -> bool:
        if not c["passes"]:
            return False
        if bar.get("min_metric") is not None or bar.get("max_metric") is not None:
            return True
        v = c.get("vs_best_passing")
        return c["name"] == d.get("best_passing") or bool(v and v.get("standing") == WITHIN)

    ch = next((c for c in cands if c["name"] == choice), None)
    pool = [c for c in cands if c["name"] != choice and ok(c)]
    rank = ch["simplicity"] if ch else 0
    simpler = sorted((c for c in pool if c["simplicity"] <= rank), key=lambda c: (-c["simplicity"], -c["metric"]))
    harder = sorted((c for c in pool if c["simplicity"] > rank), key=lambda c: (c["simplicity"], -c["metric"]))
    fb = (simpler or harder or [None])[0]
    status = "" if d.get("verdict") == "ADOPT" else f" (verdict {d.get('verdict')}: settle it before relying on it)"
    items = [f"release: {choice}{status}"]
    if fb is None:
        items.append("fallback: none passes besides the choice; rolling back means the current process (no model)")
    elif fb["simplicity"] == 0:
        items.append(f"fallback: no ML — the floor {fb['name']} passes too ({name} {fmt(fb['metric'])})")
    else:
        items.append(f"fallback: {fb['name']} ({fb['family']}, {name} {fmt(fb['metric'])}), "
                     f"the next simplest passing candidate")
    a = by.get(choice) or {}
    m = a.get("metrics") or {}
    watch = []
    if m.get(metric) is not None:
        lo, hi = (m.get("ci") or {}).get(metric) or (m[metric], m[metric])
        lim = bar.get("max_metric") if bar.get("lower_is_better") else bar.get("min_metric")
        limit = f"; the bar is {lim:g}" if lim is not None else ""
        watch.append(f"{name}: {fmt(m[metric])} here (95% CI {fmt(lo)}–{fmt(hi)}){limit}")
    pcs = {k: v for k, v in (m.get("per_class") or {}).items() if v.get("support")}
    if pcs:
        low = min(pcs, key=lambda k: (pcs[k]["recall"], k))
        watch.append(f"recall of class {low!r}, the lowest here: {pcs[low]['recall']:.3f} "
                     f"on {pcs[low]['support']} test rows")
    lat = (a.get("timing") or {}).get("item_latency_ms") or {}
    if bar.get("max_p95_ms") is not None and lat.get("p95") is not None:
        watch.append(f"p95 latency: {ms(lat['p95'])} ms here; the bar is {bar['max_p95_ms']:g} ms")
    items += [f"watch after release: {w}" for w in watch]
    return {"choice": choice, "fallback": fb["name"] if fb else None, "items": items}


def _provenance(r: dict[str, Any], by: dict[str, Any]) -> list[list[str]]:
    pv = r.get("provenance") or {}
    s = r["settings"]
    devices = sorted({(a.get("timing") or {}).get("device") for a in r["adapters"] if (a.get("timing") or {}).get("device")})
    rows = [
        ["baseline", f"{pv.get('baseline', '?')} (results schema {r.get('schema_version', '?')})"],
        ["command", r.get("command") or "—"],
        ["started / finished (UTC)", f"{r.get('started', '?')} / {r.get('finished', '?')}"],
        ["machine", f"{pv.get('platform', '?')}; {pv.get('processor', '?')}; {pv.get('cpu_count', '?')} CPUs; "
                    f"device {', '.join(devices) or s.get('device', '?')}"],
        ["Python", str(pv.get("python", "?"))],
        ["data", f"{r['dataset']['path']} (sha256 {r['dataset']['sha256'][:16]}…; text column {r['dataset']['text_col']}, "
                 f"label column {r['dataset']['label_col']})"],
        ["split", f"{r['split']['source']}, seed {r['split']['seed']}, test size {r['split'].get('test_size') or 'from file'}; "
                  f"hash {r['split']['hash']}"],
        ["statistics", f"{int(s.get('ci_level', 0.95) * 100)}% percentile bootstrap CIs, {s.get('resamples')} paired "
                       f"resamples (seed {s.get('seed')}); "
                       + ("paired differences in the metric's own units (McNemar has no meaning for numbers)"
                          if tv.is_regression(r) else "McNemar on paired correctness")
                       + "; single-item latency probe "
                       + f"{s.get('latency_probe')} items per free candidate"],
        ["prices", f"price table dated {r['prices']['effective_date']}. {r['prices'].get('source_note', '')}".strip()],
        ["packages", ", ".join(f"{k} {v}" for k, v in (pv.get("packages") or {}).items()) or "—"],
    ]
    spent = sum((a.get("cost") or {}).get("billed_now_usd") or 0 for a in r["adapters"] if not a.get("reused_from"))
    rows.append(["this run billed", usd(spent) + (f" (cap --max-cost {s['max_cost']})" if s.get("max_cost") is not None else "")])
    return rows


def _answers(r: dict[str, Any]) -> dict[str, Any]:
    """Unanswered items per adapter (counts, first errors) and paid spend: billed and possibly billed."""
    un = [[u["name"], u["status"], f"{u['unanswered']:,} of {u['of']:,}"
           + (f" ({u['unanswered'] / u['of']:.1%})" if u.get("of") else ""), " | ".join(u["first_errors"])]
          for u in r.get("unanswered") or []]
    paid = [a for a in r["adapters"] if a.get("paid") and a.get("cost")]
    spend_rows = []
    for a in paid:
        c, k = a["cost"], a.get("counts") or {}
        billed = c.get("billed_now_usd")
        possibly = c.get("possibly_billed_now_usd", billed)
        spend_rows.append([a["name"], a["status"] + reused_text(a), usd(billed), usd(possibly), usd(c.get("unconfirmed_usd", 0.0)),
                           f"{k.get('requests', 0):,}", f"{k.get('retries', 0):,}", f"{k.get('throttles', 0):,}"])
    sp = r.get("spend") or {}
    led = sp.get("ledger") or {}
    total = []
    if sp:
        cap = sp.get("max_cost")
        total.append(f"This run billed {usd(sp.get('billed_now_usd'))} confirmed and possibly billed "
                     f"{usd(sp.get('possibly_billed_now_usd'))}" + (f" (cap --max-cost {cap}, enforced on possibly billed)"
                                                                     if cap is not None else ""))
        if led.get("earlier_attempts_possibly_billed_usd"):
            total.append(f"earlier attempts at this run folder possibly billed "
                         f"{usd(led['earlier_attempts_possibly_billed_usd'])}; all {led.get('attempts', '?')} attempts: "
                         f"{usd(led.get('possibly_billed_usd'))} (ledger {led.get('file', 'spend.jsonl')})")
    return {"unanswered": un, "unanswered_headers": ["candidate", "status", "unanswered items", "first errors"],
            "spend": spend_rows, "spend_headers": ["candidate", "status", "billed (confirmed)", "possibly billed",
                                                   "of which unconfirmed", "requests", "retries", "throttles"],
            "total": total, "note": sp.get("note", ""), "show": bool(un or spend_rows)}


def build_view(r: dict[str, Any], analysis: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a renderer needs, formatted once."""
    analysis = analysis if analysis is not None else (r.get("analysis") or {})
    metric = r["settings"]["metric"]
    by = {a["name"]: a for a in r["adapters"]}
    names = [n for n in r.get("leaderboard", []) if (by.get(n) or {}).get("metrics")]
    top = [n for n in (analysis.get("top") or names[:3]) if n in names]
    d = r.get("decision") or {}
    bar = r["settings"].get("bar") or {}
    others = [{"name": a["name"], "family": a["family"], "status": a["status"], "reason": a.get("reason", "")}
              for a in r["adapters"] if a.get("status") not in ("ok", "incomplete") or not a.get("metrics")]
    points = [{"name": n, "cost": by[n]["cost"].get("per_1k_usd"), "metric": by[n]["metrics"][metric],
               "ci": by[n]["metrics"]["ci"][metric]} for n in names]
    floored = [p["name"] for p in points if p["cost"] is not None and p["cost"] < COST_FLOOR]
    cov = analysis.get("coverage_precision") or {}
    coverage_rows = []
    for n in names:
        c = cov.get(n)
        if not c:
            continue
        at = c.get("at_target")
        coverage_rows.append([n, f"{at['coverage']:.1%}" if at else "0% (never reaches it)",
                              f"{at['precision']:.3f}" if at else "—", f"{at['threshold']:.3f}" if at else "—",
                              f"{c['full_coverage_precision']:.3f}", f"{c['max_coverage']:.1%}"])
    target = next(iter(cov.values()))["target"] if cov else 0.95
    cov_unanswered = [f"{n} {cov[n]['unanswered']:,}" for n in names if (cov.get(n) or {}).get("unanswered")]
    regression, tabular = tv.is_regression(r), tv.is_tabular(r)
    mname = tv.metric_label(r, metric)
    return {
        "title": f"baseline report — {r['dataset']['name']}",
        "meta": [f"run {r['run_id']}", r["task"], f"{r['split']['rows'].get('test', '?'):,} test rows",
                 f"{r['split']['rows'].get('train', '?'):,} train rows",
                 f"target {r['dataset'].get('label_col')}: numbers" if regression
                 else f"{len(r['split']['labels'])} classes",
                 f"split {r['split']['hash'][:12]} ({r['split']['source']}, seed {r['split']['seed']})",
                 f"prices as of {r['prices']['effective_date']}"],
        "metric": metric, "metric_name": mname, "sections": tv.sections(r, SECTIONS) if tabular else SECTIONS,
        "lower_is_better": tv.lower_is_better(r, metric),
        "verdict": _verdict(r, by), "bars": _bars(r), "excluded": others, "answers": _answers(r),
        "not_run": [[n["name"], "yes" if n.get("available") else f"no: {n.get('reason', '')}", usd(n.get("total_usd")),
                     ", ".join(f"{k} {v:,.0f}" for k, v in (n.get("units") or {}).items()),
                     n.get("note", "") if n.get("paid", True) else f"free; {n.get('not_by_default', '')}"]
                    for n in r.get("not_run") or []],
        "leaderboard": {"headers": leaderboard_headers(r),
                        "rows": leaderboard_rows(r) if names else [],
                        "note": f"Headline metric {mname}"
                                + (" (lower is better, in the target's units)" if tv.lower_is_better(r, metric) else "")
                                + f"; {int(r['settings'].get('ci_level', 0.95) * 100)}% "
                                f"bootstrap CIs from {r['settings'].get('resamples')} resamples; each candidate is compared "
                                f"with the best ({r.get('best')}) on the same resampled rows. "
                                f"{tv.coverage_note() if regression else COVERAGE_NOTE}"},
        "cost": {"points": points, "pareto": analysis.get("pareto") or [], "floored": floored,
                 "better": "scores better" if tv.lower_is_better(r, metric) else "scores higher", "floor": "$" + f"{COST_FLOOR:.6f}".rstrip("0"),
                 "chosen": d.get("choice"), "max_cost": bar.get("max_cost_per_1k"),
                 "min_metric": bar.get("max_metric") if bar.get("lower_is_better") else bar.get("min_metric"),
                 "pricing": sorted({by[n]["cost"].get("pricing", "") for n in names} - {""})},
        "latency": _latency_section(_latency(r, names, by), bar.get("max_p95_ms")),
        "confusion": _confusion(r, top, by, analysis),
        "not_applicable": (r.get("task_info") or {}).get("not_applicable") or {},
        "label_sets": _label_sets(r),
        "per_class": _per_class(r, top, by),
        "disagreements": analysis.get("disagreements"),
        "coverage": {"rows": coverage_rows, "curves": {n: cov[n] for n in names if n in cov}, "target": target,
                     "unanswered": ("Shares are of the answered items; items the service never answered are left out, "
                                    "not counted as abstentions (unanswered: " + ", ".join(cov_unanswered) + ")")
                     if cov_unanswered else None,
                     "headers": ["candidate", f"automated at ≥{target:.0%} precision", "precision there",
                                 "score threshold", "precision at full coverage", "items with a score"]},
        "monthly": _monthly(analysis.get("monthly")),
        "learning": _learning(r),
        "business": business_view(r),
        "data_plan": data_plan_view(r),
        "profile": _profile(r["profile"], r),
        "columns": tv.columns_view(r),
        "target": tv.target_view(r, analysis),
        "residuals": tv.residuals_view(r, names, top, by, analysis),
        "calibration": tv.calibration_view(r, names, top, by) if tabular else None,
        "importance": tv.importance_view(r, names, by),
        "explain": _explain(r),
        "unfinished_resources": _unfinished_resources(r),
        "previous": _previous(r),
        "release": _release(r, by),
        "provenance": _provenance(r, by),
        "failed": r.get("failed") or [],
    }


def ensure_analysis(r: dict[str, Any], run_dir: str | Path | None) -> dict[str, Any]:
    """The run's analysis block; recomputed from predictions.csv for run folders written before it existed."""
    if r.get("analysis"):
        a = r["analysis"]
        if tv.is_regression(r) and "residuals" not in a and run_dir is not None:
            from baseline.analysis import load_predictions, residual_points

            df = load_predictions(run_dir)
            a = {**a, "residuals": residual_points(df, a.get("top") or []) if df is not None else None}
        return a
    from baseline.analysis import analyze_run
    from baseline.costs import PriceTable

    return analyze_run(r, run_dir or ".", PriceTable.default())
