"""A loopback HTTP double of Azure AI Language that speaks the service's wire format.

It serves what ``azure-ai-textanalytics`` 5.x sends with ``api_version="2023-04-01"`` (or
``2022-05-01``): the synchronous ``POST /language/:analyze-text`` (kind ``SentimentAnalysis``) and
the jobs long-running operation ``POST /language/analyze-text/jobs`` → 202 + ``Operation-Location``,
``GET`` polls ``notStarted`` → ``running`` → ``succeeded`` with ``CustomSingleLabelClassification``
results, or ``CustomMultiLabelClassification`` ones (kind ``CustomMultiLabelClassificationLROResults``,
each document's ``class`` a list of zero or more ``{category, confidenceScore}``, from ``classify_multi``). Shapes follow the generated ``v2023_04_01`` models and the real recordings in
``shared/reference/recordings/azure-language`` (error bodies are copied from them verbatim).

Knobs: fixed ``latency_s``, a server-side rate limit (``rate_limit`` requests/s, token bucket with
``burst``) answered by 429 + ``Retry-After``, ``throttle_next(n)``, per-document errors
(``doc_errors``: text → (code, message)), the key (``401`` with the recorded body otherwise),
``polls_before_done`` for jobs, and a request log (``requests``; the key header is never logged).

Faults and billing: ``inject(kind, every=, times=, delay_s=)`` spoils every ``every``-th processed
sentiment request (``malformed``: a 200 whose body is cut short; ``missing`` / ``duplicate`` /
``wrong_id``: a document dropped, repeated or renamed; ``bad_label``: an unknown sentiment;
``drop``: the connection closed with no answer; ``timeout``: the answer ``delay_s`` late). The
service has done the work by then, so ``meter`` (``text_records``: what it bills, answered documents
only) counts every processed request, faulted or not; ``texts_received`` counts documents processed.

Replay mode (``replay(exchanges)``) serves recorded responses in order instead, so the adapters'
parsing can be checked against the real service's bytes: the only rewrites are the host in
``operation-location`` (→ this server), and the identifiers the service echoes from the request:
document ids, mapped by position from the recorded request onto the live one (the SDK numbers
string inputs "0", "1", ...), and a job task's ``taskName`` where the recording's SDK sent none.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Verbatim bodies from the recordings (sources in shared/reference/recordings/README.md).
BODY_401 = ('{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API '
            'endpoint. Make sure to provide a valid key for an active subscription and use a correct regional '
            'API endpoint for your resource."}}')  # sentiment_v3.2-preview.2_401_bad_key.json
BODY_400_TOO_MANY = ('{"error":{"code":"InvalidRequest","message":"Invalid Document in request.","innererror":'
                     '{"code":"InvalidDocumentBatch","message":"Batch request contains too many records. '
                     'Max {n} records are permitted."}}}')  # analyze_text_sentiment_2022-05-01_400_too_many_documents.json
# 429 body text is not in any recording (cloud-services.md B.7: approximate shape, unconfirmed).
BODY_429 = '{"error":{"code":"429","message":"Rate limit is exceeded. Try again in {s} seconds."}}'
EMPTY_DOC = ("InvalidDocument", "Document text is empty.")
FAULT_KINDS = ("malformed", "missing", "duplicate", "wrong_id", "bad_label", "drop", "timeout")
TOO_LONG_DOC = ("InvalidDocument", "A document within the request was too large to be processed. "
                "Limit document size to: 5120 text elements. For additional details on the data "
                "limitations see https://aka.ms/text-analytics-data-limits")

POSITIVE_WORDS = {"love", "great", "excellent", "happy", "superb", "good", "wonderful", "best", "fantastic"}
NEGATIVE_WORDS = {"awful", "broken", "refund", "angry", "terrible", "bad", "worst", "hate", "poor"}


def lexicon_sentiment(text: str) -> tuple[str, dict[str, float]]:
    """Deterministic stand-in for the sentiment model: counts a few obvious words."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    pos, neg = len(words & POSITIVE_WORDS), len(words & NEGATIVE_WORDS)
    if pos and neg:
        return "mixed", {"positive": 0.45, "neutral": 0.1, "negative": 0.45}
    if pos:
        return "positive", {"positive": 0.9, "neutral": 0.07, "negative": 0.03}
    if neg:
        return "negative", {"positive": 0.03, "neutral": 0.07, "negative": 0.9}
    return "neutral", {"positive": 0.1, "neutral": 0.8, "negative": 0.1}


