"""Multi-label text classification on the custom cloud services, through the real SDK clients and the doubles.

Comprehend: ``Mode="MULTI_LABEL"`` training (label cell "a|b", ``LabelDelimiter``), ``Labels`` answers thresholded
at 0.5, on moto S3 + the Comprehend double (tests/doubles/aws_services.py), with the single-label life cycle, cost
and teardown. Azure: ``begin_multi_label_classify`` (task kind ``CustomMultiLabelClassification``) against the
Azure double (tests/doubles/azure_language.py). And the single-label requests, unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_aws import (  # noqa: F401  (fixtures: test parameters named after them carry noqa F811)
    BUCKET,
    ROLE,
    SPEED,
    aws_env,
    cloud,
)

from baseline.adapters.aws import ComprehendCustom
from baseline.adapters.azure import AzureCustom
from baseline.adapters.base import AdapterContext
from baseline.costs import comprehend_units
from baseline.data import Split
from baseline.runner import Budget, RunOptions, run_adapter
from baseline.tasks.labelsets import EMPTY, decode, encode
from doubles.azure_language import AzureLanguageDouble

MULTI = "multi-label-text-classification"
LABELS = ["account", "billing", "delivery"]
WORDS = {"billing": ["invoice", "charged", "payment", "receipt"], "delivery": ["courier", "parcel", "late", "box"],
         "account": ["password", "login", "email", "profile"]}
COMBOS: list[tuple[str, ...]] = [("billing",), ("delivery",), ("account",), ("billing", "delivery"),
                                 ("account", "billing"), ()]
REPO = Path(__file__).resolve().parents[2]


def ml_rows(n: int, offset: int = 0, combos: list[tuple[str, ...]] = COMBOS) -> list[tuple[str, str]]:
    """(text, canonical label set) rows: each label's words in the text; the empty set talks about nothing."""
    out = []
    for i in range(n):
        labs = combos[i % len(combos)]
        words = [WORDS[lab][(i + k) % 4] for lab in labs for k in (0, 1)] or ["hello", "thanks"]
        out.append((f"my {' and '.join(words)} note {i + offset}", encode(labs)))
    return out


def ml_split(train: int = 60, test: int = 12, combos: list[tuple[str, ...]] = COMBOS) -> Split:
    tr, te = ml_rows(train, 0, combos), ml_rows(test, 1000, combos)
    frame = lambda rows: pd.DataFrame({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})  # noqa: E731
    return Split(train=frame(tr), test=frame(te), validation=None, source="file", seed=0, test_size=None,
                 hash="multilabel-test", labels=list(LABELS))


def comprehend_options(**extra: object) -> dict:
    return {"bucket": BUCKET, "role_arn": ROLE, "max_rps": 0, **SPEED, **extra}


def run(cls: type, split: Split, tmp_path: Path, options: dict, task: str = MULTI):
    opts = RunOptions(task=task, adapter_options={cls.name: options}, run_id="ml-run", latency_probe=0)
    return run_adapter(cls, split, opts, Budget(), tmp_path / "run")


def expected_set(model, text: str, threshold: float = 0.5) -> str:
    return encode(lab for lab, s in model.scores(text) if s >= threshold)


# ---- Comprehend custom, MULTI_LABEL ---------------------------------------------------------------------

def test_comprehend_availability_names_the_task(aws_env):  # noqa: F811
    assert ComprehendCustom.availability(MULTI, comprehend_options()).ok
    assert "does not support" in ComprehendCustom.availability("no-such-task", comprehend_options()).reason


