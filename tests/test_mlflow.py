"""``--mlflow`` against a real tracking server (SQLite backend on loopback), read back through MlflowClient."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from baseline.cli import main

FAST = ["--no-progress", "--resamples", "100", "--latency-probe", "5"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("mlflow")
    exe = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    if not Path(exe).exists():
        pytest.skip("the mlflow command is not installed")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([exe, "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlflow server did not start: " + (root / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield uri
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if (p / "results.json").exists())


@pytest.mark.slow
def test_mlflow_parent_and_child_runs_read_back_from_a_real_server(server, tiny_csv, tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient

    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[adapters.tfidf-logreg]\nC = 0.5\n")
    out = tmp_path / "r"
    args = ["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--config", str(cfg),
            "--out", str(out), "--min-metric", "0.5", *FAST]
    assert main([*args, "--mlflow-uri", server, "--mlflow-experiment", "tickets-poc", "--json"]) == 0
    cap = capsys.readouterr()
    json.loads(cap.out)  # stdout stays the results alone
    assert "mlflow: run" in cap.err
    run = _runs(out)[-1]
    r = json.loads((run / "results.json").read_text())
    rec = json.loads((run / "mlflow.json").read_text())

    client = MlflowClient(tracking_uri=server)
    exp = client.get_experiment_by_name("tickets-poc")
    assert exp is not None and rec["experiment_id"] == exp.experiment_id
    parent = client.get_run(rec["run_id"])
    assert parent.info.run_name == r["run_id"] and parent.info.status == "FINISHED"
    tags, params = parent.data.tags, parent.data.params
    assert tags["baseline.verdict"] == r["decision"]["verdict"] and tags["baseline.choice"] == r["decision"]["choice"]
    assert tags["baseline.split_hash"] == r["split"]["hash"] and params["split_hash"] == r["split"]["hash"]
    assert params["bar.min_metric"] == "0.5" and params["adapters"] == "majority,tfidf-logreg"
    choice = next(a for a in r["adapters"] if a["name"] == r["decision"]["choice"])
    assert parent.data.metrics["choice_macro_f1"] == pytest.approx(choice["metrics"]["macro_f1"])
    report = {f.path for f in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.md", "report/report.html", "report/results.json"} <= report

    children = client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {c.info.run_name for c in children} == {"majority", "tfidf-logreg"}
    tf = next(c for c in children if c.info.run_name == "tfidf-logreg")
    a = next(x for x in r["adapters"] if x["name"] == "tfidf-logreg")
    assert tf.data.params["option.C"] == "0.5" and tf.data.params["family"] == "trivial"
    m = tf.data.metrics
    assert m["macro_f1"] == pytest.approx(a["metrics"]["macro_f1"])
    lo, hi = a["metrics"]["ci"]["macro_f1"]
    assert m["macro_f1_ci_low"] == pytest.approx(lo) and m["macro_f1_ci_high"] == pytest.approx(hi)
    assert m["latency_p95_ms"] == pytest.approx(a["timing"]["item_latency_ms"]["p95"])
    assert m["cost_per_1k_usd"] == pytest.approx(a["cost"]["per_1k_usd"])
    assert [f.path for f in client.list_artifacts(tf.info.run_id)] == ["predictions.csv"]
    got = pd.read_csv(client.download_artifacts(tf.info.run_id, "predictions.csv", str(tmp_path)), dtype=str)
    want = pd.read_csv(run / "predictions.csv", dtype=str)
    assert (got["prediction"] == want["tfidf-logreg"]).all() and (got["id"] == want["id"]).all()

    # a rerun reuses both results: they are not logged again; the new parent points at the earlier children
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert main([*args, "--mlflow", "--mlflow-experiment", "tickets-poc"]) == 0
    rec2 = json.loads((_runs(out)[-1] / "mlflow.json").read_text())
    assert rec2["reused"] == rec["children"]
    again = client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{rec2['run_id']}'")
    assert again == []
    tags2 = client.get_run(rec2["run_id"]).data.tags
    assert tags2["reused.tfidf-logreg"] == rec["children"]["tfidf-logreg"]
    assert len(client.search_runs([exp.experiment_id])) == 2 + 2  # two parents, two children in all


def test_mlflow_flag_without_the_extra_is_one_line_exit_2(tiny_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what `import mlflow` sees without the extra
    out = tmp_path / "r"
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(out), "--mlflow", *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and 'pip install "baseline[mlflow]"' in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())  # refused before anything ran


def test_mlflow_unreachable_server_is_one_line_exit_2_before_running(tiny_csv, tmp_path, capsys):
    pytest.importorskip("mlflow")
    out = tmp_path / "r"
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(out),
               "--mlflow-uri", f"http://127.0.0.1:{_free_port()}", *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "is not reachable" in err
    assert not out.exists() or not any(out.iterdir())
