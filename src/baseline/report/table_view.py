"""The report's sections for tables (tabular classification and regression), shared by report.md and report.html.

Columns (each column's kind, missing values, distinct values, an example, kept or dropped and why; the time-order
warning), Target (class balance, or the regression target's distribution), Residuals (regression: residual and
predicted-against-true plots of the top candidates, the residual summary), Calibration (classification with class
probabilities: reliability diagram, ROC-AUC / log loss / Brier with CIs) and the winner's permutation importance.
Plus the leaderboard's columns and the number formats of a regression run. Built from results.json alone.
"""

from __future__ import annotations

from typing import Any

from baseline.analysis import is_regression, lower_is_better
from baseline.decide import METRIC_NAMES, metric_name

TABULAR = ("tabular-classification", "tabular-regression")
REG_COLUMNS = ("rmse", "mae", "r2")          # leaderboard metrics of a regression run, headline first
MAX_IMPORTANCE_ROWS = 30
TIME_WARNING_KEY = "looks time-ordered"


def is_tabular(r: dict[str, Any]) -> bool:
    """A run on a table (its profile carries the columns' reading)."""
    return r.get("task") in TABULAR or bool((r.get("profile") or {}).get("tabular"))


def metric_label(r: dict[str, Any], metric: str) -> str:
    """A metric's display name: the shared names first (text runs read as before), then the task's own (RMSE, R²)."""
    if metric in METRIC_NAMES:
        return metric_name(metric)
    return ((r.get("task_info") or {}).get("metrics") or {}).get(metric) or {
        "rmse": "RMSE", "mae": "MAE", "r2": "R²", "mape": "MAPE", "median_ae": "median absolute error",
        "roc_auc": "ROC-AUC", "log_loss": "log loss", "brier": "Brier score"}.get(metric, metric)


def num(v: Any) -> str:
    """A figure in the target's units: thousands separated above 1,000, three decimals below."""
    if v is None:
        return "—"
    v = float(v)
    if v != v:  # NaN
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    return f"{v:.3f}"


def value_fmt(r: dict[str, Any]):
    """How the run's headline figures are written: target units for regression, three decimals otherwise."""
    return num if is_regression(r) else (lambda v: f"{v:.3f}")


def num_ci(v: Any, ci: Any) -> str:
    if v is None:
        return "—"
    return num(v) + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")


def _signed(v: float) -> str:
    s = num(abs(v))
    return ("−" if v < 0 and s.strip("0.,") else "+") + s


def metric_header(r: dict[str, Any], metric: str) -> str:
    """``RMSE [95% CI], lower is better``; ``R² [95% CI]``."""
    return f"{metric_label(r, metric)} [95% CI]" + (", lower is better" if lower_is_better(r, metric) else "")


# ---- leaderboard ----------------------------------------------------------------------------------------------

def regression_columns(r: dict[str, Any]) -> list[str]:
    metric = r["settings"]["metric"]
    return [metric] + [m for m in REG_COLUMNS if m != metric]


def regression_headers(r: dict[str, Any], coverage_header: str) -> list[str]:
    metric = r["settings"]["metric"]
    return (["candidate", "family"] + [metric_header(r, m) for m in regression_columns(r)]
            + [coverage_header, f"vs best: {metric_label(r, metric)} difference [95% CI]", "p50 ms", "p95 ms",
               "items/s", "cost / 1k", "one-off", "status"])


def regression_metric_cells(r: dict[str, Any], a: dict[str, Any]) -> list[str]:
    m = a["metrics"]
    return [num_ci(m.get(k), (m.get("ci") or {}).get(k)) for k in regression_columns(r)]


def regression_vs_best(cmp: dict[str, Any] | None) -> str:
    if cmp is None:
        return "best"
    lo, hi = cmp["ci"]
    return (f"{_signed(cmp['difference'])} [{_signed(lo)}, {_signed(hi)}]"
            + (" (CI holds 0)" if cmp.get("indistinguishable") else "") + f" on {cmp.get('n', '?'):,} rows")


