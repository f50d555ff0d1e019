"""``--mlflow``: log a finished comparison to MLflow the way MLflow users expect (extra ``[mlflow]``).

One parent run per comparison (run name = the run id) with the verdict, the split hash and the report
files as artifacts; one child run per candidate (tag ``mlflow.parentRunId``) with its options as
params, its metrics with their 95% CI bounds, latency and cost as metrics, and its predictions as an
artifact. A result reused from an earlier run is logged once: when the run it came from already has a
child run for it in the same experiment, the parent is tagged ``reused.<candidate>`` with that child's
id instead of logging it again.

The tracking URI comes from ``--mlflow-uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's own default;
the experiment from ``--mlflow-experiment``, else the dataset's name. Each run folder keeps
``mlflow.json`` (the parent) and ``adapters/<name>/mlflow.json`` (the child each result is logged as).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from baseline import __version__
from baseline.errors import BadInput
from baseline.metrics import coverage_of

MISSING = 'the --mlflow flag needs MLflow: pip install "baseline[mlflow]"'
FILE = "mlflow.json"
HEADLINE = ("macro_f1", "accuracy", "weighted_f1")


def require_mlflow(tracking_uri: str | None = None, timeout: float = 5.0) -> None:
    """Fail early, in one line (exit 2), when the extra is not installed or an HTTP tracking server is unreachable.

    Checked before the comparison runs, so a wrong URI does not cost a whole run. Any HTTP answer
    (even 401/404 from a server behind a proxy) counts as reachable; only a failed connection does not.
    """
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise BadInput(MISSING) from None
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise BadInput(f"MLflow tracking server {uri} is not reachable ({reason}): start it, or fix --mlflow-uri / "
                       "MLFLOW_TRACKING_URI") from None


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = (json.dumps(value) if isinstance(value, list | tuple | bool) or value is None else str(value))[:500]


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def candidate_metrics(a: dict[str, Any]) -> dict[str, float]:
    """A candidate's metrics with CI bounds, coverage (of answered items) and unanswered, latency, throughput and cost."""
    out: dict[str, float | None] = {}
    m = a.get("metrics") or {}
    for k in HEADLINE:
        if m.get(k) is not None:
            out[k] = m[k]
            ci = (m.get("ci") or {}).get(k)
            if ci:
                out[f"{k}_ci_low"], out[f"{k}_ci_high"] = ci[0], ci[1]
    cov = coverage_of(m, a.get("counts")) if m else {}
    out["coverage"] = cov.get("coverage")               # of the answered items
    out["unanswered"] = cov.get("unanswered")           # items the service never answered (item errors)
    out["unanswered_share"] = cov.get("unanswered_share")
    t = a.get("timing") or {}
    lat = t.get("item_latency_ms") or {}
    for q in ("p50", "p95", "p99"):
        out[f"latency_{q}_ms"] = lat.get(q)
    out["throughput_per_s"] = t.get("throughput_per_s")
    out["cold_start_s"], out["fit_s"], out["predict_s"] = t.get("cold_start_s"), t.get("fit_s"), t.get("predict_s")
    c = a.get("cost") or {}
    for k in ("per_1k_usd", "one_off_usd", "total_usd", "billed_now_usd"):
        out[f"cost_{k}"] = c.get(k)
    return {k: f for k, v in out.items() if (f := _num(v)) is not None}


def _read(p: Path) -> dict[str, Any] | None:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _earlier_child(client: Any, a: dict[str, Any], uri: str, exp_id: str) -> str | None:
    """The child run an earlier run folder logged this reused result as (same server and experiment), if any."""
    rf = a.get("reused_from") or {}
    for d in (rf.get("via"), rf.get("run_dir")):
        if not d:
            continue
        rec = _read(Path(d) / "adapters" / a["name"] / FILE)
        if rec and rec.get("tracking_uri") == uri and rec.get("experiment_id") == exp_id:
            try:
                client.get_run(rec["run_id"])
            except Exception:
                continue
            return rec["run_id"]
    return None


def log_comparison(run_dir: Path, results: dict[str, Any], tracking_uri: str | None = None,
                   experiment: str | None = None) -> dict[str, Any]:
    """Log one finished run folder; returns the URI, experiment, parent run id and each candidate's child run id.

    MLflow's own "view run at" lines go to stderr, so ``--json`` keeps stdout to the results alone.
    """
    # MLflow's usage telemetry phones home from a background thread; a benchmark of private data does not
    # (and its session bookkeeping breaks client calls in MLflow 3.x): off unless the user set it
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with contextlib.redirect_stdout(sys.stderr):
        return _log(run_dir, results, tracking_uri, experiment)