def test_comprehend_multilabel_endpoint_sets_cost_and_teardown(cloud, tmp_path):  # noqa: F811
    split = ml_split()
    res = run(ComprehendCustom, split, tmp_path, comprehend_options())
    assert res.status == "ok", res.reason
    # the training request: MULTI_LABEL with the "|" delimiter; the CSV label cell joins a row's labels
    create = cloud.calls("CreateDocumentClassifier")[0]["body"]
    assert create["Mode"] == "MULTI_LABEL"
    assert create["InputDataConfig"]["LabelDelimiter"] == "|"
    assert create["InputDataConfig"]["DataFormat"] == "COMPREHEND_CSV"
    clf = next(iter(cloud.retired.values()))
    cells = [line.split(",")[0] for line in clf.csv_text.strip().split("\n")]
    assert len(cells) == 50 and "billing|delivery" in cells and "account|billing" in cells  # 10 empty sets left out
    assert res.fit["train_rows_without_labels"] == 10 and res.fit["classifier_mode"] == "MULTI_LABEL"
    assert any("10 train rows with no label" in n for n in res.notes)
    assert set(res.fit["evaluation_metrics"]) >= {"HammingLoss", "MicroF1Score"}
    # the answers: Labels thresholded at 0.5 into canonical sets, every label scored
    texts = split.test["text"].tolist()
    assert res.predictions == [expected_set(clf.model, t) for t in texts]
    assert any(len(decode(p)) == 2 for p in res.predictions)
    assert all(set(s) == set(LABELS) for s in res.scores)
    assert all(res.scores[i][lab] >= 0.5 for i, p in enumerate(res.predictions) for lab in decode(p))
    assert len(cloud.calls("ClassifyDocument")) == len(texts)
    # money, as in single-label mode: 0.5 h training × $3 + a model-month $0.50 + the endpoint's 60 s minimum
    assert res.cost["one_off_usd"] + res.cost["predict_usd"] == pytest.approx(1.5 + 0.5 + 0.03)
    assert res.cost["one_off_units"]["training_hours"] == pytest.approx(0.5)
    # everything billable deleted, and confirmed
    assert {r["kind"] for r in res.resources} >= {"s3-object", "document-classifier", "endpoint"}
    assert all(r["deleted"] for r in res.resources)
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    assert any(":document-classifier-endpoint/" in arn for arn in cloud.gone)


def test_comprehend_multilabel_async_job_reads_labels_per_line(cloud, tmp_path):  # noqa: F811
    split = ml_split()
    res = run(ComprehendCustom, split, tmp_path, comprehend_options(mode="async", threshold=0.6))
    assert res.status == "ok", res.reason
    assert len(cloud.calls("StartDocumentClassificationJob")) == 1 and cloud.calls("ClassifyDocument") == []
    model = next(iter(cloud.retired.values())).model
    texts = split.test["text"].tolist()
    assert res.predictions == [expected_set(model, t, 0.6) for t in texts]  # lines shuffled: joined on Line
    assert res.cost["billed_now_units"]["custom_async_units"] == pytest.approx(sum(comprehend_units(t) for t in texts))
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


def test_comprehend_multilabel_too_few_texts_for_a_label_is_one_line_and_creates_nothing(cloud, tmp_path):  # noqa: F811
    rare = [("billing",), ("delivery",), ("billing", "delivery")] * 6 + [("account",)]  # account: 3 of 60 rows
    res = run(ComprehendCustom, ml_split(60, 12, rare), tmp_path, comprehend_options())
    assert res.status == "failed"
    assert res.reason == ("RuntimeError: Comprehend multi-label training needs at least 10 train texts for each of "
                          "2+ labels; too few: {'account': 3}")
    assert "\n" not in res.reason
    assert cloud.calls("CreateDocumentClassifier") == [] and cloud.s3_objects() == [] and res.resources == []


def test_comprehend_double_refuses_multilabel_data_under_the_minimum(cloud, tmp_path):  # noqa: F811
    """The double's backstop: data that skips the adapter's check ends IN_ERROR, and teardown still deletes it."""
    c = ComprehendCustom(AdapterContext(labels=LABELS, options=comprehend_options(), workdir=tmp_path, task=MULTI))
    c._multilabel_rows = lambda texts, labels: (list(texts), [lab.replace(EMPTY, "") for lab in labels], 0)
    try:
        c.load()
        with pytest.raises(RuntimeError, match="training ended IN_ERROR: .*at least one label"):
            c.fit(*zip(*ml_rows(60), strict=True))
    finally:
        c.teardown()
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


