"""Paid runs you can trust: teardown on every kind of interrupt, lost creates, the ledger read back,
credentials from files kept out of every output, the cache and history in the per-user home.

The kill tests run the real CLI in a child process (tests/doubles/aws_cli_harness.py: moto S3 and
the Comprehend double live there, since moto is in-process) and send it real signals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_aws import (  # noqa: F401  (fixtures: test parameters named after them carry noqa F811)
    BUCKET,
    ROLE,
    SPEED,
    adapter_result,
    aws_env,
    cloud,
    custom_config,
    double,
    run_dir,
    topic_csv,
    write_config,
)

from baseline.adapters.aws import ComprehendCustom
from baseline.adapters.base import AdapterContext
from baseline.cli import main
from baseline.store import Store

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "doubles" / "aws_cli_harness.py"


# ---- kill tests: a real child process, real signals ---------------------------------------------------

def _start(tmp_path: Path, knobs: dict, options: dict | None = None) -> tuple[subprocess.Popen, Path, Path]:
    data = topic_csv(tmp_path / "topics.csv")
    cfg = custom_config(tmp_path, **(options or {}))
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    env.pop("AWS_ENDPOINT_URL_COMPREHEND", None)
    args = ["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(tmp_path / "r"),
            "--no-progress", "--resamples", "100", "--config", str(cfg)]
    proc = subprocess.Popen([sys.executable, str(HARNESS), str(state), BUCKET, json.dumps(knobs), "--", *args],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, state, tmp_path / "r"


def _wait_for(proc: subprocess.Popen, marker: Path, timeout: float = 90.0) -> None:
    t0 = time.monotonic()
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child exited {proc.returncode} before {marker.name}:\n{out}\n{err}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail(f"{marker.name} never appeared")
        time.sleep(0.02)


def _finish(proc: subprocess.Popen, state: Path) -> tuple[int, str, str, dict]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err, json.loads((state / "state.json").read_text())


def _history(home: Path) -> list[dict]:
    store = Store(home / "history.sqlite3")
    try:
        return store.runs()
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_prediction_tear_everything_down(aws_env, tmp_path, baseline_home, sig):  # noqa: F811
    proc, state, out = _start(tmp_path, {"latency_s": 0.05})
    _wait_for(proc, state / "phase-ClassifyDocument")
    proc.send_signal(sig)
    rc, stdout, stderr, st = _finish(proc, state)
    assert rc == 130, stderr
    assert "interrupted" in stdout + stderr and sig.name in stdout + stderr
    assert st["live"] == [] and st["s3"] == [], st           # no endpoint, no classifier, no S3 object left
    assert "DeleteEndpoint" in st["ops"] and "DeleteDocumentClassifier" in st["ops"]
    ledger = json.loads(next(out.rglob("resources.json")).read_text())
    assert {r["kind"] for r in ledger} >= {"s3-object", "document-classifier", "endpoint"}
    assert all(r["deleted"] and r["state"] == "deleted" for r in ledger)
    runs = _history(baseline_home)
    assert [r["status"] for r in runs] == ["interrupted"]


def test_sigterm_during_training_stops_and_deletes(aws_env, tmp_path, baseline_home):  # noqa: F811
    proc, state, out = _start(tmp_path, {"train_polls": 1_000_000})
    _wait_for(proc, state / "phase-DescribeDocumentClassifier")
    proc.send_signal(signal.SIGTERM)
    rc, stdout, stderr, st = _finish(proc, state)
    assert rc == 130, stderr
    assert st["live"] == [] and st["s3"] == [], st
    assert "StopTrainingDocumentClassifier" in st["ops"] and "CreateEndpoint" not in st["ops"]
    assert [r["status"] for r in _history(baseline_home)] == ["interrupted"]


def test_second_sigint_during_teardown_is_refused_and_teardown_finishes(aws_env, tmp_path, baseline_home):  # noqa: F811
    # deletions take a few polls, so the second Ctrl-C lands while teardown is running
    proc, state, out = _start(tmp_path, {"latency_s": 0.05, "delete_polls": 8}, {"poll_interval": 0.05})
    _wait_for(proc, state / "phase-ClassifyDocument")
    proc.send_signal(signal.SIGINT)
    _wait_for(proc, state / "phase-DeleteEndpoint")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # a third, of the other kind: refused too
    rc, stdout, stderr, st = _finish(proc, state)
    assert rc == 130, stderr
    assert "SIGINT refused: aws-comprehend-custom teardown in progress" in stderr
    assert "Traceback" not in stderr
    assert st["live"] == [] and st["s3"] == [], st
    assert [r["status"] for r in _history(baseline_home)] == ["interrupted"]


# ---- a create whose answer was lost --------------------------------------------------------------------

def test_create_classifier_answer_timed_out_is_found_by_tags_and_deleted(cloud, tmp_path):  # noqa: F811
    """The service creates the classifier, then the answer arrives after the client's read timeout."""
    cloud.delay_answer("CreateDocumentClassifier", 2.0)
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    cfg = custom_config(tmp_path, read_timeout=0.5, max_attempts=1)
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config", str(cfg)])
    assert rc == 1
    a = adapter_result(out, "aws-comprehend-custom")
    assert a["status"] == "failed" and "CreateDocumentClassifier failed" in a["reason"]
    assert len(cloud.retired) == 1  # it was created, then found by name + tags and deleted
    clf = next(iter(cloud.retired.values()))
    run_id = run_dir(out).name
    assert {"Key": "baseline:run", "Value": run_id} in clf.tags
    rec = next(r for r in a["resources"] if r["kind"] == "document-classifier")
    assert rec["id"] == clf.arn and rec["deleted"] and rec["state"] == "deleted"
    assert cloud.calls("ListTagsForResource") and cloud.live_resources() == [] and cloud.s3_objects() == []
    report = (run_dir(out) / "report.md").read_text()
    assert f"document-classifier {clf.arn}: deleted" in report
    assert f"resource: document-classifier {clf.arn}: deleted" in (run_dir(out) / "report.html").read_text()


