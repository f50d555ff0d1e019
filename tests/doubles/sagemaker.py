"""A loopback HTTP double of Amazon SageMaker's Autopilot, model and batch-transform operations, on the wire.

SageMaker is AWS JSON 1.1: ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``, ``application/x-amz-json-1.1``
bodies in the botocore shapes (timestamps as epoch numbers), errors as HTTP 400 with ``{"__type": "<Code>",
"message": ...}`` (``ResourceNotFound``, ``ResourceInUse``, ``ValidationException`` as the service names them;
a missing model is ``ValidationException`` "Could not find model ...").

Implemented: CreateAutoMLJobV2 / DescribeAutoMLJobV2 / StopAutoMLJob / ListCandidatesForAutoMLJob,
DescribeTrainingJob / ListTrainingJobs, DescribeProcessingJob / ListProcessingJobs (``NameContains``, paginated),
CreateModel / DescribeModel / DeleteModel, CreateTransformJob / DescribeTransformJob / StopTransformJob.

The AutoML job advances one stage per DescribeAutoMLJobV2: AnalyzingData (a processing job named after the job, in
no candidate), FeatureEngineering (the dpp processing job), then ModelTuning, finishing one candidate training job
per describe up to ``MaxCandidates`` (capped by ``candidates``), then Completed: it reads the training CSV from S3
(header, ``TargetAttributeName``) and "trains" a scikit-learn pipeline (one-hot categories, median-imputed numbers,
logistic or ridge regression), writes model artifacts under the job's ``S3OutputPath`` and answers a
``BestCandidate`` whose ``InferenceContainers`` follow the documented layouts: one container in ENSEMBLING (and
AUTO) mode, in HYPERPARAMETER_TUNING mode two for regression and three for classification, each with its
``SAGEMAKER_INFERENCE_SUPPORTED`` keys. Fewer than 500 rows or a missing target column fail the job with a
``FailureReason`` (the double's wording); ``fail_job(reason)`` fails the next job at FeatureEngineering;
``hold_tuning`` keeps the first candidate training forever (for interrupt tests). StopAutoMLJob → Stopping → the next
describe Stopped, its running training job stopped at the double's clock.

A transform job reads its CSV input (S3Prefix, one record per line, no header), completes after
``transform_polls`` describes and writes ``<S3OutputPath>/<input file>.out``, one line per record, with the keys the
model's last container's ``SAGEMAKER_INFERENCE_OUTPUT`` names (``predicted_label``, ``probability``,
``probabilities`` as "[0.9, 0.1]", ``labels`` as "['a', 'b']"), in that order; a container asked for a key it does
not support fails the job, as the real containers refuse it.

Time is the double's own clock (``clock``), advanced ``poll_sim_s`` per describe, so every job's start/end (and
``BillableTimeInSeconds``) is reproducible; the ``meter`` holds the instance-seconds it bills per
``"<training|processing|transform>:<instance type>"``, counted when a job ends (completed, failed or stopped).
``live_resources()`` lists what would still run or exist in an account (jobs in progress or stopping, models).

Run as a script it is the harness for the interrupt tests: ``python sagemaker.py STATE_DIR BUCKET KNOBS_JSON``
starts moto S3 and this double in one process, runs the Autopilot adapter through the runner on a small table as
the CLI does (SIGTERM/SIGHUP → KeyboardInterrupt, teardown shielded), and writes ``STATE_DIR/state.json``;
``STATE_DIR/phase-<Operation>`` appears when a request for that operation first arrives.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: `doubles` importable
from doubles.aws_services import AwsDouble, ServiceError  # noqa: E402

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
LONG_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
PROBLEMS = ("BinaryClassification", "MulticlassClassification", "Regression")
ENDED = ("Completed", "Failed", "Stopped")
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-{}:{}-cpu-py3"


class SageMakerDouble(AwsDouble):
    """SageMaker (Autopilot, models, batch transform) on 127.0.0.1:<free port>; the Comprehend double's knobs apply."""

    def __init__(self, *, s3: Any = None, region: str = "us-east-1", account: str = "123456789012",
                 candidates: int = 3, transform_polls: int = 2, poll_sim_s: float = 60.0,
                 analysis_seconds: float = 90.0, processing_seconds: float = 150.0, training_seconds: float = 240.0,
                 transform_seconds: float = 210.0, analysis_instance: str = "ml.m5.2xlarge",
                 processing_instance: str = "ml.m5.4xlarge", training_instance: str = "ml.m5.2xlarge",
                 hold_tuning: bool = False, latency_s: float = 0.0) -> None:
        super().__init__(s3=s3, region=region, account=account, latency_s=latency_s)
        self.candidates_cap = candidates
        self.transform_polls = transform_polls
        self.poll_sim_s = poll_sim_s
        self.durations = {"analysis": analysis_seconds, "dpp": processing_seconds, "training": training_seconds,
                          "transform": transform_seconds}
        self.instances = {"analysis": analysis_instance, "dpp": processing_instance, "training": training_instance}
        self.hold_tuning = hold_tuning
        self.clock = 1_767_225_600.0  # 2026-01-01T00:00:00Z
        self.automl: dict[str, dict[str, Any]] = {}
        self.training: dict[str, dict[str, Any]] = {}
        self.processing: dict[str, dict[str, Any]] = {}
        self.transforms: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.deleted_models: list[str] = []
        self.estimators: dict[str, Any] = {}  # ModelDataUrl → (fitted pipeline, feature columns, classes or None)
        self._fail_next: str | None = None
        self.training_csv: dict[str, str] = {}  # AutoML job name → the training CSV it read

    def start(self) -> SageMakerDouble:
        """Serve; answers go out without Nagle's wait (headers and body are written apart: 40 ms a call otherwise)."""
        import socket

        super().start()
        self._server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        return self

    # ---- knobs, inspection ---------------------------------------------------------------------
    def fail_job(self, reason: str = "ClientError: AlgorithmError: the data has too few usable features") -> None:
        """The next AutoML job fails at FeatureEngineering with this FailureReason."""
        self._fail_next = reason

    def live_resources(self) -> list[str]:
        with self.lock:
            live = [f"automl-job {j['AutoMLJobName']} ({j['AutoMLJobStatus']})" for j in self.automl.values()
                    if j["AutoMLJobStatus"] not in ENDED]
            live += [f"training-job {t['TrainingJobName']} ({t['TrainingJobStatus']})" for t in self.training.values()
                     if t["TrainingJobStatus"] not in ENDED]
            live += [f"processing-job {p['ProcessingJobName']} ({p['ProcessingJobStatus']})"
                     for p in self.processing.values() if p["ProcessingJobStatus"] not in ENDED]
            live += [f"transform-job {t['TransformJobName']} ({t['TransformJobStatus']})"
                     for t in self.transforms.values() if t["TransformJobStatus"] not in ENDED]
            live += [f"model {m['ModelName']}" for m in self.models.values()]
        return live

    def meter_usd(self, prices: dict[str, dict[str, Any]]) -> float:
        """What the meter bills at ``prices`` (``{section: {"usd_per_instance_hour": {type: rate}}}``)."""
        return sum(s / 3600.0 * float(prices[k.split(":")[0]]["usd_per_instance_hour"][k.split(":", 1)[1]])
                   for k, s in self.meter.items())

    # ---- dispatch ------------------------------------------------------------------------------
    def _handle(self, path: str, headers: dict[str, str], body: bytes):
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        if not target.startswith("SageMaker."):
            return 404, {"Content-Type": "application/json"}, '{"message":"not found"}', None
        op = target.split(".", 1)[1]
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        entry: dict[str, Any] = {"t": time.monotonic(), "service": "sagemaker", "op": op, "status": 200, "body": req}
        hook = self._hooks.get(op)
        if hook is not None:
            hook(op)
        after = None
        delay = 0.0
        try:
            self._admit("sagemaker", op)
            if self.latency_s:
                time.sleep(self.latency_s)
            self._inject(op)
            fn = getattr(self, f"_sm_{op}", None)
            if fn is None:
                raise ServiceError(400, "UnknownOperationException", f"Unknown operation {op}")
            with self.lock:
                out = fn(req)
                self._op_counts[op] = self._op_counts.get(op, 0) + 1
                if self._interrupt.get(op) == self._op_counts[op]:
                    import _thread

                    after = _thread.interrupt_main
                if self._delays.get(op):
                    delay = self._delays[op].pop(0)
            status, payload, extra = 200, json.dumps(out), {}
        except ServiceError as e:
            status, extra = e.status, dict(e.headers)
            payload = json.dumps({"__type": e.kind, "message": e.message})
            entry["error"] = e.kind
        entry["status"] = status
        with self.lock:
            self.requests.append(entry)
        if delay:
            time.sleep(delay)
        hdrs = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4()), **extra}
        return status, hdrs, payload, after

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"

    # ---- S3 --------------------------------------------------------------------------------------
    @staticmethod
    def _split_uri(uri: str) -> tuple[str, str]:
        bucket, _, key = str(uri).removeprefix("s3://").partition("/")
        return bucket, key

    def _read_prefix(self, uri: str) -> list[tuple[str, str]]:
        """(key, text) of every object under an S3Prefix URI."""
        bucket, prefix = self._split_uri(uri)
        objs = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return [(o["Key"], self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode("utf-8"))
                for o in objs if not o["Key"].endswith("/")]

    def _write(self, uri: str, body: bytes) -> None:
        bucket, key = self._split_uri(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    # ---- the jobs Autopilot runs -----------------------------------------------------------------
    def _bill(self, section: str, instance: str, seconds: float) -> None:
        key = f"{section}:{instance}"
        self.meter[key] = self.meter.get(key, 0.0) + seconds

    def _start_processing(self, job: dict[str, Any], kind: str) -> dict[str, Any]:
        name = f"{job['AutoMLJobName']}-{'db' if kind == 'analysis' else 'dpp0'}-1-{uuid.uuid4().hex[:20]}"
        p = {"ProcessingJobName": name, "ProcessingJobArn": self._arn("processing-job", name),
             "ProcessingJobStatus": "InProgress", "CreationTime": self.clock, "ProcessingStartTime": self.clock,
             "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": self.instances[kind],
                                                       "VolumeSizeInGB": 50}},
             "AppSpecification": {"ImageUri": IMAGE.format("sklearn-automl", "2.5-1")}, "RoleArn": job["RoleArn"],
             "AutoMLJobArn": job["AutoMLJobArn"], "_kind": kind}
        self.processing[name] = p
        return p

    def _end(self, rec: dict[str, Any], section: str, status: str, duration: float | None) -> None:
        """End a job: at its start + ``duration`` (or now, when stopped), billing its instance-seconds."""
        start_key, end_key, status_key = {
            "training": ("TrainingStartTime", "TrainingEndTime", "TrainingJobStatus"),
            "processing": ("ProcessingStartTime", "ProcessingEndTime", "ProcessingJobStatus"),
            "transform": ("TransformStartTime", "TransformEndTime", "TransformJobStatus")}[section]
        start = rec[start_key]
        end = start + duration if duration is not None else max(self.clock, start + 1.0)
        self.clock = max(self.clock, end)
        rec[end_key] = end
        rec[status_key] = status
        rec["LastModifiedTime"] = end
        secs = end - start
        if section == "training":
            rec["BillableTimeInSeconds"] = int(math.ceil(secs))
            rec["TrainingTimeInSeconds"] = int(math.ceil(secs))
            rec["SecondaryStatus"] = status
            self._bill(section, rec["ResourceConfig"]["InstanceType"], rec["BillableTimeInSeconds"] *
                       rec["ResourceConfig"]["InstanceCount"])
        elif section == "processing":
            cc = rec["ProcessingResources"]["ClusterConfig"]
            self._bill(section, cc["InstanceType"], secs * cc["InstanceCount"])
        else:
            tr = rec["TransformResources"]
            self._bill(section, tr["InstanceType"], secs * tr["InstanceCount"])

    def _start_candidate(self, job: dict[str, Any]) -> None:
        k = len(job["_candidates"]) + 1
        name = f"{job['AutoMLJobName']}-tr-{k:03d}-{uuid.uuid4().hex[:8]}"
        out = job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        t = {"TrainingJobName": name, "TrainingJobArn": self._arn("training-job", name), "TrainingJobStatus": "InProgress",
             "SecondaryStatus": "Training", "CreationTime": self.clock, "TrainingStartTime": self.clock,
             "ResourceConfig": {"InstanceType": self.instances["training"], "InstanceCount": 1, "VolumeSizeInGB": 30},
             "ModelArtifacts": {"S3ModelArtifacts": f"{out}/{job['AutoMLJobName']}/tuning/{name}/output/model.tar.gz"},
             "StoppingCondition": {"MaxRuntimeInSeconds": 86400}, "AutoMLJobArn": job["AutoMLJobArn"],
             "AlgorithmSpecification": {"TrainingImage": IMAGE.format("xgboost", "1.7-1"), "TrainingInputMode": "File"}}
        self.training[name] = t
        job["_candidates"].append({"name": f"{name}-candidate", "training": name, "status": "InProgress",
                                   "created": self.clock})

    def _candidate_shape(self, job: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
        t = self.training[c["training"]]
        status = {"InProgress": "InProgress", "Stopping": "Stopping"}.get(t["TrainingJobStatus"], t["TrainingJobStatus"])
        shape = {"CandidateName": c["name"], "ObjectiveStatus": "Succeeded" if status == "Completed" else "Pending",
                 "CandidateSteps": [
                     {"CandidateStepType": "AWS::SageMaker::ProcessingJob", "CandidateStepArn": job["_dpp"]["ProcessingJobArn"],
                      "CandidateStepName": job["_dpp"]["ProcessingJobName"]},
                     {"CandidateStepType": "AWS::SageMaker::TrainingJob", "CandidateStepArn": t["TrainingJobArn"],
                      "CandidateStepName": t["TrainingJobName"]}],
                 "CandidateStatus": status, "CreationTime": c["created"], "LastModifiedTime": t.get("LastModifiedTime",
                                                                                                   c["created"])}
        if t.get("TrainingEndTime"):
            shape["EndTime"] = t["TrainingEndTime"]
        if c.get("metric") is not None:
            shape["FinalAutoMLJobObjectiveMetric"] = {"MetricName": job["_objective"], "Value": c["metric"]}
        if c.get("containers"):
            shape["InferenceContainers"] = c["containers"]
            shape["CandidateProperties"] = {"CandidateMetrics": [
                {"MetricName": job["_objective"], "Value": c["metric"], "Set": "Validation",
                 "StandardMetricName": job["_objective"]}]}
        return shape

    # ---- Autopilot ------------------------------------------------------------------------------
    def _job(self, name: str) -> dict[str, Any]:
        j = self.automl.get(str(name))
        if j is None:
            raise ServiceError(400, "ResourceNotFound", f"AutoML job {name} does not exist.")
        return j

    def _sm_CreateAutoMLJobV2(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = str(req.get("AutoMLJobName", ""))
        if not NAME.match(name):
            raise ServiceError(400, "ValidationException", f"1 validation error detected: Value '{name}' at "
                               "'autoMLJobName' failed to satisfy constraint")
        if not ROLE.match(str(req.get("RoleArn", ""))):
            raise ServiceError(400, "ValidationException", "invalid RoleArn")
        cfg = (req.get("AutoMLProblemTypeConfig") or {}).get("TabularJobConfig")
        if not cfg or not cfg.get("TargetAttributeName"):
            raise ServiceError(400, "ValidationException", "TabularJobConfig.TargetAttributeName is required")
        if cfg.get("ProblemType") not in (None, *PROBLEMS):
            raise ServiceError(400, "ValidationException", f"invalid ProblemType {cfg.get('ProblemType')!r}")
        channels = req.get("AutoMLJobInputDataConfig") or []
        if not channels or len(channels) > 2:
            raise ServiceError(400, "ValidationException", "AutoMLJobInputDataConfig needs 1 or 2 channels")
        if name.lower() in {k.lower() for k in self.automl}:
            raise ServiceError(400, "ResourceInUse", f"Job name {name} already exists.")
        arn = self._arn("automl-job", name)
        crit = cfg.get("CompletionCriteria") or {}
        problem = cfg.get("ProblemType") or "MulticlassClassification"
        objective = (req.get("AutoMLJobObjective") or {}).get("MetricName") or \
            {"BinaryClassification": "F1", "MulticlassClassification": "Accuracy", "Regression": "MSE"}[problem]
        self.automl[name] = {
            "AutoMLJobName": name, "AutoMLJobArn": arn, "AutoMLJobInputDataConfig": channels,
            "OutputDataConfig": req.get("OutputDataConfig") or {}, "RoleArn": req["RoleArn"],
            "AutoMLJobObjective": {"MetricName": objective}, "AutoMLProblemTypeConfig": {"TabularJobConfig": cfg},
            "AutoMLProblemTypeConfigName": "Tabular", "CreationTime": self.clock, "LastModifiedTime": self.clock,
            "AutoMLJobStatus": "InProgress", "AutoMLJobSecondaryStatus": "Starting",
            "_stage": 0, "_candidates": [], "_objective": objective, "_problem": problem,
            "_max": min(int(crit.get("MaxCandidates") or 250), self.candidates_cap),
            "_mode": cfg.get("Mode") or "AUTO", "_fail": self._fail_next, "_tags": list(req.get("Tags") or [])}
        self._fail_next = None
        return {"AutoMLJobArn": arn}

    def _fail(self, job: dict[str, Any], reason: str) -> None:
        for p in self.processing.values():
            if p["AutoMLJobArn"] == job["AutoMLJobArn"] and p["ProcessingJobStatus"] == "InProgress":
                self._end(p, "processing", "Failed", self.durations["analysis" if p["_kind"] == "analysis" else "dpp"])
        job.update(AutoMLJobStatus="Failed", AutoMLJobSecondaryStatus="Failed", FailureReason=reason,
                   EndTime=self.clock)

    def _advance(self, job: dict[str, Any]) -> None:
        """One stage (or one candidate) further per describe."""
        st = job["AutoMLJobStatus"]
        if st == "Stopping":
            for c in job["_candidates"]:
                t = self.training[c["training"]]
                if t["TrainingJobStatus"] in ("InProgress", "Stopping"):
                    self._end(t, "training", "Stopped", None)
            for p in self.processing.values():
                if p["AutoMLJobArn"] == job["AutoMLJobArn"] and p["ProcessingJobStatus"] == "InProgress":
                    self._end(p, "processing", "Stopped", None)
            job.update(AutoMLJobStatus="Stopped", AutoMLJobSecondaryStatus="Stopped", EndTime=self.clock)
            return
        if st != "InProgress":
            return
        job["_stage"] += 1
        stage = job["_stage"]
        if stage == 1:
            job["AutoMLJobSecondaryStatus"] = "AnalyzingData"
            job["_analysis"] = self._start_processing(job, "analysis")
            return
        if stage == 2:
            self._end(job["_analysis"], "processing", "Completed", self.durations["analysis"])
            try:
                frame, target = self._training_frame(job)
            except ServiceError as e:
                self._fail(job, e.message)
                return
            job["_frame"], job["_target"] = frame, target
            job["AutoMLJobSecondaryStatus"] = "FeatureEngineering"
            job["_dpp"] = self._start_processing(job, "dpp")
            if job["_fail"]:
                self._fail(job, job["_fail"])
            return
        if stage == 3:
            self._end(job["_dpp"], "processing", "Completed", self.durations["dpp"])
            job["AutoMLJobSecondaryStatus"] = "ModelTuning"
            self._start_candidate(job)
            return
        running = [c for c in job["_candidates"] if self.training[c["training"]]["TrainingJobStatus"] == "InProgress"]
        if self.hold_tuning:
            return
        for c in running:
            self._end(self.training[c["training"]], "training", "Completed", self.durations["training"])
            c["status"] = "Completed"
        if len(job["_candidates"]) < job["_max"]:
            self._start_candidate(job)
            return
        self._complete(job)

    def _training_frame(self, job: dict[str, Any]) -> tuple[pd.DataFrame, str]:
        """The training channel's CSV(s) as one frame; the job fails (as Autopilot's does) when it cannot train."""
        ch = next((c for c in job["AutoMLJobInputDataConfig"] if c.get("ChannelType", "training") == "training"),
                  job["AutoMLJobInputDataConfig"][0])
        uri = ch["DataSource"]["S3DataSource"]["S3Uri"]
        files = self._read_prefix(uri)
        if not files:
            raise ServiceError(400, "ClientError", f"ClientError: No data found under {uri}.")
        frame = pd.concat([pd.read_csv(io.StringIO(text), keep_default_na=True) for _, text in files],
                          ignore_index=True)
        self.training_csv[job["AutoMLJobName"]] = files[0][1]
        target = job["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"]
        if target not in frame.columns:
            raise ServiceError(400, "ClientError", f"ClientError: Target column '{target}' is not in the header of "
                               "the training data.")
        if len(frame) < 500:
            raise ServiceError(400, "ClientError", f"ClientError: The training data has {len(frame)} rows; at least "
                               "500 are needed.")
        return frame, target

    def _complete(self, job: dict[str, Any]) -> None:
        """Train the model, write the artifacts, name the best candidate."""
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline, make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        frame, target = job["_frame"], job["_target"]
        regression = job["_problem"] == "Regression"
        features = [c for c in frame.columns if c != target]
        x = frame[features]
        numeric = [c for c in features if pd.api.types.is_numeric_dtype(x[c])]
        categorical = [c for c in features if c not in numeric]
        pre = ColumnTransformer([("num", SimpleImputer(strategy="median"), numeric),
                                 ("cat", Pipeline([("fill", SimpleImputer(strategy="constant", fill_value="(missing)")),
                                                   ("hot", OneHotEncoder(handle_unknown="ignore"))]), categorical)])
        model = make_pipeline(pre, Ridge(alpha=1.0) if regression else LogisticRegression(max_iter=2000))
        y = frame[target].astype(float) if regression else frame[target].astype(str)
        x = self._typed(x, numeric)
        model.fit(x, y)
        classes = None if regression else [str(c) for c in model.classes_]
        if regression:
            metric = float(np.sqrt(np.mean((model.predict(x) - y) ** 2)))
        else:
            metric = float(np.mean(model.predict(x) == y))
        out = job["OutputDataConfig"]["S3OutputPath"].rstrip("/") + "/" + job["AutoMLJobName"]
        best = job["_candidates"][-1]
        dpp_url = f"{out}/data-processor-models/{job['_dpp']['ProcessingJobName']}/output/model.tar.gz"
        algo_url = self.training[best["training"]]["ModelArtifacts"]["S3ModelArtifacts"]
        for url in (dpp_url, algo_url):
            self._write(url, b"\x1f\x8b fake model artifact")
        self._write(f"{out}/sagemaker-automl-candidates/{best['name']}/notebooks/SageMakerAutopilotCandidateDefinition"
                    "Notebook.ipynb", b"{}")
        self._write(f"{out}/documentation/explainability/output/report.pdf", b"%PDF fake")
        self.estimators[algo_url] = (model, features, classes, numeric)
        best["metric"] = metric
        best["containers"] = self._containers(job, dpp_url, algo_url, regression)
        job.update(AutoMLJobStatus="Completed", AutoMLJobSecondaryStatus="Completed", EndTime=self.clock,
                   BestCandidate=self._candidate_shape(job, best),
                   AutoMLJobArtifacts={"CandidateDefinitionNotebookLocation": f"{out}/sagemaker-automl-candidates/",
                                       "DataExplorationNotebookLocation": f"{out}/sagemaker-automl-candidates/"})
        job.pop("_frame", None)

    @staticmethod
    def _typed(x: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
        """Numbers as floats, everything else as Python objects with NaN for missing (what the pipeline expects)."""
        out = pd.DataFrame(index=x.index)
        for c in x.columns:
            if c in numeric:
                out[c] = pd.to_numeric(x[c], errors="coerce").astype(float)
            else:
                out[c] = x[c].astype(object).where(x[c].notna(), np.nan)
        return out

    @staticmethod
    def _containers(job: dict[str, Any], dpp_url: str, algo_url: str, regression: bool) -> list[dict[str, Any]]:
        """The documented layouts: ENSEMBLING (and AUTO on small data) one container; HPO two or three."""
        if job["_mode"] in ("AUTO", "ENSEMBLING"):
            env = {"MODEL_NAME": job["AutoMLJobName"], "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                   "SAGEMAKER_PROGRAM": "tabular_serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
            if not regression:
                env.update(SAGEMAKER_INFERENCE_OUTPUT="predicted_label",
                           SAGEMAKER_INFERENCE_SUPPORTED="predicted_label,probability,probabilities,labels")
            return [{"Image": IMAGE.format("autogluon-inference", "0.4"), "ModelDataUrl": algo_url, "Environment": env}]
        dpp = {"Image": IMAGE.format("sklearn-automl", "2.5-1"), "ModelDataUrl": dpp_url,
               "Environment": {"AUTOML_SPARSE_ENCODE_RECORDIO_PROTOBUF": "1", "AUTOML_TRANSFORM_MODE": "feature-transform",
                               "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-recordio-protobuf",
                               "SAGEMAKER_PROGRAM": "sagemaker_serve", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}
        algo_env = {"MAX_CONTENT_LENGTH": "20971520", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}
        if not regression:
            algo_env.update(SAGEMAKER_INFERENCE_OUTPUT="predicted_label",
                            SAGEMAKER_INFERENCE_SUPPORTED="predicted_label,probability,probabilities")
        algo = {"Image": IMAGE.format("xgboost", "1.7-1"), "ModelDataUrl": algo_url, "Environment": algo_env}
        if regression:
            return [dpp, algo]
        inverse = {"Image": IMAGE.format("sklearn-automl", "2.5-1"), "ModelDataUrl": dpp_url,
                   "Environment": {"AUTOML_TRANSFORM_MODE": "inverse-label-transform",
                                   "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                                   "SAGEMAKER_INFERENCE_INPUT": "predicted_label",
                                   "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                                   "SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label,probability,labels,probabilities",
                                   "SAGEMAKER_PROGRAM": "sagemaker_serve",
                                   "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}
        return [dpp, algo, inverse]

    def _public(self, rec: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rec.items() if not k.startswith("_")}

    def _sm_DescribeAutoMLJobV2(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        job = self._job(req.get("AutoMLJobName"))
        self.clock += self.poll_sim_s
        self._advance(job)
        job["LastModifiedTime"] = self.clock
        return self._public(job)

    def _sm_StopAutoMLJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        job = self._job(req.get("AutoMLJobName"))
        if job["AutoMLJobStatus"] == "InProgress":
            job.update(AutoMLJobStatus="Stopping", AutoMLJobSecondaryStatus="Stopping")
            for c in job["_candidates"]:
                t = self.training[c["training"]]
                if t["TrainingJobStatus"] == "InProgress":
                    t["TrainingJobStatus"] = "Stopping"
            self.gone.append(job["AutoMLJobName"])
        return {}

    def _sm_ListCandidatesForAutoMLJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        job = self._job(req.get("AutoMLJobName"))
        shapes = [self._candidate_shape(job, c) for c in job["_candidates"]]
        return self._page(shapes, "Candidates", req)

    @staticmethod
    def _page(items: list[dict[str, Any]], key: str, req: dict[str, Any]) -> dict[str, Any]:
        start = int(req.get("NextToken") or 0)
        size = int(req.get("MaxResults") or 10)
        out: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            out["NextToken"] = str(start + size)
        return out

    def _sm_ListTrainingJobs(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        want = str(req.get("NameContains") or "").lower()
        items = [{"TrainingJobName": t["TrainingJobName"], "TrainingJobArn": t["TrainingJobArn"],
                  "CreationTime": t["CreationTime"], "TrainingJobStatus": t["TrainingJobStatus"]}
                 for t in self.training.values() if want in t["TrainingJobName"].lower()]
        return self._page(items, "TrainingJobSummaries", req)

    def _sm_ListProcessingJobs(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        want = str(req.get("NameContains") or "").lower()
        items = [{"ProcessingJobName": p["ProcessingJobName"], "ProcessingJobArn": p["ProcessingJobArn"],
                  "CreationTime": p["CreationTime"], "ProcessingJobStatus": p["ProcessingJobStatus"]}
                 for p in self.processing.values() if want in p["ProcessingJobName"].lower()]
        return self._page(items, "ProcessingJobSummaries", req)

    def _sm_DescribeTrainingJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        t = self.training.get(str(req.get("TrainingJobName")))
        if t is None:
            raise ServiceError(400, "ValidationException", "Requested resource not found.")
        return self._public(t)

    def _sm_DescribeProcessingJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        p = self.processing.get(str(req.get("ProcessingJobName")))
        if p is None:
            raise ServiceError(400, "ValidationException", "Could not find requested job with name "
                               f"{req.get('ProcessingJobName')}")
        return self._public(p)

    # ---- models -------------------------------------------------------------------------------
    def _sm_CreateModel(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = str(req.get("ModelName", ""))
        if not LONG_NAME.match(name):
            raise ServiceError(400, "ValidationException", f"invalid ModelName {name!r}")
        containers = req.get("Containers") or ([req["PrimaryContainer"]] if req.get("PrimaryContainer") else [])
        if not containers or any(not c.get("Image") for c in containers):
            raise ServiceError(400, "ValidationException", "a model needs at least one container with an Image")
        if not ROLE.match(str(req.get("ExecutionRoleArn", ""))):
            raise ServiceError(400, "ValidationException", "invalid ExecutionRoleArn")
        if name in self.models:
            raise ServiceError(400, "ValidationException", f'Cannot create already existing model '
                               f'"{self._arn("model", name)}".')
        self.models[name] = {"ModelName": name, "ModelArn": self._arn("model", name), "Containers": containers,
                             "ExecutionRoleArn": req["ExecutionRoleArn"], "CreationTime": self.clock,
                             "_tags": list(req.get("Tags") or [])}
        return {"ModelArn": self.models[name]["ModelArn"]}

    def _model(self, name: Any) -> dict[str, Any]:
        m = self.models.get(str(name))
        if m is None:
            raise ServiceError(400, "ValidationException", f'Could not find model "{self._arn("model", str(name))}".')
        return m

    def _sm_DescribeModel(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._public(self._model(req.get("ModelName")))

    def _sm_DeleteModel(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        m = self._model(req.get("ModelName"))
        del self.models[m["ModelName"]]
        self.deleted_models.append(m["ModelName"])
        return {}

    # ---- batch transform ----------------------------------------------------------------------
    def _sm_CreateTransformJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = str(req.get("TransformJobName", ""))
        if not LONG_NAME.match(name):
            raise ServiceError(400, "ValidationException", f"invalid TransformJobName {name!r}")
        if name in self.transforms:
            raise ServiceError(400, "ResourceInUse", f"Job name {name} already exists.")
        model = self._model(req.get("ModelName"))
        ti = req.get("TransformInput") or {}
        res = req.get("TransformResources") or {}
        if not res.get("InstanceType") or int(res.get("InstanceCount") or 0) < 1:
            raise ServiceError(400, "ValidationException", "TransformResources needs InstanceType and InstanceCount")
        self.transforms[name] = {
            "TransformJobName": name, "TransformJobArn": self._arn("transform-job", name),
            "TransformJobStatus": "InProgress", "ModelName": model["ModelName"], "TransformInput": ti,
            "TransformOutput": req.get("TransformOutput") or {}, "TransformResources": res,
            "BatchStrategy": req.get("BatchStrategy"), "CreationTime": self.clock, "TransformStartTime": self.clock,
            "_polls": 0, "_tags": list(req.get("Tags") or [])}
        return {"TransformJobArn": self.transforms[name]["TransformJobArn"]}

    def _transform(self, t: dict[str, Any]) -> str | None:
        """Write the output for every input file; a FailureReason instead when the model cannot answer."""
        model = self.models.get(t["ModelName"])
        if model is None:
            return "ClientError: the model was deleted while the job ran"
        containers = model["Containers"]
        for c in containers:
            env = c.get("Environment") or {}
            supported = set(filter(None, str(env.get("SAGEMAKER_INFERENCE_SUPPORTED", "")).split(",")))
            asked = set(filter(None, str(env.get("SAGEMAKER_INFERENCE_OUTPUT", "")).split(",")))
            if asked - supported and supported:
                return f"ClientError: container {c['Image']} does not support inference output {sorted(asked - supported)}"
        est = next((self.estimators[c["ModelDataUrl"]] for c in containers if c.get("ModelDataUrl") in self.estimators),
                   None)
        if est is None:
            return "ClientError: the model's artifacts are not an Autopilot model this double trained"
        pipeline, features, classes, numeric = est
        keys = [k for k in str((containers[-1].get("Environment") or {}).get("SAGEMAKER_INFERENCE_OUTPUT") or
                               "predicted_label").split(",") if k]
        ti = t["TransformInput"]
        if ti.get("ContentType", "text/csv") != "text/csv" or ti.get("SplitType") != "Line":
            return "ClientError: this double reads text/csv split by Line only"
        uri = ti["DataSource"]["S3DataSource"]["S3Uri"]
        for key, text in self._read_prefix(uri):
            rows = list(csv.reader(io.StringIO(text)))
            if any(len(r) != len(features) for r in rows):
                return f"ClientError: a record has a different number of columns than the {len(features)} features"
            x = self._typed(pd.DataFrame(rows, columns=features, dtype=object).replace("", np.nan), numeric)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            if classes is None:
                for v in pipeline.predict(x):
                    w.writerow([repr(float(v))])
            else:
                proba = pipeline.predict_proba(x)
                for p in proba:
                    j = int(np.argmax(p))
                    vals = {"predicted_label": classes[j], "probability": f"{p[j]:.6f}",
                            "probabilities": "[" + ", ".join(f"{v:.6f}" for v in p) + "]",
                            "labels": "[" + ", ".join(repr(c) for c in classes) + "]"}
                    w.writerow([vals[k] for k in keys])
            base = t["TransformOutput"]["S3OutputPath"].rstrip("/")
            self._write(f"{base}/{key.rsplit('/', 1)[-1]}.out", buf.getvalue().encode("utf-8"))
        return None

    def _sm_DescribeTransformJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        t = self.transforms.get(str(req.get("TransformJobName")))
        if t is None:
            raise ServiceError(400, "ResourceNotFound", f"Could not find job {req.get('TransformJobName')}.")
        self.clock += self.poll_sim_s
        t["_polls"] += 1
        if t["TransformJobStatus"] == "Stopping":
            self._end(t, "transform", "Stopped", None)
        elif t["TransformJobStatus"] == "InProgress" and t["_polls"] >= self.transform_polls:
            why = self._transform(t)
            self._end(t, "transform", "Failed" if why else "Completed", self.durations["transform"])
            if why:
                t["FailureReason"] = why
        return self._public(t)

    def _sm_StopTransformJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        t = self.transforms.get(str(req.get("TransformJobName")))
        if t is None:
            raise ServiceError(400, "ResourceNotFound", f"Could not find job {req.get('TransformJobName')}.")
        if t["TransformJobStatus"] == "InProgress":
            t["TransformJobStatus"] = "Stopping"
            self.gone.append(t["TransformJobName"])
        return {}


# ---- a small table and the interrupt harness -------------------------------------------------------------

def churn_table(n: int = 760, seed: int = 0, regression: bool = False) -> pd.DataFrame:
    """A learnable table: two numbers, a category, a yes/no target (or a numeric one)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n).round(4)
    x2 = rng.normal(size=n).round(4)
    plan = rng.choice(["basic", "plus", "pro"], size=n)
    score = 1.5 * x1 - 1.0 * x2 + np.where(plan == "pro", 1.2, 0.0)
    target = (3.0 * score + rng.normal(scale=0.3, size=n)).round(3) if regression else np.where(score > 0.2, "churn",
                                                                                                      "stay")
    return pd.DataFrame({"tenure": x1, "charges": x2, "plan": plan, "label": target})


def table_split(df: pd.DataFrame, regression: bool = False, test: int = 120) -> Any:
    """A frozen split of ``df`` as the tabular task hands it to the runner: JSON rows, schema, labels."""
    from baseline.data import Split, split_hash
    from baseline.tasks.rows import encode_number, encode_rows

    schema = {"tenure": "numeric", "charges": "numeric", "plan": "categorical"}
    texts = encode_rows(df, schema)
    labels = [encode_number(v) for v in df["label"]] if regression else df["label"].astype(str).tolist()
    frame = pd.DataFrame({"id": [str(i) for i in range(len(df))], "text": texts, "label": labels})
    train, te = frame.iloc[:-test].reset_index(drop=True), frame.iloc[-test:].reset_index(drop=True)
    classes = [] if regression else sorted(set(labels))
    return Split(train=train, test=te, validation=None, source="file", seed=42, test_size=None,
                 hash=split_hash(train, te, None), labels=classes, schema=schema)


def main() -> int:
    """The interrupt harness: moto S3 + this double, the adapter through the runner as the CLI runs it."""
    state_dir, bucket, knobs = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    import os

    import boto3
    from moto import mock_aws

    from baseline.adapters.registry import Registry
    from baseline.interrupts import interrupts_as_keyboard_interrupt
    from baseline.runner import RunOptions, run_all

    options = knobs.pop("options")
    task = knobs.pop("task", "tabular-classification")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        with SageMakerDouble(s3=s3, **knobs) as d:
            os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] = d.url
            for op in ("CreateAutoMLJobV2", "DescribeAutoMLJobV2", "StopAutoMLJob", "CreateTransformJob",
                       "DescribeTransformJob", "StopTransformJob", "DeleteModel"):
                d.on_op(op, lambda o: (state_dir / f"phase-{o}").touch())
            split = table_split(churn_table(regression=task == "tabular-regression"), task == "tabular-regression")
            opts = RunOptions(task=task, adapter_options={"aws-sagemaker-autopilot": options}, run_id="20260101-sigterm")
            rc = 0
            try:
                with interrupts_as_keyboard_interrupt():
                    run_all(Registry.discover(), ["aws-sagemaker-autopilot"], split, opts, state_dir / "run")
            except KeyboardInterrupt as e:
                rc = 130
                print(f"interrupted: {e}", file=sys.stderr)
            finally:
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                state = {"rc": rc, "live": d.live_resources(), "s3": keys, "gone": d.gone, "meter": d.meter,
                         "ops": [r["op"] for r in d.requests]}
                (state_dir / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    return rc


if __name__ == "__main__":
    sys.exit(main())