def _log(run_dir: Path, results: dict[str, Any], tracking_uri: str | None, experiment: str | None) -> dict[str, Any]:
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    name = experiment or results["dataset"]["name"]
    exp = client.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(name)
    d = results.get("decision") or {}
    bar = {k: v for k, v in (results["settings"].get("bar") or {}).items() if v is not None}
    tags = {"baseline.run_id": results["run_id"], "baseline.verdict": d.get("verdict") or "",
            "baseline.choice": d.get("choice") or "", "baseline.split_hash": results["split"]["hash"],
            "baseline.dataset": results["dataset"]["name"], "baseline.version": __version__,
            "baseline.run_dir": str(run_dir), "mlflow.note.content": f"{d.get('verdict')}: {d.get('reason', '')}"[:5000]}
    parent = client.create_run(exp_id, run_name=results["run_id"], tags=tags)
    pid = parent.info.run_id
    params: dict[str, str] = {}
    _flat("", {"dataset": results["dataset"]["name"], "split_hash": results["split"]["hash"],
               "split_source": results["split"]["source"], "test_rows": results["split"]["rows"].get("test"),
               "train_rows": results["split"]["rows"].get("train"), "metric": results["settings"]["metric"],
               "seed": results["settings"].get("seed"), "adapters": ",".join(a["name"] for a in results["adapters"])},
          params)
    _flat("bar", bar, params)
    from mlflow.entities import Metric, Param, RunTag

    client.log_batch(pid, params=[Param(k, v) for k, v in params.items()])
    choice = next((a for a in results["adapters"] if a["name"] == d.get("choice")), None)
    if choice is not None:
        client.log_batch(pid, metrics=[Metric(f"choice_{k}", v, 0, 0) for k, v in candidate_metrics(choice).items()])
    children: dict[str, str] = {}
    reused: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="baseline-mlflow-") as tmp:
        preds = pd.read_csv(run_dir / "predictions.csv", keep_default_na=False, dtype=str) \
            if (run_dir / "predictions.csv").exists() else None
        for a in results["adapters"]:
            n = a["name"]
            earlier = _earlier_child(client, a, uri, exp_id) if a.get("reused_from") else None
            if earlier is not None:  # logged once, when it was measured: point at it, do not log it again
                reused[n] = earlier
                client.set_tag(pid, f"reused.{n}", earlier)
                child_id = earlier
            else:
                ctags = {"mlflow.parentRunId": pid, "baseline.adapter": n, "baseline.status": a.get("status", ""),
                         "baseline.family": a.get("family", ""), "baseline.run_id": results["run_id"]}
                if a.get("reused_from"):
                    ctags["baseline.reused_from"] = a["reused_from"]["run_id"]
                child = client.create_run(exp_id, run_name=n, tags=ctags)
                child_id = child.info.run_id
                ident = _read(run_dir / "adapters" / n / "identity.json") or {}
                cp: dict[str, str] = {}
                _flat("", {"adapter": n, "family": a.get("family"), "simplicity": a.get("simplicity"),
                           "paid": a.get("paid"), "version": ident.get("version"), "status": a.get("status")}, cp)
                _flat("option", ident.get("options") or {}, cp)
                _flat("fit", {k: v for k, v in (a.get("fit") or {}).items() if not isinstance(v, dict | list)}, cp)
                client.log_batch(child_id, metrics=[Metric(k, v, 0, 0) for k, v in candidate_metrics(a).items()],
                                 params=[Param(k, v) for k, v in cp.items()],
                                 tags=[RunTag("baseline.identity", str(ident.get("hash", "")))])
                if preds is not None and n in preds:
                    cols = ["id", "label", n] + [c for c in (f"{n}:score", f"{n}:error") if c in preds]
                    p = Path(tmp) / n / "predictions.csv"
                    p.parent.mkdir(parents=True, exist_ok=True)
                    preds[cols].rename(columns={n: "prediction"}).to_csv(p, index=False)
                    client.log_artifact(child_id, str(p))
                client.set_terminated(child_id, "FINISHED" if a.get("status") in ("ok", "incomplete", "stopped")
                                      else "FAILED")
            children[n] = child_id
            rec = {"tracking_uri": uri, "experiment_id": exp_id, "run_id": child_id}
            (run_dir / "adapters" / n).mkdir(parents=True, exist_ok=True)
            (run_dir / "adapters" / n / FILE).write_text(json.dumps(rec, indent=2), encoding="utf-8")
    for f in ("report.md", "report.html", "results.json", "split.json", "profile.json"):
        if (run_dir / f).exists():
            client.log_artifact(pid, str(run_dir / f), artifact_path="report")
    if (run_dir / "plots").is_dir():
        client.log_artifacts(pid, str(run_dir / "plots"), artifact_path="report/plots")
    client.set_terminated(pid, "FINISHED")
    out = {"tracking_uri": uri, "experiment": name, "experiment_id": exp_id, "run_id": pid,
           "children": children, "reused": reused}
    (run_dir / FILE).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out
