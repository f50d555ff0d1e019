"""What ``compare`` prints when it is done: the data profile, the leaderboard with the verdict, the plan lines."""

from __future__ import annotations

from typing import Any

from baseline.cli.console import escape


def print_profile(console, prof: dict[str, Any]) -> None:
    """One line on the data, then one line of warnings (duplicates, leakage, unseen labels, conflicts)."""
    rows = ", ".join(f"{k} {v:,}" for k, v in prof["rows"].items())
    console.print(f"[bold]{prof['dataset']}[/]: {rows} rows · {_shape(prof)} · split: {prof['split_source']}")
    warn = []
    if prof["exact_duplicate_rows"]:
        warn.append(f"{prof['exact_duplicate_rows']} exact duplicate rows")
    if prof["test_texts_in_train"]:
        warn.append(f"{prof['test_texts_in_train']} test rows also in train after normalisation (leakage)")
    if prof.get("labels_test_not_train"):
        lt = prof["labels_test_not_train"]
        warn.append(f"{len(lt)} label(s) in test but never in train ({', '.join(lt[:5])}{' …' if len(lt) > 5 else ''})")
    if prof["conflicting_label_texts"]:
        warn.append(f"{prof['conflicting_label_texts']} texts with conflicting labels")
    for n in prof.get("notes", []):
        warn.append(n)
    if warn:
        console.print("[yellow]data:[/] " + escape("; ".join(warn)))


def _shape(prof: dict[str, Any]) -> str:
    """What the rows are: classes and text length, label sets, or a table's features and target."""
    tab = prof.get("tabular")
    if tab:
        kinds: dict[str, int] = {}
        for k in tab.get("features", {}).values():
            kinds[k] = kinds.get(k, 0) + 1
        feats = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        ts = tab.get("target_summary") or {}
        target = (f"{len(ts['classes'])} classes (majority {ts['majority_share']:.0%})" if "classes" in ts else
                  f"mean {ts.get('mean', 0):.4g}, sd {ts.get('std', 0):.4g}")
        return f"{len(tab.get('features', {}))} features ({feats}) · target {tab.get('target')}: {target}"
    ml = prof.get("multi_label")
    if ml:
        return (f"{ml['labels']} labels, {ml['cardinality'].get('train', 0):.2f} per row · "
                f"median {prof['text_chars']['train']['median']:.0f} chars")
    return (f"{prof['classes']} classes (majority {prof['majority_share']:.0%}) · "
            f"median {prof['text_chars']['train']['median']:.0f} chars")


def print_leaderboard(console, results: dict[str, Any]) -> None:
    """The leaderboard table, a line for each candidate without a score, spend, and the verdict."""
    from rich.table import Table

    from baseline.report.markdown import leaderboard_rows

    metric = results["settings"]["metric"]
    t = Table(title=f"Leaderboard — {results['dataset']['name']} ({results['split']['rows'].get('test')} test rows)")
    from baseline.report.view import COVERAGE_HEADER, leaderboard_headers

    heads = (["adapter", "family", f"{metric} [95% CI]", "accuracy [95% CI]", COVERAGE_HEADER, "vs best", "p50 ms",
              "p95 ms", "items/s", "$/1k", "one-off", "status"] if "accuracy" in (results.get("task_info") or {}).get(
                  "metrics", {"accuracy": 1}) else leaderboard_headers(results))
    for h in heads:
        t.add_column(h, overflow="fold")
    for row in leaderboard_rows(results):
        t.add_row(*(escape(c) for c in row))
    console.print(t)
    _print_unscored(console, results)
    d = results["decision"]
    colour = {"ADOPT": "green", "PIVOT": "red"}.get(d["verdict"], "yellow")
    console.print(f"\n[bold {colour}]{d['verdict']}[/]" + (f" [bold]{d['choice']}[/]" if d.get("choice") else "")
                  + f" — {escape(d['reason'])}")


def _print_unscored(console, results: dict[str, Any]) -> None:
    """Candidates without metrics and why, those not run with their estimates, spend, and unanswered items."""
    for a in results["adapters"]:
        if not a.get("metrics"):
            console.print(f"  [yellow]{a['name']}[/]: {a['status']} — {escape(a['reason'])}")
    for n in results.get("not_run") or []:
        est = n.get("total_usd")
        priced = est is not None and (est > 0 or not n.get("note"))
        why = "paid" if n.get("paid") else f"not run by default: {n.get('not_by_default') or 'slow'}"
        console.print(f"  [dim]{n['name']}[/]: {escape(why)}, not run (name it in --adapters); estimate "
                      + (f"${est:.4f}" if priced else escape(f"n/a ({n.get('note') or 'no estimate'})"))
                      + ("" if n["available"] else f"; unavailable: {escape(n['reason'])}"))
    sp = results.get("spend") or {}
    if any(a.get("paid") for a in results["adapters"]):
        earlier = (sp.get("ledger") or {}).get("earlier_attempts_possibly_billed_usd") or 0.0
        console.print(f"  spend: billed ${sp.get('billed_now_usd', 0.0):.4f}, possibly billed "
                      f"${sp.get('possibly_billed_now_usd', 0.0):.4f}" + (f" (earlier attempts ${earlier:.4f})" if earlier else ""))
    for u in results.get("unanswered") or []:
        console.print(f"  [yellow]{u['name']}[/]: {u['unanswered']} of {u['of']} items unanswered — "
                      f"{escape(u['first_errors'][0])}")


def print_plan(console, results: dict[str, Any]) -> None:
    """One line each: the business case of the verdict's candidate, label quality, leakage, enough data."""
    from baseline.report.plan_view import business_view, data_plan_view

    bz = business_view(results)
    console.print(escape(f"  business case: {bz['summary'] or 'see the report'}" if bz["show"] else f"  {bz['text']}"))
    dp = data_plan_view(results)
    if dp:
        console.print(escape(f"  labels: {dp['labels'][0]}"))
        console.print(escape(f"  leakage: {dp['leak'][0]}"))
    if (results.get("decision") or {}).get("labels_advice"):
        console.print(escape(f"  enough data? {results['decision']['labels_advice']}"))
