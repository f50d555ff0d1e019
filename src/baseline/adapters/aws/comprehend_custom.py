"""Amazon Comprehend custom classification: train, endpoint or async job inference, teardown."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import threading
import time
from collections.abc import Sequence
from typing import Any

from baseline.adapters.aws.common import (
    CLASSIFY_MAX_BYTES,
    MIN_DOCS_PER_CLASS,
    ROLE_ARN,
    _epoch,
    _now_iso,
    _opt_float,
    _opt_int,
    _queued,
    _StagedAwsAdapter,
)
from baseline.adapters.base import (
    RANK_CUSTOM_CLOUD,
    AdapterContext,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
    is_multilabel,
)
from baseline.adapters.cloud import (
    truncate_utf8,
)
from baseline.costs import comprehend_units
from baseline.errors import BadInput
from baseline.redact import one_line, redact
from baseline.tasks.labelsets import decode, encode

# Multi-label mode (``Mode="MULTI_LABEL"``). Training minimum and label cap: Comprehend Developer Guide,
# guidelines-and-limits.md ("Minimum number of training documents per class (multi-label mode): 10";
# "Maximum number of classes (multi-label mode): 100"). The CSV joins a row's labels with ``LabelDelimiter``
# (default "|", botocore model: one character of ``[ ~!@#$%^*\-_+=|\\:;\t>?/]``); baseline's canonical label sets
# are already "|"-joined and a label may not contain "|" (``baseline.tasks.labelsets.check_label_names``).
MIN_DOCS_PER_LABEL_MULTI = 10
MAX_LABELS_MULTI = 100
LABEL_DELIMITER = "|"
# ``ClassifyDocument`` (and the async job output) answer a multi-label model with ``Labels`` [{Name, Score}], one
# independent score per label and no decision; a label is taken when its score is >= ``threshold`` (option, default
# 0.5: the usual cut for independent per-label probabilities; no AWS page that states a service-side threshold was
# found, so it is baseline's choice and an option).
MULTI_LABEL_THRESHOLD = 0.5


class ComprehendCustom(_StagedAwsAdapter):
    """A Comprehend custom classifier trained on the train split; endpoint or async job inference.

    Options: ``bucket`` and ``role_arn`` (required: an S3 bucket in the region and a role Comprehend
    can assume with access to it), ``prefix`` (S3 key prefix, default "baseline"), ``s3_endpoint_url``,
    ``language`` (default "en"), ``mode`` ("endpoint": CreateEndpoint + ClassifyDocument, default;
    "async": one StartDocumentClassificationJob over all test texts), ``inference_units`` (endpoint
    IUs, default 1), ``poll_interval`` (first poll delay in s, default 30; grows ×1.5 up to
    ``max_poll_interval``, default 300), ``max_wait`` (s to wait for training / endpoint / job,
    default 14400), ``teardown_wait`` (s to wait for deletions, default 900),
    ``est_training_hours`` (for estimates, default 1.0), ``est_endpoint_start_s`` (default 600).
    Endpoint mode paces itself to the endpoint's capacity (1 IU = 2 documents/s and 100
    characters/s) unless ``max_rps`` is set (0 = no pacing).

    Pricing: training (TrainingEndTime − TrainingStartTime) × the hourly price; model storage as
    one model-month minimum (conservative: the model is deleted at teardown); endpoint IU-seconds
    from creation to deletion with the 60-second minimum; async inference per 100-character unit.
    Teardown deletes the endpoint (waits until gone), stops training still running, deletes the
    classifier and every S3 object under the run's own prefix; it is idempotent.

    Multi-label task: the same life cycle, cost and teardown with ``Mode="MULTI_LABEL"``: the training CSV's label
    cell joins a row's labels with ``LabelDelimiter`` "|", rows with no label are left out of training (Comprehend
    wants at least one per document; counted and noted), each label needs 10+ train texts (100 labels at most), and
    a label is predicted when its ``Labels`` score is >= ``threshold`` (default 0.5); every label gets its score.
    """

    JOB_KINDS = frozenset({"classification-job"})  # ends "finished", not "deleted"
    name = "aws-comprehend-custom"
    simplicity = RANK_CUSTOM_CLOUD
    description = "Amazon Comprehend custom classifier trained on the train split (endpoint or async job)"
    learns = True
    tasks = ("text-classification", "multi-label-text-classification")
    batch_size = 1
    max_concurrency = 2
    service_name = "comprehend"
    option_schema = {**_StagedAwsAdapter.option_schema, "bucket": Opt("str"), "role_arn": Opt("str"),
                     "prefix": Opt("str"), "s3_endpoint_url": Opt("str"), "language": Opt("str"),
                     "mode": Opt("str", choices=("endpoint", "async")), "inference_units": Opt("int", lo=1),
                     "threshold": Opt("float", lo=0, hi=1),
                     **{k: Opt("float", lo=0) for k in ("poll_interval", "max_poll_interval", "max_wait",
                                                        "teardown_wait", "est_training_hours",
                                                        "est_endpoint_start_s")}}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.bucket = str(o.get("bucket") or "")
        self.prefix = str(o.get("prefix", "baseline")).strip("/")
        self.role_arn = str(o.get("role_arn") or "")
        self.language = str(o.get("language", "en"))
        self.mode = str(o.get("mode", "endpoint"))
        if self.mode not in ("endpoint", "async"):
            raise BadInput(f"[adapters.{self.name}] mode must be 'endpoint' or 'async' (got {self.mode!r})")
        self.ius = _opt_int(self.name, o, "inference_units", 1, lo=1)
        self.poll_interval = _opt_float(self.name, o, "poll_interval", 30.0)
        self.max_poll_interval = _opt_float(self.name, o, "max_poll_interval", 300.0)
        self.max_wait = _opt_float(self.name, o, "max_wait", 14400.0)
        self.teardown_wait = _opt_float(self.name, o, "teardown_wait", 900.0)
        self.est_training_hours = _opt_float(self.name, o, "est_training_hours", 1.0)
        self.est_endpoint_start_s = _opt_float(self.name, o, "est_endpoint_start_s", 600.0)
        self.threshold = float(_opt_float(self.name, o, "threshold", MULTI_LABEL_THRESHOLD) or 0.0)
        if self.threshold > 1.0:
            raise BadInput(f"[adapters.{self.name}] threshold must be between 0 and 1 (got {self.threshold:g})")
        if self.mode == "async":
            self.batch_size = 1_000_000  # the runner hands every text to one job
            self.max_concurrency = 1
        elif "max_concurrency" not in o:
            self.max_concurrency = max(1, min(4, 2 * self.ius))
        # endpoint pacing: capacity-weighted unless max_rps is given (0 = off)
        self._capacity_pacing = self.mode == "endpoint" and "max_rps" not in o
        # Names, idempotency tokens and tags derive from the run id, so a create whose answer was lost
        # is found again (list + tags) and a retried create returns the same resource, not a second one.
        self._init_run(ctx)
        self._classifier_arn: str | None = None
        self._endpoint_arn: str | None = None
        self._endpoint_created_at: float | None = None
        self._job_id: str | None = None
        self._fit_cost: Cost | None = None
        self._fit_returned = False
        self._allocated_iu_s = 0.0
        self._alloc_lock = threading.Lock()

    # ---- discovery, estimates ------------------------------------------------------------------
    @classmethod
    def _config_problem(cls, options: dict[str, Any]) -> str | None:
        missing = [k for k in ("bucket", "role_arn") if not options.get(k)]
        if missing:
            return (f"set {' and '.join(missing)} under [adapters.{cls.name}] in baseline.toml "
                    "(an S3 bucket in the region and an IAM role Comprehend can assume)")
        if not ROLE_ARN.match(str(options["role_arn"])):
            return f"role_arn {options['role_arn']!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        return None

    def _price(self, key: str) -> dict[str, Any]:
        return self.ctx.prices.row("aws_comprehend", key)

    def _capacity_seconds(self, text: str) -> float:
        """Endpoint capacity one document takes, in seconds of the whole endpoint (1 IU: 2 docs/s, 100 chars/s)."""
        ep = self._price("custom_endpoint")
        return max(1.0 / float(ep["iu_docs_per_second"]), len(text) / float(ep["iu_chars_per_second"])) / self.ius

    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        train = self._price("custom_training")
        storage = self._price("custom_model_storage")
        hours = float(self.est_training_hours)
        cost = Cost(hours * float(train["usd_per_hour"]), {"training_hours": hours},
                    note=f"training assumed {hours:g} h (est_training_hours)")
        cost = cost + Cost(float(storage["usd_per_model_month"]), {"model_months": 1.0},
                           note="model storage: one model-month minimum")
        if self.mode == "endpoint":
            ep = self._price("custom_endpoint")
            secs = max(float(ep["min_seconds"]), float(self.est_endpoint_start_s))
            cost = cost + Cost(secs * self.ius * float(ep["usd_per_iu_second"]), {"endpoint_iu_seconds": secs * self.ius},
                               note=f"endpoint start ~{secs:g} s × {self.ius} IU")
        return cost

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        docs = [truncate_utf8(t, CLASSIFY_MAX_BYTES)[0] for t in texts if t.strip()]
        if self.mode == "async":
            row = self._price("custom_async")
            units = sum(comprehend_units(d, int(row["unit_chars"]), int(row["min_units"])) for d in docs)
            return Cost(units * float(row["usd_per_unit"]), {"custom_async_units": float(units)})
        ep = self._price("custom_endpoint")
        iu_s = sum(self._capacity_seconds(d) for d in docs) * self.ius
        return Cost(iu_s * float(ep["usd_per_iu_second"]), {"endpoint_iu_seconds": iu_s},
                    note="endpoint capacity used by the predictions")

    def endpoint_description(self) -> str:
        how = f"real-time endpoint ({self.ius} IU)" if self.mode == "endpoint" else "async classification job"
        where = f"s3://{self.bucket}/{self.run_prefix}/" if self.bucket else "S3 bucket not set"
        kind = "multi-label " if is_multilabel(self.ctx) else ""
        return f"Amazon Comprehend custom {kind}classifier (training + {how}) {self._where()}, {where}"

    def cache_identity(self) -> None:
        """No cache: the model is trained in this run and deleted at teardown, so its answers do not carry over."""
        return None

    # ---- resources -----------------------------------------------------------------------------
    def _token(self, what: str) -> str:
        """ClientRequestToken: the same for a retried create in this run, so the service answers the same ARN."""
        return f"{self.run_name}-{what}"[:64]

    @classmethod
    def cleanup(cls, ctx: AdapterContext, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Delete what the ledger (or, for a create whose answer was lost, the tags) shows left over.

        One pass per attempt recorded in the ledger; returns the ledger with what was confirmed deleted.
        """
        out = [dict(r) for r in ledger]
        problems: list[str] = []
        for run_name in dict.fromkeys(r.get("run_name") for r in out if not r.get("deleted")):
            group = [r for r in out if r.get("run_name") == run_name]
            first = group[0]
            options = dict(ctx.options)
            if first.get("region") and not options.get("region"):
                options["region"] = first["region"]
            s3 = next((r for r in group if r["kind"] == "s3-object" and r.get("bucket")), None)
            if s3 is not None:
                options["bucket"] = s3["bucket"]
            a = cls(AdapterContext(labels=list(ctx.labels), options=options, prices=ctx.prices,
                                   workdir=ctx.workdir, run_id=ctx.run_id, log=ctx.log))
            a._adopt(run_name, group)
            a._prior = [r for r in out if r.get("run_name") != run_name]  # the ledger keeps every attempt
            try:
                a.teardown()
            except Exception as e:
                problems.append(one_line(e))
        if problems:
            raise RuntimeError("; ".join(problems))
        return out

    def _adopt(self, run_name: str | None, records: list[dict[str, Any]]) -> None:
        """Take over an earlier attempt's ledger records (cleanup): same names, ids and S3 prefix."""
        self._prior = []
        self.resources = records
        if run_name:
            self.run_name = run_name
        live = [r for r in records if not r.get("deleted")]
        for r in live:
            if r["kind"] == "document-classifier" and r.get("state") == "created":
                self._classifier_arn = r["id"]
            elif r["kind"] == "endpoint" and r.get("state") == "created":
                self._endpoint_arn = r["id"]
            elif r["kind"] == "classification-job":
                self._job_id = r["id"]
            elif r["kind"] == "s3-object" and r.get("prefix"):
                self.bucket = r.get("bucket") or self.bucket
                self.run_prefix = r["prefix"]
        if self._classifier_arn is None:  # an endpoint needs its model's ARN to be found by tags
            done = [r for r in records if r["kind"] == "document-classifier" and str(r["id"]).startswith("arn:")]
            self._classifier_arn = done[-1]["id"] if done else None
        self._fit_returned = True  # nothing to charge: this is not the run that trained it

    def _find_tagged(self, kind: str) -> str | None:
        """The ARN of this attempt's classifier or endpoint, found by name/model and our tags, or None."""
        client = self._client()
        want = {"Key": "baseline:resource", "Value": self.run_name}
        if kind == "document-classifier":
            op, key, arn_key = client.list_document_classifiers, "DocumentClassifierPropertiesList", "DocumentClassifierArn"
            flt: dict[str, Any] = {"DocumentClassifierName": self.run_name}
        else:
            if not self._classifier_arn:
                return None
            op, key, arn_key = client.list_endpoints, "EndpointPropertiesList", "EndpointArn"
            flt = {"ModelArn": self._classifier_arn}
        token = None
        while True:
            kw: dict[str, Any] = {"Filter": flt, **({"NextToken": token} if token else {})}
            r, err, _, _ = self._call(op, **kw)
            if err is not None:
                raise RuntimeError(f"looking up the {kind} by its tags failed: {one_line(err)}")
            for props in r.get(key) or []:
                arn = props.get(arn_key)
                if not arn or (kind == "endpoint" and props.get("Status") == "DELETING"):
                    continue
                t, e, _, _ = self._call(client.list_tags_for_resource, ResourceArn=arn)
                if e is None and want in (t.get("Tags") or []):
                    return str(arn)
            token = r.get("NextToken")
            if not token:
                return None

    def _resolve(self, kind: str) -> str | None:
        """For a create whose answer never came (``requested``): find it by tags, or confirm it does not exist."""
        pending = [r for r in self.resources if r["kind"] == kind and r.get("state") == "requested"]
        if not pending:
            return None
        arn = self._find_tagged(kind)
        for rec in pending:
            if arn:
                self._confirm(rec, arn)
                self.ctx.log(f"{self.name}: found {kind} {arn} by its tags (its create call got no answer)")
            else:
                rec.update(deleted=True, state="never created", deleted_at=_now_iso())
        self._save_resources()
        return arn

    def _put(self, key: str, body: bytes) -> str:
        uri = f"s3://{self.bucket}/{key}"
        self._track("s3-object", uri, bucket=self.bucket, prefix=self.run_prefix)
        resp, err, _, _ = self._call(self._s3().put_object, Bucket=self.bucket, Key=key, Body=body)
        if err is not None:
            self._raise(err, f"upload to {uri} failed")
        return uri

    # ---- life cycle ----------------------------------------------------------------------------
    def load(self) -> None:
        self._client()
        self._s3()

    def _multilabel_rows(self, texts: list[str], labels: list[str]) -> tuple[list[str], list[str], int]:
        """Multi-label training rows: (texts, label cells "a|b", rows left out for having no label), checked first.

        Comprehend's multi-label CSV gives every document at least one label ("each document has at least one class
        assigned to it", Developer Guide prep-classifier-data-multi-label.md), so rows whose set is empty are left
        out of training (counted in the fit details and a note); the model can still answer the empty set, when no
        label reaches the threshold. Raises one line when a label has fewer than 10 texts or there are over 100.
        """
        kept_texts: list[str] = []
        cells: list[str] = []
        empty = 0
        counts: dict[str, int] = {}
        for t, lab in zip(texts, labels, strict=True):
            if not " ".join(str(t).split()):
                continue  # never sent (as in single-label mode): not counted towards the minimum either
            labs = sorted(decode(str(lab)) or ())
            if not labs:
                empty += 1
                continue
            for x in labs:
                counts[x] = counts.get(x, 0) + 1
            kept_texts.append(t)
            cells.append(LABEL_DELIMITER.join(labs))
        small = {k: v for k, v in sorted(counts.items()) if v < MIN_DOCS_PER_LABEL_MULTI}
        if len(counts) < 2 or small:
            raise RuntimeError(f"Comprehend multi-label training needs at least {MIN_DOCS_PER_LABEL_MULTI} train "
                               f"texts for each of 2+ labels; too few: {small or counts}")
        if len(counts) > MAX_LABELS_MULTI:
            raise RuntimeError(f"Comprehend multi-label training takes at most {MAX_LABELS_MULTI} labels; the train "
                               f"split has {len(counts)}")
        return kept_texts, cells, empty

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        multi = is_multilabel(self.ctx)
        empty_rows = 0
        if multi:
            texts, labels, empty_rows = self._multilabel_rows(texts, labels)
        else:
            counts: dict[str, int] = {}
            for lab in labels:
                counts[str(lab)] = counts.get(str(lab), 0) + 1
            small = {k: v for k, v in counts.items() if v < MIN_DOCS_PER_CLASS}
            if len(counts) < 2 or small:
                raise RuntimeError(f"Comprehend custom classification needs at least {MIN_DOCS_PER_CLASS} train texts "
                                   f"in each of 2+ classes; too few: {small or counts}")
        # COMPREHEND_CSV: label, text; no header; one document per line (newlines become spaces).
        # Multi-label: the label cell holds the row's labels joined by LABEL_DELIMITER.
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        cut_rows = 0
        for t, lab in zip(texts, labels, strict=True):
            one = " ".join(str(t).split())
            if not one:
                continue
            one, was_cut = truncate_utf8(one, CLASSIFY_MAX_BYTES)
            cut_rows += int(was_cut)
            w.writerow([str(lab), one])
        train_uri = self._put(f"{self.run_prefix}/train.csv", buf.getvalue().encode("utf-8"))
        client = self._client()
        input_config = {"DataFormat": "COMPREHEND_CSV", "S3Uri": train_uri}
        if multi:
            input_config["LabelDelimiter"] = LABEL_DELIMITER
        rec = self._track("document-classifier", self.run_name, state="requested")  # before: the answer may be lost
        resp, err, _, _ = self._call(
            client.create_document_classifier, DocumentClassifierName=self.run_name,
            DataAccessRoleArn=self.role_arn, LanguageCode=self.language, Mode="MULTI_LABEL" if multi else "MULTI_CLASS",
            InputDataConfig=input_config,
            OutputDataConfig={"S3Uri": f"s3://{self.bucket}/{self.run_prefix}/training-output/"},
            Tags=self._tags(), ClientRequestToken=self._token("classifier"))
        if err is not None:
            self._raise(err, "CreateDocumentClassifier failed")  # teardown finds it by tags if it exists
        self._classifier_arn = resp["DocumentClassifierArn"]
        self._confirm(rec, self._classifier_arn)
        props: dict[str, Any] = {}

        def describe() -> str:
            nonlocal props
            r, e, _, _ = self._call(client.describe_document_classifier, DocumentClassifierArn=self._classifier_arn)
            if e is not None:
                self._raise(e, "DescribeDocumentClassifier failed")
            props = r["DocumentClassifierProperties"]
            return str(props.get("Status"))

        status = self._wait("training", describe, {"TRAINED", "TRAINED_WITH_WARNING"}, {"IN_ERROR", "STOPPED", "STOP_REQUESTED"})
        self._fit_cost = self._training_cost(props)
        if status not in ("TRAINED", "TRAINED_WITH_WARNING"):
            raise RuntimeError(f"training ended {status}: {props.get('Message', 'no message')}")
        meta = props.get("ClassifierMetadata") or {}
        details: dict[str, Any] = {
            "classifier": self._classifier_arn, "status": status, "mode": self.mode,
            "training_seconds": self._fit_cost.seconds, "evaluation_metrics": meta.get("EvaluationMetrics") or {},
            "trained_documents": meta.get("NumberOfTrainedDocuments"), "test_documents": meta.get("NumberOfTestDocuments"),
            "labels": meta.get("NumberOfLabels"), "train_rows_truncated": cut_rows,
            "metrics_note": "Comprehend's own evaluation on its held-out share of the train split"}
        if props.get("Message"):
            details["message"] = redact(str(props["Message"]))
        if multi:
            details.update(classifier_mode="MULTI_LABEL", label_delimiter=LABEL_DELIMITER, threshold=self.threshold,
                           train_rows_without_labels=empty_rows)
            if empty_rows:
                self.notes.append(f"{empty_rows} train rows with no label (the empty set) left out of training: "
                                  "Comprehend's multi-label CSV needs at least one label per document; the model "
                                  f"answers the empty set when no label scores >= {self.threshold:g}")
        if cut_rows:
            self.notes.append(f"{cut_rows} training texts cut to {CLASSIFY_MAX_BYTES} UTF-8 bytes")
        self.notes.append("model storage priced as one model-month minimum ($0.50/model-month; conservative)")
        if self.mode == "endpoint":
            t0 = time.perf_counter()
            self._start_endpoint()
            details["endpoint_start_s"] = time.perf_counter() - t0
            details["inference_units"] = self.ius
        self._fit_returned = True
        return FitInfo(cost=self._fit_cost, details=details)

    def _training_cost(self, props: dict[str, Any]) -> Cost:
        """Training (TrainingEndTime − TrainingStartTime) × hourly price, plus one model-month of storage."""
        start = _epoch(props.get("TrainingStartTime"))
        end = _epoch(props.get("TrainingEndTime"))
        secs = max(0.0, end - start) if start is not None and end is not None else 0.0
        hours = secs / 3600.0
        price = float(self._price("custom_training")["usd_per_hour"])
        cost = Cost(hours * price, {"training_hours": hours}, seconds=secs)
        if props.get("Status") in ("TRAINED", "TRAINED_WITH_WARNING"):
            storage = float(self._price("custom_model_storage")["usd_per_model_month"])
            cost = cost + Cost(storage, {"model_months": 1.0})
        return cost

    def _start_endpoint(self) -> None:
        client = self._client()
        rec = self._track("endpoint", self.run_name[:40], state="requested")
        self._endpoint_created_at = time.time()
        resp, err, _, _ = self._call(
            client.create_endpoint, EndpointName=self.run_name[:40], ModelArn=self._classifier_arn,
            DesiredInferenceUnits=self.ius, ClientRequestToken=self._token("endpoint"), Tags=self._tags())
        if err is not None:
            self._raise(err, "CreateEndpoint failed")
        self._endpoint_arn = resp["EndpointArn"]
        self._confirm(rec, self._endpoint_arn)
        props: dict[str, Any] = {}

        def describe() -> str:
            nonlocal props
            r, e, _, _ = self._call(client.describe_endpoint, EndpointArn=self._endpoint_arn)
            if e is not None:
                self._raise(e, "DescribeEndpoint failed")
            props = r["EndpointProperties"]
            return str(props.get("Status"))

        status = self._wait("endpoint", describe, {"IN_SERVICE"}, {"FAILED"})
        if status != "IN_SERVICE":
            raise RuntimeError(f"endpoint ended {status}: {props.get('Message', 'no message')}")
        if self._capacity_pacing:
            ep = self._price("custom_endpoint")
            self.notes.append(f"endpoint paced to its capacity: {self.ius} IU = {self.ius * float(ep['iu_docs_per_second']):g} "
                              f"docs/s, {self.ius * float(ep['iu_chars_per_second']):g} chars/s")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        if self.mode == "async":
            return self._predict_async(texts)
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        client = self._client()
        ep = self._price("custom_endpoint")
        for i, t in enumerate(texts):
            if not t.strip():
                out.errors[i] = "empty text: not sent (ClassifyDocument needs at least one character)"
                continue
            doc, was_cut = truncate_utf8(t, CLASSIFY_MAX_BYTES)
            out.truncated += int(was_cut)
            cap = self._capacity_seconds(doc)
            _queued(out, self._pacer.wait(cap if self._capacity_pacing else None))
            resp, err, retries, throttles = self._call(client.classify_document, EndpointArn=self._endpoint_arn, Text=doc)
            out.retries += retries
            out.throttles += throttles
            if err is not None:
                if not self._is_transient(err):
                    self._raise(err, "ClassifyDocument failed")
                self._request_failed(err, out, [i])
                continue
            self._request_ok()
            iu_s = cap * self.ius
            with self._alloc_lock:
                self._allocated_iu_s += iu_s
            out.cost = out.cost + Cost(iu_s * float(ep["usd_per_iu_second"]), {"endpoint_iu_seconds": iu_s})
            self._take_answer(resp, i, out)
        return out

    def _take_answer(self, answer: dict[str, Any], i: int, out: BatchResult) -> None:
        """One document's answer (ClassifyDocument response or async output line) into item ``i``."""
        if is_multilabel(self.ctx):
            self._take_labels(answer, i, out)
        else:
            self._take_classes(answer.get("Classes") or answer.get("Labels") or [], i, out)

    def _take_labels(self, answer: dict[str, Any], i: int, out: BatchResult) -> None:
        """Multi-label: the set of labels scoring >= threshold (canonical string), and every label's score."""
        labels = answer.get("Labels")
        if not isinstance(labels, list):
            what = "Classes (a multi-class model)" if "Classes" in answer else "no Labels"
            out.errors[i] = f"answer has {what} where a multi-label model answers Labels"
            return
        scores = dict.fromkeys(self.ctx.labels, 0.0)
        taken: set[str] = set()
        for c in labels:
            name, score = str(c.get("Name")), float(c.get("Score", 0.0))
            if name in scores:
                scores[name] = max(scores[name], score)
            if score >= self.threshold:
                taken.add(name)
        out.raw[i] = encode(taken)
        out.scores[i] = scores
        out.labels[i] = encode(x for x in taken if x in scores)

    def _take_classes(self, classes: list[dict[str, Any]], i: int, out: BatchResult) -> None:
        scores = dict.fromkeys(self.ctx.labels, 0.0)
        best, best_score = None, -1.0
        for c in classes:
            name, score = str(c.get("Name")), float(c.get("Score", 0.0))
            if name in scores:
                scores[name] = score
            if score > best_score:
                best, best_score = name, score
        out.raw[i] = best
        out.scores[i] = scores
        out.labels[i] = best if best in scores else None

    def _predict_async(self, texts: list[str]) -> BatchResult:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        lines: list[str] = []
        line_to_item: list[int] = []
        for i, t in enumerate(texts):
            one = " ".join(t.split())  # ONE_DOC_PER_LINE: a newline would split the document
            if not one:
                out.errors[i] = "empty text: not sent"
                continue
            one, was_cut = truncate_utf8(one, CLASSIFY_MAX_BYTES)
            out.truncated += int(was_cut)
            lines.append(one)
            line_to_item.append(i)
        if not lines:
            return out
        job_no = sum(r["kind"] == "classification-job" for r in self.resources) + 1
        base = f"{self.run_prefix}/infer-{job_no}"
        input_uri = self._put(f"{base}/input.txt", ("\n".join(lines) + "\n").encode("utf-8"))
        client = self._client()
        resp, err, r0, th0 = self._call(
            client.start_document_classification_job, JobName=f"{self.run_name}-{job_no}",
            DocumentClassifierArn=self._classifier_arn, DataAccessRoleArn=self.role_arn,
            InputDataConfig={"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": f"s3://{self.bucket}/{base}/output/"},
            Tags=[{"Key": "created-by", "Value": "baseline"}, {"Key": "baseline-run", "Value": self.run_name}])
        out.retries += r0
        out.throttles += th0
        if err is not None:
            self._raise(err, "StartDocumentClassificationJob failed")
        self._job_id = resp["JobId"]
        self._track("classification-job", self._job_id)
        props: dict[str, Any] = {}

        def describe() -> str:
            nonlocal props
            r, e, retries, throttles = self._call(client.describe_document_classification_job, JobId=self._job_id)
            out.retries += retries
            out.throttles += throttles
            if e is not None:
                self._raise(e, "DescribeDocumentClassificationJob failed")
            props = r["DocumentClassificationJobProperties"]
            return str(props.get("JobStatus"))

        status = self._wait("classification job", describe, {"COMPLETED"}, {"FAILED", "STOPPED", "STOP_REQUESTED"})
        self._mark_deleted("classification-job", self._job_id)  # finished: nothing left running or billing
        self._job_id = None
        if status != "COMPLETED":
            raise RuntimeError(f"classification job ended {status}: {props.get('Message', 'no message')}")
        results = self._read_job_output(str((props.get("OutputDataConfig") or {}).get("S3Uri", "")), f"{base}/output/")
        row = self._price("custom_async")
        units = sum(comprehend_units(d, int(row["unit_chars"]), int(row["min_units"])) for d in lines)
        out.cost = Cost(units * float(row["usd_per_unit"]), {"custom_async_units": float(units)})
        for line_no, i in enumerate(line_to_item):
            rec = results.get(line_no)
            if rec is None:
                out.errors[i] = f"no result for line {line_no} in the job output"
                continue
            if rec.get("Error") or rec.get("ErrorCode"):
                out.errors[i] = redact(str(rec.get("Error") or rec.get("ErrorCode")))
                continue
            self._take_answer(rec, i, out)
        self.notes.append("async job: per-item latency is the job's wall time, not a per-document latency")
        return out

    def _read_job_output(self, uri: str, fallback_prefix: str) -> dict[int, dict[str, Any]]:
        """output.tar.gz (JSON lines {"File", "Line", "Classes"}) → {line number: record}."""
        s3 = self._s3()
        if uri.endswith(".tar.gz"):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
        else:
            bucket = self.bucket
            r, e, _, _ = self._call(s3.list_objects_v2, Bucket=bucket, Prefix=fallback_prefix)
            if e is not None:
                self._raise(e, "listing the job output failed")
            keys = [o["Key"] for o in r.get("Contents", []) if o["Key"].endswith("output.tar.gz")]
            if not keys:
                raise RuntimeError(f"no output.tar.gz under s3://{bucket}/{fallback_prefix}")
            key = keys[0]
        r, e, _, _ = self._call(s3.get_object, Bucket=bucket, Key=key)
        if e is not None:
            self._raise(e, "reading the job output failed")
        data = r["Body"].read()
        results: dict[int, dict[str, Any]] = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                f = tar.extractfile(member) if member.isfile() else None
                if f is None:
                    continue
                for raw_line in f.read().decode("utf-8").splitlines():
                    if raw_line.strip():
                        rec = json.loads(raw_line)
                        results[int(rec["Line"])] = rec
        return results

    def explain(self) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return {"kind": "service", "text": f"Comprehend custom classifier, MULTI_LABEL mode ({self.mode}): a label "
                    f"is predicted when its score is >= {self.threshold:g}; Comprehend's own evaluation metrics are "
                    "in the fit details"}
        return {"kind": "service", "text": f"Comprehend custom classifier ({self.mode}); Comprehend's own "
                "evaluation metrics are in the fit details"}

    # ---- teardown ------------------------------------------------------------------------------
    TEARDOWN_STEPS = ("_teardown_job", "_teardown_endpoint", "_teardown_classifier", "_teardown_s3")

    def _teardown_job(self) -> None:
        if not self._job_id:
            return
        client = self._client()
        _, err, _, _ = self._call(client.stop_document_classification_job, JobId=self._job_id)
        if err is not None and self._error_code(err) not in ("JobNotFoundException", "ResourceNotFoundException"):
            raise RuntimeError(f"StopDocumentClassificationJob failed: {one_line(err)}")
        self._mark_deleted("classification-job", self._job_id, state="stopped")
        self._job_id = None

    def _teardown_endpoint(self) -> None:
        if self._endpoint_arn is None:
            self._endpoint_arn = self._resolve("endpoint")
        if not self._endpoint_arn or all(r["deleted"] for r in self.resources if r["kind"] == "endpoint"):
            return
        client = self._client()
        deadline = time.monotonic() + float(self.teardown_wait)
        interval = max(0.001, min(float(self.poll_interval), 5.0))
        while True:  # an endpoint still CREATING/UPDATING cannot be deleted yet: wait and retry
            _, err, _, _ = self._call(client.delete_endpoint, EndpointArn=self._endpoint_arn)
            code = self._error_code(err) if err is not None else None
            if err is None or code == "ResourceNotFoundException":
                break
            if code != "ResourceInUseException" or time.monotonic() > deadline:
                raise RuntimeError(f"DeleteEndpoint failed: {one_line(err)}")
            time.sleep(interval)
        while True:  # billing stops when it is gone
            _, err, _, _ = self._call(client.describe_endpoint, EndpointArn=self._endpoint_arn)
            if err is not None and self._error_code(err) == "ResourceNotFoundException":
                break
            if err is not None and not self._is_transient(err):
                raise RuntimeError(f"DescribeEndpoint failed while deleting: {one_line(err)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"endpoint still deleting after {self.teardown_wait:.0f} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 30.0)
        self._mark_deleted("endpoint", self._endpoint_arn)
        self._bill_endpoint(time.time())

    def _bill_endpoint(self, deleted_at: float) -> None:
        """Endpoint IU-seconds from creation to deletion (60 s minimum), less what predictions were charged."""
        ep = self._price("custom_endpoint")
        alive = max(float(ep["min_seconds"]), deleted_at - (self._endpoint_created_at or deleted_at))
        total = alive * self.ius
        rest = max(0.0, total - self._allocated_iu_s)
        self.extra_cost = self.extra_cost + Cost(rest * float(ep["usd_per_iu_second"]), {"endpoint_iu_seconds": rest},
                                                 seconds=alive)
        self.notes.append(f"endpoint up {alive:.0f} s × {self.ius} IU = {total:.0f} IU-s "
                          f"(${total * float(ep['usd_per_iu_second']):.4f}); {self._allocated_iu_s:.0f} IU-s charged "
                          "to predictions, the rest (start-up, idle, 60 s minimum) to one-off cost")

    def _teardown_classifier(self) -> None:
        if self._classifier_arn is None:
            self._classifier_arn = self._resolve("document-classifier")
        if not self._classifier_arn or all(r["deleted"] for r in self.resources if r["kind"] == "document-classifier"):
            return
        if any(r["kind"] == "endpoint" and not r["deleted"] for r in self.resources):
            raise RuntimeError("classifier not deleted: its endpoint is still there (delete the endpoint first)")
        client = self._client()
        deadline = time.monotonic() + float(self.teardown_wait)
        interval = max(0.001, min(float(self.poll_interval), 5.0))
        stopped = False
        while True:
            r, err, _, _ = self._call(client.describe_document_classifier, DocumentClassifierArn=self._classifier_arn)
            if err is not None:
                if self._error_code(err) == "ResourceNotFoundException":
                    break
                raise RuntimeError(f"DescribeDocumentClassifier failed while deleting: {one_line(err)}")
            props = r["DocumentClassifierProperties"]
            status = props.get("Status")
            if self._fit_cost is None and status in ("STOPPED", "IN_ERROR", "TRAINED", "TRAINED_WITH_WARNING"):
                self._fit_cost = self._training_cost(props)
            if status in ("SUBMITTED", "TRAINING") and not stopped:
                _, e, _, _ = self._call(client.stop_training_document_classifier, DocumentClassifierArn=self._classifier_arn)
                if e is not None and self._error_code(e) not in ("ResourceNotFoundException", "ResourceInUseException"):
                    raise RuntimeError(f"StopTrainingDocumentClassifier failed: {one_line(e)}")
                stopped = True
            elif status in ("STOPPED", "IN_ERROR", "TRAINED", "TRAINED_WITH_WARNING"):
                _, e, _, _ = self._call(client.delete_document_classifier, DocumentClassifierArn=self._classifier_arn)
                if e is not None and self._error_code(e) not in ("ResourceNotFoundException", "ResourceInUseException"):
                    raise RuntimeError(f"DeleteDocumentClassifier failed: {one_line(e)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"classifier still {status} after {self.teardown_wait:.0f} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 30.0)
        self._mark_deleted("document-classifier", self._classifier_arn)

