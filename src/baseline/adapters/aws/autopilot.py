"""Amazon SageMaker Autopilot on a table: CreateAutoMLJobV2, the best candidate as a model, one batch transform."""

from __future__ import annotations

import ast
import copy
import csv
import json
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from baseline.adapters.aws.common import (
    ROLE_ARN,
    _epoch,
    _now_iso,
    _opt_float,
    _opt_int,
    _StagedAwsAdapter,
)
from baseline.adapters.base import (
    RANK_CUSTOM_CLOUD,
    AdapterContext,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
)
from baseline.errors import BadInput
from baseline.redact import one_line, redact
from baseline.tasks.rows import decode_rows, encode_number

# CreateAutoMLJobV2 reference: "A minimum of 500 rows is required for the training dataset" (AutoMLJobChannel).
MIN_TRAIN_ROWS = 500
REGRESSION = "tabular-regression"
OBJECTIVES = ("Accuracy", "MSE", "F1", "F1macro", "AUC", "RMSE", "BalancedAccuracy", "R2", "Recall", "RecallMacro",
              "Precision", "PrecisionMacro")  # botocore AutoMLMetricEnum (the objectives a job may optimise)
MODES = ("AUTO", "ENSEMBLING", "HYPERPARAMETER_TUNING")
# Inference response keys a classification pipeline is asked for, set per container as the SageMaker Python SDK does
# (AutoML.validate_and_update_inference_response): a container emits the requested keys it lists in
# SAGEMAKER_INFERENCE_SUPPORTED (SAGEMAKER_INFERENCE_OUTPUT) and reads what the one before it emits
# (SAGEMAKER_INFERENCE_INPUT). "labels" and "probabilities" give every class its score.
RESPONSE_KEYS = ("predicted_label", "probabilities", "labels")
JOB_ENDED = {"Completed", "Failed", "Stopped"}
STEP_SECTION = {"AWS::SageMaker::TrainingJob": "training", "AWS::SageMaker::ProcessingJob": "processing",
                "AWS::SageMaker::TransformJob": "transform"}
# the baseline metric a run ranks by → the Autopilot objective that matches it (None: Autopilot's own default)
METRIC_OBJECTIVES = {"accuracy": "Accuracy", "rmse": "RMSE", "r2": "R2", "mse": "MSE", "roc_auc": "AUC",
                     "balanced_accuracy": "BalancedAccuracy"}


