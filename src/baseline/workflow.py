"""baseline in a team's workflow: find a run, diff two runs, and gate a run for CI (go / no-go).

Pure functions over run folders (``results.json`` and ``predictions.csv``); the CLI prints them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from baseline.decide import ADOPT, PIVOT, Bar, check_bars, metric_name, standing_text
from baseline.errors import BadInput
from baseline.report.view import signed
from baseline.reuse import identity_changes, load_identity

REQUIRE = ("adopt", "choice", "any")  # ADOPT only; a named choice (ADOPT or TOO CLOSE TO CALL); anything


def resolve_run(ref: str, store: Any | None, dataset: str | None = None) -> Path:
    """A run folder from a folder path, a run id from the history, or ``latest`` (optionally per dataset)."""
    p = Path(ref)
    if (p / "results.json").exists():
        return p.resolve()
    if store is not None:
        if ref == "latest":
            rows = [r for r in store.runs(dataset, limit=1000) if r.get("finished")]
            if not rows:
                raise BadInput("no finished run in the history" + (f" for dataset {dataset!r}" if dataset else "")
                               + ": run `baseline compare` first")
            return Path(rows[0]["run_dir"])
        row = store.find(ref)
        if row is not None:
            d = Path(row["run_dir"])
            if not (d / "results.json").exists():
                raise BadInput(f"run {ref} has no results.json in {d} (status {row['status']}): it did not finish")
            return d
    raise BadInput(f"no run {ref!r}: pass a run folder, a run id from `baseline history`, or 'latest'")


def load_run(run_dir: Path) -> dict[str, Any]:
    from baseline.report import load_results

    return load_results(run_dir)


def _adapter(r: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((a for a in r.get("adapters") or [] if a["name"] == name), None)


def _predictions(run_dir: Path) -> pd.DataFrame | None:
    p = Path(run_dir) / "predictions.csv"
    if not p.exists():
        return None
    return pd.read_csv(p, keep_default_na=False, dtype=str)


def paired_difference(a_dir: Path, b_dir: Path, name_a: str, name_b: str, labels: list[str], metric: str,
                      resamples: int = 1000, seed: int = 42, task: str = "text-classification") -> dict[str, Any] | None:
    """(b's ``name_b`` − a's ``name_a``) on the headline metric, paired on the same test rows, with its 95% CI.

    Only for two runs on the same split (same ids in the same order); ``None`` otherwise.
    """
    from baseline.tasks import get_task

    pa, pb = _predictions(a_dir), _predictions(b_dir)
    if pa is None or pb is None or name_a not in pa or name_b not in pb or list(pa["id"]) != list(pb["id"]):
        return None
    truth = pa["label"].tolist()

    def col(df: pd.DataFrame, n: str) -> list[str | None]:
        return [v if v != "" else None for v in df[n].tolist()]

    ev = get_task(task).evaluate(labels, truth, {"a": col(pa, name_a), "b": col(pb, name_b)}, metric, resamples, seed)
    cmp = ev.pairwise["b"]["a"]
    return {"difference": float(cmp["difference"]), "ci": [float(cmp["ci"][0]), float(cmp["ci"][1])],
            "n": cmp["n"], "discordant": cmp["discordant"], "mcnemar_p": cmp["mcnemar_p"]}


def _verdict(r: dict[str, Any]) -> str:
    d = r.get("decision") or {}
    return (d.get("verdict") or "—") + (f" {d['choice']}" if d.get("choice") else "")


def diff_runs(a_dir: Path, b_dir: Path, resamples: int = 1000) -> dict[str, Any]:
    """What changed from run A to run B: candidates, metrics (paired on the same split), verdict, cost."""
    a, b = load_run(a_dir), load_run(b_dir)
    metric = b["settings"]["metric"]
    same_split = a["split"]["hash"] == b["split"]["hash"]
    an = {x["name"]: x for x in a["adapters"]}
    bn = {x["name"]: x for x in b["adapters"]}
    rows = []
    for name in [n for n in bn if n in an]:
        xa, xb = an[name], bn[name]
        ma, mb = (xa.get("metrics") or {}).get(metric), (xb.get("metrics") or {}).get(metric)
        row: dict[str, Any] = {"name": name, "status": [xa.get("status"), xb.get("status")], "metric": [ma, mb],
                               "difference": (mb - ma) if ma is not None and mb is not None else None,
                               "per_1k_usd": [(xa.get("cost") or {}).get("per_1k_usd"),
                                              (xb.get("cost") or {}).get("per_1k_usd")],
                               "billed_usd": [(xa.get("cost") or {}).get("billed_now_usd"),
                                              (xb.get("cost") or {}).get("billed_now_usd")],
                               "p95_ms": [((xa.get("timing") or {}).get("item_latency_ms") or {}).get("p95"),
                                          ((xb.get("timing") or {}).get("item_latency_ms") or {}).get("p95")],
                               "changed": identity_changes(load_identity(a_dir, name), load_identity(b_dir, name)),
                               "reused_from": (xb.get("reused_from") or {}).get("run_id"), "paired": None}
        if same_split and ma is not None and mb is not None:
            row["paired"] = paired_difference(a_dir, b_dir, name, name, b["split"]["labels"], metric, resamples,
                                              int(b["settings"].get("seed") or 42),
                                              b.get("task") or "text-classification")
        rows.append(row)
    spend = [float((a.get("spend") or {}).get("billed_now_usd") or 0.0),
             float((b.get("spend") or {}).get("billed_now_usd") or 0.0)]
    return {"a": {"run_id": a["run_id"], "run_dir": str(a_dir), "dataset": a["dataset"]["name"],
                  "verdict": _verdict(a), "finished": a.get("finished")},
            "b": {"run_id": b["run_id"], "run_dir": str(b_dir), "dataset": b["dataset"]["name"],
                  "verdict": _verdict(b), "finished": b.get("finished")},
            "metric": metric, "same_split": same_split, "verdict_moved": _verdict(a) != _verdict(b),
            "added": [n for n in bn if n not in an], "removed": [n for n in an if n not in bn],
            "candidates": rows, "billed_usd": spend}


def metric_label(r: dict[str, Any], metric: str) -> str:
    """Human name of one of the run's task metrics (its ``task_info`` names them; else decide's names)."""
    return ((r.get("task_info") or {}).get("metrics") or {}).get(metric) or metric_name(metric)


def _check_failure(r: dict[str, Any], bar: Bar, c: dict[str, Any], key: str, level: float) -> str:
    """One failed check of the run's bar, the metric by the verdict's CI rule."""
    if key == "metric":
        return standing_text(metric_label(r, bar.metric), c["value"], c.get("ci"), c["limit"], level,
                             lower_is_better=bar.lower_is_better)[1]
    v = c["value"]
    return f"{c['label']} (got {v if v is None else round(v, 6)}: judged on the measured figure, as the verdict)"


def gate(r: dict[str, Any], run_dir: Path, require: str = "choice", candidate: str | None = None,
         min_metric: float | None = None, max_p95_ms: float | None = None, max_cost_per_1k: float | None = None,
         against: tuple[dict[str, Any], Path] | None = None, max_drop: float = 0.0) -> tuple[bool, str]:
    """Go / no-go for one run: ``(passed, one line saying why)``.

    Holds when the verdict meets ``require`` (``adopt``: ADOPT; ``choice``: a named choice, so not PIVOT;
    ``any``), the gated candidate (``candidate``, else the run's choice) passes every bar the run set
    (``decide.check_bars``, the verdict's own checks), meets the extra limits given here and — with
    ``against`` (an earlier run) — is not worse than it was there by more than ``max_drop`` on the
    headline metric (paired on the same rows when the split is the same). ``min_metric`` is judged on
    the headline metric's 95% CI by the verdict's rule (``decide.metric_standing``): only ``clear``
    holds, ``borderline`` (the CI straddles it) and ``below`` do not; p95 and cost per 1k on the
    measured figures, as the verdict judges its own latency and cost bars. The line names the rule.
    """
    if require not in REQUIRE:
        raise BadInput(f"--require must be one of {', '.join(REQUIRE)} (got {require!r})")
    d = r.get("decision") or {}
    settings = r.get("settings") or {}
    metric = settings.get("metric") or d.get("metric") or "macro_f1"   # the headline, any task's
    mname = metric_label(r, metric)
    verdict = d.get("verdict") or "—"
    name = candidate or d.get("choice")
    head = f"run {r['run_id']}: {_verdict(r)}"
    if require == "adopt" and verdict != ADOPT:
        return False, f"{head}: verdict is {verdict}, not ADOPT ({d.get('reason', '')})"
    if require == "choice" and (verdict == PIVOT or not d.get("choice")):
        return False, f"{head}: verdict is {verdict}, no candidate is chosen ({d.get('reason', '')})"
    if name is None:
        return False, f"{head}: no candidate to gate (the verdict names none; pass --candidate)"
    a = _adapter(r, name)
    if a is None or a.get("status") != "ok" or not a.get("metrics"):
        return False, f"{head}: candidate {name} has no scored result in this run" + (
            f" (status {a.get('status')}: {a.get('reason', '')})" if a else "")
    ms = a["metrics"]
    if ms.get(metric) is None:
        return False, f"{head}: candidate {name} has no {mname} in this run"
    level = float(ms.get("ci_level") or settings.get("ci_level") or 0.95)
    lower = metric in set((r.get("task_info") or {}).get("lower_is_better") or ())
    if lower and min_metric is not None:
        raise BadInput(f"--min-metric does not apply to {mname}: less is better for it")
    bar = Bar.from_json(settings.get("bar") or d.get("bar"))
    checks = check_bars(a, bar) if bar.is_set() else {}
    failed = [_check_failure(r, bar, c, k, level) for k, c in checks.items() if not c["pass"]]
    if failed:
        return False, f"{head}: the run's bar does not hold for {name}: {'; '.join(failed)}"
    m = ms[metric]
    held = []
    if "metric" in checks:
        c = checks["metric"]
        held.append("the run's bar " + standing_text(metric_label(r, bar.metric), c["value"], c.get("ci"),
                                                        c["limit"], level, lower_is_better=bar.lower_is_better)[1])
    if min_metric is not None:
        st, text = standing_text(mname, m, (ms.get("ci") or {}).get(metric), min_metric, level,
                                 bar=f"--min-metric {min_metric:g}")
        if st != "clear":
            return False, f"{head}: {name}'s {text}"
        held.append(text)
    if not held:
        held.append(f"{mname} {m:.3f}")
    if max_p95_ms is not None:
        p95 = ((a.get("timing") or {}).get("item_latency_ms") or {}).get("p95")
        if p95 is None or p95 > max_p95_ms:
            return False, f"{head}: {name}'s p95 latency {p95} ms is above --max-p95-ms {max_p95_ms:g}"
        held.append(f"p95 {p95:.3g} ms ≤ {max_p95_ms:g}")
    if max_cost_per_1k is not None:
        c = (a.get("cost") or {}).get("per_1k_usd")
        if c is None or c > max_cost_per_1k:
            return False, f"{head}: {name}'s cost per 1k ${c} is above --max-cost-per-1k {max_cost_per_1k:g}"
        held.append(f"${c:.4g} per 1k ≤ {max_cost_per_1k:g}")
    if against is not None:
        old, old_dir = against
        oa = _adapter(old, name)
        om = ((oa or {}).get("metrics") or {}).get(metric)
        if om is None:
            return False, f"{head}: {name} has no {mname} in run {old['run_id']} to compare with"
        drop = (m - om) if lower else (om - m)
        paired = None
        if old["split"]["hash"] == r["split"]["hash"]:
            paired = paired_difference(old_dir, run_dir, name, name, r["split"]["labels"], metric,
                                       int(settings.get("resamples") or 1000), int(settings.get("seed") or 42),
                                       r.get("task") or "text-classification")
        ci = (f" (paired on the same {paired['n']} rows: {signed(paired['difference'])}, 95% CI "
              f"[{signed(paired['ci'][0])}, {signed(paired['ci'][1])}])" if paired else "")
        if drop > max_drop:
            return False, (f"{head}: {name}'s {mname} worsened from {om:.3f} in run {old['run_id']} to {m:.3f}"
                           f"{ci}, more than --max-drop {max_drop:g}")
        held.append(f"not worse than run {old['run_id']} ({om:.3f}){ci}")
    return True, f"{head}: gate holds for {name}: " + ", ".join(held)


def history_reuse(run_dir: str | Path) -> dict[str, Any]:
    """From a run folder's results.json: candidates reused and candidates run (for `baseline history`)."""
    try:
        r = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    reuse = r.get("reuse") or {}
    return {"reused": sorted(reuse.get("reused") or {}), "ran": sorted(reuse.get("ran") or {})}