# ---- columns --------------------------------------------------------------------------------------------------

def time_warning(r: dict[str, Any]) -> str | None:
    """The warning that a file looks time-ordered but was split at random, or None."""
    p = r.get("profile") or {}
    for n in p.get("notes") or []:
        if TIME_WARNING_KEY in n:
            return n
    tab = p.get("tabular") or {}
    col = tab.get("time_ordered_column")
    if col and not tab.get("time_col"):
        return (f"the file looks time-ordered ({col} rises down the rows) but was split at random: the test set shares "
                f"its period with train, which flatters every model; pass --time-col {col} to test on the future")
    return None


def columns_view(r: dict[str, Any]) -> dict[str, Any] | None:
    """Every column of the table as read: kind, missing, distinct, example, kept or dropped (why), note."""
    p = r.get("profile") or {}
    tab = p.get("tabular")
    if not tab:
        return None
    total = sum((p.get("rows") or {}).values()) or None
    cols = tab.get("columns") or []
    rows = []
    for c in cols:
        miss = int(c.get("missing") or 0)
        rows.append([c["name"], c["kind"], f"{miss:,}" + (f" ({miss / total:.1%})" if miss and total else ""),
                     f"{int(c.get('distinct') or 0):,}", str(c.get("example") or ""),
                     f"dropped: {c['dropped']}" if c.get("dropped") else "kept", c.get("note") or ""])
    feats = tab.get("features") or {}
    kinds: dict[str, int] = {}
    for k in feats.values():
        kinds[k] = kinds.get(k, 0) + 1
    dropped = [c for c in cols if c.get("dropped")]
    items = [f"{len(feats)} feature(s) kept" + (f" ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))})"
                                                 if kinds else "")
             + f"; {len(dropped)} column(s) dropped"
             + (": " + "; ".join(f"{c['name']} ({c['dropped']})" for c in dropped) if dropped else "")]
    target = tab.get("target") or (r.get("dataset") or {}).get("label_col")
    items.append(f"target: {target}" + (" (numbers: regression)" if is_regression(r) else
                                        f" ({len((tab.get('target_summary') or {}).get('classes') or {}) or p.get('classes', '?')} classes)"))
    if tab.get("time_col"):
        items.append(f"split in time order on {tab['time_col']}: train on the past, test on the future")
    mv = tab.get("missing_values") or {}
    if mv:
        items.append("missing values: " + ", ".join(
            f"{k} {v:,}" + (f" ({v / total:.1%})" if total else "") for k, v in sorted(mv.items(), key=lambda kv: -kv[1]))
            + "; the candidates impute them (or use trees that handle them), never drop the rows")
    else:
        items.append("no missing values")
    shown = {f"{c['name']}: {c['note']}" for c in cols if c.get("note")}
    warning = time_warning(r)
    for n in p.get("notes") or []:
        if n == warning or n in shown or n.startswith("dropped "):
            continue
        items.append(f"note: {n}")
    return {"headers": ["column", "kind", "missing", "distinct", "example", "kept or dropped", "note"], "rows": rows,
            "items": items, "warning": warning}


# ---- target ---------------------------------------------------------------------------------------------------