# Options (``[adapters.aws-sagemaker-autopilot]``): ``bucket`` and ``role_arn`` (required: an S3 bucket in the region and a role SageMaker can assume with
# access to it), ``prefix`` (S3 key prefix, default "baseline"), ``s3_endpoint_url``, ``max_candidates`` (default
# 10), ``max_runtime_s`` (MaxAutoMLJobRuntimeInSeconds, default 3600), ``max_runtime_per_training_job_s``,
# ``mode`` (AUTO, ENSEMBLING, HYPERPARAMETER_TUNING; default AUTO), ``objective`` (an Autopilot metric; default:
# the run's metric where Autopilot has it, else Autopilot's default), ``transform_instance_type`` (default
# ml.m5.xlarge), ``transform_instance_count`` (default 1), ``poll_interval`` (first poll delay in s, default 30;
# ×1.5 up to ``max_poll_interval``, default 300), ``max_wait`` (default max_runtime_s + 3600), ``teardown_wait``
# (default 900), ``est_instance_hours`` / ``est_usd_per_instance_hour`` (the job's estimate), ``est_transform_s``
# (default 600: a transform job's instance start-up dominates).
#
# Life cycle: fit writes the train rows as one CSV (header, target column last) under the run's own S3 prefix,
# creates the AutoML job (output under the same prefix), polls it, prices it and creates a model from the best
# candidate's inference containers. The runner hands every test row to one ``predict_batch`` call, which runs
# one batch transform job over them all and joins its output on line order. Teardown stops a transform or AutoML
# job still running (and waits for it to stop), deletes the model and every S3 object under the prefix; the
# ledger records each of them. Nothing else is created (no endpoint: no ModelDeployConfig); the training,
# processing and transform jobs Autopilot starts stop billing when the AutoML job ends or is stopped.
#
# Pricing: Autopilot bills the instances its jobs ran, per second: every job of every candidate (and the jobs named
# after the AutoML job that belong to it: data analysis, explainability) is described, and its instance-seconds
# (training: BillableTimeInSeconds) priced at the [sagemaker_autopilot] instance-hour rates; the batch transform
# likewise from TransformStartTime to TransformEndTime × instances.
class SageMakerAutopilot(_StagedAwsAdapter):
    """SageMaker Autopilot trained on the train split (CreateAutoMLJobV2), best candidate scored by one batch transform."""

    name = "aws-sagemaker-autopilot"
    simplicity = RANK_CUSTOM_CLOUD
    description = "Amazon SageMaker Autopilot (AutoML job on the train split, best candidate, one batch transform)"
    learns = True
    tasks = ("tabular-classification", "tabular-regression")
    batch_size = 1_000_000  # the runner hands every test row to one call: one batch transform job
    max_concurrency = 1
    service_name = "sagemaker"
    JOB_KINDS = frozenset({"automl-job", "transform-job"})
    option_schema = {**_StagedAwsAdapter.option_schema, "bucket": Opt("str"), "role_arn": Opt("str"),
                     "prefix": Opt("str"), "s3_endpoint_url": Opt("str"), "max_candidates": Opt("int", lo=1, hi=750),
                     "max_runtime_s": Opt("int", lo=1), "max_runtime_per_training_job_s": Opt("int", lo=1),
                     "mode": Opt("str", choices=MODES), "objective": Opt("str", choices=OBJECTIVES),
                     "transform_instance_type": Opt("str"), "transform_instance_count": Opt("int", lo=1),
                     **{k: Opt("float", lo=0) for k in ("poll_interval", "max_poll_interval", "max_wait", "teardown_wait",
                                                        "est_instance_hours", "est_usd_per_instance_hour",
                                                        "est_transform_s")}}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.bucket = str(o.get("bucket") or "")
        self.prefix = str(o.get("prefix", "baseline")).strip("/")
        self.role_arn = str(o.get("role_arn") or "")
        self.max_candidates = _opt_int(self.name, o, "max_candidates", 10, lo=1)
        self.max_runtime_s = _opt_int(self.name, o, "max_runtime_s", 3600, lo=1)
        self.max_runtime_per_job_s = (_opt_int(self.name, o, "max_runtime_per_training_job_s", 1, lo=1)
                                      if o.get("max_runtime_per_training_job_s") is not None else None)
        self.mode = str(o.get("mode", "AUTO"))
        if self.mode not in MODES:
            raise BadInput(f"[adapters.{self.name}] mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        self.objective = o.get("objective")
        self.instance_type = str(o.get("transform_instance_type", "ml.m5.xlarge"))
        self.instance_count = _opt_int(self.name, o, "transform_instance_count", 1, lo=1)
        self.poll_interval = _opt_float(self.name, o, "poll_interval", 30.0)
        self.max_poll_interval = _opt_float(self.name, o, "max_poll_interval", 300.0)
        self.max_wait = _opt_float(self.name, o, "max_wait", self.max_runtime_s + 3600.0)
        self.teardown_wait = _opt_float(self.name, o, "teardown_wait", 900.0)
        self.est_instance_hours = _opt_float(self.name, o, "est_instance_hours", None)
        self.est_rate = _opt_float(self.name, o, "est_usd_per_instance_hour", None)
        self.est_transform_s = _opt_float(self.name, o, "est_transform_s", 600.0)
        self._init_run(ctx)
        self.job_name = self.run_name   # AutoMLJobName: 32 characters at most; ours is ~21
        self.model_name = self.run_name
        self._columns: list[str] | None = None
        self._output_keys: list[str] = []
        self._model_ready = False
        self._fit_cost: Cost | None = None
        self._fit_returned = False
        self._adopted = False  # `baseline cleanup`: this process did not run the jobs and charges nothing for them
        self._transform_billed: set[str] = set()
        self._noted: set[str] = set()

    # ---- discovery, estimates ------------------------------------------------------------------
    @classmethod
    def _config_problem(cls, options: dict[str, Any]) -> str | None:
        missing = [k for k in ("bucket", "role_arn") if not options.get(k)]
        if missing:
            return (f"set {' and '.join(missing)} under [adapters.{cls.name}] in baseline.toml "
                    "(an S3 bucket in the region and an IAM role SageMaker can assume)")
        if not ROLE_ARN.match(str(options["role_arn"])):
            return f"role_arn {options['role_arn']!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        return None

    @property
    def regression(self) -> bool:
        return self.ctx.task == REGRESSION

    def _note_once(self, text: str) -> None:
        if text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)

    def _rate(self, section: str, instance_type: str) -> float:
        """USD per instance-hour of ``instance_type`` for training, processing or transform jobs."""
        row = self.ctx.prices.row("sagemaker_autopilot", section)
        table = row.get("usd_per_instance_hour") or {}
        if instance_type in table:
            return float(table[instance_type])
        fallback = float(row["fallback_usd_per_instance_hour"])
        self._note_once(f"{instance_type} has no {section} price in the table: priced at the fallback ${fallback}/h "
                        f"(add it under [prices.sagemaker_autopilot.{section}.usd_per_instance_hour])")
        return fallback

    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        row = self.ctx.prices.row("sagemaker_autopilot", "estimate")
        hours = self.est_instance_hours
        if hours is None:
            hours = self.max_candidates * float(row["hours_per_candidate"]) + float(row["overhead_hours"])
        rate = float(self.est_rate if self.est_rate is not None else row["usd_per_instance_hour"])
        return Cost(hours * rate, {"training_instance_hours": hours},
                    note=f"AutoML job assumed {hours:g} instance-hours at ${rate:g}/h ({self.max_candidates} candidates)")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        if not len(texts):
            return Cost()
        hours = float(self.est_transform_s) / 3600.0 * self.instance_count
        return Cost(hours * self._rate("transform", self.instance_type), {"transform_instance_hours": hours},
                    note=f"batch transform assumed {self.est_transform_s:g} s on {self.instance_count}× {self.instance_type}")

    def endpoint_description(self) -> str:
        where = f"s3://{self.bucket}/{self.run_prefix}/" if self.bucket else "S3 bucket not set"
        return (f"Amazon SageMaker Autopilot (CreateAutoMLJobV2, up to {self.max_candidates} candidates; one batch "
                f"transform on {self.instance_count}× {self.instance_type}) {self._where()}, {where}")

    def cache_identity(self) -> None:
        """No cache: the model is trained in this run and deleted at teardown, so its answers do not carry over."""
        return None

    # ---- rows ----------------------------------------------------------------------------------
    def _frame(self, texts: Sequence[str]) -> pd.DataFrame:
        """JSON rows → a frame (typed by ``ctx.schema`` when given; else the rows' own keys, in first-seen order)."""
        if self.ctx.schema:
            return decode_rows(list(texts), self.ctx.schema)
        recs = [json.loads(t) for t in texts]
        cols = list(dict.fromkeys(k for r in recs for k in r))
        return pd.DataFrame.from_records(recs, columns=cols)

    @staticmethod
    def _csv(df: pd.DataFrame, header: bool) -> bytes:
        """CSV for Autopilot: one record per line (newlines inside values become spaces), missing values empty."""
        df = df.copy()
        for c in df.columns:
            if not pd.api.types.is_numeric_dtype(df[c]):
                df[c] = df[c].map(lambda v: " ".join(v.split()) if isinstance(v, str) else v)
        return df.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")

    def _target_name(self, columns: Sequence[str]) -> str:
        name, k = "target", 0
        while name in columns:
            k += 1
            name = f"target_{k}"
        return name

    # ---- life cycle ----------------------------------------------------------------------------
    def load(self) -> None:
        self._client()
        self._s3()

    def _problem(self, labels: Sequence[str]) -> tuple[str, list[Any]]:
        """(ProblemType, target values), checked: one line for what Autopilot would refuse."""
        if self.regression:
            y = pd.to_numeric(pd.Series(list(labels), dtype=object), errors="coerce")
            if y.isna().any():
                raise RuntimeError(f"{int(y.isna().sum())} train targets are not numbers: Autopilot regression needs a "
                                   "numeric target")
            return "Regression", y.astype(float).tolist()
        classes = sorted(set(map(str, labels)))
        if len(classes) < 2:
            raise RuntimeError(f"Autopilot classification needs 2+ classes in the train split; found {classes}")
        return ("BinaryClassification" if len(classes) == 2 else "MulticlassClassification"), [str(x) for x in labels]

    def _objective(self, problem: str) -> str | None:
        if self.objective:
            return str(self.objective)
        if self.ctx.metric == "macro_f1":
            return "F1macro" if problem == "MulticlassClassification" else None
        obj = METRIC_OBJECTIVES.get(self.ctx.metric)
        if obj == "AUC" and problem != "BinaryClassification":
            return None
        return obj

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        if len(texts) < MIN_TRAIN_ROWS:
            raise RuntimeError(f"SageMaker Autopilot needs at least {MIN_TRAIN_ROWS} training rows (CreateAutoMLJobV2); "
                               f"the train split has {len(texts)}")
        problem, y = self._problem(labels)
        df = self._frame(texts)
        self._columns = list(df.columns)
        target = self._target_name(self._columns)
        df[target] = y
        self._put(f"{self.run_prefix}/train/train.csv", self._csv(df, header=True))
        objective = self._objective(problem)
        tabular: dict[str, Any] = {
            "TargetAttributeName": target, "ProblemType": problem, "Mode": self.mode,
            "CompletionCriteria": {"MaxCandidates": self.max_candidates,
                                   "MaxAutoMLJobRuntimeInSeconds": self.max_runtime_s}}
        if self.max_runtime_per_job_s is not None:
            tabular["CompletionCriteria"]["MaxRuntimePerTrainingJobInSeconds"] = self.max_runtime_per_job_s
        params: dict[str, Any] = {
            "AutoMLJobName": self.job_name,
            "AutoMLJobInputDataConfig": [{
                "ChannelType": "training", "ContentType": "text/csv;header=present", "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                "S3Uri": f"s3://{self.bucket}/{self.run_prefix}/train/"}}}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{self.bucket}/{self.run_prefix}/output/"},
            "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
            "RoleArn": self.role_arn, "Tags": self._tags()}
        if objective:
            params["AutoMLJobObjective"] = {"MetricName": objective}
        client = self._client()
        rec = self._track("automl-job", self.job_name, state="requested")  # before: the answer may be lost
        resp, err, _, _ = self._call(client.create_auto_ml_job_v2, **params)
        if err is not None:
            arn = self._ours("automl-job") if self._error_code(err) == "ResourceInUse" else None
            if arn is None:
                self._raise(err, "CreateAutoMLJobV2 failed")  # teardown confirms whether it exists
            resp = {"AutoMLJobArn": arn}  # a retried create: the first one went through
        self._confirm(rec, self.job_name, arn=resp["AutoMLJobArn"])
        props: dict[str, Any] = {}
        seen: list[str] = []

        def describe() -> str:
            nonlocal props
            r, e, _, _ = self._call(client.describe_auto_ml_job_v2, AutoMLJobName=self.job_name)
            if e is not None:
                self._raise(e, "DescribeAutoMLJobV2 failed")
            props = r
            second = str(r.get("AutoMLJobSecondaryStatus", ""))
            if not seen or seen[-1] != second:
                seen.append(second)
            return str(r["AutoMLJobStatus"])

        status = self._wait("AutoML job", describe, {"Completed"}, {"Failed", "Stopped"})
        self._fit_cost, accounting = self._job_cost()
        self._mark_deleted("automl-job", self.job_name, state="stopped" if status == "Stopped" else "finished")
        for reason in props.get("PartialFailureReasons") or []:
            self.notes.append(f"Autopilot partial failure: {redact(str(reason.get('PartialFailureMessage', reason)))}")
        if status != "Completed":
            why = redact(" ".join(str(props.get("FailureReason") or "no reason given").split()))
            raise RuntimeError(f"Autopilot job {self.job_name} ended {status}: {why}")
        best = props.get("BestCandidate") or {}
        if not best.get("InferenceContainers"):
            raise RuntimeError(f"Autopilot job {self.job_name} completed without a best candidate to deploy")
        self._create_model(best["InferenceContainers"])
        metric = best.get("FinalAutoMLJobObjectiveMetric") or {}
        details: dict[str, Any] = {
            "automl_job": self.job_name, "automl_job_arn": props.get("AutoMLJobArn"), "status": status,
            "secondary_statuses": seen, "problem_type": problem, "target_column": target, "mode": self.mode,
            "objective": objective or "Autopilot's default for the problem type", "train_rows": len(texts),
            "features": len(self._columns), "best_candidate": best.get("CandidateName"),
            "best_objective": {"metric": metric.get("MetricName"), "value": metric.get("Value")},
            "candidate_metrics": (best.get("CandidateProperties") or {}).get("CandidateMetrics") or [],
            "inference_containers": len(best["InferenceContainers"]), "model": self.model_name,
            "job_seconds": self._fit_cost.seconds, **accounting,
            "metrics_note": "Autopilot's own objective on its validation share of the train split"}
        self._note_once("S3 storage of the staged rows and Autopilot's artifacts is not priced: kept only for the run "
                        "(deleted at teardown), a fraction of a cent")
        self._fit_returned = True
        return FitInfo(cost=self._fit_cost, details=details)

    def _ours(self, kind: str, name: str | None = None) -> str | None:
        """The ARN of this attempt's job/model of ``kind`` by its name (a create whose answer was lost), or None."""
        client = self._client()
        if kind == "transform-job":
            r, e, _, _ = self._call(client.describe_transform_job, TransformJobName=name)
            return str(r["TransformJobArn"]) if e is None and r.get("ModelName") == self.model_name else None
        if kind == "automl-job":
            r, e, _, _ = self._call(client.describe_auto_ml_job_v2, AutoMLJobName=self.job_name)
            ok = e is None and str((r.get("OutputDataConfig") or {}).get("S3OutputPath", "")).startswith(
                f"s3://{self.bucket}/{self.run_prefix}/")
            return str(r["AutoMLJobArn"]) if ok else None
        if kind == "model":
            r, e, _, _ = self._call(client.describe_model, ModelName=self.model_name)
            return str(r["ModelArn"]) if e is None else None
        return None

    def _create_model(self, containers: list[dict[str, Any]]) -> None:
        """CreateModel from the best candidate's containers, asking a classifier for every class's probability."""
        containers = copy.deepcopy(containers)
        keys = [] if self.regression else list(RESPONSE_KEYS)
        previous: str | None = None
        for c in containers:
            env = c.setdefault("Environment", {})
            supported = [k.strip() for k in str(env.get("SAGEMAKER_INFERENCE_SUPPORTED", "")).split(",") if k.strip()]
            if not keys or not supported:
                previous = None
                continue
            current = ",".join(k for k in keys if k in supported) or None
            if previous:
                env["SAGEMAKER_INFERENCE_INPUT"] = previous
            if current:
                env["SAGEMAKER_INFERENCE_OUTPUT"] = current
            previous = current
        final = str((containers[-1].get("Environment") or {}).get("SAGEMAKER_INFERENCE_OUTPUT") or "")
        self._output_keys = final.split(",") if final else ["predicted_label"]
        if not self.regression and not {"probabilities", "labels"} <= set(self._output_keys):
            self._note_once("the best candidate's containers give no per-class probabilities: labels only, no scores")
        client = self._client()
        rec = self._track("model", self.model_name, state="requested")
        resp, err, _, _ = self._call(client.create_model, ModelName=self.model_name, Containers=containers,
                                     ExecutionRoleArn=self.role_arn, Tags=self._tags())
        if err is not None:
            arn = self._ours("model") if "already exist" in one_line(err) else None
            if arn is None:
                self._raise(err, "CreateModel failed")
            resp = {"ModelArn": arn}
        self._confirm(rec, self.model_name, arn=resp["ModelArn"])
        self._model_ready = True

    # ---- cost: the instances Autopilot's jobs ran ----------------------------------------------
    def _job_cost(self) -> tuple[Cost, dict[str, Any]]:
        """(cost, details) of every job the AutoML job ran; falls back to the estimate (noted) if they cannot be read."""
        try:
            return self._measured_job_cost()
        except Exception as e:
            est = self.estimate_fit([], [])
            self.notes.append(f"AutoML job cost taken from the estimate (${est.usd:.4f}): its jobs could not be read "
                              f"({one_line(e)})")
            return est, {"cost_source": "estimate"}

    def _paginate(self, fn: Any, key: str, **kw: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            r, e, _, _ = self._call(fn, **kw, **({"NextToken": token} if token else {}))
            if e is not None:
                raise RuntimeError(f"{key}: {one_line(e)}")
            items += r.get(key) or []
            token = r.get("NextToken")
            if not token:
                return items

    def _measured_job_cost(self) -> tuple[Cost, dict[str, Any]]:
        client = self._client()
        candidates = self._paginate(client.list_candidates_for_auto_ml_job, "Candidates",
                                    AutoMLJobName=self.job_name, MaxResults=100)
        steps: dict[str, tuple[str, str, bool]] = {}  # arn → (step type, name, found by name only)
        for c in candidates:
            for s in c.get("CandidateSteps") or []:
                steps[s["CandidateStepArn"]] = (s["CandidateStepType"], s["CandidateStepName"], False)
        # jobs of the AutoML job that belong to no candidate (data analysis, explainability) carry its name
        for stype, fn, key, nk, ak in (
                ("AWS::SageMaker::TrainingJob", client.list_training_jobs, "TrainingJobSummaries", "TrainingJobName",
                 "TrainingJobArn"),
                ("AWS::SageMaker::ProcessingJob", client.list_processing_jobs, "ProcessingJobSummaries",
                 "ProcessingJobName", "ProcessingJobArn")):
            for s in self._paginate(fn, key, NameContains=self.job_name, MaxResults=100):
                steps.setdefault(s[ak], (stype, s[nk], True))
        job_arn = next((r.get("arn") for r in self.resources if r["kind"] == "automl-job" and r.get("arn")), None)
        hours: dict[str, float] = {}
        usd = 0.0
        seconds = 0.0
        counted = 0
        for stype, sname, by_name in steps.values():
            section = STEP_SECTION.get(stype)
            if section is None:
                continue
            secs, itype, count, owner = self._step_usage(client, section, sname)
            if by_name and job_arn and owner != job_arn:
                continue  # a job whose name merely contains ours
            h = secs * count / 3600.0
            hours[section] = hours.get(section, 0.0) + h
            usd += h * self._rate(section, itype)
            seconds += secs
            counted += 1
        units = {f"{k}_instance_hours": v for k, v in hours.items()}
        return Cost(usd, units, seconds=seconds), {"candidates": len(candidates), "jobs_billed": counted,
                                                   "instance_hours": units, "cost_source": "the jobs' own timings"}

    def _step_usage(self, client: Any, section: str, name: str) -> tuple[float, str, int, str | None]:
        """(billed seconds, instance type, instance count, owning AutoML job ARN) of one training/processing/transform job."""
        if section == "training":
            r, e, _, _ = self._call(client.describe_training_job, TrainingJobName=name)
            if e is not None:
                raise RuntimeError(f"DescribeTrainingJob {name}: {one_line(e)}")
            rc = r.get("ResourceConfig") or {}
            secs = r.get("BillableTimeInSeconds")
            if secs is None:
                secs = self._span(r.get("TrainingStartTime"), r.get("TrainingEndTime"))
            return float(secs), str(rc.get("InstanceType")), int(rc.get("InstanceCount") or 1), r.get("AutoMLJobArn")
        if section == "processing":
            r, e, _, _ = self._call(client.describe_processing_job, ProcessingJobName=name)
            if e is not None:
                raise RuntimeError(f"DescribeProcessingJob {name}: {one_line(e)}")
            cc = (r.get("ProcessingResources") or {}).get("ClusterConfig") or {}
            return (self._span(r.get("ProcessingStartTime"), r.get("ProcessingEndTime")), str(cc.get("InstanceType")),
                    int(cc.get("InstanceCount") or 1), r.get("AutoMLJobArn"))
        r, e, _, _ = self._call(client.describe_transform_job, TransformJobName=name)
        if e is not None:
            raise RuntimeError(f"DescribeTransformJob {name}: {one_line(e)}")
        tr = r.get("TransformResources") or {}
        return (self._span(r.get("TransformStartTime"), r.get("TransformEndTime")), str(tr.get("InstanceType")),
                int(tr.get("InstanceCount") or 1), r.get("AutoMLJobArn"))

    @staticmethod
    def _span(start: Any, end: Any) -> float:
        s, t = _epoch(start), _epoch(end)
        if s is None:
            return 0.0
        return max(0.0, (t if t is not None else time.time()) - s)

    def _transform_cost(self, props: dict[str, Any]) -> Cost:
        tr = props.get("TransformResources") or {}
        secs = self._span(props.get("TransformStartTime"), props.get("TransformEndTime"))
        count = int(tr.get("InstanceCount") or self.instance_count)
        h = secs * count / 3600.0
        return Cost(h * self._rate("transform", str(tr.get("InstanceType") or self.instance_type)),
                    {"transform_instance_hours": h}, seconds=secs)

    # ---- predict: one batch transform ----------------------------------------------------------
    def predict_batch(self, texts: list[str]) -> BatchResult:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        if not n:
            return out
        if not self._model_ready or self._columns is None:
            raise RuntimeError("no Autopilot model to predict with: fit did not finish")
        df = self._frame(texts).reindex(columns=self._columns)
        job_no = sum(r["kind"] == "transform-job" for r in self.resources) + 1
        base = f"{self.run_prefix}/transform-{job_no}"
        self._put(f"{base}/input/rows.csv", self._csv(df, header=False))
        name = f"{self.run_name}-t{job_no}"
        client = self._client()
        rec = self._track("transform-job", name, state="requested")
        resp, err, r0, th0 = self._call(
            client.create_transform_job, TransformJobName=name, ModelName=self.model_name, BatchStrategy="MultiRecord",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{self.bucket}/{base}/input/"}},
                            "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "None"},
            TransformOutput={"S3OutputPath": f"s3://{self.bucket}/{base}/output/", "Accept": "text/csv",
                             "AssembleWith": "Line"},
            TransformResources={"InstanceType": self.instance_type, "InstanceCount": self.instance_count},
            Tags=self._tags())
        out.retries += r0
        out.throttles += th0
        if err is not None:
            arn = self._ours("transform-job", name) if self._error_code(err) == "ResourceInUse" else None
            if arn is None:
                self._raise(err, "CreateTransformJob failed")  # teardown confirms whether it exists
            resp = {"TransformJobArn": arn}  # a retried create: the first one went through
        self._confirm(rec, name, arn=resp["TransformJobArn"])
        props: dict[str, Any] = {}

        def describe() -> str:
            nonlocal props
            r, e, retries, throttles = self._call(client.describe_transform_job, TransformJobName=name)
            out.retries += retries
            out.throttles += throttles
            if e is not None:
                self._raise(e, "DescribeTransformJob failed")
            props = r
            return str(r["TransformJobStatus"])

        status = self._wait("batch transform", describe, {"Completed"}, {"Failed", "Stopped"})
        cost = self._transform_cost(props)
        self._transform_billed.add(name)
        self._mark_deleted("transform-job", name, state="stopped" if status == "Stopped" else "finished")
        if status != "Completed":
            self.extra_cost = self.extra_cost + cost  # the instances ran: billed though nothing came back
            why = redact(" ".join(str(props.get("FailureReason") or "no reason given").split()))
            raise RuntimeError(f"batch transform {name} ended {status}: {why}")
        out.cost = cost
        data = self._get(self.bucket, f"{base}/output/rows.csv.out").decode("utf-8")
        lines = [ln for ln in data.splitlines() if ln.strip()]
        for i in range(n):
            if i >= len(lines):
                out.errors[i] = f"no output line {i + 1} in the batch transform output ({len(lines)} lines for {n} rows)"
                continue
            self._take(lines[i], i, out)
        self._note_once(f"one batch transform over all {n} test rows: per-item latency is the job's wall time "
                        "(instance start-up included), not a per-row latency")
        return out

    def _take(self, line: str, i: int, out: BatchResult) -> None:
        """One output line (CSV: the keys of SAGEMAKER_INFERENCE_OUTPUT, in order) into item ``i``."""
        try:
            fields = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            out.errors[i] = f"unreadable batch transform output line: {line[:80]!r}"
            return
        if self.regression:
            out.raw[i] = fields[0]
            try:
                out.labels[i] = encode_number(float(fields[0]))
            except ValueError:
                out.errors[i] = f"batch transform answered {fields[0][:40]!r}, not a number"
            out.scores[i] = {}
            return
        vals = dict(zip(self._output_keys or ["predicted_label"], fields, strict=False))
        label = str(vals.get("predicted_label", fields[0])).strip()
        out.raw[i] = label
        out.labels[i] = label if label in self.ctx.labels else None  # a label outside the dataset's: an abstention
        if "probabilities" in vals and "labels" in vals:
            try:
                probs = [float(p) for p in ast.literal_eval(vals["probabilities"])]
                names = [str(x) for x in ast.literal_eval(vals["labels"])]
            except (ValueError, SyntaxError, TypeError):
                out.errors[i] = f"unreadable probabilities in the batch transform output: {line[:80]!r}"
                out.labels[i] = None
                return
            scores = dict.fromkeys(self.ctx.labels, 0.0)
            scores.update({k: v for k, v in zip(names, probs, strict=False) if k in scores})
            out.scores[i] = scores

    def explain(self) -> dict[str, Any]:
        return {"kind": "service", "text": f"SageMaker Autopilot ({self.mode}) best candidate; Autopilot's own "
                "objective and candidate metrics are in the fit details, its explainability report under the job's "
                "S3 output (deleted at teardown)"}

    # ---- teardown ------------------------------------------------------------------------------
    def _adopt(self, run_name: str | None, records: list[dict[str, Any]]) -> None:
        """Take over an earlier attempt's ledger records (cleanup): same names and S3 prefix."""
        self._prior = []
        self.resources = records
        if run_name:
            self.run_name = self.job_name = self.model_name = run_name
        for r in records:
            if r["kind"] == "s3-object" and r.get("prefix"):
                self.bucket = r.get("bucket") or self.bucket
                self.run_prefix = r["prefix"]
        self._fit_returned = True  # nothing to charge: this is not the run that trained it
        self._adopted = True

    TEARDOWN_STEPS = ("_teardown_transforms", "_teardown_job", "_teardown_model", "_teardown_s3")

    def _stop_and_wait(self, rec: dict[str, Any], what: str, describe: Any, stop: Any, status_key: str,
                       on_end: Any) -> None:
        """Describe ``rec``'s job until it has ended, stopping it once if it still runs; then record how it ended."""
        deadline = time.monotonic() + float(self.teardown_wait)
        interval = max(0.001, min(float(self.poll_interval), 5.0))
        stopped = False
        while True:
            r, err, _, _ = self._call(describe)
            if err is not None:
                if self._error_code(err) in ("ResourceNotFound", "ValidationException") and rec["state"] == "requested":
                    rec.update(deleted=True, state="never created", deleted_at=_now_iso())
                    self._save_resources()
                    return
                if not self._is_transient(err):
                    raise RuntimeError(f"Describe{what} failed while stopping: {one_line(err)}")
            else:
                if rec["state"] == "requested":
                    self._confirm(rec, rec["id"], arn=r.get(f"{what}Arn"))
                status = str(r[status_key])
                if status in JOB_ENDED:
                    on_end(r)
                    self._mark_deleted(rec["kind"], rec["id"], state="stopped" if status == "Stopped" else "finished")
                    return
                if status == "InProgress" and not stopped:
                    _, e, _, _ = self._call(stop)
                    if e is not None and self._error_code(e) not in ("ResourceNotFound", "ValidationException"):
                        raise RuntimeError(f"Stop{what} failed: {one_line(e)}")
                    stopped = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} {rec['id']} still running after {self.teardown_wait:.0f} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 30.0)

    def _teardown_transforms(self) -> None:
        client = self._client()
        for rec in self._live("transform-job"):
            name = rec["id"]

            def bill(props: dict[str, Any], name: str = name) -> None:
                if name not in self._transform_billed and not self._adopted:
                    self.extra_cost = self.extra_cost + self._transform_cost(props)  # interrupted: billed anyway
                self._transform_billed.add(name)

            self._stop_and_wait(rec, "TransformJob",
                                lambda name=name: client.describe_transform_job(TransformJobName=name),
                                lambda name=name: client.stop_transform_job(TransformJobName=name),
                                "TransformJobStatus", bill)

    def _teardown_job(self) -> None:
        client = self._client()
        for rec in self._live("automl-job"):
            name = rec["id"]

            def priced(props: dict[str, Any]) -> None:
                if self._fit_cost is None and not self._adopted:  # stopped mid-fit: what its jobs ran is billed
                    self._fit_cost, _ = self._job_cost()

            self._stop_and_wait(rec, "AutoMLJob", lambda name=name: client.describe_auto_ml_job_v2(AutoMLJobName=name),
                                lambda name=name: client.stop_auto_ml_job(AutoMLJobName=name), "AutoMLJobStatus",
                                priced)

    def _teardown_model(self) -> None:
        client = self._client()
        for rec in self._live("model"):
            name = rec["id"]
            _, err, _, _ = self._call(client.delete_model, ModelName=name)
            if err is not None and not self._missing(err):
                raise RuntimeError(f"DeleteModel failed: {one_line(err)}")
            existed = err is None
            _, err, _, _ = self._call(client.describe_model, ModelName=name)
            if err is None:
                raise RuntimeError(f"model {name} still there after DeleteModel")
            if not self._missing(err):
                raise RuntimeError(f"DescribeModel failed while deleting: {one_line(err)}")
            never = rec["state"] == "requested" and not existed
            self._mark_deleted("model", name, state="never created" if never else "deleted")
            self._model_ready = False

    def _missing(self, err: Exception) -> bool:
        """SageMaker answers a missing model with ValidationException "Could not find model ..."."""
        return self._error_code(err) in ("ResourceNotFound", "ValidationException") and "could not find" in \
            one_line(err).lower()
