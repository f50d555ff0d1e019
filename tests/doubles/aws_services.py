"""A loopback HTTP double of Amazon Comprehend and Bedrock Runtime that speaks their wire formats.

Comprehend is AWS JSON 1.1: ``POST /`` with ``X-Amz-Target: Comprehend_20171127.<Operation>``,
answers ``application/x-amz-json-1.1`` bodies in the botocore output shapes, errors as HTTP 400/500
with ``{"__type": "<Exception>", "message": ...}``. Bedrock Runtime Converse is restJson1:
``POST /model/<url-encoded model id>/converse``, errors carry ``x-amzn-ErrorType`` and a
``{"message": ...}`` body (the shape of the real recording ``bedrock_error.json``).

Implemented: BatchDetectSentiment / DetectSentiment (25 documents and 5,000 UTF-8 bytes enforced
with the real exception types and message), ClassifyDocument (10,000 bytes; endpoint must be
IN_SERVICE), Create/Describe/Delete/StopTraining/List DocumentClassifier, Create/Describe/Delete/List
Endpoint, Start/Describe/Stop/List DocumentClassificationJob, and Converse. The custom-classifier
state machines advance per Describe call (``train_polls``, ``endpoint_polls``, ``job_polls``,
``delete_polls``); "training" reads the COMPREHEND_CSV from S3 (any boto3 S3 client, e.g. one on
moto) and fits a tiny multinomial naive Bayes, so predictions follow the training data. Async jobs
read ONE_DOC_PER_LINE input from S3 and write ``output.tar.gz`` (JSON lines ``{"File", "Line",
"Classes"}``, lines shuffled unless ``shuffle_output=False``) back to S3. ``TrainingEndTime −
TrainingStartTime`` is ``training_seconds`` (simulated), so training cost is predictable.
``Mode="MULTI_LABEL"`` classifiers read the label cell split on ``InputDataConfig.LabelDelimiter`` (default
"|"), train one yes/no naive Bayes per label, end ``IN_ERROR`` (with a ``Message`` of the double's own
wording) when a document has no label or a label has under 10 documents, and answer ``Labels`` (every label
with its own score) instead of ``Classes``, in ClassifyDocument and in the async job output alike.

Knobs: ``latency_s`` (fixed service latency), ``set_rate_limit(rps, burst)`` (token bucket per
service: Comprehend answers 400 ThrottlingException, Bedrock 429, both with ``Retry-After`` and
``x-amz-retry-after``), ``throttle_next(n, op)``, ``doc_errors`` (marker substring → per-document
ErrorList entry), ``fail(op, after, ...)`` (failure injection mid-run), ``interrupt_main_on(op,
after)`` (a Ctrl-C in the main thread, as if the user pressed it), ``sentiment`` / ``answer``
(deterministic answer functions), ``chars_per_token`` (Bedrock usage), ``replay(op, body_text)``
(serve a recorded wire body verbatim after the normal side effects), ``delay_answer(op, seconds)``
(do the operation, then hold the answer: a create that succeeded but whose answer the client timed
out on), ``on_op(op, fn)`` (call ``fn(op)`` when ``op`` arrives, e.g. to tell a test which phase a
run is in), and ``requests``: a log of every request (operation, documents, sizes, status; never
headers or credentials). Like the service, a Create* repeated with the same ``ClientRequestToken``
answers the resource it already created; resources carry their ``Tags`` (ListTagsForResource), and
ListDocumentClassifiers / ListEndpoints honour their ``Filter``.

Faults and billing: ``inject(op, kind, every=, times=)`` spoils the answer to every ``every``-th
processed call of ``op`` (``malformed``: a 200 whose body is cut short, not JSON; ``missing`` /
``duplicate``: a ResultList entry dropped or repeated; ``bad_label``: an unknown Sentiment;
``drop``: the connection is closed with no answer; ``timeout``: the answer comes ``delay_s`` late,
after the client has given up). The service has done the work by then, so the ``meter`` (units it
bills: ``comprehend_units`` per document, 3-unit minimum, per-document errors included;
``input_tokens`` / ``output_tokens`` for Converse) counts every processed call, faulted or not.
``texts_received`` counts the documents each processed call carried.

Converse on table rows: the user turn ``Row: <json>`` is the query. A ``toolConfig`` whose tool input is
``{"value": {"type": "number"}}`` (regression) is answered with a ``toolUse`` whose input is
``{"value": answer_number(query, req)}`` (default: the sum of the row's numeric fields); a str answer comes back
as text (a model that ignored the tool). ``spoil_number(kind)`` spoils the next answers (billed like any answer):
"prose" (a text reply, no toolUse), "units" / "range" / "thousands" / "string" (the value as a string: ``"42 kg"``,
``"40-45"``, ``"1,234"``, ``"42"``), "empty" (an empty text reply), "other_tool" (a toolUse of another name) or
"truncated" (cut JSON text, stopReason max_tokens).
"""

from __future__ import annotations

import _thread
import csv
import io
import json
import math
import random
import re
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

LANGUAGES = {"en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"}
POSITIVE_WORDS = {"love", "great", "excellent", "happy", "superb", "good", "wonderful", "best", "fantastic", "hit"}
NEGATIVE_WORDS = {"awful", "broken", "refund", "angry", "terrible", "bad", "worst", "hate", "poor", "melted"}
BEDROCK_ERROR_NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def keyword_sentiment(text: str) -> str:
    """POSITIVE / NEGATIVE / MIXED / NEUTRAL from keyword hits: deterministic answers for tests."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    pos, neg = bool(words & POSITIVE_WORDS), bool(words & NEGATIVE_WORDS)
    return "MIXED" if pos and neg else "POSITIVE" if pos else "NEGATIVE" if neg else "NEUTRAL"


def keyword_answer(text: str, request: dict[str, Any]) -> str:
    """Bedrock answer: the keyword sentiment, lower-case (matches positive/negative/neutral labels)."""
    s = keyword_sentiment(text)
    return "neutral" if s == "MIXED" else s.lower()


class ServiceError(Exception):
    """An error response: HTTP status, exception type, message."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