def target_view(r: dict[str, Any], analysis: dict[str, Any]) -> dict[str, Any] | None:
    """Class balance (classification) or the target's distribution (regression)."""
    p = r.get("profile") or {}
    tab = p.get("tabular")
    if not tab:
        return None
    ts = tab.get("target_summary") or {}
    target = tab.get("target") or (r.get("dataset") or {}).get("label_col") or "target"
    if is_regression(r):
        q = ts.get("quantiles") or {}
        rows = [[k, num(v)] for k, v in (("mean", ts.get("mean")), ("standard deviation", ts.get("std")))]
        rows += [[k, num(v)] for k, v in q.items()]
        rows.append(["zero values", f"{int(ts.get('zeros') or 0):,}"])
        items = []
        if ts.get("std") is not None:
            items.append(f"a constant answer (the mean) would score RMSE ≈ {num(ts['std'])}, the standard deviation: "
                         "the figure every candidate must beat")
        if ts.get("zeros"):
            items.append(f"{ts['zeros']:,} row(s) have a target of 0: MAPE is undefined there and skipped")
        res = (analysis or {}).get("residuals") or {}
        return {"kind": "regression", "target": target, "headers": ["statistic (train and test)", target],
                "rows": rows, "items": items, "histogram": res.get("histogram"), "summary": ts}
    classes = ts.get("classes") or {}
    counts = p.get("class_counts") or {}
    parts = [k for k in ("train", "validation", "test") if k in counts]
    total = sum(classes.values()) or 1
    rows = [[c] + [f"{int((counts.get(pt) or {}).get(c, 0)):,}" for pt in parts] + [f"{n:,}", f"{n / total:.1%}"]
            for c, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))]
    items = []
    if classes:
        order = sorted(classes, key=lambda c: (-classes[c], c))
        top, low = order[0], order[-1]
        if classes[top] == classes[low]:
            items.append(f"balanced: each of the {len(classes)} classes holds {classes[top] / total:.1%} of rows, the "
                         "accuracy of always answering one of them")
        else:
            items.append(f"majority class {top!r}: {classes[top] / total:.1%} of rows, the accuracy of always answering "
                         f"it; smallest class {low!r}: {classes[low] / total:.1%}")
    return {"kind": "classification", "target": target, "headers": ["class"] + parts + ["all rows", "share"],
            "rows": rows, "items": items, "classes": classes}


# ---- residuals (regression) -----------------------------------------------------------------------------------

def residuals_view(r: dict[str, Any], names: list[str], top: list[str], by: dict[str, Any],
                   analysis: dict[str, Any]) -> dict[str, Any] | None:
    """The residual summary of every scored candidate and, for the top ones, what the plots draw."""
    if not is_regression(r):
        return None
    rows, skipped, partial = [], None, []
    for n in names:
        m = by[n]["metrics"]
        s = m.get("residual_summary") or {}
        skipped = skipped or m.get("mape_skipped")
        if m.get("abstained"):
            partial.append(f"{n} answered {m.get('n', 0):,} of {m.get('rows', 0):,} rows ({m['abstained']:,} abstained: "
                           "left out of its error figures, not filled in)")
        rows.append([n, f"{m.get('n', 0):,} of {m.get('rows', 0):,}", num(s.get("mean")), num(s.get("min")),
                     num(s.get("p5")), num(s.get("median")), num(s.get("p95")), num(s.get("max")),
                     num(m.get("median_ae")),
                     "skipped" if m.get("mape") is None else f"{m['mape']:.1%}"])
    res = (analysis or {}).get("residuals") or {}
    target = ((r.get("profile") or {}).get("tabular") or {}).get("target") or (r.get("dataset") or {}).get("label_col")
    note = ("Residual = true − predicted, in the target's units: above 0 the candidate predicted too low, below 0 too "
            "high; a mean far from 0 is a bias, a residual that grows with the prediction a missed interaction or scale.")
    sample = None
    if res.get("sampled"):
        sample = (f"The plots show a seeded sample of {res['shown']:,} of the {res['rows']:,} test rows; the table "
                  "holds every row.")
    return {"headers": ["candidate", "rows answered", "mean (bias)", "min", "p5", "median", "p95", "max",
                        "median |error|", "MAPE"],
            "rows": rows, "note": note, "sample": sample, "partial": partial,
            "mape_skipped": f"MAPE skipped: {skipped}" if skipped else None,
            "plotted": [n for n in top if n in (res.get("predicted") or {})], "points": res or None,
            "target": target or "target"}


# ---- calibration (classification) -----------------------------------------------------------------------------

