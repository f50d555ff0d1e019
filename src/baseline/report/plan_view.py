"""The business-case and data-plan parts of the report view (shared by report.md and report.html)."""

from __future__ import annotations

from typing import Any

from baseline.business import FLAGS, REGRESSION_FLAGS, fmt_months
from baseline.decide import metric_name

BUSINESS_HEADERS = ["candidate", "valued by", "automated share [95% CI]", "precision of automated [95% CI]",
                    "errors / month", "monthly saving [95% CI]", "one-off", "break-even months [95% CI]"]
WEAK_MODEL = 0.8   # out-of-fold accuracy below which the flagged share is called an upper bound
# the label check's measured quality on copies with 5% of train labels flipped (bench/bench_label_issues.py)
# (means of three seeds: bench/results/label_issues_nb.json)
DETECTOR_NOTE = ("measured on copies with 5% of train labels flipped on purpose: sst2 precision 0.19 / recall 0.70 "
                 "(logistic regression), banking77 precision 0.50 / recall 0.78 (naive Bayes) "
                 "(bench/bench_label_issues.py); the detector is only as good as the cheap model behind it, so read "
                 "the flags as rows to review, not as proven errors")


def _usd(v: float | None) -> str:
    if v is None:
        return "—"
    sign = "−" if v < 0 else ""
    v = abs(v)
    if v >= 100:
        return f"{sign}${v:,.0f}"
    if v >= 0.005:
        return f"{sign}${v:,.2f}"
    return "≈ $0"


def _pct_ci(v: float | None, ci: Any) -> str:
    if v is None:
        return "—"
    return f"{v:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")


def _months_ci(ci: Any) -> str:
    if not ci:
        return ""
    lo, hi = ci
    return f" [{fmt_months(lo)}, {fmt_months(hi)}]"


def _usd_ci(v: float | None, ci: Any) -> str:
    return _usd(v) + (f" [{_usd(ci[0])}, {_usd(ci[1])}]" if ci else "")


def _num(v: float | None) -> str:
    from baseline.report.table_view import num

    return num(v)


def regression_business_view(r: dict[str, Any]) -> dict[str, Any]:
    """A regression run's business case: the monthly cost of its errors in the user's units, and with a manual cost
    the saving against doing it by hand and the months to break even."""
    b = r.get("business") or {}
    target = b.get("target") or (r.get("dataset") or {}).get("label_col") or "the target"
    if not b or b.get("missing"):
        missing = b.get("missing") or list(REGRESSION_FLAGS.values())
        have = [f"{k.replace('_', ' ')} {v:g}" for k, v in (b.get("inputs") or {}).items() if v is not None]
        return {"show": False, "rows": [], "headers": [], "assumptions": [], "summary": "", "notes": [],
                "text": f"Give {', '.join(missing)} (and optionally --manual-cost-per-item) for a business case: "
                        f"--error-cost is the cost in USD of one unit of absolute error in {target}; the report then "
                        "gives the monthly cost of each candidate's errors (predictions a month × MAE × error cost, with "
                        "MAE's interval), its running cost and, with a manual cost per item, the saving against doing it "
                        "by hand and the months to break even." + (f" Given so far: {', '.join(have)}." if have else "")}
    inputs = b["inputs"]
    manual = inputs.get("manual_cost_per_item") is not None
    headers = ["candidate", f"MAE [95% CI] ({target})", "error cost / month [95% CI]", "running / month",
               "total / month [95% CI]", "one-off"]
    if manual:
        headers += ["saving vs by hand / month [95% CI]", "break-even months [95% CI]"]
    rows = []
    for x in b["rows"]:
        row = [x["name"], f"{_num(x['mae'])} [{_num(x['mae_ci'][0])}, {_num(x['mae_ci'][1])}]",
               _usd_ci(x["error_cost_usd"], x["error_cost_ci"]), _usd(x["running_usd"]),
               _usd_ci(x["monthly_cost_usd"], x["monthly_cost_ci"]), _usd(x["one_off_usd"])]
        if manual:
            row += [_usd_ci(x["monthly_saving_usd"], x["monthly_saving_ci"]),
                    fmt_months(x["break_even_months"]) + _months_ci(x["break_even_ci"])]
        rows.append(row)
    focus = focus_row(r)
    summary = ""
    if focus:
        lo, hi = focus["mae_ci"]
        summary = (f"At {inputs['monthly_volume']:,} predictions a month, {focus['name']} is off by "
                   f"{_num(focus['mae'])} {target} on average (MAE, 95% CI {_num(lo)}–{_num(hi)}): at "
                   f"${inputs['error_cost']:,.4g} per unit of absolute error its errors cost "
                   f"{_usd(focus['error_cost_usd'])} a month (95% CI {_usd(focus['error_cost_ci'][0])} to "
                   f"{_usd(focus['error_cost_ci'][1])}), plus {_usd(focus['running_usd'])} running")
        if manual:
            be = focus["break_even_months"]
            summary += (f"; doing them by hand at ${inputs['manual_cost_per_item']:,.4g} each costs "
                        f"{_usd(focus['manual_usd'])} a month, so it saves {_usd(focus['monthly_saving_usd'])} a month "
                        f"(95% CI {_usd(focus['monthly_saving_ci'][0])} to {_usd(focus['monthly_saving_ci'][1])}) and "
                        f"its one-off cost of {_usd(focus['one_off_usd'])} is paid back "
                        + ("never" if be is None else "at once" if be == 0 else f"in {fmt_months(be)} months")
                        + ("" if focus["pays_back_surely"] else " (the interval reaches a loss: it may never pay back)"))
        if b.get("best_value") and b["best_value"] != focus["name"]:
            bv = next(x for x in b["rows"] if x["name"] == b["best_value"])
            summary += (f". The highest saving is that of {bv['name']}: {_usd_ci(bv['monthly_saving_usd'], bv['monthly_saving_ci'])} a month"
                        if manual else
                        f". The lowest monthly cost is that of {bv['name']}: {_usd_ci(bv['monthly_cost_usd'], bv['monthly_cost_ci'])}")
    notes = [f"{x['name']}: {n}" for x in b["rows"] for n in x.get("notes") or []]
    return {"show": True, "text": "", "rows": rows, "headers": headers, "summary": summary,
            "assumptions": b.get("assumptions") or [], "notes": notes, "focus": focus["name"] if focus else None}


