"""Azure AI Language: prebuilt sentiment and custom single-label classification.

Both adapters use ``azure-ai-textanalytics`` (extra ``azure``), imported lazily.

Connection (same for both):
    endpoint: option ``endpoint`` or env ``AZURE_LANGUAGE_ENDPOINT`` (``https://<resource>.cognitiveservices.azure.com``).
    credential: env ``AZURE_LANGUAGE_KEY`` (an ``AzureKeyCredential``) or, without it, azure-identity's
        ``DefaultAzureCredential`` (az login, managed identity, ``AZURE_CLIENT_ID``/... env).
        Keys are never read from baseline.toml: a ``key`` there makes the adapter unavailable.

Options ([adapters.<name>] in baseline.toml):
    endpoint, api_version ("2023-04-01"), language ("en"), batch_size (10 sentiment / 25 custom,
    never above the service limit), max_concurrency (4), max_rps (client-side pacing, requests/s;
    none by default), retry_total (5), retry_backoff_factor (0.8 s), retry_backoff_max (60 s),
    retry_mode ("exponential" or "fixed"), read_timeout (60 s), disable_service_logs (false).
    Sentiment only: model_version ("latest").
    Custom only: project, deployment (required), polling_interval (5 s; a Retry-After wins).

Retries: azure-core's RetryPolicy with the settings above retries 408/429/5xx and waits what
``Retry-After`` asks; every retry and every 429 (the last one too) is counted per request and reported.

Answers: every document sent must come back once, in order, as a result with a known label or a
per-document error. A 200 whose body does not parse or validate, or a request sent and then left
unanswered (dropped connection, read timeout: azure-core does not retry POSTs for those), is asked
again up to ``answer_attempts`` times (default 3); then its texts become item errors, never
abstentions. Throttling or 5xx still there after azure-core's retries also ends as item errors; after
``max_consecutive_failures`` (default 5) such requests in a row, the adapter gives up.
Spend: answered documents are billed (the service's transaction counts); an attempt that may have
been processed without an answer coming back is counted as possibly billed at what it would bill.
Oversized texts: cut to the first 5,120 characters (Unicode code points; the service counts text
elements, of which a code-point prefix never has more), counted as truncated, never sent to fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from baseline.adapters.base import (
    Adapter,
    AdapterContext,
    AdapterGaveUp,
    Availability,
    BatchResult,
    Cost,
    Opt,
)
from baseline.adapters.cloud import InvalidAnswer, RateLimiter, truncate_chars
from baseline.costs import azure_text_records
from baseline.errors import BadInput
from baseline.redact import one_line, redact, register_secret

ENV_ENDPOINT = "AZURE_LANGUAGE_ENDPOINT"
ENV_KEY = "AZURE_LANGUAGE_KEY"
API_VERSION = "2023-04-01"
SENTIMENT_LABELS = ("positive", "negative", "neutral", "mixed")
MAX_DOC_CHARS = 5120          # per document, sync and async (data-limits.md)
MAX_SYNC_DOCS = 10            # sentiment documents per request
MAX_JOB_DOCS = 25             # documents per analyze-text job
MAX_JOB_CHARS = 125_000       # characters per analyze-text job, all documents together
UNIT = "azure_text_records"


def _endpoint(options: dict[str, Any]) -> str | None:
    """The configured endpoint: option ``endpoint``, else env AZURE_LANGUAGE_ENDPOINT."""
    ep = options.get("endpoint") or os.environ.get(ENV_ENDPOINT)
    return str(ep).strip().rstrip("/") if ep else None


def _host(endpoint: str | None) -> str:
    return (urlsplit(endpoint).netloc or endpoint) if endpoint else "(no endpoint set)"


def _at(endpoint: str | None) -> str:
    return f"at {_host(endpoint)}" if endpoint else "(no endpoint set)"


def _counting_retry_policy(**settings: Any) -> Any:
    """An azure-core RetryPolicy that also counts retries and the server-reported latency (429s: the recorder)."""
    from azure.core.pipeline.policies import RetryPolicy

    class CountingRetryPolicy(RetryPolicy):
        """RetryPolicy (Retry-After honoured) + counters read by the adapter after each call."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self._lock = threading.Lock()
            self.reset()

        def reset(self) -> None:
            with self._lock:
                self.retries, self.service_ms, self.seen_service_ms = 0, 0.0, False

        def increment(self, settings: dict[str, Any], response: Any = None, error: Exception | None = None) -> bool:
            again = super().increment(settings, response=response, error=error)
            if again:
                with self._lock:
                    self.retries += 1
            return again

        def send(self, request: Any) -> Any:
            response = super().send(request)
            value = response.http_response.headers.get("x-envoy-upstream-service-time")
            if value is not None:
                try:
                    ms = float(value)
                except ValueError:
                    return response
                with self._lock:
                    self.service_ms += ms
                    self.seen_service_ms = True
            return response

    return CountingRetryPolicy(**settings)