def _now(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def records(text: str) -> int:
    """Text records the service counts for one document (per started 1,000 characters)."""
    return max(1, -(-len(text) // 1000))


class _Bucket:
    """Server-side token bucket: ``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.t = burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0.0 if a token was taken, else seconds until one is free."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
            self.t = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate


class AzureLanguageDouble:
    """The double: start it, point ``TextAnalyticsClient`` at ``endpoint``, read ``requests``."""

    def __init__(self, key: str = "test-key-0000000000", *, latency_s: float = 0.0,
                 rate_limit: float | None = None, burst: float | None = None, retry_after: str = "1",
                 max_docs_sync: int = 10, max_docs_jobs: int = 25, max_doc_chars: int = 5120,
                 max_job_chars: int = 125_000, doc_errors: dict[str, tuple[str, str]] | None = None,
                 sentiment: Callable[[str], tuple[str, dict[str, float]]] = lexicon_sentiment,
                 classify: Callable[[str], tuple[str, float]] | None = None,
                 classify_multi: Callable[[str], list[tuple[str, float]]] | None = None, polls_before_done: int = 1,
                 model_version: str = "2022-11-01", job_error: dict[str, str] | None = None) -> None:
        self.key = key
        self.latency_s = latency_s
        self.retry_after = retry_after
        self.bucket = _Bucket(rate_limit, burst if burst is not None else rate_limit) if rate_limit else None
        self.max_docs_sync, self.max_docs_jobs = max_docs_sync, max_docs_jobs
        self.max_doc_chars, self.max_job_chars = max_doc_chars, max_job_chars
        self.doc_errors = dict(doc_errors or {})
        self.sentiment = sentiment
        self.classify = classify or (lambda text: ("other", 0.5))
        self.classify_multi = classify_multi or (lambda text: [])
        self.polls_before_done = polls_before_done
        self.model_version = model_version
        self.job_error = job_error
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self._throttle_next = 0
        self._faults: list[dict[str, Any]] = []
        self._processed = 0
        self.meter: dict[str, float] = {}
        self.texts_received = 0
        self.faults_served: dict[str, int] = {}
        self._replay: list[dict[str, Any]] | None = None
        self._replay_tasks: list[dict[str, Any]] | None = None
        self._replay_ids: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- life cycle ------------------------------------------------------------------------
    def start(self) -> AzureLanguageDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AzureLanguageDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() the double first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- knobs -----------------------------------------------------------------------------
    def throttle_next(self, n: int) -> None:
        """Answer the next ``n`` requests with 429 + Retry-After, whatever the rate."""
        with self._lock:
            self._throttle_next += n

    def inject(self, kind: str, *, every: int = 1, times: int | None = None, delay_s: float = 1.0,
               rate: float | None = None, seed: int = 0) -> None:
        """Spoil the answer to every ``every``-th processed sentiment request (``times`` times, or forever);
        with ``rate``, to each processed request with that probability instead (seeded: reproducible)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append({"kind": kind, "every": max(1, every), "times": times, "delay_s": delay_s, "done": 0,
                                 "rate": rate, "rng": random.Random(seed)})

    def _fault(self, body: dict[str, Any], text: str) -> tuple[str, dict[str, str]]:
        """Meter a processed sentiment request, then spoil its answer if a fault is due."""
        results = json.loads(text)["results"]
        with self._lock:
            self._processed += 1
            self.texts_received += len(body["analysisInput"]["documents"])
            billed = sum(records(d["text"]) for d in body["analysisInput"]["documents"]
                         if d["id"] in {x["id"] for x in results["documents"]})
            self.meter["text_records"] = self.meter.get("text_records", 0.0) + billed
            fault = next((f for f in self._faults if (f["times"] is None or f["done"] < f["times"]) and (
                f["rng"].random() < f["rate"] if f["rate"] is not None else self._processed % f["every"] == 0)), None)
            if fault is None:
                return text, {}
            fault["done"] += 1
            kind = fault["kind"]
            self.faults_served[kind] = self.faults_served.get(kind, 0) + 1
        if kind == "drop":
            return text, {"x-double-fault": "drop"}
        if kind == "timeout":
            return text, {"x-double-fault": f"timeout:{fault['delay_s']}"}
        docs = results["documents"]
        if kind == "malformed" or not docs:
            return text[: max(1, len(text) // 2)], {}
        if kind == "missing":
            docs.pop()
        elif kind == "duplicate":
            docs[-1] = dict(docs[0])
        elif kind == "wrong_id":
            docs[0]["id"] = "99"
        elif kind == "bad_label":
            docs[0]["sentiment"] = "ecstatic"
        return json.dumps({"kind": "SentimentAnalysisResults", "results": results}, separators=(",", ":")), {}

    def replay(self, exchanges: list[dict[str, Any]]) -> None:
        """Serve these recorded exchanges (``{"request", "response"}``) in order; the last repeats."""
        with self._lock:
            self._replay = list(exchanges)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- request handling (called from the handler threads) --------------------------------
    def _log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: Any) -> tuple[int, dict[str, str], str]:
        """Route one request: returns (status, headers, body text)."""
        t0 = time.perf_counter()
        with self._lock:
            replay = self._replay
            forced = self._throttle_next > 0
            if forced:
                self._throttle_next -= 1
        if replay is not None:
            return self._serve_recorded(body)
        if headers.get("ocp-apim-subscription-key") != self.key:
            return 401, {"Content-Type": "application/json"}, BODY_401
        wait = 0.0 if not self.bucket else self.bucket.take()
        if forced or wait > 0:
            return 429, {"Content-Type": "application/json", "Retry-After": self.retry_after}, \
                BODY_429.replace("{s}", self.retry_after)
        if self.latency_s:
            time.sleep(self.latency_s)
        if method == "POST" and path == "/language/:analyze-text":
            status, extra, text = self._analyze_text(body, query)
            if status == 200:
                text, spoiled = self._fault(body, text)
                extra = {**extra, **spoiled}
        elif method == "POST" and path == "/language/analyze-text/jobs":
            status, extra, text = self._submit_job(body, query)
        elif method == "GET" and path.startswith("/language/analyze-text/jobs/"):
            status, extra, text = self._poll_job(path.rsplit("/", 1)[1], query)
        else:
            status, extra, text = 404, {}, '{"error":{"code":"404","message":"Resource not found"}}'
        service_ms = (time.perf_counter() - t0) * 1000
        return status, {"Content-Type": "application/json; charset=utf-8",
                        "x-envoy-upstream-service-time": str(int(round(service_ms))),
                        "apim-request-id": str(uuid.uuid4()), **extra}, text

    def _serve_recorded(self, body: Any) -> tuple[int, dict[str, str], str]:
        with self._lock:
            ex = self._replay.pop(0) if len(self._replay) > 1 else self._replay[0]
        resp = ex["response"]
        headers = {k: v for k, v in resp.get("headers", {}).items()
                   if k.lower() not in ("content-length", "transfer-encoding", "connection")}
        for k in list(headers):
            if k.lower() == "operation-location":
                headers[k] = re.sub(r"^https?://[^/]+", self.endpoint, headers[k])
        text = resp.get("body_text")
        if text is None:
            text = "" if resp.get("body") is None else json.dumps(resp["body"], separators=(",", ":"))
        rec_docs = ((ex.get("request") or {}).get("body") or {})
        rec_docs = (rec_docs.get("analysisInput") or rec_docs).get("documents") if isinstance(rec_docs, dict) else None
        live_docs = (body or {}).get("analysisInput", body or {}).get("documents") if isinstance(body, dict) else None
        if rec_docs and live_docs:  # a job's polls carry no body: its mapping is kept for them
            self._replay_ids = {d["id"]: live["id"] for d, live in zip(rec_docs, live_docs, strict=False)}
        ids = self._replay_ids if (rec_docs and live_docs) or body is None else None
        if text and ids:
            text = re.sub(r'"id":"([^"]*)"', lambda m: f'"id":"{ids.get(m.group(1), m.group(1))}"', text)
        if isinstance(body, dict) and body.get("tasks"):
            self._replay_tasks = body["tasks"]           # the job's polls carry no body: remember them
        live_tasks = self._replay_tasks
        if text and live_tasks and '"items":[{' in text:
            # the service echoes the request's taskName; a recording made by an SDK that sent none
            # (the .NET one) has none, so the live request's name is put back
            state = json.loads(text)
            items = (state.get("tasks") or {}).get("items") or []
            for item, task in zip(items, live_tasks, strict=False):
                if "taskName" not in item and "taskName" in task:
                    item["taskName"] = task["taskName"]
            text = json.dumps(state, separators=(",", ":"))
        return int(resp["status"]), headers, text

    def _doc_result_errors(self, docs: list[dict[str, Any]], max_chars: int | None) -> tuple[list, list]:
        ok, errors = [], []
        for d in docs:
            text = d.get("text", "")
            err = self.doc_errors.get(text)
            if err is None and not text:
                err = EMPTY_DOC
            if err is None and max_chars is not None and len(text) > max_chars:
                err = TOO_LONG_DOC
            if err is not None:
                errors.append({"id": d["id"], "error": {"code": "InvalidArgument", "message": "Invalid Document in request.",
                                                        "innererror": {"code": err[0], "message": err[1]}}})
            else:
                ok.append(d)
        return ok, errors

    def _analyze_text(self, body: dict[str, Any], query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if not isinstance(body, dict) or body.get("kind") != "SentimentAnalysis":
            return 400, {}, ('{"error":{"code":"InvalidRequest","message":"Invalid Request.","innererror":'
                             '{"code":"InvalidRequestBodyFormat","message":"Request body format is wrong."}}}')
        docs = body["analysisInput"]["documents"]
        if len(docs) > self.max_docs_sync:
            # The recorded 400 carries "retry-after: 0" (which makes azure-core retry it).
            return 400, {"retry-after": "0"}, BODY_400_TOO_MANY.replace("{n}", str(self.max_docs_sync))
        show_stats = query.get("showStats", "").lower() == "true"
        ok, errors = self._doc_result_errors(docs, self.max_doc_chars)
        out = []
        for d in ok:
            label, scores = self.sentiment(d["text"])
            doc = {"id": d["id"], "sentiment": label, "confidenceScores": scores,
                   "sentences": [{"sentiment": label, "confidenceScores": scores, "offset": 0,
                                  "length": len(d["text"]), "text": d["text"]}], "warnings": []}
            if show_stats:
                doc["statistics"] = {"charactersCount": len(d["text"]), "transactionsCount": records(d["text"])}
            out.append(doc)
        billed = sum(records(d["text"]) for d in ok)
        results: dict[str, Any] = {}
        if show_stats:
            results["statistics"] = {"documentsCount": len(docs), "validDocumentsCount": len(ok),
                                     "erroneousDocumentsCount": len(errors), "transactionsCount": billed}
        results.update(documents=out, errors=errors, modelVersion=self.model_version)
        return 200, {"csp-billing-usage": f"CognitiveServices.TextAnalytics.BatchScoring={len(ok)},"
                                          f"CognitiveServices.TextAnalytics.TextRecords={billed}"}, \
            json.dumps({"kind": "SentimentAnalysisResults", "results": results}, separators=(",", ":"))

    def _submit_job(self, body: dict[str, Any], query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        docs = body["analysisInput"]["documents"]
        tasks = body.get("tasks") or []
        if len(docs) > self.max_docs_jobs:
            return 400, {}, BODY_400_TOO_MANY.replace("{n}", str(self.max_docs_jobs))
        if sum(len(d.get("text", "")) for d in docs) > self.max_job_chars or any(
                len(d.get("text", "")) > self.max_doc_chars for d in docs):
            return 400, {}, ('{"error":{"code":"InvalidRequest","message":"Invalid Document in request.","innererror":'
                             '{"code":"InvalidDocument","message":"' + TOO_LONG_DOC[1] + '"}}}')
        if len(tasks) != 1 or tasks[0].get("kind") not in ("CustomSingleLabelClassification",
                                                           "CustomMultiLabelClassification"):
            return 400, {}, ('{"error":{"code":"InvalidRequest","message":"Invalid Request.","innererror":'
                             '{"code":"InvalidParameterValue","message":"Unsupported task kind."}}}')
        job_id = str(uuid.uuid4())
        with self._lock:
            self.jobs[job_id] = {"docs": docs, "task": tasks[0], "polls": 0, "created": _now(),
                                 "display": body.get("displayName")}
        version = query.get("api-version", "2023-04-01")
        return 202, {"operation-location": f"{self.endpoint}/language/analyze-text/jobs/{job_id}?api-version={version}"}, ""

    def _poll_job(self, job_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is not None:
                job["polls"] += 1
        if job is None:
            return 404, {}, ('{"error":{"code":"NotFound","message":"Job not found.","innererror":'
                             '{"code":"OperationNotFound","message":"The specified job was not found."}}}')
        state: dict[str, Any] = {"jobId": job_id, "lastUpdatedDateTime": _now(), "createdDateTime": job["created"],
                                 "expirationDateTime": _now(86400)}
        if job["display"]:
            state["displayName"] = job["display"]
        if job["polls"] <= self.polls_before_done:
            state.update(status="notStarted" if job["polls"] == 1 else "running", errors=[],
                         tasks={"completed": 0, "failed": 0, "inProgress": 1, "total": 1, "items": []})
            return 200, {}, json.dumps(state, separators=(",", ":"))
        if self.job_error is not None:
            state.update(status="failed", errors=[self.job_error],
                         tasks={"completed": 0, "failed": 1, "inProgress": 0, "total": 1, "items": []})
            return 200, {}, json.dumps(state, separators=(",", ":"))
        show_stats = query.get("showStats", "").lower() == "true"
        ok, errors = self._doc_result_errors(job["docs"], None)
        out = []
        multi = job["task"].get("kind") == "CustomMultiLabelClassification"
        for d in ok:
            if multi:
                classes = [{"category": c, "confidenceScore": sc} for c, sc in self.classify_multi(d["text"])]
            else:
                category, score = self.classify(d["text"])
                classes = [{"category": category, "confidenceScore": score}]
            doc = {"id": d["id"], "class": classes, "warnings": []}
            if show_stats:
                doc["statistics"] = {"charactersCount": len(d["text"]), "transactionsCount": records(d["text"])}
            out.append(doc)
        params = job["task"].get("parameters", {})
        results: dict[str, Any] = {}
        if show_stats:
            results["statistics"] = {"documentsCount": len(job["docs"]), "validDocumentsCount": len(ok),
                                     "erroneousDocumentsCount": len(errors),
                                     "transactionsCount": sum(records(d["text"]) for d in ok)}
        results.update(documents=out, errors=errors, projectName=params.get("projectName"),
                       deploymentName=params.get("deploymentName"))
        kind = "CustomMultiLabelClassificationLROResults" if multi else "CustomSingleLabelClassificationLROResults"
        item = {"kind": kind, "taskName": job["task"].get("taskName", "0"),
                "lastUpdateDateTime": _now(), "status": "succeeded", "results": results}
        state.update(status="succeeded", errors=[],
                     tasks={"completed": 1, "failed": 0, "inProgress": 0, "total": 1, "items": [item]})
        return 200, {}, json.dumps(state, separators=(",", ":"))


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler delegating to the double."""

    protocol_version = "HTTP/1.1"
    double: AzureLanguageDouble

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        return

    def _dispatch(self, method: str) -> None:
        t_in = time.monotonic()
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, text = self.double.handle(method, parts.path, query, headers, body)
        fault = out_headers.pop("x-double-fault", None)
        docs = (body.get("analysisInput") or body).get("documents") if isinstance(body, dict) else None
        # logged before the answer goes out, so a client that has its answer sees the entry
        self.double._log({
            "t": t_in, "method": method, "path": parts.path, "query": query, "status": status,
            "docs": len(docs) if docs is not None else None, "body": body,
            "headers": {k: v for k, v in headers.items() if k != "ocp-apim-subscription-key"},
            "had_key": "ocp-apim-subscription-key" in headers, "response": text,
        })
        if fault == "drop":  # processed (and metered), then the connection goes away unanswered
            self.close_connection = True
            return
        if fault is not None and fault.startswith("timeout:"):
            time.sleep(float(fault.split(":", 1)[1]))
            self.close_connection = True
        data = text.encode("utf-8")
        try:
            self.send_response(status)
            for k, v in out_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
        except OSError:  # the client gave up waiting (timeout fault)
            self.close_connection = True

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._dispatch("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")