def test_comprehend_multilabel_failure_mid_run_leaves_nothing_billable(cloud, tmp_path):  # noqa: F811
    cloud.fail("ClassifyDocument", after=3, status=400, kind="InvalidRequestException", message="boom mid-run")
    res = run(ComprehendCustom, ml_split(), tmp_path, comprehend_options())
    assert res.status == "failed" and "boom mid-run" in res.reason
    assert res.resources and all(r["deleted"] for r in res.resources)
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    assert res.cost["one_off_usd"] >= 1.5 + 0.5  # the training and the endpoint were paid for all the same


HARNESS = r'''
import json, os, sys
from pathlib import Path

import boto3
import pandas as pd
from moto import mock_aws

from baseline.adapters.aws import ComprehendCustom
from baseline.data import Split
from baseline.interrupts import interrupts_as_keyboard_interrupt
from baseline.runner import Budget, RunOptions, run_adapter
from doubles.aws_services import AwsDouble

state, bucket, spec = Path(sys.argv[1]), sys.argv[2], json.loads(Path(sys.argv[3]).read_text())
frame = lambda rows: pd.DataFrame({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
split = Split(train=frame(spec["train"]), test=frame(spec["test"]), validation=None, source="file", seed=0,
              test_size=None, hash="sigterm", labels=spec["labels"])
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    with AwsDouble(s3=s3, latency_s=0.05) as d:
        os.environ["AWS_ENDPOINT_URL_COMPREHEND"] = d.url
        for op in ("ClassifyDocument", "DeleteEndpoint", "DeleteDocumentClassifier"):
            d.on_op(op, lambda o: (state / f"phase-{o}").touch())
        rc = 0
        try:
            with interrupts_as_keyboard_interrupt():
                opts = RunOptions(task=spec["task"], adapter_options={"aws-comprehend-custom": spec["options"]},
                                  run_id="sigterm", latency_probe=0)
                run_adapter(ComprehendCustom, split, opts, Budget(), state / "run")
        except KeyboardInterrupt as e:
            rc = 130
            print("interrupted", e, file=sys.stderr)
        finally:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
            (state / "state.json").write_text(json.dumps({
                "live": d.live_resources(), "s3": keys, "ops": [r["op"] for r in d.requests],
                "create": [r["body"] for r in d.requests if r["op"] == "CreateDocumentClassifier"]}))
sys.exit(rc)
'''


def test_comprehend_multilabel_sigterm_during_prediction_tears_everything_down(aws_env, tmp_path):  # noqa: F811
    state = tmp_path / "state"
    state.mkdir()
    spec = {"train": ml_rows(60), "test": ml_rows(40, 1000), "labels": LABELS, "task": MULTI,
            "options": comprehend_options()}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "harness.py").write_text(HARNESS)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    env.pop("AWS_ENDPOINT_URL_COMPREHEND", None)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "harness.py"), str(state), BUCKET,
                             str(tmp_path / "spec.json")], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not (state / "phase-ClassifyDocument").exists():
        if proc.poll() is not None:
            pytest.fail(f"harness exited {proc.returncode} before predicting:\n{proc.communicate()}")
        if time.monotonic() - t0 > 90:
            proc.kill()
            pytest.fail("prediction never started")
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "SIGTERM" in err
    st = json.loads((state / "state.json").read_text())
    assert st["create"][0]["Mode"] == "MULTI_LABEL"
    assert st["live"] == [] and st["s3"] == [], st  # no endpoint, no classifier, no S3 object left
    assert "DeleteEndpoint" in st["ops"] and "DeleteDocumentClassifier" in st["ops"]
    assert st["ops"].count("ClassifyDocument") < 40  # stopped mid-run
    ledger = json.loads(next((state / "run").rglob("resources.json")).read_text())
    assert {r["kind"] for r in ledger} >= {"s3-object", "document-classifier", "endpoint"}
    assert all(r["deleted"] and r["state"] == "deleted" for r in ledger)


