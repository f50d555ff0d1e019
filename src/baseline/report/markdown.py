"""report.md: the same content as the HTML report, for wikis and pull requests."""

from __future__ import annotations

from typing import Any


def _f(v: Any, fmt: str = ".3f", none: str = "—") -> str:
    if v is None:
        return none
    try:
        return format(v, fmt)
    except (TypeError, ValueError):
        return str(v)


def _usd(v: Any) -> str:
    if v is None:
        return "—"
    if v == 0:
        return "$0"
    return f"${v:.4f}" if v < 1 else f"${v:,.2f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def leaderboard_rows(r: dict[str, Any]) -> list[list[str]]:
    metric = r["settings"]["metric"]
    by = {a["name"]: a for a in r["adapters"]}
    rows = []
    for name in r["leaderboard"]:
        a = by[name]
        m = a["metrics"]
        cmp = a.get("comparison")
        lat = a["timing"].get("item_latency_ms") or {}
        vs = "best" if cmp is None else (
            f"{cmp['difference']:+.3f} [{cmp['ci'][0]:+.3f}, {cmp['ci'][1]:+.3f}], McNemar p={cmp['mcnemar_p']:.3g}"
            + (" (indistinguishable)" if cmp["indistinguishable"] else ""))
        rows.append([name, a["family"], f"{m[metric]:.3f} [{m['ci'][metric][0]:.3f}, {m['ci'][metric][1]:.3f}]",
                     f"{m['accuracy']:.3f} [{m['ci']['accuracy'][0]:.3f}, {m['ci']['accuracy'][1]:.3f}]",
                     f"{m['coverage']:.1%}", vs, _f(lat.get("p50"), ".1f"), _f(lat.get("p95"), ".1f"),
                     _f(a["timing"].get("throughput_per_s"), ",.0f"), _usd(a["cost"].get("per_1k_usd")),
                     _usd(a["cost"].get("one_off_usd")), a["status"]])
    return rows