def test_retried_create_with_the_same_token_makes_one_classifier(cloud, tmp_path):  # noqa: F811
    """With retries the lost answer is asked again with the same ClientRequestToken: one classifier, run ok."""
    cloud.delay_answer("CreateDocumentClassifier", 1.5)
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config",
               str(custom_config(tmp_path, read_timeout=0.5, max_attempts=3))])
    assert rc == 0, adapter_result(out, "aws-comprehend-custom")["reason"]
    creates = cloud.calls("CreateDocumentClassifier")
    assert len(creates) == 2 and creates[0]["body"]["ClientRequestToken"] == creates[1]["body"]["ClientRequestToken"]
    assert len(cloud.retired) == 1 and cloud.live_resources() == []


def test_never_created_is_not_reported_as_deleted(cloud, tmp_path):  # noqa: F811
    cloud.fail("CreateEndpoint", status=400, kind="ResourceLimitExceededException", message="too many endpoints")
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config", str(custom_config(tmp_path))])
    assert rc == 1
    a = adapter_result(out, "aws-comprehend-custom")
    ep = next(r for r in a["resources"] if r["kind"] == "endpoint")
    assert ep["state"] == "never created"
    assert "endpoint" in (run_dir(out) / "report.md").read_text()
    assert ": never created (confirmed absent)" in (run_dir(out) / "report.md").read_text()
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