def test_comprehend_single_label_requests_are_unchanged(cloud, tmp_path):  # noqa: F811
    c = ComprehendCustom(AdapterContext(labels=["billing", "delivery"], options=comprehend_options(), workdir=tmp_path))
    try:
        c.load()
        train = [f"my {w} issue {i}" for w in ("invoice", "parcel") for i in range(60)]
        info = c.fit(train, ["billing"] * 60 + ["delivery"] * 60)
        r = c.predict_batch(["invoice invoice"])
    finally:
        c.teardown()
    body = cloud.calls("CreateDocumentClassifier")[0]["body"]
    prefix = f"baseline/{c.run_name}"
    assert body == {"DocumentClassifierName": c.run_name, "DataAccessRoleArn": ROLE, "LanguageCode": "en",
                    "Mode": "MULTI_CLASS",
                    "InputDataConfig": {"DataFormat": "COMPREHEND_CSV", "S3Uri": f"s3://{BUCKET}/{prefix}/train.csv"},
                    "OutputDataConfig": {"S3Uri": f"s3://{BUCKET}/{prefix}/training-output/"},
                    "Tags": c._tags(), "ClientRequestToken": f"{c.run_name}-classifier"}
    classify = cloud.calls("ClassifyDocument")[0]["body"]
    assert set(classify) == {"EndpointArn", "Text"} and classify["Text"] == "invoice invoice"
    assert r.labels == ["billing"] and set(r.scores[0]) == {"billing", "delivery"}
    assert not {"classifier_mode", "threshold", "train_rows_without_labels"} & set(info.details)
    assert next(iter(cloud.retired.values())).csv_text.split("\n")[0].split(",")[0] in {"billing", "delivery"}
    assert cloud.live_resources() == []


# ---- Azure AI Language custom multi-label ----------------------------------------------------------------

KEY = "PLANTEDfakeAzureKeyMultiLabel0c4e9a7b"
FAST = {"retry_backoff_factor": 0.01, "polling_interval": 0, "project": "tickets", "deployment": "prod"}


def keyword_classes(text: str) -> list[tuple[str, float]]:
    """The double's multi-label model: every label whose words occur, plus an unknown category for "chitchat"."""
    out = [(lab, 0.9 - 0.1 * k) for k, lab in enumerate(LABELS) if any(w in text for w in WORDS[lab])]
    return out + ([("Smalltalk", 0.7)] if "chitchat" in text else [])


@pytest.fixture
def azure(monkeypatch):
    pytest.importorskip("azure.ai.textanalytics")
    d = AzureLanguageDouble(key=KEY, retry_after="0.2", classify_multi=keyword_classes).start()
    monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", d.endpoint)
    monkeypatch.setenv("AZURE_LANGUAGE_KEY", KEY)
    yield d
    d.stop()


def azure_custom(task: str = MULTI, **options: object) -> AzureCustom:
    a = AzureCustom(AdapterContext(labels=list(LABELS), options={**FAST, **options}, task=task))
    a.load()
    return a


def test_azure_multilabel_sets_scores_and_wire_format(azure):
    assert AzureCustom.availability(MULTI, FAST).ok
    a = azure_custom()
    try:
        r = a.predict_batch(["my invoice came with the parcel", "my password", "hello there", "chitchat invoice", ""])
    finally:
        a.teardown()
    assert r.labels == ["billing|delivery", "account", EMPTY, "billing", None]
    assert r.raw == ["billing|delivery", "account", EMPTY, "Smalltalk|billing", None]
    assert r.scores[0] == {"account": 0.0, "billing": pytest.approx(0.8), "delivery": pytest.approx(0.7)}
    assert r.scores[2] == dict.fromkeys(LABELS, 0.0)
    assert r.errors[:4] == [None] * 4 and r.errors[4] == "InvalidDocument: Document text is empty."
    assert r.cost.units == {"azure_text_records": 4.0} and r.cost.usd == pytest.approx(4 * 5.0 / 1000)
    task = azure.requests[0]["body"]["tasks"][0]
    assert task["kind"] == "CustomMultiLabelClassification"
    assert task["parameters"] == {"projectName": "tickets", "deploymentName": "prod"}
    assert json.loads(azure.requests[-1]["response"])["tasks"]["items"][0]["kind"] == \
        "CustomMultiLabelClassificationLROResults"
    assert any("1 returned categories map to no dataset label" in n for n in a.notes)
    assert "op=multi_label_classify" in a.cache_identity()


