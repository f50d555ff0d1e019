"""report.md: the same content as the HTML report, for wikis and pull requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baseline.report.view import build_view, leaderboard_rows, plot_file, said_nothing

__all__ = ["leaderboard_rows", "render_markdown", "table"]


def _cell(c: Any) -> str:
    return str(c).replace("|", "\\|").replace("\n", " ")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _img(lines: list[str], run_dir: Path | None, key: str, alt: str) -> None:
    name = plot_file(key)
    if run_dir is not None and (run_dir / "plots" / name).exists():
        lines += [f"![{alt}](plots/{name})", ""]


def render_markdown(r: dict[str, Any], run_dir: str | Path | None = None, analysis: dict[str, Any] | None = None) -> str:
    """The whole report as Markdown; plots are linked from ``plots/`` when the run folder holds them."""
    v = build_view(r, analysis)
    rd = Path(run_dir) if run_dir is not None else None
    vd, bars = v["verdict"], v["bars"]
    L: list[str] = [f"# {v['title']}", "", " · ".join(v["meta"]), ""]

    # -- verdict and bars
    L += ["## Verdict", "", f"**{vd['verdict']}**" + (f": `{vd['choice']}`" if vd.get("choice") else ""), "",
          vd["reason"] + ".", ""]
    if vd.get("since"):
        L += [f"{vd['since']}.", ""]
    for w in vd["warnings"]:
        L += [f"> ⚠ {w}.", ""]
    if vd["tiles"]:
        L += [f"{vd['focus_role'].capitalize()} `{vd['focus']}`: "
              + "; ".join(f"{t['label']} **{t['value']}** ({t['sub']})" for t in vd["tiles"]), ""]
    if bars["rows"]:
        hdr = ["candidate", "rank", f"{bars['metric']} [95% CI]"] + bars["headers"] + ["passes", "vs best passing", "role"]
        rows = [[b["name"], str(b["rank"]), b["metric"]]
                + [("✅ " if c["pass"] else "❌ ") + c["text"] for c in b["cells"]]
                + ["yes" if b["passes"] else "no", b["vs"], b["role"]] for b in bars["rows"]]
        L += [table(hdr, rows), ""]
    if vd.get("labels_advice"):
        L += [f"Enough data? {vd['labels_advice'][:1].upper()}{vd['labels_advice'][1:]}.", ""]
    if vd["rule"]:
        L += [f"How the verdict is chosen: {vd['rule']} Simplicity rank (lower is simpler): trivial floor 0, prebuilt API 10, pretrained model "
              "20, managed custom model 30, linear model trained here 40, trained probe 50, AutoML 60.", ""]

    # -- business case
    bz = v["business"]
    L += ["## Business case", ""]
    if bz["show"]:
        if bz["summary"]:
            L += [bz["summary"] + ".", ""]
        L += [table(bz["headers"], bz["rows"]), ""]
        L += ["Assumptions:", ""] + [f"- {a}" for a in bz["assumptions"]] + [f"- {n}" for n in bz["notes"]] + [""]
    else:
        L += [bz["text"], ""]

    # -- leaderboard
    lb = v["leaderboard"]
    L += ["## Leaderboard", "", lb["note"], ""]
    if lb["rows"]:
        L += [table(lb["headers"], lb["rows"]), ""]
    if v["excluded"]:
        L += ["Not scored:", ""]
        L += [f"- `{a['name']}` ({a['family']}): **{a['status']}** — {a['reason']}" for a in v["excluded"]] + [""]
    if v["not_run"]:
        L += ["Candidates not run — paid, or too slow on a CPU to run by default (name them in `--adapters` to run them):", "",
              table(["candidate", "available", "estimate", "billed units", "note"], v["not_run"]), ""]

    # -- unanswered items and spend
    ans = v["answers"]
    if ans["unanswered"]:
        L += ["## Unanswered items", "",
              "Items the service gave no valid answer for (after retries), or that were not sent. They are item "
              "errors, not abstentions: scored as wrong, never cached; a rerun, or `--resume` of this run folder, asks "
              "only these again.", "", table(ans["unanswered_headers"], ans["unanswered"]), ""]
    if ans["spend"]:
        L += ["## Spend: billed and possibly billed", "", table(ans["spend_headers"], ans["spend"]), ""]
        L += [f"{t}." for t in ans["total"]]
        L += [f"Billed (confirmed) counts requests whose answer came back; possibly billed adds every attempt that may "
              f"have reached the service without an answer (dropped connection, read timeout, server error, unusable "
              f"answer), at what it would bill, so it is never below the provider's bill. {ans['note'][:1].upper()}"
              f"{ans['note'][1:]}." if ans["note"] else "", ""]

    # -- cost chart
    c = v["cost"]
    L += ["## Metric against cost", ""]
    _img(L, rd, "cost", "metric against cost per 1k")
    L += [f"Pareto front (no cheaper candidate {c['better']}): {', '.join(c['pareto']) or '—'}."]
    if c["floored"]:
        L += [f"On the chart's log axis, costs below {c['floor']} per 1k ({', '.join(c['floored'])}) are drawn at "
              f"{c['floor']}; the tables hold their measured values."]
    L += [f"Pricing: {'; '.join(c['pricing'])}." if c["pricing"] else "", ""]

    # -- latency
    lat = v["latency"]
    L += ["## Latency", ""]
    _img(L, rd, "latency", "latency per item")
    if lat.get("warning"):
        L += [f"> ⚠ {lat['warning']}.", ""]
    if lat["rows"]:
        L += [table(lat["headers"], [x["cells"] for x in lat["rows"]]), ""]
        L += ["Warm-up excluded. Free candidates are timed with single-item requests; paid ones by the latency of the "
              "batched request that carried each item (network included, retries and throttles counted).", ""]

    # -- residuals (regression) / calibration (classification on a table)
    rs = v.get("residuals")
    if rs:
        L += ["## Residuals", "", rs["note"], ""]
        _img(L, rd, "residuals", "residual against predicted value")
        _img(L, rd, "predicted-vs-true", "predicted against true value")
        if rs["sample"]:
            L += [rs["sample"], ""]
        if rs["rows"]:
            L += ["Residual summary (true − predicted):", "", table(rs["headers"], rs["rows"]), ""]
        L += [f"{x}." for x in rs["partial"]] + ([f"{rs['mape_skipped']}."] if rs["mape_skipped"] else [])
        L += [""] if rs["partial"] or rs["mape_skipped"] else []
    cb = v.get("calibration")
    if cb:
        L += ["## Calibration", ""]
        if cb["rows"]:
            _img(L, rd, "calibration", "reliability diagram")
            L += [table(cb["headers"], cb["rows"]), "", cb["note"], ""] + [f"- {n}" for n in cb["notes"]]
            L += [""] if cb["notes"] else []
        else:
            L += ["No candidate gave class probabilities." + "".join(f" {n}." for n in cb["notes"]), ""]

    # -- confusion
    L += ["## Confusion", ""]
    if v["not_applicable"].get("confusion"):
        L += [v["not_applicable"]["confusion"] + ".", ""]
    ls = v.get("label_sets")
    if ls:
        pred = ", ".join(f"{n} {c:.2f}" for n, c in ls["predicted_cardinality"].items())
        L += [f"Labels per row: {ls['cardinality'].get('test', 0):.2f} in test ({ls['empty_rows'].get('test', 0)} test "
              f"rows with no label), {ls['distinct']} distinct label sets."
              + (f" Predicted labels per row: {pred}." if pred else "")
              + (f" Too rare to learn ({ls['rare_rule']}): {', '.join(ls['rare'])}." if ls["rare"] else ""), ""]
        if ls["pairs"]:
            L += ["Most frequent label pairs (co-occurrence):", "",
                  table(["label", "label", "rows with both", "Jaccard"], ls["pairs"]), ""]
    for cm in v["confusion"]:
        L += [f"### {cm['name']}", ""]
        if cm["kind"] == "matrix":
            _img(L, rd, f"confusion-{cm['name']}", f"confusion matrix of {cm['name']}")
            conf = cm["confusion"]
            L += [table(["true \\ predicted"] + conf["columns"],
                        [[lab] + [str(x) for x in row] for lab, row in zip(conf["labels"], conf["matrix"], strict=True)]), ""]
        else:
            L += ["Most-confused pairs (true → predicted):", "",
                  table(["true", "predicted", "count", "share of true class"], cm["pairs"]), ""]

    # -- per class
    pc = v["per_class"]
    L += ["## Per class", "", pc["note"], ""]
    if pc["rows"]:
        L += [table(pc["headers"], pc["rows"]), ""]

    # -- disagreements
    dis = v["disagreements"]
    L += ["## Where candidates disagree", ""]
    if v["not_applicable"].get("disagreements"):
        L += [v["not_applicable"]["disagreements"] + ".", ""]
    elif dis:
        a, b = dis["a"], dis["b"]
        L += [f"`{a}` and `{b}` give the same answer on {dis['agree']} of {dis['n']} test rows. Both right "
              f"{dis['both_right']}, only {a} right {dis['only_a_right']}, only {b} right {dis['only_b_right']}, "
              f"both wrong {dis['both_wrong']} ({dis['both_wrong_same_answer']} with the same wrong answer).", ""]
        for key, who, other in (("a_right_b_wrong", a, b), ("b_right_a_wrong", b, a)):
            ex = dis[key]
            L += [f"{who} right, {other} wrong:", ""]
            if ex:
                L += [table(["text", "label", f"{other} said", "its score"],
                            [[e["text"], e["label"], str(e[other] or said_nothing(e, other)),
                              f"{e['wrong_score']:.2f}" if e.get("wrong_score") is not None else "—"] for e in ex]), ""]
            else:
                L += ["none", ""]
    else:
        L += ["Needs two scored candidates and predictions.csv.", ""]

    # -- coverage vs precision
    cv = v["coverage"]
    L += ["## Coverage against precision", ""]
    if v["not_applicable"].get("coverage_precision"):
        L += [v["not_applicable"]["coverage_precision"] + ".", ""]
    elif cv["rows"]:
        _img(L, rd, "coverage", "coverage against precision")
        L += [f"Answer the most confident items automatically and route the rest to people: the share that can be "
              f"automated while the automated answers stay at ≥{cv['target']:.0%} precision. The threshold is read off "
              "this test set, so the figure is optimistic; confirm it on fresh data.", "",
              table(cv["headers"], cv["rows"]), ""]
        if cv.get("unanswered"):
            L += [cv["unanswered"] + ".", ""]
    else:
        L += ["No candidate gives scores.", ""]

    # -- monthly
    mo = v["monthly"]
    L += ["## Monthly cost", ""]
    if mo:
        L += [f"At {mo['volume']:,} predictions per month. Local candidates are priced by the compute seconds measured "
              "here; an always-on instance of the priced type costs the last column whatever the volume.", "",
              table(mo["headers"], mo["rows"]), ""]
    else:
        L += ["Give `--monthly-volume` (or `monthly_volume` under `[bar]` in baseline.toml) for a projection.", ""]

    # -- learning curve
    lc = v["learning"]
    if lc:
        L += ["## Learning curve", ""]
        _img(L, rd, "learning-curve", "learning curve")
        L += [table(lc["headers"], lc["rows"]), ""]
        L += [f"- {t}" for t in lc["trends"]]
        if lc["advice"]:
            L += [f"- verdict advice: {lc['advice']}"]
        L += [f"- not refitted: {s}" for s in lc["skipped"]] + [""]

    # -- data plan
    dp = v["data_plan"]
    if dp:
        L += ["## Data plan", "", "### Label quality", ""] + [f"- {t}" for t in dp["labels"]] + [""]
        if dp["label_examples"]:
            L += ["Top suspected rows:", "", table(dp["label_examples"]["headers"], dp["label_examples"]["rows"]), ""]
        L += ["### Leakage and near-duplicates", ""] + [f"- {t}" for t in dp["leak"]] + [""]
        if dp["leak_examples"]:
            L += [table(dp["leak_examples"]["headers"], dp["leak_examples"]["rows"]), ""]
        if dp["without"]:
            L += [table(dp["without"]["headers"], dp["without"]["rows"]), ""]
        if dp["enough"]:
            L += ["### Enough data?", "", dp["enough"][:1].upper() + dp["enough"][1:] + ".", ""]

    # -- columns and target (tables)
    co = v.get("columns")
    if co:
        L += ["## Columns", ""]
        if co["warning"]:
            L += [f"> ⚠ {co['warning']}.", ""]
        L += [f"- {i}" for i in co["items"]] + ["", table(co["headers"], co["rows"]), ""]
    tg = v.get("target")
    if tg:
        L += ["## Target", ""]
        _img(L, rd, "target", "class balance" if tg["kind"] == "classification" else f"distribution of {tg['target']}")
        L += [f"- {i}" for i in tg["items"]] + ([""] if tg["items"] else []) + [table(tg["headers"], tg["rows"]), ""]

    # -- profile
    p = v["profile"]
    L += ["## Data profile", ""] + [f"- {i}" for i in p["items"]] + [""]
    if p["table"]:
        L += [table(p["table"]["headers"], p["table"]["rows"]), ""]

    # -- explainability
    L += ["## Explainability", ""]
    im = v.get("importance")
    if im:
        L += ["### Permutation importance" + (f" of {im['shown']}" if im["shown"] else ""), ""]
        if im["note"]:
            L += [f"{im['note']}.", ""]
        if im["shown"]:
            L += [f"{im['text'][:1].upper()}{im['text'][1:]}; measured on {im['on']}"
                  + (f", {im['repeats']} shuffles per feature" if im.get("repeats") else "") + ".", ""]
            _img(L, rd, "importance", f"permutation importance of {im['shown']}")
            L += [table(im["headers"], im["rows"]), ""] + [f"{x}." for x in im["extra"]] + ([""] if im["extra"] else [])
        L += ["### Every candidate", ""]
    for e in v["explain"]:
        L += [f"- `{e['name']}` ({e['family']}): {e['text']}" + (f"; fit: {e['fit']}" if e["fit"] else "")]
        for cls, feats in e["features"].items():
            L += [f"  - {cls}: {', '.join(feats)}"]
        L += [f"  - note: {n}" for n in e["notes"]]
        L += [f"  - resource: {x}" for x in e["resources"]]
    for u in v.get("unfinished_resources") or []:
        L += [f"- `{u['name']}` ({u['status']}): billable resources it created"]
        L += [f"  - resource: {x}" for x in u["resources"]]
    L += [""]

    # -- release plan
    L += ["## Release", ""] + [f"- {i}" for i in v["release"]["items"]] + [""]

    # -- since last run
    if v["previous"]:
        L += ["## Since the last run", ""] + [f"- {i}" for i in v["previous"]["items"]] + [""]

    # -- provenance
    L += ["## Provenance", "", table(["", ""], v["provenance"]), ""]
    return "\n".join(L)
