"""SageMaker Autopilot through the real boto3 client against the loopback SageMaker double, with moto for S3.

The double (tests/doubles/sagemaker.py) speaks SageMaker's JSON 1.1 wire format, runs the AutoML job's stages over
its own clock, trains a scikit-learn model on the CSV it reads from S3 and answers the batch transform by writing
the output CSV back to S3; its meter holds the instance-seconds it billed. The interrupt test runs the adapter in a
child process (the double and moto live there) and sends it a real SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_aws import aws_env  # noqa: F401  (fixture: test parameters named after it carry noqa F811)

from baseline.adapters.aws.autopilot import SageMakerAutopilot
from baseline.adapters.base import AdapterContext
from baseline.adapters.registry import Registry
from baseline.costs import PriceTable
from baseline.errors import BadInput
from baseline.reuse import candidate_identity, plan_reuse, save_identity
from baseline.runner import RunOptions, run_all
from baseline.tasks.rows import encode_rows
from doubles.sagemaker import SageMakerDouble, churn_table, table_split

NAME = "aws-sagemaker-autopilot"
BUCKET = "baseline-autopilot-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerAutopilot"
SPEED = {"poll_interval": 0.001, "max_poll_interval": 0.002, "teardown_wait": 30}
OPTIONS = {"bucket": BUCKET, "role_arn": ROLE, "max_candidates": 3, **SPEED}
REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "doubles" / "sagemaker.py"
PRICES = PriceTable.default().row("sagemaker_autopilot")


@pytest.fixture
def sm(aws_env, monkeypatch):  # noqa: F811
    """moto for S3 (in-process), the double for SageMaker; the double reads and writes S3 through moto."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        with SageMakerDouble(s3=s3) as d:
            monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", d.url)
            d.s3_objects = lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            yield d


def run(tmp: Path, split, task: str = "tabular-classification", max_cost: float | None = None,
        metric: str = "macro_f1", **extra):
    opts = RunOptions(task=task, max_cost=max_cost, metric=metric, adapter_options={NAME: {**OPTIONS, **extra}},
                      run_id=tmp.name)
    (res,) = run_all(Registry.discover(), [NAME], split, opts, tmp)
    return res


def adapter(tmp: Path, task: str = "tabular-classification", labels=("churn", "stay"), schema=None, **extra):
    return SageMakerAutopilot(AdapterContext(labels=list(labels), options={**OPTIONS, **extra}, workdir=tmp,
                                             task=task, schema=schema, run_id="20260101-000000-churn"))


def by_hand_fit_usd() -> float:
    """The double's defaults: a 90 s analysis job and 3 × 240 s training on ml.m5.2xlarge, a 150 s dpp job on 4xlarge."""
    return (90 + 3 * 240) / 3600 * 0.461 + 150 / 3600 * 0.922


# ---- the whole life cycle ----------------------------------------------------------------------------------