def business_view(r: dict[str, Any]) -> dict[str, Any]:
    """The business-case section, or the flags that would produce it."""
    b = r.get("business")
    if (b or {}).get("kind") == "regression" or r.get("task") == "tabular-regression":
        return regression_business_view(r)
    if not b:
        return {"show": False, "text": f"Give {', '.join(FLAGS.values())} (and optionally --precision-target) for a "
                                       "business case: the share of items each candidate can decide on its own, the "
                                       "monthly saving and the months to break even, each with an interval.",
                "rows": [], "headers": BUSINESS_HEADERS, "assumptions": [], "summary": ""}
    if b.get("missing"):
        have = [f"{k.replace('_', ' ')} {v:g}" for k, v in (b.get("inputs") or {}).items() if v is not None]
        return {"show": False, "rows": [], "headers": BUSINESS_HEADERS, "assumptions": [], "summary": "",
                "text": f"Give {', '.join(b['missing'])} (and optionally --precision-target) for a business case: the "
                        "share of items each candidate can decide on its own at that precision, the monthly saving "
                        "(manual work avoided − errors × error cost − running cost) and the months to break even, "
                        "each with a bootstrap interval." + (f" Given so far: {', '.join(have)}." if have else "")}
    rows = []
    for x in b["rows"]:
        rows.append([x["name"], x["valued_by"], _pct_ci(x["automated_share"], x["automated_share_ci"]),
                     _pct_ci(x["precision_automated"], x["precision_automated_ci"]),
                     f"{x['errors_per_month']:,.0f}",
                     f"{_usd(x['monthly_saving_usd'])} [{_usd(x['monthly_saving_ci'][0])}, {_usd(x['monthly_saving_ci'][1])}]",
                     _usd(x["one_off_usd"]), fmt_months(x["break_even_months"]) + _months_ci(x["break_even_ci"])])
    focus = focus_row(r)
    summary = ""
    inputs = b["inputs"]
    if focus:
        t = inputs.get("precision_target")
        at = f"at ≥{t:.0%} precision" if t is not None else "at the threshold that saves most"
        summary = (f"At {inputs['monthly_volume']:,} items a month, {focus['name']} decides "
                   f"{focus['automated_share']:.0%} of them on its own {at} "
                   f"({focus['automated_items_per_month']:,.0f} items, about {focus['errors_per_month']:,.0f} of them "
                   f"wrong) and saves {_usd(focus['monthly_saving_usd'])} a month "
                   f"(95% CI {_usd(focus['monthly_saving_ci'][0])} to {_usd(focus['monthly_saving_ci'][1])}) after errors "
                   f"and running cost; its one-off cost of {_usd(focus['one_off_usd'])} is paid back "
                   + ("never" if focus["break_even_months"] is None else
                      "at once" if focus["break_even_months"] == 0 else
                      f"in {fmt_months(focus['break_even_months'])} months")
                   + ("" if focus["pays_back_surely"] else " (the interval reaches a loss: it may never pay back)"))
        if b.get("best_value") and b["best_value"] != focus["name"]:
            bv = next(x for x in b["rows"] if x["name"] == b["best_value"])
            summary += (f". The highest saving is that of {bv['name']}: {_usd(bv['monthly_saving_usd'])} a month "
                        f"[{_usd(bv['monthly_saving_ci'][0])}, {_usd(bv['monthly_saving_ci'][1])}]")
    notes = [f"{x['name']}: {n}" for x in b["rows"] for n in x.get("notes") or []]
    return {"show": True, "text": "", "rows": rows, "headers": BUSINESS_HEADERS, "summary": summary,
            "assumptions": b.get("assumptions") or [], "notes": notes, "focus": focus["name"] if focus else None}


