"""The run history: a run recorded as running and as finished, and what changed since the last run on its split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baseline.data import Dataset
from baseline.reuse import identity_changes, load_identity
from baseline.store import Store


def record_start(store: Store | None, run_id: str, started: str, ds: Dataset, split_hash: str, names: list[str],
                 run_dir: Path) -> None:
    """The run in the history as running (this process's id): a resume elsewhere must wait for it."""
    if store is not None:
        store.record_run({"run_id": run_id, "started": started, "finished": None, "dataset": ds.name,
                          "data_sha256": ds.file_sha256, "split_hash": split_hash, "adapters": names,
                          "best": None, "verdict": None, "status": "running", "run_dir": str(run_dir)})


def record_finish(store: Store | None, results_json: dict[str, Any], names: list[str], run_dir: Path) -> None:
    """The finished run in the history: its best candidate, verdict and status."""
    if store is None:
        return
    r, decision = results_json, results_json["decision"]
    store.record_run({"run_id": r["run_id"], "started": r["started"], "finished": r["finished"],
                      "dataset": r["dataset"]["name"], "data_sha256": r["dataset"]["sha256"],
                      "split_hash": r["split"]["hash"], "adapters": names, "best": r["best"],
                      "verdict": decision.get("verdict") + (f": {decision['choice']}" if decision.get("choice") else ""),
                      "status": "failed adapters" if r["failed"] else "incomplete" if r["incomplete"] else "ok",
                      "run_dir": str(run_dir)})


def since_previous(store: Store | None, split_hash: str, run_id: str, run_dir: Path,
                   adapters_json: list[dict[str, Any]], decision: dict[str, Any], metric: str,
                   why_run: dict[str, str]) -> dict[str, Any] | None:
    """What is new and what changed since the latest finished run on the same split, if there is one."""
    if store is None:
        return None
    prev = store.previous_run(split_hash, run_id)
    if not prev:
        return None
    return compare_with_previous(Path(prev["run_dir"]), adapters_json, prev["run_id"], run_dir=run_dir,
                                 decision=decision, metric=metric, why_run=why_run)


def compare_with_previous(prev_dir: Path, adapters_json: list[dict[str, Any]], prev_id: str,
                          run_dir: Path | None = None, decision: dict[str, Any] | None = None,
                          metric: str = "macro_f1", why_run: dict[str, str] | None = None) -> dict[str, Any] | None:
    """What is new and what changed since the last run on the same split."""
    p = prev_dir / "results.json"
    if not p.exists():
        return None
    prev = json.loads(p.read_text(encoding="utf-8"))
    before = {a["name"]: a for a in prev.get("adapters", [])}
    now = {a["name"]: a for a in adapters_json}
    changes = []
    for name, a in now.items():
        b = before.get(name)
        if b is None or not b.get("metrics") or not a.get("metrics"):
            continue
        mb, ma = b["metrics"].get("macro_f1"), a["metrics"].get("macro_f1")  # tables' regression has no macro-F1
        hb, ha = b["metrics"].get(metric), a["metrics"].get(metric)
        delta = (ma - mb) if None not in (ma, mb) else (ha - hb) if None not in (ha, hb) else None
        changes.append({"name": name, "macro_f1_before": mb, "macro_f1_now": ma, "delta": delta})
    out: dict[str, Any] = {"run_id": prev_id, "run_dir": str(prev_dir), "new": sorted(set(now) - set(before)),
                           "dropped": sorted(set(before) - set(now)), "changed": changes,
                           "verdict_before": (prev.get("decision") or {}).get("verdict"),
                           "choice_before": (prev.get("decision") or {}).get("choice"),
                           "finished_before": prev.get("finished")}
    if decision is not None:
        out.update(verdict_now=decision.get("verdict"), choice_now=decision.get("choice"),
                   verdict_moved=(out["verdict_before"], out["choice_before"]) != (decision.get("verdict"),
                                                                                    decision.get("choice")))
    # what ran again because its identity changed (options, version, model, packages), and what was reused
    if run_dir is not None:
        reconfigured = []
        for name in sorted(set(now) & set(before)):
            parts = identity_changes(load_identity(prev_dir, name), load_identity(run_dir, name))
            if parts:
                reconfigured.append({"name": name, "what": parts})
        out["reconfigured"] = reconfigured
    out["reused"] = {a["name"]: a["reused_from"] for a in adapters_json if a.get("reused_from")}
    if why_run is not None:
        out["ran"] = dict(why_run)
    for c in changes:  # the headline metric too, when it is not macro-F1
        a, b = now[c["name"]]["metrics"], before[c["name"]]["metrics"]
        c.update(metric=metric, before=b.get(metric), now=a.get(metric))
    return out