class NaiveBayes:
    """Multinomial naive Bayes over lower-cased words: the double's "trained" custom classifier."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.labels = sorted({lab for lab, _ in rows})
        self.counts = {lab: {} for lab in self.labels}
        self.totals = dict.fromkeys(self.labels, 0)
        self.docs = dict.fromkeys(self.labels, 0)
        vocab: set[str] = set()
        for lab, text in rows:
            self.docs[lab] += 1
            for w in re.findall(r"[a-z0-9']+", text.lower()):
                self.counts[lab][w] = self.counts[lab].get(w, 0) + 1
                self.totals[lab] += 1
                vocab.add(w)
        self.v = max(1, len(vocab))
        self.n = max(1, len(rows))

    def scores(self, text: str) -> list[tuple[str, float]]:
        words = re.findall(r"[a-z0-9']+", text.lower())
        logp = {}
        for lab in self.labels:
            lp = math.log(self.docs[lab] / self.n)
            for w in words:
                lp += math.log((self.counts[lab].get(w, 0) + 1) / (self.totals[lab] + self.v))
            logp[lab] = lp
        top = max(logp.values())
        z = sum(math.exp(v - top) for v in logp.values())
        return sorted(((lab, math.exp(v - top) / z) for lab, v in logp.items()), key=lambda x: (-x[1], x[0]))


class OneVsRestNB:
    """The double's multi-label model: one yes/no naive Bayes per label, so each label scores independently."""

    def __init__(self, rows: list[tuple[tuple[str, ...], str]]) -> None:
        self.labels = sorted({lab for labs, _ in rows for lab in labs})
        self.models = {lab: NaiveBayes([("yes" if lab in labs else "no", text) for labs, text in rows])
                       for lab in self.labels}

    def scores(self, text: str) -> list[tuple[str, float]]:
        """Every label with its own probability (they need not sum to 1), highest first."""
        out = [(lab, dict(m.scores(text)).get("yes", 0.0)) for lab, m in self.models.items()]
        return sorted(out, key=lambda x: (-x[1], x[0]))


def multilabel_problem(rows: list[tuple[tuple[str, ...], str]]) -> str | None:
    """Why multi-label training would fail, or None. The limits are the documented ones (10 documents per label,
    100 labels, at least one label per document); the message wording is the double's own, not recorded."""
    if any(not labs for labs, _ in rows):
        return "Training failed: every document in a multi-label training file needs at least one label."
    counts: dict[str, int] = {}
    for labs, _ in rows:
        for lab in labs:
            counts[lab] = counts.get(lab, 0) + 1
    small = sorted(lab for lab, n in counts.items() if n < 10)
    if small:
        return f"Training failed: labels {small} have fewer than 10 documents (the multi-label minimum)."
    if len(counts) > 100:
        return f"Training failed: {len(counts)} labels is more than the multi-label maximum of 100."
    return None


def multilabel_metrics(model: OneVsRestNB, held: list[tuple[tuple[str, ...], str]]) -> dict[str, float]:
    """EvaluationMetrics for a multi-label model on held-out rows (a label counts when it scores >= 0.5)."""
    tp = fp = fn = wrong = exact = 0
    per: dict[str, list[int]] = {lab: [0, 0, 0] for lab in model.labels}
    for labs, text in held:
        got = {lab for lab, s in model.scores(text) if s >= 0.5}
        want = set(labs)
        exact += got == want
        wrong += len(got ^ want)
        for lab in model.labels:
            k = per[lab]
            k[0] += lab in got and lab in want
            k[1] += lab in got and lab not in want
            k[2] += lab in want and lab not in got
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)

    def prf(t: int, f_p: int, f_n: int) -> tuple[float, float, float]:
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    macro = [prf(*k) for k in per.values()] or [(0.0, 0.0, 0.0)]
    mp, mr, mf = prf(tp, fp, fn)
    n = max(1, len(held))
    return {"Accuracy": round(exact / n, 4), "Precision": round(sum(x[0] for x in macro) / len(macro), 4),
            "Recall": round(sum(x[1] for x in macro) / len(macro), 4),
            "F1Score": round(sum(x[2] for x in macro) / len(macro), 4), "MicroPrecision": round(mp, 4),
            "MicroRecall": round(mr, 4), "MicroF1Score": round(mf, 4),
            "HammingLoss": round(wrong / (n * max(1, len(model.labels))), 4)}


@dataclass
class Failure:
    op: str
    after: int
    status: int
    kind: str
    message: str
    times: int | None
    seen: int = 0


@dataclass
class Fault:
    op: str
    kind: str
    every: int
    times: int | None
    delay_s: float
    rate: float | None = None
    rng: random.Random | None = None
    done: int = 0


FAULT_KINDS = ("malformed", "missing", "duplicate", "bad_label", "drop", "timeout")


@dataclass
class Classifier:
    arn: str
    name: str
    props: dict[str, Any]
    model: NaiveBayes | OneVsRestNB | None = None
    csv_text: str = ""
    polls: int = 0
    deleted_polls: int = 0
    tags: list[dict[str, str]] = field(default_factory=list)