def test_azure_multilabel_through_the_runner_batches_bills_and_creates_nothing(azure, tmp_path):
    rows = ml_rows(30, 1000)
    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
    split = Split(train=frame.iloc[:0], test=frame, validation=None, source="file", seed=0, test_size=None,
                  hash="azure-ml", labels=list(LABELS))
    res = run(AzureCustom, split, tmp_path, dict(FAST))
    assert res.status == "ok", res.reason
    assert sorted(q["docs"] for q in azure.requests if q["method"] == "POST") == [5, 25]  # jobs of ≤ 25 documents
    assert [decode(p) for p in res.predictions] == [decode(lab) for _, lab in rows]
    assert res.cost["billed_now_usd"] == pytest.approx(30 * 5.0 / 1000)
    assert res.resources == []  # nothing billable is created: the project is trained and hosted outside baseline


def test_azure_multilabel_interrupt_mid_run_still_tears_down(azure, tmp_path, monkeypatch):
    """SIGTERM becomes KeyboardInterrupt (baseline.interrupts); here it lands while the first job is answered."""
    import _thread

    closed: list[bool] = []
    real_teardown = AzureCustom.teardown
    monkeypatch.setattr(AzureCustom, "teardown", lambda self: (closed.append(True), real_teardown(self))[1])
    fired: list[bool] = []

    def interrupting(text: str) -> list[tuple[str, float]]:
        if not fired:
            fired.append(True)
            _thread.interrupt_main()
        return keyword_classes(text)

    azure.classify_multi = interrupting
    rows = ml_rows(30, 1000)
    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
    split = Split(train=frame.iloc[:0], test=frame, validation=None, source="file", seed=0, test_size=None,
                  hash="azure-int", labels=list(LABELS))
    with pytest.raises(KeyboardInterrupt):
        run(AzureCustom, split, tmp_path, {**FAST, "max_concurrency": 1})
        time.sleep(5)  # the interrupt arrives asynchronously: never reached when it does
    assert closed == [True]  # teardown ran (it has nothing billable to delete: its clients are closed)
    assert sum(q["method"] == "POST" for q in azure.requests) == 1  # the second job was never sent


def test_azure_multilabel_failed_job_is_item_errors_not_empty_sets(azure):
    azure.job_error = {"code": "InternalServerError", "message": "Model failed."}
    a = azure_custom(answer_attempts=2)
    try:
        r = a.predict_batch(["my invoice"])
    finally:
        a.teardown()
    assert r.labels == [None] and "Model failed" in r.errors[0] and r.cost.usd == 0


def test_azure_single_label_requests_are_unchanged(azure):
    azure.classify = lambda t: ("billing", 0.81) if "invoice" in t else ("other", 0.4)
    a = azure_custom(task="text-classification")
    try:
        r = a.predict_batch(["my invoice", "hi"])
    finally:
        a.teardown()
    assert r.labels == ["billing", None] and r.scores[0] == {"billing": pytest.approx(0.81)}
    body = azure.requests[0]["body"]
    task = {k: v for k, v in body["tasks"][0].items() if k != "taskName"}
    assert len(body["tasks"]) == 1
    assert task == {"kind": "CustomSingleLabelClassification",
                    "parameters": {"projectName": "tickets", "deploymentName": "prod"}}
    assert body["analysisInput"]["documents"][0] == {"id": "0", "text": "my invoice", "language": "en"}
    assert "op=single_label_classify" in a.cache_identity()
    assert "single-label" in a.endpoint_description()