# ---- the ledger read back: baseline cleanup, --resume ---------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_cleanup_deletes_what_a_killed_run_left(cloud, tmp_path, baseline_home, capsys):  # noqa: F811
    """A run killed with -9 after its endpoint came up: only the ledger and the history know."""
    run = tmp_path / "reports" / "20260101-000000-topics"
    adir = run / "adapters" / "aws-comprehend-custom"
    c = ComprehendCustom(AdapterContext(labels=["billing", "delivery"], workdir=adir, run_id=run.name,
                                        options={"bucket": BUCKET, "role_arn": ROLE, "max_rps": 0, **SPEED}))
    c.load()
    c.fit([f"my {w} issue {i}" for w in ("invoice", "parcel") for i in range(60)], ["billing"] * 60 + ["delivery"] * 60)
    assert len(cloud.live_resources()) == 2 and cloud.s3_objects()   # ... and then the process died
    store = Store(baseline_home / "history.sqlite3")
    store.record_run({"run_id": run.name, "started": "2026-01-01T00:00:00", "finished": None, "dataset": "topics",
                      "data_sha256": "x", "split_hash": "y", "adapters": ["aws-comprehend-custom"], "best": None,
                      "verdict": None, "status": "running", "run_dir": str(run), "pid": _dead_pid()})
    store.close()
    assert main(["history", "--json"]) == 0
    h = json.loads(capsys.readouterr().out)
    assert h[0]["status"] == "interrupted" and h[0]["leftovers"] == 3

    assert main(["cleanup", "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert f"{run.name}: left: endpoint arn:aws:comprehend" in listed and len(cloud.live_resources()) == 2

    assert main(["cleanup"]) == 0
    printed = capsys.readouterr().out
    assert f"{run.name}: deleted endpoint arn:aws:comprehend" in printed
    assert f"{run.name}: deleted document-classifier arn:aws:comprehend" in printed
    assert f"{run.name}: deleted s3-object s3://{BUCKET}/" in printed
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    ledger = json.loads((adir / "resources.json").read_text())
    assert all(r["deleted"] and r["state"] == "deleted" for r in ledger)
    assert main(["cleanup", run.name]) == 0
    assert "deleted" not in capsys.readouterr().out   # nothing left: nothing deleted twice
    assert main(["cleanup"]) == 0
    assert "nothing to clean up" in capsys.readouterr().out


def test_cleanup_finds_a_lost_create_from_the_ledger(cloud, tmp_path, baseline_home, capsys):  # noqa: F811
    """The ledger says 'requested' (the process died waiting for CreateDocumentClassifier's answer)."""
    run = tmp_path / "reports" / "20260101-000001-topics"
    adir = run / "adapters" / "aws-comprehend-custom"
    cloud.delay_answer("CreateDocumentClassifier", 2.0)
    c = ComprehendCustom(AdapterContext(labels=["billing", "delivery"], workdir=adir, run_id=run.name,
                                        options={"bucket": BUCKET, "role_arn": ROLE, "max_rps": 0, "read_timeout": 0.5,
                                                 "max_attempts": 1, **SPEED}))
    c.load()
    with pytest.raises(RuntimeError, match="CreateDocumentClassifier failed"):
        c.fit([f"my {w} issue {i}" for w in ("invoice", "parcel") for i in range(60)], ["billing"] * 60 + ["delivery"] * 60)
    time.sleep(2.0)  # the answer never came back to the client, but the classifier exists
    assert len(cloud.live_resources()) == 1
    ledger = json.loads((adir / "resources.json").read_text())
    assert next(r for r in ledger if r["kind"] == "document-classifier")["state"] == "requested"
    store = Store(baseline_home / "history.sqlite3")
    store.record_run({"run_id": run.name, "started": "2026-01-01T00:00:01", "finished": None, "dataset": "topics",
                      "data_sha256": "x", "split_hash": "y", "adapters": ["aws-comprehend-custom"], "best": None,
                      "verdict": None, "status": "running", "run_dir": str(run), "pid": _dead_pid()})
    store.close()
    assert main(["cleanup", run.name, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)[0]
    kinds = sorted(d["kind"] for d in rep["deleted"])
    assert kinds == ["document-classifier", "s3-object"] and rep["left"] == [] and rep["errors"] == []
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


def test_resume_cleans_up_first_then_reruns(cloud, tmp_path, capsys):  # noqa: F811
    cloud.fail("DeleteEndpoint", status=400, kind="AccessDeniedException", message="not allowed")
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    cfg = custom_config(tmp_path)
    args = ["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
            "--no-progress", "--resamples", "100", "--config", str(cfg)]
    assert main(args) == 1
    a = adapter_result(out, "aws-comprehend-custom")
    assert "TEARDOWN FAILED" in " ".join(a["notes"])
    left = [r for r in a["resources"] if not r["deleted"]]
    assert {r["kind"] for r in left} == {"endpoint", "document-classifier"}  # the classifier waits on its endpoint
    report = (run_dir(out) / "report.md").read_text()
    assert "NOT DELETED" in report
    cloud._failures.clear()
    capsys.readouterr()
    assert main([*args, "--resume", run_dir(out).name]) == 0   # a run id works as well as a folder
    printed = capsys.readouterr().out
    assert "cleanup: deleted endpoint" in printed and "cleanup: deleted document-classifier" in printed
    assert adapter_result(out, "aws-comprehend-custom")["status"] == "ok"
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    ledger = json.loads(next(out.rglob("resources.json")).read_text())
    assert len({r["run_name"] for r in ledger}) == 2 and all(r["deleted"] for r in ledger)


# ---- credentials from a file, echoed by the service ----------------------------------------------------

FILE_TOKEN = "IQoJb3JpZ2luX2VjEFileOnlSessionTokenXyZ0123456789abcdefGHIJ"
FILE_SECRET = "fileOnlySecretKey0123456789abcdefghijABCD"


def test_session_token_from_credentials_file_never_reaches_any_output(double, tmp_path, monkeypatch, capsys,  # noqa: F811
                                                                      baseline_home):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[default]\naws_access_key_id = AKIAFILEONLYKEY00001\naws_secret_access_key = {FILE_SECRET}\n"
                     f"aws_session_token = {FILE_TOKEN}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    # the service echoes the token bare (no "token=" label a pattern could catch): per item and whole-request
    double.doc_errors["refund"] = ("INTERNAL_SERVER_ERROR", f"request signed with {FILE_TOKEN} failed")
    double.fail("Converse", status=400, kind="ValidationException", message=f"bad session {FILE_TOKEN} / {FILE_SECRET}")
    cfg = write_config(tmp_path / "b.toml", {"adapters.bedrock-llm": {"model_id": "amazon.nova-micro-v1:0"}})
    out = tmp_path / "reports"
    for extra in ([], ["--json"]):
        rc = main(["compare", "--adapters", "aws-comprehend-sentiment,bedrock-llm", "--out", str(out), "--no-progress",
                   "--resamples", "100", "--config", str(cfg), *extra])
        assert rc == 1  # bedrock failed with the echoed token in its message
    captured = capsys.readouterr()
    r = json.loads((run_dir(out) / "results.json").read_text())
    b = next(a for a in r["adapters"] if a["name"] == "bedrock-llm")
    assert b["status"] == "failed" and "bad session ***" in b["reason"]
    files = [p for p in [*out.rglob("*"), *baseline_home.rglob("*")] if p.is_file()]
    names = {p.name for p in files}
    assert {"results.json", "report.md", "report.html", "predictions.csv", "responses.sqlite3"} <= names
    for secret in (FILE_TOKEN, FILE_SECRET):
        assert secret not in captured.out and secret not in captured.err
        for p in files:
            assert secret.encode() not in p.read_bytes(), f"{secret[:8]}... found in {p}"


# ---- the cache in the home: a rerun with another --out pays nothing ------------------------------------

def test_rerun_with_another_out_is_answered_from_the_home_cache(double, tmp_path, baseline_home):  # noqa: F811
    args = ["compare", "--adapters", "aws-comprehend-sentiment", "--no-progress", "--resamples", "100"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    sent = len(double.calls("BatchDetectSentiment"))
    assert sent > 0
    os.chdir(tmp_path / "a")  # another folder, the default --out
    assert main([*args, "--fresh"]) == 0  # --fresh: run it again (not copy the result) so the cache answers
    assert len(double.calls("BatchDetectSentiment")) == sent   # nothing sent again
    again = adapter_result(tmp_path / "a" / "reports", "aws-comprehend-sentiment")
    n = json.loads((run_dir(tmp_path / "a" / "reports") / "results.json").read_text())["split"]["rows"]["test"]
    assert again["counts"]["cached_items"] == n and again["status"] == "ok"
    assert again["cost"]["billed_now_usd"] == 0.0 and again["cost"]["cached_usd"] > 0


# ---- a rerun copies an unchanged paid result: nothing sent, nothing counted as this run's spend --------

def test_rerun_reuses_the_paid_result_and_counts_no_spend(double, tmp_path):  # noqa: F811
    args = ["compare", "--adapters", "majority,aws-comprehend-sentiment", "--no-progress", "--resamples", "100",
            "--out", str(tmp_path / "r")]
    assert main(args) == 0
    first = json.loads((run_dir(tmp_path / "r") / "results.json").read_text())
    assert first["spend"]["billed_now_usd"] > 0
    sent = len(double.requests)
    assert main(args) == 0
    assert len(double.requests) == sent  # not even a cache lookup's worth of calls: the result is copied
    r = json.loads((run_dir(tmp_path / "r") / "results.json").read_text())
    a = next(x for x in r["adapters"] if x["name"] == "aws-comprehend-sentiment")
    assert a["reused_from"]["run_id"] == first["run_id"]
    assert r["spend"]["billed_now_usd"] == 0 and r["spend"]["possibly_billed_now_usd"] == 0
    md = (run_dir(tmp_path / "r") / "report.md").read_text()
    assert "| this run billed | $0 |" in md and f"ok (reused from run {first['run_id']}" in md