class AwsDouble:
    """Comprehend + Bedrock Runtime on 127.0.0.1:<free port>. Use as a context manager."""

    def __init__(self, *, latency_s: float = 0.0, s3: Any = None, region: str = "us-east-1",
                 account: str = "123456789012", train_polls: int = 2, endpoint_polls: int = 2, job_polls: int = 2,
                 delete_polls: int = 1, training_seconds: float = 1800.0, chars_per_token: float = 4.0,
                 known_models: set[str] | None = None, shuffle_output: bool = True) -> None:
        self.latency_s = latency_s
        self.s3 = s3
        self.region, self.account = region, account
        self.train_polls, self.endpoint_polls, self.job_polls = train_polls, endpoint_polls, job_polls
        self.delete_polls = delete_polls
        self.training_seconds = training_seconds
        self.chars_per_token = chars_per_token
        self.known_models = known_models
        self.shuffle_output = shuffle_output
        self.sentiment: Callable[[str], str] = keyword_sentiment
        self.answer: Callable[[str, dict[str, Any]], str] = keyword_answer
        # Converse with a toolConfig (label sets): the tool input's labels, or a str sent as text (see _converse)
        self.answer_set: Callable[[str, dict[str, Any]], Any] = lambda text, req: tool_labels(req)[:1]
        self._set_faults: list[str] = []
        # Converse with the number tool (regression): the tool input's value, or a str sent as text
        self.answer_number: Callable[[str, dict[str, Any]], Any] = lambda text, req: row_number(text)
        self._number_faults: list[str] = []
        self.doc_errors: dict[str, tuple[str, str]] = {}
        self.requests: list[dict[str, Any]] = []
        self.classifiers: dict[str, Classifier] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.gone: list[str] = []  # ARNs / job ids that were deleted or stopped
        self.retired: dict[str, Classifier] = {}  # deleted classifiers, kept for inspection
        self.lock = threading.RLock()
        self._buckets: dict[str, list[float]] = {}
        self._rate: dict[str, tuple[float, float]] = {}
        self._throttle_next: list[tuple[str | None, int]] = []
        self._failures: list[Failure] = []
        self._replays: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
        self._interrupt: dict[str, int] = {}
        self._delays: dict[str, list[float]] = {}
        self._hooks: dict[str, Callable[[str], None]] = {}
        self._tags: dict[str, list[dict[str, str]]] = {}   # ARN → tags (kept after deletion)
        self._op_counts: dict[str, int] = {}
        self._faults: list[Fault] = []
        self.meter: dict[str, float] = {}
        self.texts_received = 0
        self.faults_served: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None

    # ---- knobs ---------------------------------------------------------------------------------
    def set_rate_limit(self, rps: float | None, burst: float | None = None, service: str | None = None) -> None:
        """Token bucket: ``rps`` requests/s with ``burst`` tokens (default: one second's worth)."""
        for svc in ([service] if service else ["comprehend", "bedrock"]):
            if rps is None:
                self._rate.pop(svc, None)
                continue
            cap = float(burst if burst is not None else max(1.0, rps))
            self._rate[svc] = (float(rps), cap)
            self._buckets[svc] = [cap, time.monotonic()]

    def throttle_next(self, n: int, op: str | None = None) -> None:
        with self.lock:
            self._throttle_next.append((op, n))

    def fail(self, op: str, after: int = 0, *, status: int = 500, kind: str = "InternalServerException",
             message: str = "An internal error occurred.", times: int | None = None) -> None:
        """After ``after`` successful calls of ``op``, answer the error (``times`` times, or forever)."""
        with self.lock:
            self._failures.append(Failure(op, after, status, kind, message, times))

    def interrupt_main_on(self, op: str, after: int = 1) -> None:
        """After answering the ``after``-th call of ``op``, deliver a KeyboardInterrupt to the main thread."""
        self._interrupt[op] = after

    def delay_answer(self, op: str, seconds: float, times: int = 1) -> None:
        """Do the next ``times`` calls of ``op`` (side effects included), then wait ``seconds`` before answering."""
        with self.lock:
            self._delays.setdefault(op, []).extend([float(seconds)] * times)

    def on_op(self, op: str, fn: Callable[[str], None]) -> None:
        """Call ``fn(op)`` (on the server thread) whenever a request for ``op`` arrives."""
        self._hooks[op] = fn

    def replay(self, op: str, body_text: str, status: int = 200, headers: dict[str, str] | None = None,
               times: int = 1) -> None:
        """Answer the next ``times`` calls of ``op`` with this recorded body (side effects still happen)."""
        with self.lock:
            self._replays.setdefault(op, []).extend([(status, body_text, dict(headers or {}))] * times)

    def inject(self, op: str, kind: str, *, every: int = 1, times: int | None = None, delay_s: float = 1.0,
               rate: float | None = None, seed: int = 0) -> None:
        """Spoil the answer to every ``every``-th processed call of ``op`` (``times`` times, or forever);
        with ``rate``, to each processed call with that probability instead (seeded: reproducible)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        with self.lock:
            self._faults.append(Fault(op, kind, max(1, every), times, delay_s, rate,
                                      random.Random(seed) if rate is not None else None))

    def _meter(self, op: str, req: dict[str, Any], out: dict[str, Any]) -> None:
        """What the service bills for a processed call (called with the lock held)."""
        if op == "BatchDetectSentiment":
            texts = req.get("TextList") or []
            self.texts_received += len(texts)
            self.meter["comprehend_units"] = self.meter.get("comprehend_units", 0.0) + sum(
                max(3, math.ceil(len(t) / 100)) for t in texts)
        elif op == "Converse":
            self.texts_received += 1
            u = out.get("usage") or {}
            self.meter["input_tokens"] = self.meter.get("input_tokens", 0.0) + u.get("inputTokens", 0)
            self.meter["output_tokens"] = self.meter.get("output_tokens", 0.0) + u.get("outputTokens", 0)

    def _fault(self, op: str, n: int) -> Fault | None:
        """The fault for the n-th processed call of ``op``, if any (lock held)."""
        for f in self._faults:
            if f.op != op or (f.times is not None and f.done >= f.times):
                continue
            if (f.rng.random() < f.rate) if f.rng is not None and f.rate is not None else n % f.every == 0:
                f.done += 1
                self.faults_served[f.kind] = self.faults_served.get(f.kind, 0) + 1
                return f
        return None

    @staticmethod
    def _spoil(kind: str, out: dict[str, Any], payload: str) -> str:
        if kind == "malformed":
            return payload[: max(1, len(payload) // 2)]
        results = out.get("ResultList")
        if not results:  # nothing to spoil in the shape: cut the body instead
            return payload[: max(1, len(payload) // 2)]
        out = json.loads(payload)
        if kind == "missing":
            out["ResultList"].pop()
        elif kind == "duplicate":
            out["ResultList"][-1] = dict(out["ResultList"][0])
        elif kind == "bad_label":
            out["ResultList"][0]["Sentiment"] = "EXCITED"
        return json.dumps(out)

    # ---- inspection ----------------------------------------------------------------------------
    def calls(self, op: str, ok_only: bool = False) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["op"] == op and (not ok_only or r["status"] == 200)]

    def live_resources(self) -> list[str]:
        """Everything that would still exist (and bill) in a real account."""
        with self.lock:
            live = [f"classifier {c.name} ({c.props['Status']})" for c in self.classifiers.values()]
            live += [f"endpoint {e['EndpointArn']} ({e['Status']})" for e in self.endpoints.values()]
            live += [f"job {j['JobId']} ({j['JobStatus']})" for j in self.jobs.values()
                     if j["JobStatus"] in ("SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED")]
        return live

    # ---- server --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AwsDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, payload, after = double._handle(self.path, dict(self.headers), body)
                fault = headers.pop("x-double-fault", None)
                if fault == "drop":  # processed (and metered), then the connection goes away unanswered
                    self.close_connection = True
                    return
                if fault is not None and fault.startswith("timeout:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                    self.close_connection = True
                data = payload.encode("utf-8")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:  # the client gave up waiting (timeout fault)
                    self.close_connection = True
                if after:
                    after()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="aws-double").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AwsDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- dispatch ------------------------------------------------------------------------------
    def _handle(self, path: str, headers: dict[str, str], body: bytes):
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        m = re.match(r"^/model/(.+)/converse$", path.split("?")[0])
        if target.startswith("Comprehend_20171127."):
            service, op = "comprehend", target.split(".", 1)[1]
        elif m:
            service, op = "bedrock", "Converse"
        else:
            return 404, {"Content-Type": "application/json"}, '{"message":"not found"}', None
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        entry: dict[str, Any] = {"t": time.monotonic(), "service": service, "op": op, "status": 200, "body": req}
        if op in ("BatchDetectSentiment",):
            texts = req.get("TextList") or []
            entry["docs"] = len(texts)
            entry["max_doc_bytes"] = max((len(t.encode("utf-8")) for t in texts), default=0)
        elif op in ("ClassifyDocument", "DetectSentiment"):
            entry["docs"] = 1
            entry["max_doc_bytes"] = len(str(req.get("Text", "")).encode("utf-8"))
        elif m:
            entry["model"] = unquote(m.group(1))
        after: Callable[[], None] | None = None
        hook = self._hooks.get(op)
        if hook is not None:
            hook(op)
        delay = 0.0
        try:
            self._admit(service, op)
            if self.latency_s:
                time.sleep(self.latency_s)
            self._inject(op)
            if service == "comprehend":
                result = getattr(self, f"_op_{op}", None)
                if result is None:
                    raise ServiceError(400, "UnknownOperationException", f"Unknown operation {op}")
                out = result(req)
            else:
                out = self._converse(entry["model"], req)
            status, payload, extra = 200, json.dumps(out), {}
            with self.lock:
                self._op_counts[op] = self._op_counts.get(op, 0) + 1
                self._meter(op, req, out)
                fault = self._fault(op, self._op_counts[op])
                if fault is not None:
                    entry["fault"] = fault.kind
                    if fault.kind == "drop":
                        extra["x-double-fault"] = "drop"
                    elif fault.kind == "timeout":
                        extra["x-double-fault"] = f"timeout:{fault.delay_s}"
                    else:
                        payload = self._spoil(fault.kind, out, payload)
                replay = self._replays.get(op)
                if replay:
                    status, payload, extra = replay.pop(0)
                if self._interrupt.get(op) == self._op_counts[op]:
                    after = _thread.interrupt_main
                if self._delays.get(op):
                    delay = self._delays[op].pop(0)
        except ServiceError as e:
            status, extra = e.status, dict(e.headers)
            if service == "comprehend":
                payload = json.dumps({"__type": e.kind, "message": e.message})
            else:
                extra["x-amzn-ErrorType"] = f"{e.kind}:{BEDROCK_ERROR_NS}"
                payload = json.dumps({"message": e.message})
            entry["error"] = e.kind
        entry["status"] = status
        with self.lock:
            self.requests.append(entry)
        if delay:
            time.sleep(delay)
        ctype = "application/x-amz-json-1.1" if service == "comprehend" else "application/json"
        hdrs = {"Content-Type": ctype, "x-amzn-RequestId": str(uuid.uuid4()), **extra}
        return status, hdrs, payload, after

    def _throttle_error(self, service: str, retry_after: float) -> ServiceError:
        hdrs = {"Retry-After": str(max(1, math.ceil(retry_after))), "x-amz-retry-after": str(int(retry_after * 1000))}
        if service == "comprehend":
            return ServiceError(400, "ThrottlingException", "Rate exceeded", hdrs)
        return ServiceError(429, "ThrottlingException", "Too many requests, please wait before trying again.", hdrs)

    def _admit(self, service: str, op: str) -> None:
        with self.lock:
            for k, (want, n) in enumerate(self._throttle_next):
                if n > 0 and (want is None or want == op):
                    self._throttle_next[k] = (want, n - 1)
                    raise self._throttle_error(service, 0.05)
            if service in self._rate:
                rps, cap = self._rate[service]
                b = self._buckets[service]
                now = time.monotonic()
                b[0] = min(cap, b[0] + (now - b[1]) * rps)
                b[1] = now
                if b[0] < 1.0:
                    raise self._throttle_error(service, (1.0 - b[0]) / rps)
                b[0] -= 1.0

    def _inject(self, op: str) -> None:
        with self.lock:
            for f in self._failures:
                if f.op != op:
                    continue
                if self._op_counts.get(op, 0) >= f.after and (f.times is None or f.seen < f.times):
                    f.seen += 1
                    raise ServiceError(f.status, f.kind, f.message)

    # ---- Comprehend: prebuilt sentiment ----------------------------------------------------------
    def _check_language(self, req: dict[str, Any]) -> None:
        if req.get("LanguageCode") not in LANGUAGES:
            raise ServiceError(400, "UnsupportedLanguageException",
                               f"Unsupported language code: {req.get('LanguageCode')}")

    @staticmethod
    def _check_size(text: str, limit: int) -> None:
        n = len(text.encode("utf-8"))
        if n > limit:
            raise ServiceError(400, "TextSizeLimitExceededException",
                               f"Input text size exceeds limit. Max length of request text allowed is {limit} bytes "
                               f"while in this request the text size is {n} bytes")

    def _sentiment_result(self, text: str) -> dict[str, Any]:
        label = self.sentiment(text)
        scores = {k: 0.02 for k in ("Positive", "Negative", "Neutral", "Mixed")}
        scores[label.capitalize()] = 0.94
        return {"Sentiment": label, "SentimentScore": scores}

    def _op_BatchDetectSentiment(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        texts = req.get("TextList")
        if not isinstance(texts, list) or not texts:
            raise ServiceError(400, "InvalidRequestException", "TextList must contain at least one document")
        self._check_language(req)
        if len(texts) > 25:
            raise ServiceError(400, "BatchSizeLimitExceededException",
                               "The number of documents in the request exceeds the limit of 25.")
        for t in texts:
            self._check_size(t, 5000)
        results, errors = [], []
        for i, t in enumerate(texts):
            bad = next((v for marker, v in self.doc_errors.items() if marker in t), None)
            if bad is not None:
                errors.append({"Index": i, "ErrorCode": bad[0], "ErrorMessage": bad[1]})
            else:
                results.append({"Index": i, **self._sentiment_result(t)})
        return {"ResultList": results, "ErrorList": errors}

    def _op_DetectSentiment(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._check_language(req)
        self._check_size(str(req.get("Text", "")), 5000)
        return self._sentiment_result(str(req.get("Text", "")))

    # ---- Comprehend: custom classification -------------------------------------------------------
    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:comprehend:{self.region}:{self.account}:{kind}/{name}"

    def _read_s3(self, uri: str) -> str:
        if self.s3 is None:
            raise ServiceError(400, "InvalidRequestException", "the double has no S3 client to read input")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except Exception as e:  # the real service reports unreadable input on the resource, but keep it simple
            raise ServiceError(400, "InvalidRequestException", f"cannot read {uri}: {type(e).__name__}") from e

    def _classifier(self, arn: str) -> Classifier:
        c = self.classifiers.get(arn)
        if c is None:
            raise ServiceError(400, "ResourceNotFoundException", f"Could not find specified resource: {arn}")
        return c

    def _op_CreateDocumentClassifier(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = str(req.get("DocumentClassifierName", ""))
        if not re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", name) or len(name) > 63:
            raise ServiceError(400, "ValidationException", f"invalid DocumentClassifierName {name!r}")
        if not re.match(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$", str(req.get("DataAccessRoleArn", ""))):
            raise ServiceError(400, "ValidationException", "invalid DataAccessRoleArn")
        self._check_language(req)
        cfg = req.get("InputDataConfig") or {}
        text = self._read_s3(str(cfg.get("S3Uri", "")))
        rows = [(r[0], r[1]) for r in csv.reader(io.StringIO(text)) if len(r) >= 2]
        mode = req.get("Mode", "MULTI_CLASS")
        if mode not in ("MULTI_CLASS", "MULTI_LABEL"):
            raise ServiceError(400, "ValidationException", f"invalid Mode {mode!r}")
        delim = cfg.get("LabelDelimiter")
        if delim is not None and not re.match(r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$", str(delim)):  # the model's pattern
            raise ServiceError(400, "ValidationException", f"invalid LabelDelimiter {delim!r}")
        arn = self._arn("document-classifier", name)
        token = req.get("ClientRequestToken")
        with self.lock:
            if arn in self.classifiers and token and self.classifiers[arn].props.get("_token") == token:
                return {"DocumentClassifierArn": arn}  # the same request again: the same classifier
            if arn in self.classifiers:
                raise ServiceError(400, "ResourceInUseException", f"Classifier {name} already exists")
            problem = None
            if mode == "MULTI_LABEL":
                # labels split on the configured delimiter only (another one makes "LABELLABEL" one label)
                ml_rows = [(tuple(x for x in lab.split(delim or "|") if x), t) for lab, t in rows]
                problem = multilabel_problem(ml_rows)
                held_ml = ml_rows[::10]
                train_ml = [r for k, r in enumerate(ml_rows) if k % 10]
                ovr = OneVsRestNB(train_ml or ml_rows)
                metrics = multilabel_metrics(ovr, held_ml)
                model: NaiveBayes | OneVsRestNB = ovr
                final: NaiveBayes | OneVsRestNB = OneVsRestNB(ml_rows)
                n_train, n_held = len(train_ml), len(held_ml)
            else:
                held = rows[::10]
                train = [r for k, r in enumerate(rows) if k % 10]
                model = NaiveBayes(train or rows)
                acc = sum(model.scores(t)[0][0] == lab for lab, t in held) / max(1, len(held))
                metrics = {"Accuracy": round(acc, 4), "Precision": round(acc, 4), "Recall": round(acc, 4),
                           "F1Score": round(acc, 4), "MicroPrecision": round(acc, 4), "MicroRecall": round(acc, 4),
                           "MicroF1Score": round(acc, 4), "HammingLoss": round(1 - acc, 4)}
                n_train, n_held, final = len(train), len(held), NaiveBayes(rows)
            props = {"DocumentClassifierArn": arn, "LanguageCode": req["LanguageCode"], "Status": "SUBMITTED",
                     "SubmitTime": time.time(), "InputDataConfig": cfg,
                     "OutputDataConfig": req.get("OutputDataConfig") or {},
                     "DataAccessRoleArn": req["DataAccessRoleArn"], "Mode": mode,
                     "_token": token, "_problem": problem,
                     "_metadata": {"NumberOfLabels": len(model.labels), "NumberOfTrainedDocuments": n_train,
                                   "NumberOfTestDocuments": n_held, "EvaluationMetrics": metrics}}
            self.classifiers[arn] = Classifier(arn, name, props, final, text, tags=req.get("Tags") or [])
            self._tags[arn] = list(req.get("Tags") or [])
        return {"DocumentClassifierArn": arn}

    def _public(self, props: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in props.items() if not k.startswith("_")}

    def _op_DescribeDocumentClassifier(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            c = self._classifier(str(req.get("DocumentClassifierArn")))
            p = c.props
            c.polls += 1
            if p["Status"] in ("SUBMITTED", "TRAINING"):
                p.setdefault("TrainingStartTime", time.time())
                if c.polls >= self.train_polls and p.get("_problem"):  # bad training data: fails, billed so far
                    p["Status"] = "IN_ERROR"
                    p["Message"] = p["_problem"]
                    p["TrainingEndTime"] = p["TrainingStartTime"] + 60.0
                    p["EndTime"] = p["TrainingEndTime"] + 5
                elif c.polls >= self.train_polls:
                    p["Status"] = "TRAINED"
                    p["TrainingEndTime"] = p["TrainingStartTime"] + self.training_seconds
                    p["EndTime"] = p["TrainingEndTime"] + 5
                    p["ClassifierMetadata"] = p["_metadata"]
                else:
                    p["Status"] = "TRAINING"
            elif p["Status"] == "STOP_REQUESTED":
                p["Status"] = "STOPPED"
                p["TrainingEndTime"] = time.time()
                p["EndTime"] = time.time()
            elif p["Status"] == "DELETING":
                c.deleted_polls += 1
                if c.deleted_polls >= self.delete_polls:
                    self.retired[c.arn] = self.classifiers.pop(c.arn)
                    self.gone.append(c.arn)
                    raise ServiceError(400, "ResourceNotFoundException", f"Could not find specified resource: {c.arn}")
            return {"DocumentClassifierProperties": self._public(p)}

    def _op_StopTrainingDocumentClassifier(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            c = self._classifier(str(req.get("DocumentClassifierArn")))
            if c.props["Status"] in ("SUBMITTED", "TRAINING"):
                c.props["Status"] = "STOP_REQUESTED"
        return {}

    def _op_DeleteDocumentClassifier(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            c = self._classifier(str(req.get("DocumentClassifierArn")))
            if c.props["Status"] not in ("TRAINED", "TRAINED_WITH_WARNING", "IN_ERROR", "STOPPED", "DELETING"):
                raise ServiceError(400, "ResourceInUseException",
                                   f"Classifier is {c.props['Status']}; it can be deleted once training has ended")
            if any(e["ModelArn"] == c.arn for e in self.endpoints.values()):
                raise ServiceError(400, "ResourceInUseException", "All endpoints must be deleted before the model")
            if any(j["DocumentClassifierArn"] == c.arn and j["JobStatus"] in ("SUBMITTED", "IN_PROGRESS")
                   for j in self.jobs.values()):
                raise ServiceError(400, "ResourceInUseException", "An inference job is using the model")
            c.props["Status"] = "DELETING"
        return {}

    def _op_ListDocumentClassifiers(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        flt = req.get("Filter") or {}
        with self.lock:
            return {"DocumentClassifierPropertiesList": [
                self._public(c.props) for c in self.classifiers.values()
                if flt.get("DocumentClassifierName") in (None, c.name) and flt.get("Status") in (None, c.props["Status"])]}

    def _op_ListTagsForResource(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = str(req.get("ResourceArn", ""))
        with self.lock:
            if arn not in self.classifiers and arn not in self.endpoints:
                raise ServiceError(400, "ResourceNotFoundException", f"Could not find specified resource: {arn}")
            return {"ResourceArn": arn, "Tags": list(self._tags.get(arn, []))}

    def _endpoint(self, arn: str) -> dict[str, Any]:
        e = self.endpoints.get(arn)
        if e is None:
            raise ServiceError(400, "ResourceNotFoundException", f"Could not find specified resource: {arn}")
        return e

    def _op_CreateEndpoint(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = str(req.get("EndpointName", ""))
        if not name or len(name) > 40:
            raise ServiceError(400, "ValidationException", f"invalid EndpointName {name!r}")
        with self.lock:
            model = self.classifiers.get(str(req.get("ModelArn")))
            if model is None or model.props["Status"] not in ("TRAINED", "TRAINED_WITH_WARNING"):
                raise ServiceError(400, "ResourceUnavailableException", "The model is not trained")
            arn = self._arn("document-classifier-endpoint", name)
            token = req.get("ClientRequestToken")
            if arn in self.endpoints and token and self.endpoints[arn].get("_token") == token:
                return {"EndpointArn": arn, "ModelArn": model.arn}  # the same request again
            if arn in self.endpoints:
                raise ServiceError(400, "ResourceInUseException", f"Endpoint {name} already exists")
            iu = int(req.get("DesiredInferenceUnits", 0))
            if iu < 1:
                raise ServiceError(400, "ValidationException", "DesiredInferenceUnits must be at least 1")
            self.endpoints[arn] = {"EndpointArn": arn, "Status": "CREATING", "ModelArn": model.arn,
                                   "DesiredInferenceUnits": iu, "CurrentInferenceUnits": 0,
                                   "CreationTime": time.time(), "LastModifiedTime": time.time(),
                                   "_polls": 0, "_deleted_polls": 0, "_token": token}
            self._tags[arn] = list(req.get("Tags") or [])
        return {"EndpointArn": arn, "ModelArn": model.arn}

    def _op_DescribeEndpoint(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            e = self._endpoint(str(req.get("EndpointArn")))
            e["_polls"] += 1
            if e["Status"] == "CREATING" and e["_polls"] >= self.endpoint_polls:
                e["Status"] = "IN_SERVICE"
                e["CurrentInferenceUnits"] = e["DesiredInferenceUnits"]
            elif e["Status"] == "DELETING":
                e["_deleted_polls"] += 1
                if e["_deleted_polls"] >= self.delete_polls:
                    del self.endpoints[e["EndpointArn"]]
                    self.gone.append(e["EndpointArn"])
                    raise ServiceError(400, "ResourceNotFoundException",
                                       f"Could not find specified resource: {e['EndpointArn']}")
            return {"EndpointProperties": self._public(e)}

    def _op_DeleteEndpoint(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            e = self._endpoint(str(req.get("EndpointArn")))
            if e["Status"] in ("CREATING", "UPDATING"):
                raise ServiceError(400, "ResourceInUseException", f"Endpoint is {e['Status']}")
            e["Status"] = "DELETING"
        return {}

    def _op_ListEndpoints(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        flt = req.get("Filter") or {}
        with self.lock:
            return {"EndpointPropertiesList": [
                self._public(e) for e in self.endpoints.values()
                if flt.get("ModelArn") in (None, e["ModelArn"]) and flt.get("Status") in (None, e["Status"])]}

    def _classes(self, model: NaiveBayes | OneVsRestNB, text: str) -> list[dict[str, Any]]:
        return [{"Name": lab, "Score": round(s, 6)} for lab, s in model.scores(text)]

    @staticmethod
    def _answer_key(c: Classifier) -> str:
        """A multi-label model answers ``Labels``, a multi-class one ``Classes`` (ClassifyDocument, job output)."""
        return "Labels" if c.props.get("Mode") == "MULTI_LABEL" else "Classes"

    def _op_ClassifyDocument(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            e = self.endpoints.get(str(req.get("EndpointArn")))
            if e is None or e["Status"] != "IN_SERVICE":
                raise ServiceError(400, "ResourceUnavailableException",
                                   "The endpoint is not available: it must be IN_SERVICE")
            clf = self.classifiers[e["ModelArn"]]
        text = str(req.get("Text", ""))
        if not text:
            raise ServiceError(400, "InvalidRequestException", "Text must not be empty")
        self._check_size(text, 10000)
        return {self._answer_key(clf): self._classes(clf.model, text)}

    def _op_StartDocumentClassificationJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            c = self.classifiers.get(str(req.get("DocumentClassifierArn")))
            if c is None or c.props["Status"] not in ("TRAINED", "TRAINED_WITH_WARNING"):
                raise ServiceError(400, "ResourceUnavailableException", "The classifier is not trained")
        cfg = req.get("InputDataConfig") or {}
        if cfg.get("InputFormat") != "ONE_DOC_PER_LINE":
            raise ServiceError(400, "InvalidRequestException", "the double only reads ONE_DOC_PER_LINE input")
        lines = self._read_s3(str(cfg.get("S3Uri"))).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        job_id = uuid.uuid4().hex
        with self.lock:
            self.jobs[job_id] = {"JobId": job_id, "JobArn": self._arn("document-classification-job", job_id),
                                 "JobName": req.get("JobName"), "JobStatus": "SUBMITTED", "SubmitTime": time.time(),
                                 "DocumentClassifierArn": c.arn, "InputDataConfig": cfg,
                                 "OutputDataConfig": dict(req.get("OutputDataConfig") or {}),
                                 "DataAccessRoleArn": req.get("DataAccessRoleArn"), "_lines": lines, "_polls": 0,
                                 "_file": str(cfg.get("S3Uri")).rsplit("/", 1)[-1]}
        return {"JobId": job_id, "JobArn": self.jobs[job_id]["JobArn"], "JobStatus": "SUBMITTED",
                "DocumentClassifierArn": c.arn}

    def _finish_job(self, j: dict[str, Any]) -> None:
        clf = self.classifiers[j["DocumentClassifierArn"]]
        key = self._answer_key(clf)
        top = None if key == "Labels" else 3  # multi-label lines carry every label (outputs-class-async.md shows 3-4)
        recs = [{"File": j["_file"], "Line": str(k), key: self._classes(clf.model, line)[:top]}
                for k, line in enumerate(j["_lines"])]
        if self.shuffle_output:
            random.Random(7).shuffle(recs)
        payload = ("\n".join(json.dumps(r) for r in recs) + "\n").encode("utf-8")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("predictions.jsonl")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        base = j["OutputDataConfig"]["S3Uri"].rstrip("/")
        uri = f"{base}/{self.account}-CLN-{j['JobId']}/output/output.tar.gz"
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
        j["OutputDataConfig"]["S3Uri"] = uri

    def _op_DescribeDocumentClassificationJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            j = self.jobs.get(str(req.get("JobId")))
            if j is None:
                raise ServiceError(400, "JobNotFoundException", f"Could not find job {req.get('JobId')}")
            j["_polls"] += 1
            if j["JobStatus"] in ("SUBMITTED", "IN_PROGRESS"):
                if j["_polls"] >= self.job_polls:
                    self._finish_job(j)
                    j["JobStatus"] = "COMPLETED"
                    j["EndTime"] = time.time()
                else:
                    j["JobStatus"] = "IN_PROGRESS"
            elif j["JobStatus"] == "STOP_REQUESTED":
                j["JobStatus"] = "STOPPED"
            return {"DocumentClassificationJobProperties": self._public(j)}

    def _op_StopDocumentClassificationJob(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            j = self.jobs.get(str(req.get("JobId")))
            if j is None:
                raise ServiceError(400, "JobNotFoundException", f"Could not find job {req.get('JobId')}")
            if j["JobStatus"] in ("SUBMITTED", "IN_PROGRESS"):
                j["JobStatus"] = "STOP_REQUESTED"
                self.gone.append(j["JobId"])
            return {"JobId": j["JobId"], "JobStatus": j["JobStatus"]}

    def _op_ListDocumentClassificationJobs(self, req: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self.lock:
            return {"DocumentClassificationJobPropertiesList": [self._public(j) for j in self.jobs.values()]}

    # ---- Bedrock Converse ----------------------------------------------------------------------
    def spoil_set(self, kind: str, times: int = 1) -> None:
        """Spoil the next ``times`` tool answers (label sets; billed like any answer): "unknown" (a label outside
        the enum added), "prose" (a text reply, no toolUse), "not_array" (``{"labels": "<label>"}``),
        "extra_key", "other_tool" (a toolUse of another name) or "truncated" (cut JSON text, stopReason max_tokens)."""
        if kind not in SET_FAULTS:
            raise ValueError(f"set fault kind must be one of {SET_FAULTS}")
        with self.lock:
            self._set_faults += [kind] * times

    def _converse(self, model_id: str, req: dict[str, Any]) -> dict[str, Any]:
        if self.known_models is not None and model_id not in self.known_models:
            raise ServiceError(400, "ValidationException", "The provided model identifier is invalid.")
        msgs = req.get("messages") or []
        if not msgs or msgs[-1].get("role") != "user":
            raise ServiceError(400, "ValidationException", "A conversation must end with a user message.")
        max_tokens = int((req.get("inferenceConfig") or {}).get("maxTokens") or 4096)
        prompt_chars = sum(len(b.get("text", "")) for b in req.get("system") or [])
        prompt_chars += sum(len(b.get("text", "")) for m in msgs for b in m.get("content") or [])
        query = "".join(b.get("text", "") for b in msgs[-1].get("content") or [])
        query = query.removeprefix("Text: ") if query.startswith("Text: ") else query.removeprefix("Row: ")
        if req.get("toolConfig") and tool_is_number(req):
            return self._converse_number(req, query, prompt_chars, max_tokens)
        if req.get("toolConfig"):
            return self._converse_tool(req, query, prompt_chars, max_tokens)
        answer = self.answer(query, req)
        out_tokens = max(1, math.ceil(len(answer) / self.chars_per_token))
        stop = "end_turn"
        if out_tokens > max_tokens:
            answer = answer[: int(max_tokens * self.chars_per_token)]
            out_tokens, stop = max_tokens, "max_tokens"
        in_tokens = max(1, math.ceil(prompt_chars / self.chars_per_token))
        return {"metrics": {"latencyMs": int(self.latency_s * 1000)},
                "output": {"message": {"content": [{"text": answer}], "role": "assistant"}},
                "stopReason": stop,
                "usage": {"inputTokens": in_tokens, "outputTokens": out_tokens, "totalTokens": in_tokens + out_tokens}}

    def _converse_tool(self, req: dict[str, Any], query: str, prompt_chars: int, max_tokens: int) -> dict[str, Any]:
        """Converse with a toolConfig: a ``toolUse`` block whose input is ``{"labels": answer_set(...)}`` when
        the answer is a list (a str answer comes back as text, as from a model that ignored the tool). The tool
        definition counts as prompt; a tool call's output is its input's tokens + ``TOOL_USE_TOKENS``."""
        tc = req["toolConfig"]
        tools = [t["toolSpec"] for t in tc.get("tools") or [] if isinstance(t, dict) and "toolSpec" in t]
        if not tools:
            raise ServiceError(400, "ValidationException", "toolConfig.tools must hold at least one toolSpec.")
        forced = (tc.get("toolChoice") or {}).get("tool", {}).get("name")
        if forced is not None and forced not in {t.get("name") for t in tools}:
            raise ServiceError(400, "ValidationException", f"toolChoice names an unknown tool {forced!r}.")
        name = forced or tools[0]["name"]
        prompt_chars += len(json.dumps(tc))
        answer = self.answer_set(query, req)
        with self.lock:
            fault = self._set_faults.pop(0) if self._set_faults else None
        labels = tool_labels(req)
        first = labels[0] if labels else "x"
        stop = "tool_use"
        block: dict[str, Any]
        if fault == "prose" or isinstance(answer, str):
            text = f"The text is about {first}, I think." if fault == "prose" else str(answer)
            block, stop, out_chars = {"text": text}, "end_turn", len(text)
        elif fault == "truncated":
            text = json.dumps({"labels": list(answer) or [first]})[:-4]
            block, stop, out_chars = {"text": text}, "max_tokens", len(text)
        else:
            tool_input: dict[str, Any] = {"labels": list(answer)}
            if fault == "unknown":
                tool_input = {"labels": [*answer, "not-a-label"]}
            elif fault == "not_array":
                tool_input = {"labels": first}
            elif fault == "extra_key":
                tool_input = {"labels": list(answer), "confidence": 0.9}
            used = "some_other_tool" if fault == "other_tool" else name
            block = {"toolUse": {"toolUseId": f"tooluse_{uuid.uuid4().hex[:22]}", "name": used, "input": tool_input}}
            out_chars = len(json.dumps(tool_input, separators=(",", ":")))
        out_tokens = max(1, math.ceil(out_chars / self.chars_per_token)) + (TOOL_USE_TOKENS if "toolUse" in block else 0)
        if out_tokens > max_tokens:
            out_tokens, stop = max_tokens, "max_tokens"
            block = {"text": json.dumps(block.get("toolUse", {}).get("input", block.get("text")))[: 2 * max_tokens]}
        in_tokens = max(1, math.ceil(prompt_chars / self.chars_per_token))
        return {"metrics": {"latencyMs": int(self.latency_s * 1000)},
                "output": {"message": {"content": [block], "role": "assistant"}},
                "stopReason": stop,
                "usage": {"inputTokens": in_tokens, "outputTokens": out_tokens, "totalTokens": in_tokens + out_tokens}}

    def spoil_number(self, kind: str, times: int = 1) -> None:
        """Spoil the next ``times`` number-tool answers (billed like any answer), kinds in ``NUMBER_FAULTS``."""
        if kind not in NUMBER_FAULTS:
            raise ValueError(f"number fault kind must be one of {NUMBER_FAULTS}")
        with self.lock:
            self._number_faults += [kind] * times

    def _converse_number(self, req: dict[str, Any], query: str, prompt_chars: int, max_tokens: int) -> dict[str, Any]:
        """Converse with the number tool forced: ``{"value": answer_number(...)}`` as toolUse input (a str as text)."""
        tc = req["toolConfig"]
        name = (tc.get("toolChoice") or {}).get("tool", {}).get("name") or tc["tools"][0]["toolSpec"]["name"]
        prompt_chars += len(json.dumps(tc))
        answer = self.answer_number(query, req)
        with self.lock:
            fault = self._number_faults.pop(0) if self._number_faults else None
        x = answer if isinstance(answer, int | float) and not isinstance(answer, bool) else 42
        stop = "tool_use"
        block: dict[str, Any]
        as_string = {"units": f"{x} kg", "range": f"{x}-{x + 5}", "thousands": "1,234", "string": str(x)}
        if fault in ("prose", "empty") or isinstance(answer, str):
            text = {"prose": f"The value is probably about {x}.", "empty": ""}.get(fault or "", str(answer))
            block, stop, out_chars = {"text": text}, "end_turn", len(text)
        elif fault == "truncated":
            text = json.dumps({"value": x})[:-3]
            block, stop, out_chars = {"text": text}, "max_tokens", len(text)
        else:
            tool_input = {"value": as_string[fault] if fault in as_string else answer}
            used = "some_other_tool" if fault == "other_tool" else name
            block = {"toolUse": {"toolUseId": f"tooluse_{uuid.uuid4().hex[:22]}", "name": used, "input": tool_input}}
            out_chars = len(json.dumps(tool_input, separators=(",", ":")))
        out_tokens = max(1, math.ceil(out_chars / self.chars_per_token)) + (TOOL_USE_TOKENS if "toolUse" in block else 0)
        if out_tokens > max_tokens:
            out_tokens, stop = max_tokens, "max_tokens"
        in_tokens = max(1, math.ceil(prompt_chars / self.chars_per_token))
        return {"metrics": {"latencyMs": int(self.latency_s * 1000)},
                "output": {"message": {"content": [block], "role": "assistant"}},
                "stopReason": stop,
                "usage": {"inputTokens": in_tokens, "outputTokens": out_tokens, "totalTokens": in_tokens + out_tokens}}


# Converse label sets (toolConfig): output tokens a toolUse block adds around its input, and the spoilers
TOOL_USE_TOKENS = 12
SET_FAULTS = ("unknown", "prose", "not_array", "extra_key", "other_tool", "truncated")
NUMBER_FAULTS = ("prose", "units", "range", "thousands", "string", "empty", "other_tool", "truncated")


def row_number(text: str) -> float:
    """The double's regression answer for a row: the sum of its numeric (non-boolean) fields, 0 for a non-row."""
    try:
        row = json.loads(text)
    except ValueError:
        return 0.0
    if not isinstance(row, dict):
        return 0.0
    return float(sum(v for v in row.values() if isinstance(v, int | float) and not isinstance(v, bool)))


def tool_is_number(req: dict[str, Any]) -> bool:
    """Whether a Converse request's first tool takes a number (``inputSchema.json.properties.value`` a number)."""
    try:
        spec = req["toolConfig"]["tools"][0]["toolSpec"]
        return spec["inputSchema"]["json"]["properties"]["value"]["type"] == "number"
    except (KeyError, IndexError, TypeError):
        return False


def tool_labels(req: dict[str, Any]) -> list[str]:
    """The label enum of a Converse request's first tool (``inputSchema.json.properties.labels.items.enum``)."""
    try:
        spec = req["toolConfig"]["tools"][0]["toolSpec"]
        return list(spec["inputSchema"]["json"]["properties"]["labels"]["items"]["enum"])
    except (KeyError, IndexError, TypeError):
        return []