def focus_row(r: dict[str, Any]) -> dict[str, Any] | None:
    """The business-case row of the verdict's candidate (choice, else nearest miss, else best value)."""
    b = r.get("business") or {}
    rows = {x["name"]: x for x in b.get("rows") or []}
    d = r.get("decision") or {}
    for n in (d.get("choice"), d.get("nearest_miss"), b.get("best_value")):
        if n in rows:
            return rows[n]
    return None


def verdict_tiles(r: dict[str, Any]) -> list[dict[str, str]]:
    """Monthly value and break-even of the verdict's candidate, for the verdict card."""
    x = focus_row(r)
    if x is None:
        return []
    if x.get("kind") == "regression":
        tiles = [{"label": "errors / month", "value": _usd(x["error_cost_usd"]),
                  "sub": f"95% CI {_usd(x['error_cost_ci'][0])} to {_usd(x['error_cost_ci'][1])}; MAE × error cost"}]
        if x.get("monthly_saving_usd") is None:
            return tiles
        lo, hi = x["monthly_saving_ci"]
        return tiles + [
            {"label": "saving vs by hand", "value": _usd(x["monthly_saving_usd"]), "sub": f"95% CI {_usd(lo)} to {_usd(hi)}"},
            {"label": "break-even", "value": fmt_months(x["break_even_months"])
             + ("" if x["break_even_months"] in (None, 0.0) else " months"), "sub": f"one-off {_usd(x['one_off_usd'])}"}]
    lo, hi = x["monthly_saving_ci"]
    return [{"label": "monthly value", "value": _usd(x["monthly_saving_usd"]),
             "sub": f"95% CI {_usd(lo)} to {_usd(hi)}; automates {x['automated_share']:.0%}"},
            {"label": "break-even", "value": fmt_months(x["break_even_months"])
             + ("" if x["break_even_months"] in (None, 0.0) else " months"),
             "sub": f"one-off {_usd(x['one_off_usd'])}" + (f"; 95% CI{_months_ci(x['break_even_ci'])}"
                                                           if x["break_even_months"] not in (None, 0.0) else "")}]