def calibration_view(r: dict[str, Any], names: list[str], top: list[str], by: dict[str, Any]) -> dict[str, Any] | None:
    """ROC-AUC, log loss and Brier with CIs per candidate with class probabilities; reliability bins of the top ones."""
    if r.get("task") != "tabular-classification" and not any((by[n].get("metrics") or {}).get("probabilities")
                                                              for n in names):
        return None
    rows, without, curves, notes = [], [], {}, []
    for n in names:
        pr = by[n]["metrics"].get("probabilities")
        if not pr or pr.get("scored", 0) == 0:
            without.append(n + (f" ({pr['reason']})" if pr and pr.get("reason") else ""))
            continue
        cal = pr.get("calibration") or {}
        rows.append([n, _prob_cell(pr, "roc_auc"), _prob_cell(pr, "log_loss"), _prob_cell(pr, "brier"), f3n(cal.get("ece")),
                     f"{pr['scored']:,} of {pr['rows']:,}"])
        if n in top and cal.get("bins"):
            curves[n] = cal
        if pr.get("roc_auc_reason"):
            notes.append(f"{n}: {pr['roc_auc_reason']}")
        if pr.get("renormalised"):
            notes.append(f"{n}: {pr['renormalised']:,} rows' probabilities did not sum to 1 and were renormalised")
    first = next((by[n]["metrics"]["probabilities"] for n in names if (by[n]["metrics"].get("probabilities") or {})
                  .get("scored")), None)
    if first:
        if first.get("kind") == "binary":
            notes.insert(0, f"ROC-AUC of class {first.get('positive_label')!r} against the other (binary)")
        else:
            notes.insert(0, "ROC-AUC: one-vs-rest, averaged over the classes present in the test set (macro)")
    if without:
        notes.append("no class probabilities: " + ", ".join(without))
    return {"headers": ["candidate", "ROC-AUC [95% CI]", "log loss [95% CI], lower is better",
                        "Brier [95% CI], lower is better", "ECE", "rows scored"],
            "rows": rows, "curves": curves, "notes": notes,
            "note": "Calibration: of the answers given with probability p, a share p should be right. Each point is a "
                    "bin of the top-class probability (marker area: rows); ECE is the row-weighted gap between "
                    "probability and accuracy. A well-ranked but badly calibrated model has a good ROC-AUC and a poor "
                    "log loss: fine for ranking, wrong for thresholds that assume honest probabilities."}


def _prob_cell(pr: dict[str, Any], k: str) -> str:
    v = pr.get(k)
    if v is None:
        return "—"
    c = (pr.get("ci") or {}).get(k)
    return f"{v:.3f}" + (f" [{c[0]:.3f}, {c[1]:.3f}]" if c else "")


def f3n(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}"


# ---- permutation importance ------------------------------------------------------------------------------------

def _has_importance(a: dict[str, Any]) -> bool:
    pi = (a.get("explain") or {}).get("permutation_importance")
    return bool(pi) and any(abs(f.get("mean") or 0.0) > 0 for f in pi)