def test_classification_lifecycle_wire_cost_and_nothing_left(sm, tmp_path):
    split = table_split(churn_table())
    res = run(tmp_path / "run", split)
    assert res.status == "ok", res.reason
    # the job: CreateAutoMLJobV2 with the tabular config, the CSV under the run's own prefix
    (create,) = [c["body"] for c in sm.calls("CreateAutoMLJobV2")]
    cfg = create["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert cfg["TargetAttributeName"] == "target" and cfg["ProblemType"] == "BinaryClassification"
    assert cfg["CompletionCriteria"] == {"MaxCandidates": 3, "MaxAutoMLJobRuntimeInSeconds": 3600}
    assert cfg["Mode"] == "AUTO" and "AutoMLJobObjective" not in create  # macro-F1 has no binary Autopilot objective
    channel = create["AutoMLJobInputDataConfig"][0]
    assert channel["ContentType"] == "text/csv;header=present"
    prefix = channel["DataSource"]["S3DataSource"]["S3Uri"]
    assert prefix.startswith(f"s3://{BUCKET}/baseline/baseline-") and prefix.endswith("/train/")
    assert create["OutputDataConfig"]["S3OutputPath"] == prefix.replace("/train/", "/output/")
    assert {"Key": "created-by", "Value": "baseline"} in create["Tags"]
    header = sm.training_csv[create["AutoMLJobName"]].splitlines()[0]
    assert header == "tenure,charges,plan,target" and len(sm.training_csv[create["AutoMLJobName"]].splitlines()) == 641
    # the model: the best candidate's container, asked for every class's probability
    (model,) = [c["body"] for c in sm.calls("CreateModel")]
    assert model["ExecutionRoleArn"] == ROLE and len(model["Containers"]) == 1
    assert model["Containers"][0]["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probabilities,labels"
    # one batch transform over every test row
    (tj,) = [c["body"] for c in sm.calls("CreateTransformJob")]
    assert tj["TransformInput"]["ContentType"] == "text/csv" and tj["TransformInput"]["SplitType"] == "Line"
    assert tj["TransformOutput"]["AssembleWith"] == "Line" and tj["TransformResources"] == {
        "InstanceType": "ml.m5.xlarge", "InstanceCount": 1}
    assert res.counts["requests"] == 1
    # the answers are the double's model's, joined on line order, with a probability for every class
    (est, features, classes, _numeric) = next(iter(sm.estimators.values()))
    test = pd.DataFrame([json.loads(t) for t in split.test["text"]])
    assert res.predictions == [str(x) for x in est.predict(sm._typed(test[features], _numeric))]
    assert all(set(s) == {"churn", "stay"} and abs(sum(s.values()) - 1) < 1e-4 for s in res.scores)
    assert np.mean(np.array(res.predictions) == split.test["label"].to_numpy()) > 0.85
    # money: the instance-seconds the double billed, at the price table's rates; by hand too
    assert res.cost["one_off_usd"] + res.cost["predict_usd"] == pytest.approx(sm.meter_usd(PRICES))
    assert res.cost["one_off_usd"] == pytest.approx(by_hand_fit_usd())
    assert res.cost["predict_usd"] == pytest.approx(210 / 3600 * 0.23)
    assert res.fit["candidates"] == 3 and res.fit["jobs_billed"] == 5  # + the analysis job, in no candidate
    assert res.fit["best_candidate"].endswith("-candidate") and res.fit["best_objective"]["metric"] == "F1"
    # nothing left: ledger says so, the double and S3 agree
    states = {r["kind"]: r["state"] for r in res.resources}
    assert states == {"s3-object": "deleted", "automl-job": "finished", "model": "deleted", "transform-job": "finished"}
    assert all(r["deleted"] for r in res.resources)
    assert sm.live_resources() == [] and sm.s3_objects() == []
    ledger = json.loads((tmp_path / "run" / "adapters" / NAME / "resources.json").read_text())
    assert ledger == res.resources


def test_regression_lifecycle(sm, tmp_path):
    split = table_split(churn_table(regression=True), regression=True)
    res = run(tmp_path / "run", split, task="tabular-regression", metric="rmse")
    assert res.status == "ok", res.reason
    cfg = sm.calls("CreateAutoMLJobV2")[0]["body"]["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert cfg["ProblemType"] == "Regression"
    containers = sm.calls("CreateModel")[0]["body"]["Containers"]
    assert all("SAGEMAKER_INFERENCE_OUTPUT" not in c["Environment"] for c in containers)  # a number per line
    (est, features, _classes, numeric) = next(iter(sm.estimators.values()))
    test = pd.DataFrame([json.loads(t) for t in split.test["text"]])
    expected = est.predict(sm._typed(test[features], numeric))
    got = np.array([float(p) for p in res.predictions])
    assert got == pytest.approx(expected, abs=1e-9) and all(s in (None, {}) for s in res.scores)
    truth = split.test["label"].astype(float).to_numpy()
    assert np.sqrt(np.mean((got - truth) ** 2)) < 1.0
    assert res.cost["one_off_usd"] + res.cost["predict_usd"] == pytest.approx(sm.meter_usd(PRICES))
    assert sm.live_resources() == [] and sm.s3_objects() == [] and all(r["deleted"] for r in res.resources)


def test_hpo_containers_pass_probabilities_along_the_pipeline(sm, tmp_path):
    a = adapter(tmp_path, mode="HYPERPARAMETER_TUNING", objective="AUC",
                schema={"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    df = churn_table()
    texts = encode_rows(df, {"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    try:
        a.load()
        info = a.fit(texts[:600], df["label"][:600].tolist())
        body = sm.calls("CreateAutoMLJobV2")[0]["body"]
        assert body["AutoMLJobObjective"] == {"MetricName": "AUC"}
        assert body["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == "HYPERPARAMETER_TUNING"
        dpp, algo, inverse = (c["Environment"] for c in sm.calls("CreateModel")[0]["body"]["Containers"])
        assert "SAGEMAKER_INFERENCE_OUTPUT" not in dpp and "SAGEMAKER_INFERENCE_INPUT" not in dpp
        assert algo["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probabilities"
        assert inverse["SAGEMAKER_INFERENCE_INPUT"] == "predicted_label,probabilities"
        assert inverse["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probabilities,labels"
        assert info.details["inference_containers"] == 3
        out = a.predict_batch(texts[600:640])
        assert all(lab in ("churn", "stay") for lab in out.labels) and all(len(s) == 2 for s in out.scores)
        assert out.errors == [None] * 40
    finally:
        a.teardown()
    assert sm.live_resources() == [] and sm.s3_objects() == []


# ---- before anything is paid: estimates, the budget gate, configuration ------------------------------------

def test_estimates_by_hand_and_the_budget_gate(sm, tmp_path):
    a = adapter(tmp_path)
    fit = a.estimate_fit(["{}"] * 600, ["churn"] * 600)
    # 3 candidates × 0.1 h + 0.5 h overhead at the ml.m5.4xlarge rate
    assert fit.units == {"training_instance_hours": pytest.approx(0.8)} and fit.usd == pytest.approx(0.8 * 0.922)
    pred = a.estimate_predict(["{}"] * 100)
    assert pred.usd == pytest.approx(600 / 3600 * 0.23) and a.batch_size >= 1_000_000 and a.max_concurrency == 1
    big = adapter(tmp_path, est_instance_hours=2.0, est_usd_per_instance_hour=1.0, transform_instance_count=2,
                  transform_instance_type="ml.c5.2xlarge", est_transform_s=900)
    assert big.estimate_fit([], []).usd == pytest.approx(2.0)
    assert big.estimate_predict(["{}"]).usd == pytest.approx(900 / 3600 * 2 * 0.408)
    res = run(tmp_path / "run", table_split(churn_table()), max_cost=0.5)
    assert res.status == "skipped" and "exceeds" in res.reason and sm.requests == []


def test_configuration_and_availability(aws_env):  # noqa: F811
    av = SageMakerAutopilot.availability("tabular-classification", {})
    assert not av.ok and "bucket and role_arn" in av.reason
    av = SageMakerAutopilot.availability("tabular-regression", {"bucket": BUCKET, "role_arn": "autopilot"})
    assert not av.ok and "not an IAM role ARN" in av.reason
    assert SageMakerAutopilot.availability("tabular-regression", {"bucket": BUCKET, "role_arn": ROLE}).ok
    assert not SageMakerAutopilot.availability("text-classification", {"bucket": BUCKET, "role_arn": ROLE}).ok
    with pytest.raises(BadInput, match="mode must be one of"):
        SageMakerAutopilot.check_options({"mode": "FAST"})
    with pytest.raises(BadInput, match="objective"):
        SageMakerAutopilot.check_options({"objective": "LogLoss"})
    entry = Registry.discover().get(NAME)
    assert entry.cls is SageMakerAutopilot and entry.cls.paid and entry.cls.family == "cloud"


# ---- failures: one clear line, nothing left ----------------------------------------------------------------

def test_failed_job_is_one_line_and_its_jobs_are_still_billed(sm, tmp_path):
    sm.fail_job("ClientError: AlgorithmError: the data\nhas too few usable features")
    res = run(tmp_path / "run", table_split(churn_table()))
    assert res.status == "failed" and "\n" not in res.reason
    job = sm.calls("CreateAutoMLJobV2")[0]["body"]["AutoMLJobName"]
    assert res.reason == (f"RuntimeError: Autopilot job {job} ended Failed: ClientError: AlgorithmError: the data "
                          "has too few usable features")
    assert sm.calls("CreateModel") == [] and sm.calls("CreateTransformJob") == []
    assert res.cost["one_off_usd"] == pytest.approx(sm.meter_usd(PRICES)) and res.cost["one_off_usd"] > 0
    assert {r["kind"]: r["state"] for r in res.resources} == {"s3-object": "deleted", "automl-job": "finished"}
    assert sm.live_resources() == [] and sm.s3_objects() == []


def test_too_few_rows_refused_before_anything_is_created(sm, tmp_path):
    res = run(tmp_path / "run", table_split(churn_table(n=400), test=60))
    assert res.status == "failed" and "at least 500 training rows" in res.reason and "340" in res.reason
    assert sm.requests == [] and sm.s3_objects() == []


def test_failed_transform_is_one_line_and_billed(sm, tmp_path):
    # a model whose container is asked for output it does not support: the job fails, its instances ran
    a = adapter(tmp_path)
    df = churn_table()
    texts = encode_rows(df, {"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    try:
        a.load()
        a.fit(texts[:600], df["label"][:600].tolist())
        sm.models[a.model_name]["Containers"][0]["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] = "predicted_label,shap"
        one_line = r"^batch transform \S+ ended Failed: ClientError: container \S+ does not support inference output"
        with pytest.raises(RuntimeError, match=one_line + r" \['shap'\]$"):
            a.predict_batch(texts[600:620])
        assert a.extra_cost.units["transform_instance_hours"] == pytest.approx(210 / 3600)
    finally:
        a.teardown()
    assert sm.live_resources() == [] and sm.s3_objects() == []


# ---- interrupted: SIGTERM in a child process, the ledger read back -----------------------------------------

def test_sigterm_during_the_automl_job_stops_it_and_leaves_nothing(aws_env, tmp_path):  # noqa: F811
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    knobs = {"hold_tuning": True, "options": {**OPTIONS, "poll_interval": 0.02, "max_poll_interval": 0.05}}
    proc = subprocess.Popen([sys.executable, str(HARNESS), str(state), BUCKET, json.dumps(knobs)], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not (state / "phase-DescribeAutoMLJobV2").exists():
        if proc.poll() is not None:
            pytest.fail(f"harness exited {proc.returncode}: {proc.communicate()}")
        if time.monotonic() - t0 > 60:
            proc.kill()
            pytest.fail("the AutoML job was never polled")
        time.sleep(0.02)
    time.sleep(0.3)  # a few polls into ModelTuning: a candidate is training
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    st = json.loads((state / "state.json").read_text())
    assert proc.returncode == 130 and "SIGTERM" in err, err
    assert "StopAutoMLJob" in st["ops"] and "CreateModel" not in st["ops"]
    assert st["live"] == [] and st["s3"] == [], st
    ledger = json.loads((state / "run" / "adapters" / NAME / "resources.json").read_text())
    assert {r["kind"]: r["state"] for r in ledger} == {"s3-object": "deleted", "automl-job": "stopped"}
    assert all(r["deleted"] for r in ledger)
    # what the jobs ran before the stop is booked in the run's spend ledger, as the double billed it
    billed = sum(s / 3600 * PRICES[k.split(":")[0]]["usd_per_instance_hour"][k.split(":")[1]]
                 for k, s in st["meter"].items())
    spend = [json.loads(x) for x in (state / "run" / "spend.jsonl").read_text().splitlines()]
    (hosting,) = [x for x in spend if x["kind"] == "hosting"]
    assert hosting["billed_usd"] == pytest.approx(billed) and billed > 0


def test_cleanup_stops_a_job_left_by_a_dead_process(sm, tmp_path):
    sm.hold_tuning = True
    a = adapter(tmp_path, max_wait=0.05)
    df = churn_table()
    texts = encode_rows(df, {"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    a.load()
    with pytest.raises(TimeoutError, match="max_wait"):
        a.fit(texts, df["label"].tolist())
    assert any(x.startswith("automl-job") for x in sm.live_resources())  # ... and then the process died
    ledger = json.loads((tmp_path / "resources.json").read_text())
    assert {r["kind"]: r["deleted"] for r in ledger} == {"s3-object": False, "automl-job": False}
    ctx = AdapterContext(labels=[], options={"role_arn": ROLE, **SPEED}, workdir=tmp_path, run_id="20260101-000000-churn")
    after = SageMakerAutopilot.cleanup(ctx, ledger)
    assert {r["kind"]: r["state"] for r in after} == {"s3-object": "deleted", "automl-job": "stopped"}
    assert sm.calls("StopAutoMLJob") and sm.live_resources() == [] and sm.s3_objects() == []
    n = len(sm.requests)
    assert SageMakerAutopilot.cleanup(ctx, after) == after and len(sm.requests) == n  # nothing twice


def test_lost_create_answer_is_found_by_name_and_stopped(sm, tmp_path):
    sm.hold_tuning = True
    sm.delay_answer("CreateAutoMLJobV2", 1.0)
    a = adapter(tmp_path, read_timeout=0.3, max_attempts=1)
    df = churn_table()
    texts = encode_rows(df, {"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    a.load()
    with pytest.raises(RuntimeError, match="CreateAutoMLJobV2 failed"):
        a.fit(texts, df["label"].tolist())
    assert next(r for r in a.resources if r["kind"] == "automl-job")["state"] == "requested"
    time.sleep(0.8)  # the job exists; its answer never reached the client
    a.teardown()
    job = next(r for r in a.resources if r["kind"] == "automl-job")
    assert job["state"] == "stopped" and job["arn"].endswith(f"automl-job/{a.job_name}")
    assert sm.live_resources() == [] and sm.s3_objects() == []


def test_retried_create_is_the_same_job(sm, tmp_path):
    sm.delay_answer("CreateAutoMLJobV2", 1.0)
    split = table_split(churn_table())
    res = run(tmp_path / "run", split, read_timeout=0.3, max_attempts=3)
    assert res.status == "ok", res.reason
    creates = sm.calls("CreateAutoMLJobV2")
    assert len(creates) == 2 and creates[1]["error"] == "ResourceInUse" and len(sm.automl) == 1
    assert sm.live_resources() == [] and sm.s3_objects() == []


def test_teardown_is_idempotent(sm, tmp_path):
    a = adapter(tmp_path)
    df = churn_table()
    texts = encode_rows(df, {"tenure": "numeric", "charges": "numeric", "plan": "categorical"})
    a.load()
    a.fit(texts[:640], df["label"][:640].tolist())
    assert len(a.predict_batch(texts[640:]).labels) == len(texts) - 640
    a.teardown()
    n = len(sm.requests)
    a.teardown()
    assert len(sm.requests) == n and sm.live_resources() == [] and all(r["deleted"] for r in a.resources)


# ---- a rerun on the same split pays nothing ----------------------------------------------------------------

def test_rerun_on_the_same_split_reuses_the_result_and_sends_nothing(sm, tmp_path):
    split = table_split(churn_table())
    opts = RunOptions(task="tabular-classification", adapter_options={NAME: OPTIONS}, run_id="run1")
    registry = Registry.discover()
    first_dir = tmp_path / "run1"
    (first,) = run_all(registry, [NAME], split, opts, first_dir)
    assert first.status == "ok" and first.cost["billed_now_usd"] > 0
    save_identity(first_dir, NAME, candidate_identity(SageMakerAutopilot, split, opts))
    sent = len(sm.requests)
    runs = [{"run_id": "run1", "run_dir": str(first_dir), "finished": "2026-01-01T00:00:00", "adapters": [NAME]}]
    _, reused, why = plan_reuse(split, [NAME], {NAME: SageMakerAutopilot}, opts, runs, None, False)
    assert NAME in reused and why == {} and len(sm.requests) == sent  # copied: nothing sent, nothing created
    again = reused[NAME]
    assert again.reused_from["run_id"] == "run1" and again.predictions == first.predictions
    # another split (one test row fewer) is not the same candidate: it would run, and pay, again
    other = table_split(churn_table(), test=119)
    _, reused, why = plan_reuse(other, [NAME], {NAME: SageMakerAutopilot}, opts, runs, None, False)
    assert reused == {} and why[NAME] == "changed"