def render_markdown(r: dict[str, Any]) -> str:
    metric = r["settings"]["metric"]
    d = r["decision"]
    lines = [f"# baseline report — {r['dataset']['name']}", ""]
    lines += [f"Run `{r['run_id']}` · task {r['task']} · {r['split']['rows'].get('test', '?')} test rows · "
              f"split `{r['split']['hash'][:12]}` ({r['split']['source']}) · seed {r['split']['seed']} · "
              f"prices as of {r['prices']['effective_date']}", ""]
    verdict = f"**{d['verdict']}**" + (f": `{d['choice']}`" if d.get("choice") else "")
    lines += ["## Verdict", "", verdict, "", d.get("reason", ""), ""]
    if d.get("candidates"):
        bars = [k for k in (d["candidates"][0]["checks"] or {})]
        if bars:
            hdr = ["candidate"] + [d["candidates"][0]["checks"][b]["label"] for b in bars] + ["passes"]
            rows = []
            for c in sorted(d["candidates"], key=lambda c: c["simplicity"]):
                rows.append([c["name"]] + [("✅ " if c["checks"][b]["pass"] else "❌ ") + _f(c["checks"][b]["value"], ".4g")
                                           for b in bars] + ["yes" if c["passes"] else "no"])
            lines += [table(hdr, rows), ""]
        else:
            lines += ["No bar was set (`--min-metric`, `--max-p95-ms`, `--max-cost-per-1k`, `--max-one-off`): "
                      "the verdict rests on statistics alone.", ""]
    lines += ["## Leaderboard", "",
              f"Headline metric: {metric}, with {int(r['settings']['ci_level'] * 100)}% bootstrap CIs "
              f"({r['settings']['resamples']} resamples). Paired comparison against the best on the same rows.", ""]
    lines += [table(["adapter", "family", metric, "accuracy", "coverage", "vs best (diff, CI)", "p50 ms", "p95 ms",
                     "items/s", "cost / 1k", "one-off", "status"], leaderboard_rows(r)), ""]
    others = [a for a in r["adapters"] if a["status"] not in ("ok",) or not a.get("metrics")]
    if others:
        lines += ["### Not scored", ""]
        lines += [f"- `{a['name']}` ({a['family']}): **{a['status']}** — {a['reason']}" for a in others]
        lines += [""]
    if r.get("not_run"):
        lines += ["### Paid adapters not run (name them with --adapters to run them)", ""]
        lines += [table(["adapter", "available", "estimate", "units", "note"],
                        [[n["name"], "yes" if n["available"] else f"no: {n['reason']}", _usd(n.get("total_usd")),
                          ", ".join(f"{k} {v:,.0f}" for k, v in (n.get("units") or {}).items()), n.get("note", "")]
                         for n in r["not_run"]]), ""]
    lines += ["## Cost and latency", ""]
    vol = r["settings"]["bar"].get("monthly_volume")
    rows = []
    for a in r["adapters"]:
        c, t = a["cost"], a["timing"]
        if a["status"] not in ("ok", "stopped"):
            continue
        rows.append([a["name"], _usd(c.get("billed_now_usd")), _usd(c.get("cached_usd")), _usd(c.get("per_1k_usd")),
                     _usd(c.get("one_off_usd")), _usd(c["per_1k_usd"] * vol / 1000) if vol and c.get("per_1k_usd") is not None else "—",
                     _f(t.get("cold_start_s"), ".2f"), _f(t.get("fit_s"), ".2f"), _f(t.get("predict_s"), ".2f"),
                     (t.get("item_latency_ms") or {}).get("mode", ""), c.get("pricing", "")])
    lines += [table(["adapter", "this run", "from cache", "per 1k", "one-off", f"month @ {vol:,}" if vol else "month",
                     "cold start s", "fit s", "predict s", "latency measured as", "pricing"], rows), ""]
    lines += ["## Per class", ""]
    scored = [a for a in r["adapters"] if a.get("metrics")]
    labels = r["split"]["labels"]
    if scored and len(labels) <= 30:
        hdr = ["class", "support"] + [f"{a['name']} F1" for a in scored]
        rows = []
        for lab in labels:
            pcs = [a["metrics"]["per_class"][lab] for a in scored]
            rows.append([lab, str(pcs[0]["support"])] + [f"{p['f1']:.3f}" for p in pcs])
        lines += [table(hdr, rows), ""]
    elif scored:
        lines += [f"{len(labels)} classes: see results.json for the per-class table.", ""]
    p = r["profile"]
    lines += ["## Data profile", "",
              f"- rows: {', '.join(f'{k} {v:,}' for k, v in p['rows'].items())}; classes: {p['classes']}; "
              f"majority share {p['majority_share']:.1%}, minority share {p['minority_share']:.1%}",
              f"- text length (chars, test): median {p['text_chars']['test']['median']:.0f}, p95 {p['text_chars']['test']['p95']:.0f}, max {p['text_chars']['test']['max']}",
              f"- exact duplicate rows: {p['exact_duplicate_rows']}; test texts also in train (leakage): {p['test_texts_in_train']}; "
              f"texts with conflicting labels: {p['conflicting_label_texts']}"]
    lines += [f"- note: {n}" for n in p.get("notes", [])]
    lines += [""]
    ex = [a for a in r["adapters"] if a.get("explain")]
    if ex:
        lines += ["## Explainability", ""]
        for a in ex:
            e = a["explain"]
            lines.append(f"- `{a['name']}`: {e.get('text', '')}")
            for cls, feats in (e.get("features") or {}).items():
                lines.append(f"  - {cls}: {', '.join(feats)}")
        lines += [""]
    prev = r.get("previous_run")
    if prev:
        lines += ["## Since the last run", "",
                  f"Previous run `{prev['run_id']}` on the same split (verdict then: {prev.get('verdict_before')}"
                  + (f" `{prev['choice_before']}`" if prev.get("choice_before") else "") + ").", ""]
        if prev["new"]:
            lines.append(f"- new candidates: {', '.join(prev['new'])}")
        for c in prev["changed"]:
            lines.append(f"- {c['name']}: macro-F1 {c['macro_f1_before']:.3f} → {c['macro_f1_now']:.3f} ({c['delta']:+.3f})")
        lines += [""]
    pv = r["provenance"]
    lines += ["## Provenance", "",
              f"- baseline {pv['baseline']}, Python {pv['python']}, {pv['platform']}, {pv['cpu_count']} CPUs",
              f"- data `{r['dataset']['path']}` sha256 `{r['dataset']['sha256'][:16]}…`; split hash `{r['split']['hash']}`",
              f"- prices: table dated {r['prices']['effective_date']}",
              "- packages: " + ", ".join(f"{k} {v}" for k, v in pv["packages"].items()),
              f"- command: `{r.get('command', '')}`", ""]
    return "\n".join(lines)