def importance_view(r: dict[str, Any], names: list[str], by: dict[str, Any]) -> dict[str, Any] | None:
    """Permutation importance of the winner (the decision's choice, else the best), as a table and a chart.

    A winner without one (a managed service shows only its answers; a constant answer depends on no feature) says
    so, and the best-ranked candidate that has one is shown instead.
    """
    if not is_tabular(r):
        return None
    d = r.get("decision") or {}
    winner = d.get("choice") or r.get("best") or (names[0] if names else None)
    if winner is None:
        return None
    shown = winner if _has_importance(by.get(winner) or {}) else next((n for n in names if _has_importance(by[n])), None)
    note = None
    if shown != winner:
        e = (by.get(winner) or {}).get("explain") or {}
        why = ("a managed service: only its answers are visible" if (by.get(winner) or {}).get("family") == "cloud"
               else e.get("text") or "it reports no permutation importance")
        note = f"{winner} ({'the choice' if d.get('choice') == winner else 'the best'}) has no feature importance: {why}"
        if shown:
            note += f"; shown instead: {shown}, the best-ranked candidate with one"
    if shown is None:
        return {"winner": winner, "shown": None, "note": note, "rows": [], "headers": [], "text": "", "on": "",
                "features": [], "meaning": ""}
    e = by[shown]["explain"]
    feats = e["permutation_importance"]
    kinds = ((r.get("profile") or {}).get("tabular") or {}).get("features") or {}
    fmt = num if is_regression(r) and e.get("metric") in ("rmse", "mae") else (lambda v: f"{v:.4f}")
    rows = [[str(i + 1), f["feature"], kinds.get(f["feature"], ""), fmt(f["mean"]), fmt(f.get("std") or 0.0)]
            for i, f in enumerate(feats[:MAX_IMPORTANCE_ROWS])]
    meaning = (e.get("text") or "").removeprefix("permutation importance: ")
    extra = []
    if len(feats) > MAX_IMPORTANCE_ROWS:
        extra.append(f"{len(feats)} features: the {MAX_IMPORTANCE_ROWS} most important are listed; results.json holds "
                     "all of them")
    if any((f.get("mean") or 0) < 0 for f in feats):
        extra.append("a negative importance means shuffling the feature made the model better on those rows: noise to "
                     "this model")
    return {"winner": winner, "shown": shown, "note": note, "features": feats, "meaning": meaning or "importance",
            "text": e.get("text") or "", "on": e.get("on") or "", "repeats": e.get("repeats"),
            "headers": ["rank", "feature", "kind", "mean", "sd over repeats"], "rows": rows, "extra": extra}


def top_features(a: dict[str, Any], k: int = 5) -> list[str]:
    """A tabular candidate's most important features for the explainability list: ``hr 45.2``."""
    if not _has_importance(a):
        return []
    return [f"{f['feature']} {f['mean']:.3g}" for f in a["explain"]["permutation_importance"][:k]]


# ---- profile of a table -----------------------------------------------------------------------------------------

def table_profile_items(p: dict[str, Any], regression: bool) -> list[str]:
    """The data profile's lines for a table: rows, class balance (classification), duplicate and leaked rows."""
    items = [f"rows: {', '.join(f'{k} {v:,}' for k, v in p['rows'].items())}"
             + ("" if regression else f"; {p['classes']} classes") + f"; split: {p.get('split_source', '')}"]
    if not regression:
        items.append(f"class balance: majority share {p['majority_share']:.1%}, minority share {p['minority_share']:.1%}")
    items.append(f"rows whose features repeat another row's exactly: {p['exact_duplicate_rows']}")
    leaked = p.get("test_texts_in_train_exact")
    items.append(f"{p.get('leakage_note') or 'test rows whose features equal a train row' + chr(39) + 's exactly'} "
                 f"(leakage): {p['test_texts_in_train'] if leaked is None else leaked}")
    if not regression:
        items.append(f"rows whose features carry conflicting labels: {p['conflicting_label_texts']}")
        if p.get("labels_test_not_train"):
            lt = p["labels_test_not_train"]
            items.append(f"labels in test but never in train ({len(lt)}): {', '.join(lt[:20])}"
                         " — no candidate that learns from train can predict them")
    items.append("columns, kinds and dropped columns: see Columns; the target: see Target")
    return items


def coverage_note() -> str:
    """The leaderboard's coverage note for numbers."""
    return ("Coverage is the share of test rows a candidate answered with a finite number; the rest are abstentions, "
            "left out of its error figures (never filled in), and it is compared with others on the rows both answered.")


def sections(r: dict[str, Any], base: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The table of contents: a table's sections added to the shared ones."""
    out = []
    reg = is_regression(r)
    for sid, name in base:
        if sid == "confusion":
            out.append(("residuals", "Residuals") if reg else ("calibration", "Calibration"))
        if sid == "profile":
            out += [("columns", "Columns"), ("target", "Target")]
        out.append((sid, name))
    return out