def data_plan_view(r: dict[str, Any]) -> dict[str, Any] | None:
    """Label quality, near-duplicate leakage and the enough-data advice, as sentences and small tables."""
    plan = r.get("data_plan")
    if not plan:
        return None
    metric = r["settings"]["metric"]
    lq, lk = plan.get("label_quality") or {}, plan.get("leakage") or {}
    out: dict[str, Any] = {"labels": [], "label_examples": None, "leak": [], "leak_examples": None,
                           "without": None, "enough": (plan.get("enough_data") or {}).get("text")}
    if lq.get("status") == "ok":
        lo, hi = lq["share_ci"]
        out["labels"].append(f"{lq['flagged']:,} of {lq['rows_checked']:,} train rows ({lq['share']:.1%}, 95% CI "
                             f"{lo:.1%}–{hi:.1%}) look mislabeled to cleanlab; all of them, ranked, are in "
                             f"{lq['file'] or 'label_issues.csv'} with given and suggested labels ({lq['seconds']:.1f} s)")
        if lq["classes"]:
            out["labels"].append("classes most affected: " + ", ".join(
                f"{c['label']} {c['flagged']:,} of {c['rows']:,} ({c['share']:.0%})" for c in lq["classes"][:5]))
        if lq["pairs"]:
            out["labels"].append("most frequent given → suggested: " + ", ".join(
                f"{p['given']} → {p['suggested']} ({p['count']})" for p in lq["pairs"][:5]))
        out["labels"].append(f"method: {lq['method']}"
                             + (f" (a seeded stratified sample of {lq['rows_checked']:,} of the {lq['sampled_from']:,} "
                                "train rows)" if lq.get("sampled_from") else "")
                             + f"; the cheap model's out-of-fold accuracy is {lq['oof_accuracy']:.3f}"
                             + (f"; classes with fewer than 2 train rows not checked: {', '.join(lq['classes_skipped'])}"
                                if lq.get("classes_skipped") else ""))
        if lq.get("oof_majority") is not None and lq["oof_accuracy"] <= lq["oof_majority"]:
            out["labels"].append(f"the cheap model does no better out of fold ({lq['oof_accuracy']:.3f}) than always "
                                 f"answering the commonest class ({lq['oof_majority']:.3f}): it reads nothing in these "
                                 f"texts, so the check cannot tell wrong labels from the rest, and its "
                                 f"{lq['flagged']:,} flags say nothing either way")
        elif lq["oof_accuracy"] < WEAK_MODEL:
            out["labels"].append(f"the cheap model is weak on this data (out-of-fold accuracy {lq['oof_accuracy']:.3f}): "
                                 "many flags are rows it cannot read rather than wrong labels, so the share is an upper "
                                 "bound")
        out["labels"].append(DETECTOR_NOTE)
        if lq["examples"]:
            out["label_examples"] = {"headers": ["text", "given", "suggested", "label quality"],
                                     "rows": [[e["text"], e["given"], e["suggested"], f"{e['quality']:.3f}"]
                                              for e in lq["examples"]]}
    else:
        out["labels"].append(f"label check {lq.get('status', 'not run')}: {lq.get('reason', 'no data plan in this run')}")
    if lk.get("status") == "ok":
        twins = (f"; {lk['same_label_share']:.0%} of the leaked rows carry the same label as their train twin"
                 if lk.get("same_label_share") is not None else "")
        if lk.get("sampled_rows"):   # near-duplicates looked for in a sample of the test rows: their share estimated
            lo, hi = lk["near_share_ci"]
            out["leak"].append(f"an estimated {lk['share']:.1%} of the {lk['test_rows']:,} test rows leak from train: "
                               f"{lk['normalised']:,} exact or after lower-casing and spacing (every row checked), and "
                               f"{lk['near']:,} of {lk['sampled_rows']:,} sampled rows are near-duplicates beyond those "
                               f"({lk['near_share']:.1%}, 95% CI {lo:.1%}–{hi:.1%}; {lk['method']})" + twins)
        else:
            out["leak"].append(f"{lk['leaked']:,} of {lk['test_rows']:,} test rows ({lk['share']:.1%}) leak from train: "
                               f"{lk['normalised']:,} exact or after lower-casing and spacing, {lk['near']:,} more are "
                               f"near-duplicates ({lk['method']})" + twins)
        if lk["examples"]:
            out["leak_examples"] = {"headers": ["test text", "nearest train text", "similarity", "labels (test / train)"],
                                    "rows": [[e["test"], e["train"], f"{e['similarity']:.3f}",
                                              f"{e['test_label']} / {e['train_label']}"] for e in lk["examples"]]}
        if lk.get("without_leaked"):
            out["leak"].append(f"the share is material (≥ {lk['material_share']:.0%}): {metric_name(metric)} recomputed on the "
                               f"{lk['without_leaked'][0]['rows']:,} {'sampled ' if lk.get('sampled_rows') else ''}"
                               "test rows that do not leak")
            out["without"] = {"headers": ["candidate", f"{metric_name(metric)}, all test rows", "without leaked rows", "change"],
                              "rows": [[w["name"], f"{w['all_rows']:.3f}", f"{w['without_leaked']:.3f}",
                                        f"{w['change']:+.3f}"] for w in lk["without_leaked"]]}
        elif lk["leaked"]:
            out["leak"].append(f"below the {lk['material_share']:.0%} that would make it material: the headline stands")
    else:
        out["leak"].append(f"near-duplicate check {lk.get('status', 'not run')}: {lk.get('reason', '')}")
    na = ((r.get("task_info") or {}).get("not_applicable") or {}).get("near_duplicates")
    if na:  # rows of a table are not texts: a near-duplicate scan of their serialised form means nothing
        prof = r.get("profile") or {}
        exact = prof.get("test_texts_in_train_exact", prof.get("test_texts_in_train"))
        out["leak"] = [f"near-duplicate check not run: {na}"]
        if exact is not None:
            out["leak"].append(f"{prof.get('leakage_note') or 'test rows also in train'}: {exact:,} of "
                               f"{(prof.get('rows') or {}).get('test', 0):,}")
        out["leak_examples"] = out["without"] = None
    return out