def _attempt_recorder() -> Any:
    """A per-retry policy: sees every HTTP attempt, answered or not, and counts what it may have cost."""
    from azure.core.exceptions import ServiceResponseError
    from azure.core.pipeline.policies import HTTPPolicy

    class AttemptRecorder(HTTPPolicy):
        """Counts 429s, and POSTs that may have been processed with no usable answer (possibly billed)."""

        def __init__(self) -> None:
            super().__init__()
            self.reset()

        def reset(self) -> None:
            self.throttles = 0
            self.unconfirmed = 0    # sent, then dropped / timed out / 5xx other than 503
            self.posted_ok = False  # a POST was answered with a success status (the work was done)

        def send(self, request: Any) -> Any:
            post = request.http_request.method.upper() == "POST"
            try:
                response = self.next.send(request)
            except ServiceResponseError:
                self.unconfirmed += int(post)
                raise
            status = response.http_response.status_code
            self.throttles += int(status == 429)
            if post and status >= 500 and status != 503:
                self.unconfirmed += 1
            if post and status < 400:
                self.posted_ok = True
            return response

    return AttemptRecorder()


class _AzureLanguage(Adapter):
    """Shared plumbing: endpoint/credential resolution, per-thread clients, retries, errors, cost."""

    family = "cloud"
    paid = True
    credentials_from = "keys are read only from the AZURE_LANGUAGE_KEY environment variable (or DefaultAzureCredential)"
    extra = "azure"
    requires = ("azure.ai.textanalytics",)
    local_compute = False
    warmup = False
    max_concurrency = 4
    service_limit: ClassVar[int] = MAX_SYNC_DOCS
    price_row: ClassVar[tuple[str, str]] = ("azure_language", "prebuilt_standard")
    operation: ClassVar[str] = ""
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "endpoint": Opt("str"), "api_version": Opt("str"), "language": Opt("str"),
        "batch_size": Opt("int", lo=1, hi=MAX_SYNC_DOCS), "max_concurrency": Opt("int", lo=1),
        "max_rps": Opt("float", lo=0, lo_open=True), "retry_mode": Opt("str", choices=("exponential", "fixed")),
        "retry_total": Opt("int", lo=0), "retry_backoff_factor": Opt("float", lo=0),
        "retry_backoff_max": Opt("float", lo=0), "read_timeout": Opt("float", lo=0, lo_open=True),
        "disable_service_logs": Opt("bool"),
        "answer_attempts": Opt("int", lo=1), "max_consecutive_failures": Opt("int", lo=1)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.option
        self.endpoint = _endpoint(ctx.options)
        self.api_version = str(o("api_version", API_VERSION))
        self.language = str(o("language", "en"))
        bs = self._number("batch_size", self.service_limit, int)
        if not 1 <= bs <= self.service_limit:
            raise BadInput(f"{self.name}: batch_size must be between 1 and {self.service_limit} "
                           f"(the service's limit per request), got {bs}")
        self.batch_size = bs
        mc = self._number("max_concurrency", type(self).max_concurrency, int)
        if mc < 1:
            raise BadInput(f"{self.name}: max_concurrency must be at least 1, got {mc}")
        self.max_concurrency = mc
        rps = self._number("max_rps", None, float)
        if rps is not None and rps <= 0:
            raise BadInput(f"{self.name}: max_rps must be a positive number of requests per second, got {rps}")
        self._limiter = RateLimiter(rps)
        mode = str(o("retry_mode", "exponential")).lower()
        if mode not in ("exponential", "fixed"):
            raise BadInput(f"{self.name}: retry_mode must be 'exponential' or 'fixed', got {mode!r}")
        self.retry_settings = {"retry_total": self._number("retry_total", 5, int),
                               "retry_backoff_factor": self._number("retry_backoff_factor", 0.8, float),
                               "retry_backoff_max": self._number("retry_backoff_max", 60, int), "retry_mode": mode}
        if self.retry_settings["retry_total"] < 0:
            raise BadInput(f"{self.name}: retry_total must be zero or more")
        self.read_timeout = self._number("read_timeout", 60.0, float)
        self.answer_attempts = self._number("answer_attempts", 3, int)
        self.max_failures = self._number("max_consecutive_failures", 5, int)
        if self.answer_attempts < 1 or self.max_failures < 1:
            raise BadInput(f"{self.name}: answer_attempts and max_consecutive_failures must be at least 1")
        self._fail_lock = threading.Lock()
        self._failures_in_row = 0
        self.disable_service_logs = bool(o("disable_service_logs", False))
        self._credential: Any = None
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        self._maps: dict[str, str | None] = {}

    def _number(self, key: str, default: Any, kind: type) -> Any:
        """A numeric option, or BadInput naming it."""
        value = self.ctx.option(key, default)
        if value is None:
            return None
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise BadInput(f"{self.name}: option {key} must be a number, got {value!r}") from None

    # ---- discovery -------------------------------------------------------------------------
    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        try:
            base = super().availability(task, options)
        except ImportError:  # find_spec imports the parent: the 'azure' namespace itself is missing
            return Availability.no(f'extra "{cls.extra}" not installed (pip install "baseline[{cls.extra}]")')
        if not base.ok:
            return base
        options = options or {}
        if not _endpoint(options):
            return Availability.no(f"no Azure AI Language endpoint: set {ENV_ENDPOINT} or the 'endpoint' option")
        if not os.environ.get(ENV_KEY):
            import importlib.util

            if importlib.util.find_spec("azure.identity") is None:
                return Availability.no(f"no Azure credential: set {ENV_KEY}, or install azure-identity "
                                       "for DefaultAzureCredential")
        return Availability.yes()

    # ---- estimate before paying --------------------------------------------------------------
    def _price(self) -> tuple[int, float]:
        row = self.ctx.prices.row(*self.price_row)
        return int(row.get("unit_chars", 1000)), float(row["usd_per_1000_records"])

    def _cost(self, n_records: int) -> Cost:
        _, usd = self._price()
        return Cost(n_records * usd / 1000.0, {UNIT: float(n_records)})

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        """Text records of what would be sent (after truncation) × the price row; no calls."""
        unit_chars, _ = self._price()
        n = sum(azure_text_records(truncate_chars(t, MAX_DOC_CHARS)[0], unit_chars) for t in texts)
        c = self._cost(n)
        c.note = f"{n:,} text records ({unit_chars:,} characters each) × {'.'.join(self.price_row)}"
        return c

    # ---- clients -------------------------------------------------------------------------------
    def load(self) -> None:
        """Resolve endpoint and credential, build this thread's client (no network call)."""
        if not self.endpoint:
            raise BadInput(f"{self.name}: no endpoint: set {ENV_ENDPOINT} or endpoint under adapters.{self.name} in baseline.toml")
        if urlsplit(self.endpoint).scheme not in ("http", "https"):
            raise BadInput(f"{self.name}: endpoint must start with https:// (got a value without a scheme); "
                           f"fix {ENV_ENDPOINT} or the 'endpoint' option")
        key = os.environ.get(ENV_KEY)
        if key:
            from azure.core.credentials import AzureKeyCredential

            self._credential = AzureKeyCredential(key)
            register_secret(key)
        else:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError as e:
                raise BadInput(f"{self.name}: no credential: set {ENV_KEY} or install azure-identity") from e
            self._credential = DefaultAzureCredential()
            self.notes.append("credential: DefaultAzureCredential (no AZURE_LANGUAGE_KEY set)")
        self._client()

    def _client(self) -> Any:
        """One client per worker thread, so retry counters belong to one request at a time."""
        c = getattr(self._local, "client", None)
        if c is None:
            from azure.ai.textanalytics import TextAnalyticsClient

            policy = _counting_retry_policy(**self.retry_settings)
            recorder = _attempt_recorder()
            c = TextAnalyticsClient(self.endpoint, self._credential, api_version=self.api_version,
                                    default_language=self.language, retry_policy=policy,
                                    read_timeout=self.read_timeout, connection_timeout=10)
            # right after the retry policy, so it sees every attempt (the SDK keeps per_retry_policies to itself)
            recorder.next, policy.next = policy.next, recorder
            c._baseline_retry = policy  # noqa: SLF001 - our own attribute, read after each call
            c._baseline_attempts = recorder  # noqa: SLF001
            self._local.client = c
            with self._clients_lock:
                self._clients.append(c)
        return c

    def teardown(self) -> None:
        """Close the HTTP sessions (nothing billable is created by these adapters)."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for c in clients:
            try:
                c.close()
            except Exception:  # closing a pooled session must not fail the run
                pass
        if self._credential is not None and hasattr(self._credential, "close"):
            try:
                self._credential.close()
            except Exception:
                pass

    def _ask(self, fn: Any, out: BatchResult, items: Sequence[int], bill: Cost,
             validate: Any) -> Any | None:
        """Run one SDK call until its answer validates (``answer_attempts``), counting every attempt.

        Returns the SDK's answer, or None once the failure is recorded as the item errors of
        ``items``. Credential/config errors raise ``BadInput``; other refusals ``RuntimeError``.
        """
        from azure.core.exceptions import (
            ClientAuthenticationError,
            DecodeError,
            DeserializationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            client = self._client()
            policy, rec = client._baseline_retry, client._baseline_attempts  # noqa: SLF001
            policy.reset()
            rec.reset()
            out.queued_ms += self._limiter.wait()
            answer: Any = None
            invalid = failed = ""
            try:
                answer = fn(client)
                validate(answer)
            except ClientAuthenticationError as e:
                status = getattr(e, "status_code", None)
                if status is None:  # DefaultAzureCredential found nothing to sign in with
                    raise BadInput(f"{self.name}: no Azure credential: set {ENV_KEY}, or sign in for "
                                   "DefaultAzureCredential (az login, managed identity, AZURE_CLIENT_ID/...)") from None
                raise BadInput(self._auth_message(status)) from None
            except ResourceNotFoundError:
                raise BadInput(self._not_found_message()) from None
            except ServiceRequestError as e:
                if "non-TLS" in str(e):
                    raise BadInput(f"{self.name}: DefaultAzureCredential needs an https:// endpoint; "
                                   f"fix {ENV_ENDPOINT} or set {ENV_KEY}") from None
                invalid = f"could not send the request: {one_line(e)}"  # never reached the service
            except ServiceResponseError as e:  # sent, then no answer: counted as possibly billed by the recorder
                invalid = f"no answer ({type(e).__name__}): {one_line(e)}"
            except (DeserializationError, DecodeError):
                invalid = (f"the response from {_host(self.endpoint)} does not parse as api_version "
                           f"{self.api_version!r} (azure-ai-textanalytics 5.x): set the api_version option "
                           "to one your resource serves")
            except HttpResponseError as e:
                status = e.status_code or 0
                if status < 400:  # a success status whose body is not the expected JSON
                    invalid = f"HTTP {status} answer is not a usable result: {self._message(e)}"
                elif status == 429:
                    failed = (f"still throttled (HTTP 429) after {self.retry_settings['retry_total']} retries: "
                              "lower max_rps or max_concurrency")
                elif status >= 500:
                    failed = f"HTTP {status} after {self.retry_settings['retry_total']} retries: {self._message(e)}"
                elif status == 403 and "quota" not in str(e).lower():
                    raise BadInput(self._auth_message(403)) from None
                else:
                    err = getattr(e, "error", None)
                    raise RuntimeError(f"Azure AI Language refused the request (HTTP {status}, "
                                       f"{getattr(err, 'code', None) or status}): {self._message(e)}") from None
            except InvalidAnswer as e:
                invalid = str(e)
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:  # the SDK could not read it
                invalid = f"answer the SDK could not read ({type(e).__name__}: {one_line(e)})"
            finally:
                out.retries += policy.retries
                out.throttles += rec.throttles
                if policy.seen_service_ms:
                    out.service_ms = (out.service_ms or 0.0) + policy.service_ms
            spoiled = rec.unconfirmed + int(bool(invalid or failed) and rec.posted_ok)
            for _ in range(spoiled):  # processed, maybe billed, no usable answer back
                out.unconfirmed = out.unconfirmed + bill
            if failed:
                self._request_failed(failed, out, items)
                return None
            if invalid:
                problem = invalid
                continue
            with self._fail_lock:
                self._failures_in_row = 0
            return answer
        self._request_failed(f"invalid answer after {self.answer_attempts} attempts: {problem}", out, items)
        return None

    @staticmethod
    def _message(e: Any) -> str:
        err = getattr(e, "error", None)
        return getattr(err, "message", None) or str(getattr(e, "message", e)).splitlines()[0]

    def _request_failed(self, msg: str, out: BatchResult, items: Sequence[int]) -> None:
        """Record the item errors of ``items``; give up (``AdapterGaveUp``) after too many failures in a row."""
        msg = redact(msg)
        for i in items:
            out.errors[i] = msg
        with self._fail_lock:
            self._failures_in_row += 1
            n = self._failures_in_row
        if n >= self.max_failures:
            raise AdapterGaveUp(f"{n} requests in a row failed after retries, giving up: {msg}", out)

    @staticmethod
    def _check_docs(docs: Any, n: int, what: str) -> None:
        """Each of the n documents sent back exactly once, in order (the SDK numbers them "0".."n-1")."""
        if not isinstance(docs, list) or len(docs) != n:
            raise InvalidAnswer(f"{what}: {len(docs) if isinstance(docs, list) else 'no'} documents answered for {n} sent")
        for k, doc in enumerate(docs):
            if str(getattr(doc, "id", None)) != str(k):
                raise InvalidAnswer(f"{what}: document id {getattr(doc, 'id', None)!r} where {k!r} was sent")

    def _auth_message(self, status: int | None) -> str:
        how = f"the key in {ENV_KEY}" if os.environ.get(ENV_KEY) else "DefaultAzureCredential"
        what = "refused the credential (HTTP 401)" if status != 403 else "denied access (HTTP 403)"
        return (f"{self.name}: Azure AI Language at {_host(self.endpoint)} {what}: check {how} and that "
                f"{ENV_ENDPOINT} is this resource's endpoint")

    def _not_found_message(self) -> str:
        return (f"{self.name}: {_host(self.endpoint)} has no such resource (HTTP 404): check {ENV_ENDPOINT}"
                f" and api_version {self.api_version!r}")

    def _records(self, sent: str, doc: Any) -> int:
        """Billed records for a document answered: the service's own count when it reports one."""
        stats = getattr(doc, "statistics", None)
        n = getattr(stats, "transaction_count", None) if stats is not None else None
        return int(n) if n is not None else azure_text_records(sent, self._price()[0])

    def _identity(self, *parts: str) -> str:
        mapping = ",".join(f"{k}>{v}" for k, v in sorted((self.ctx.label_map or {}).items()))
        return "|".join([self.name, f"api={self.api_version}", f"lang={self.language}",
                         f"truncate={MAX_DOC_CHARS}", *parts, f"labels={','.join(self.ctx.labels)}",
                         f"map={mapping}"])
