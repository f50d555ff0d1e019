"""AWS adapters: Comprehend prebuilt sentiment, a Comprehend custom classifier, an LLM on Bedrock.

Everything AWS-specific lives here; boto3 is imported lazily so the module imports (and estimates
run) without the ``aws`` extra or credentials. Credentials come only from boto3's own chain
(profiles, environment, instance/container roles); endpoints follow botocore's overrides
(``AWS_ENDPOINT_URL_COMPREHEND``, ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, ``AWS_ENDPOINT_URL_S3``)
or the ``endpoint_url`` option, which is also how the tests reach their loopback doubles.

Options shared by the three adapters (``[adapters.<name>]`` in baseline.toml):
``region``, ``profile``, ``endpoint_url``, ``retry_mode`` ("standard" | "adaptive", default
"standard"), ``max_attempts`` (total attempts per call incl. the first, default 5),
``connect_timeout`` / ``read_timeout`` (seconds, default 10 / 60), ``max_concurrency`` (requests in
flight, default 4), ``max_rps`` (client-side pacing in requests per second; 0 turns it off),
``max_consecutive_failures`` (requests that may fail in a row after retries before the adapter
gives up, default 5), ``answer_attempts`` (times a request whose 200 answer does not validate is
asked again before its texts become item errors, default: ``max_attempts``).

Answers are validated: every text sent comes back as a result or a per-document error, with a known
label; anything else (a body that is not the expected JSON, missing or duplicate indexes, an unknown
sentiment) is asked again, then recorded as item errors, never as abstentions. Spend is counted per
attempt: an answered request is billed (confirmed); an attempt that may have reached the service
without an answer coming back (connection dropped or read timeout after sending, a 5xx other than
503, a 200 whose body does not validate) is counted as possibly billed at what it would bill.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from baseline.adapters.base import (
    Adapter,
    AdapterContext,
    AdapterGaveUp,
    Availability,
    BatchResult,
    Opt,
)
from baseline.adapters.cloud import (
    RateLimiter,
)
from baseline.errors import BadInput
from baseline.redact import one_line, redact, register_aws_credentials

COMPREHEND_API = "comprehend 2017-11-27"
BEDROCK_API = "bedrock-runtime 2023-09-30 converse"
SENTIMENT_LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
SENTIMENT_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW")
BATCH_MAX_DOCS = 25            # BatchDetectSentiment: documents per call
SYNC_MAX_BYTES = 5000          # BatchDetectSentiment: UTF-8 bytes per document
CLASSIFY_MAX_BYTES = 10000     # ClassifyDocument (plain text) and our rule for async lines/training rows
MIN_DOCS_PER_CLASS = 50        # Comprehend custom multi-class training minimum
ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")
GEO_PREFIX = re.compile(r"^(us|eu|apac|us-gov|ca|jp|au|global)\.")

# botocore's standard/adaptive retry handlers treat these codes as throttles (retries/standard.py).
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"})
TRANSIENT_CODES = THROTTLE_CODES | {"InternalServerException", "InternalFailure", "ServiceUnavailable",
                                    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
                                    "ModelNotReadyException", "ModelTimeoutException"}


# ---- credentials, region, options -----------------------------------------------------------------

_CRED_CACHE: dict[str, str | None] = {}
_CRED_LOCK = threading.Lock()


def _env_fingerprint(profile: str | None) -> str:
    """A hash of everything that steers boto3's credential chain (never the values themselves)."""
    h = hashlib.sha256(str(profile).encode())
    for k in sorted(os.environ):
        if k.startswith(("AWS_", "BOTO_")) or k == "HOME":
            h.update(f"{k}={os.environ[k]}\x00".encode())
    return h.hexdigest()


def credentials_problem(profile: str | None = None) -> str | None:
    """None when boto3's own chain finds credentials, else a one-line reason. Cached per environment."""
    key = _env_fingerprint(profile)
    with _CRED_LOCK:
        if key in _CRED_CACHE:
            return _CRED_CACHE[key]
    import boto3
    import botocore.exceptions

    try:
        creds = boto3.Session(profile_name=profile).get_credentials()
        register_aws_credentials(creds)  # from files/SSO/roles too, not only the environment: mask them
        reason = None if creds is not None else "no AWS credentials found (profile, env or instance role)"
    except botocore.exceptions.ProfileNotFound:
        reason = f"AWS profile {profile!r} not found: fix the profile option or ~/.aws/config"
    except Exception as e:  # a broken config file must not crash `baseline adapters`
        reason = f"AWS credential chain failed: {one_line(e)}"
    with _CRED_LOCK:
        _CRED_CACHE[key] = reason
    return reason


def resolve_region(options: dict[str, Any]) -> str | None:
    """Region from the ``region`` option, then AWS_REGION / AWS_DEFAULT_REGION, then the profile."""
    region = options.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return str(region)
    try:
        import boto3

        return boto3.Session(profile_name=options.get("profile")).region_name
    except Exception:
        return None


def _opt_int(name: str, options: dict[str, Any], key: str, default: int, lo: int = 0) -> int:
    v = options.get(key, default)
    try:
        iv = int(v)
        if iv != float(v) or iv < lo:
            raise ValueError
    except (TypeError, ValueError):
        raise BadInput(f"[adapters.{name}] {key} must be a whole number >= {lo} (got {v!r}); fix baseline.toml") from None
    return iv


def _opt_float(name: str, options: dict[str, Any], key: str, default: float | None, lo: float = 0.0) -> float | None:
    v = options.get(key, default)
    if v is None:
        return None
    try:
        fv = float(v)
        if not math.isfinite(fv) or fv < lo:
            raise ValueError
    except (TypeError, ValueError):
        raise BadInput(f"[adapters.{name}] {key} must be a number >= {lo} (got {v!r}); fix baseline.toml") from None
    return fv


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _epoch(v: Any) -> float | None:
    """botocore timestamps are datetimes; recordings may hand us epoch numbers."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.timestamp()
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _queued(out: BatchResult, ms: float) -> None:
    """Time spent on our own pacing: the runner leaves it out of the request latency."""
    out.queued_ms += ms


class _CallStats(threading.local):
    """Per-thread attempt and throttle counts for the call in flight on that thread."""

    def __init__(self) -> None:
        self.attempts = 0
        self.throttles = 0
        self.unconfirmed = 0  # attempts that may have been processed (and billed) with no answer back


# ---- the shared base -----------------------------------------------------------------------------

class _AwsAdapter(Adapter):
    """What the three AWS adapters share: options, clients with explicit retries, counting, pacing."""

    family = "cloud"
    paid = True
    extra = "aws"
    requires = ("boto3",)
    local_compute = False
    warmup = False
    max_concurrency = 4
    default_max_rps: ClassVar[float | None] = None
    service_name: ClassVar[str] = "comprehend"
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "region": Opt("str"), "profile": Opt("str"), "endpoint_url": Opt("str"),
        "retry_mode": Opt("str", choices=("standard", "adaptive")), "max_attempts": Opt("int", lo=1),
        "connect_timeout": Opt("float", lo=0), "read_timeout": Opt("float", lo=0),
        "max_concurrency": Opt("int", lo=1), "max_rps": Opt("float", lo=0),
        "max_consecutive_failures": Opt("int", lo=1),
        "answer_attempts": Opt("int", lo=1)}  # read by the answer-validation work (issue 10, other half)

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.region = resolve_region(o)
        self.max_concurrency = _opt_int(self.name, o, "max_concurrency", type(self).max_concurrency, lo=1)
        self.retry_mode = str(o.get("retry_mode", "standard"))
        if self.retry_mode not in ("standard", "adaptive"):
            raise BadInput(f"[adapters.{self.name}] retry_mode must be 'standard' or 'adaptive' (got {self.retry_mode!r})")
        self.max_attempts = _opt_int(self.name, o, "max_attempts", 5, lo=1)
        self.max_failures = _opt_int(self.name, o, "max_consecutive_failures", 5, lo=1)
        self.answer_attempts = _opt_int(self.name, o, "answer_attempts", self.max_attempts, lo=1)
        max_rps = _opt_float(self.name, o, "max_rps", self.default_max_rps)
        self.max_rps = max_rps or None
        self._pacer = RateLimiter(self.max_rps)
        self._stats = _CallStats()
        self._fail_lock = threading.Lock()
        self._failures_in_row = 0
        self._clients: dict[str, Any] = {}

    # ---- discovery -----------------------------------------------------------------------------
    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        base = super().availability(task, options)
        if not base.ok:
            return base
        options = options or {}
        problem = credentials_problem(options.get("profile"))
        if problem:
            return Availability.no(problem)
        if not resolve_region(options):
            return Availability.no(f"no AWS region: set region under [adapters.{cls.name}] or AWS_REGION")
        problem = cls._config_problem(options)
        return Availability.no(problem) if problem else Availability.yes()

    @classmethod
    def _config_problem(cls, options: dict[str, Any]) -> str | None:
        """Adapter-specific configuration that must be present (one line), or None."""
        return None

    def _where(self) -> str:
        where = f"in {self.region}" if self.region else "(region not set)"
        if self.ctx.options.get("endpoint_url") or os.environ.get(self._endpoint_env()):
            where += " (endpoint overridden)"
        return where

    def _endpoint_env(self, service: str | None = None) -> str:
        return "AWS_ENDPOINT_URL_" + (service or self.service_name).upper().replace("-", "_")

    # ---- clients -------------------------------------------------------------------------------
    def _client(self, service: str | None = None, endpoint_option: str = "endpoint_url") -> Any:
        """A boto3 client with explicit retries and a throttle counter; one per service, shared by threads."""
        service = service or self.service_name
        if service in self._clients:
            return self._clients[service]
        import boto3
        from botocore.config import Config

        if not self.region:
            raise BadInput(f"no AWS region: set region under [adapters.{self.name}] or AWS_REGION")
        o = self.ctx.options
        cfg = Config(retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
                     max_pool_connections=max(10, 2 * self.max_concurrency),
                     connect_timeout=_opt_float(self.name, o, "connect_timeout", 10.0),
                     read_timeout=_opt_float(self.name, o, "read_timeout", 60.0),
                     user_agent_extra="baseline")
        session = boto3.Session(profile_name=o.get("profile"))
        register_aws_credentials(session.get_credentials())
        endpoint = o.get(endpoint_option) or None  # None: botocore reads AWS_ENDPOINT_URL_<SERVICE> itself
        client = session.client(service, region_name=self.region, endpoint_url=endpoint, config=cfg)
        client.meta.events.register(f"response-received.{client.meta.service_model.service_id.hyphenize()}",
                                    self._on_response)
        self._clients[service] = client
        return client

    def _on_response(self, parsed_response: dict | None = None, response_dict: dict | None = None,
                     exception: Exception | None = None, **_: Any) -> None:
        """Runs on the calling thread after every HTTP attempt (retries included), answered or not."""
        from botocore.exceptions import HTTPClientError

        st = self._stats
        st.attempts += 1
        code = ((parsed_response or {}).get("Error") or {}).get("Code")
        status = (response_dict or {}).get("status_code")
        if code in THROTTLE_CODES or status == 429:
            st.throttles += 1
        # sent, then no answer (dropped connection, read timeout) or a server error after processing:
        # the service may have billed it. Connect failures never reached it; 4xx and 503 are refusals.
        if isinstance(exception, HTTPClientError) or (status is not None and status >= 500 and status != 503):
            st.unconfirmed += 1

    def _call(self, fn: Callable[..., dict], **params: Any) -> tuple[dict | None, Exception | None, int, int]:
        """Call ``fn``: (response or None, error or None, retries, throttles). Only AWS errors are caught."""
        from botocore.exceptions import BotoCoreError, ClientError

        st = self._stats
        st.attempts = st.throttles = st.unconfirmed = 0
        resp: dict | None = None
        err: Exception | None = None
        try:
            resp = fn(**params)
        except ClientError as e:
            err = e
        except BotoCoreError as e:  # connection errors, timeouts, bad parameters
            err = e
        meta = (resp or getattr(err, "response", None) or {}).get("ResponseMetadata") or {}
        retries = int(meta.get("RetryAttempts", max(0, st.attempts - 1)))
        return resp, err, retries, st.throttles

    @staticmethod
    def _error_code(err: Exception) -> str:
        return str(((getattr(err, "response", None) or {}).get("Error") or {}).get("Code") or type(err).__name__)

    def _is_transient(self, err: Exception) -> bool:
        """Still failing after botocore's retries, but the kind of failure that passes: throttles, 5xx."""
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        if isinstance(err, BotoConnectionError | HTTPClientError):
            return True
        resp = getattr(err, "response", None) or {}
        status = (resp.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
        return self._error_code(err) in TRANSIENT_CODES or status == 429 or status >= 500

    def _request_failed(self, err: Exception | str, out: BatchResult, items: Sequence[int]) -> str:
        """Record a transient failure as the item errors of ``items``; give up after too many in a row.

        Giving up raises ``AdapterGaveUp`` carrying ``out``, so what this call counted is kept.
        """
        with self._fail_lock:
            self._failures_in_row += 1
            n = self._failures_in_row
        if isinstance(err, str):
            msg = redact(err)
        else:
            msg = redact(f"{self._error_code(err)} after {self.max_attempts} attempts: {one_line(err)}")
        for i in items:
            out.errors[i] = msg
        if n >= self.max_failures:
            raise AdapterGaveUp(f"{n} requests in a row failed after retries, giving up: {msg}", out)
        return msg

    def _request_ok(self) -> None:
        with self._fail_lock:
            self._failures_in_row = 0

    def _raise(self, err: Exception, what: str) -> None:
        """A non-transient failure (credentials, validation, missing resource): the adapter fails."""
        raise RuntimeError(f"{what}: {one_line(err)}") from None


# ---- adapters that create billable resources: names, the ledger, S3 staging, polling, cleanup -------------

# Subclasses set ``bucket``, ``prefix``, ``poll_interval``, ``max_poll_interval``, ``max_wait`` before calling
# ``_init_run`` and implement ``_adopt`` (take over an earlier attempt's ledger records) and ``teardown``.
# Kinds in ``JOB_KINDS`` end "finished" (they stop billing on their own) rather than "deleted".
class _StagedAwsAdapter(_AwsAdapter):
    """An AWS adapter that stages data in S3 and creates billable resources, each one kept in the ledger."""

    JOB_KINDS: ClassVar[frozenset[str]] = frozenset()

    def _init_run(self, ctx: AdapterContext) -> None:
        """Names, idempotency tokens and the S3 prefix derive from the run id and this attempt's number."""
        self.run_id = ctx.run_id or f"adhoc-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self._prior = self._read_ledger()  # earlier attempts in this run folder (a resume): kept in the ledger
        attempt = 1 + len({r.get("run_name") for r in self._prior if r.get("run_name")})
        digest = hashlib.sha256(f"{self.run_id}\x00{self.name}".encode()).hexdigest()[:10]
        self.run_name = f"baseline-{digest}-{attempt}"
        self.run_prefix = f"{self.prefix}/{self.run_name}" if self.prefix else self.run_name

    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": "created-by", "Value": "baseline"}, {"Key": "baseline:run", "Value": self.run_id[:256]},
                {"Key": "baseline:adapter", "Value": self.name}, {"Key": "baseline:resource", "Value": self.run_name}]

    # ---- the ledger ----------------------------------------------------------------------------
    def _track(self, kind: str, rid: str, state: str = "created", **extra: Any) -> dict[str, Any]:
        """Record a billable thing in the ledger: before its create call (``requested``) or after."""
        rec = {"kind": kind, "id": rid, "state": state, "created_at": _now_iso(), "deleted": False,
               "run_name": self.run_name, "region": self.region, **extra}
        self.resources.append(rec)
        self._save_resources()
        return rec

    def _confirm(self, rec: dict[str, Any], rid: str, **extra: Any) -> None:
        rec.update(id=rid, state="created", **extra)
        self._save_resources()

    def _mark_deleted(self, kind: str, rid: str | None = None, state: str | None = None) -> None:
        """Only once the service confirmed it: gone (``deleted``), finished or stopped (jobs), never created."""
        for r in self.resources:
            if r["kind"] == kind and (rid is None or r["id"] == rid) and not r["deleted"]:
                r["deleted"] = True
                r["state"] = state or ("finished" if kind in self.JOB_KINDS else "deleted")
                r["deleted_at"] = _now_iso()
        self._save_resources()

    def _live(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["kind"] == kind and not r["deleted"]]

    def _read_ledger(self) -> list[dict[str, Any]]:
        try:
            data = json.loads((self.ctx.workdir / self.LEDGER).read_text(encoding="utf-8"))
            return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
        except (OSError, ValueError):
            return []

    def _save_resources(self) -> None:
        """The ledger beside the results: what exists, in case the process dies before teardown."""
        try:
            p = self.ctx.workdir / self.LEDGER
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._prior + self.resources, indent=2, default=str), encoding="utf-8")
            tmp.replace(p)
        except OSError:
            pass

    def save_ledger(self) -> None:
        self._save_resources()

    def _adopt(self, run_name: str | None, records: list[dict[str, Any]]) -> None:  # pragma: no cover - abstract
        """Take over an earlier attempt's ledger records (cleanup): same names, ids and S3 prefix."""
        raise NotImplementedError

    @classmethod
    def cleanup(cls, ctx: AdapterContext, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Delete what the ledger shows left over, one pass per attempt; returns the ledger with what was deleted."""
        out = [dict(r) for r in ledger]
        problems: list[str] = []
        for run_name in dict.fromkeys(r.get("run_name") for r in out if not r.get("deleted")):
            group = [r for r in out if r.get("run_name") == run_name]
            options = dict(ctx.options)
            if group[0].get("region") and not options.get("region"):
                options["region"] = group[0]["region"]
            s3 = next((r for r in group if r["kind"] == "s3-object" and r.get("bucket")), None)
            if s3 is not None:
                options["bucket"] = s3["bucket"]
            a = cls(AdapterContext(labels=list(ctx.labels), options=options, prices=ctx.prices, workdir=ctx.workdir,
                                   run_id=ctx.run_id, log=ctx.log, task=ctx.task, schema=ctx.schema))
            a._adopt(run_name, group)
            a._prior = [r for r in out if r.get("run_name") != run_name]  # the ledger keeps every attempt
            try:
                a.teardown()
            except Exception as e:
                problems.append(one_line(e))
        if problems:
            raise RuntimeError("; ".join(problems))
        return out

    # ---- teardown --------------------------------------------------------------------------------
    TEARDOWN_STEPS: ClassVar[tuple[str, ...]] = ("_teardown_s3",)   # method names, in the order they run

    def teardown(self) -> None:
        """Stop and delete everything this run created (``TEARDOWN_STEPS`` in turn, each tried whatever the one
        before did); idempotent; raises, listing what is left, if anything is."""
        if not self.resources or all(r["deleted"] for r in self.resources):
            return
        problems: list[str] = []
        for step in self.TEARDOWN_STEPS:
            try:
                getattr(self, step)()
            except Exception as e:  # keep going: delete everything else we can
                problems.append(one_line(e))
        if getattr(self, "_fit_cost", None) is not None and not self._fit_returned:
            self.extra_cost = self.extra_cost + self._fit_cost  # billed for training though fit did not finish
            self._fit_returned = True
        self._save_resources()
        left = [f"{r['kind']} {r['id']}" for r in self.resources if not r["deleted"]]
        if problems or left:
            raise RuntimeError(f"teardown left {len(left)} resource(s) ({'; '.join(left)}): {'; '.join(problems)}")

    # ---- S3 staging ------------------------------------------------------------------------------
    def _s3(self) -> Any:
        return self._client("s3", endpoint_option="s3_endpoint_url")

    def _put(self, key: str, body: bytes) -> str:
        uri = f"s3://{self.bucket}/{key}"
        if not self._live("s3-object"):  # one record for the run's prefix: teardown deletes everything under it
            self._track("s3-object", f"s3://{self.bucket}/{self.run_prefix}/", bucket=self.bucket, prefix=self.run_prefix)
        _, err, _, _ = self._call(self._s3().put_object, Bucket=self.bucket, Key=key, Body=body)
        if err is not None:
            self._raise(err, f"upload to {uri} failed")
        return uri

    def _get(self, bucket: str, key: str) -> bytes:
        r, err, _, _ = self._call(self._s3().get_object, Bucket=bucket, Key=key)
        if err is not None:
            self._raise(err, f"reading s3://{bucket}/{key} failed")
        return r["Body"].read()

    def _teardown_s3(self) -> None:
        """Delete every object under this run's own prefix: what we uploaded and what the service wrote."""
        if not self._live("s3-object"):
            return
        s3 = self._s3()
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": f"{self.run_prefix}/"}
            if token:
                kw["ContinuationToken"] = token
            r, err, _, _ = self._call(s3.list_objects_v2, **kw)
            if err is not None:
                raise RuntimeError(f"listing s3://{self.bucket}/{self.run_prefix}/ failed: {one_line(err)}")
            keys = [{"Key": o["Key"]} for o in r.get("Contents", [])]
            if keys:
                d, err, _, _ = self._call(s3.delete_objects, Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                if err is not None or (d or {}).get("Errors"):
                    raise RuntimeError(f"deleting S3 objects failed: {one_line(err) if err else d['Errors'][0]}")
            if not r.get("IsTruncated"):
                break
            token = r.get("NextContinuationToken")
        r, err, _, _ = self._call(s3.list_objects_v2, Bucket=self.bucket, Prefix=f"{self.run_prefix}/", MaxKeys=1)
        if err is not None or r.get("Contents"):  # confirmed empty, or not marked deleted
            raise RuntimeError(f"s3://{self.bucket}/{self.run_prefix}/ not confirmed empty after deleting"
                               + (f": {one_line(err)}" if err else ""))
        self._mark_deleted("s3-object")

    # ---- polling ---------------------------------------------------------------------------------
    def _wait(self, what: str, describe: Callable[[], str], done: set[str], failed: set[str],
              max_wait: float | None = None) -> str:
        """Poll ``describe`` (returns a status) with exponential backoff until done/failed/timeout."""
        t0 = time.monotonic()
        interval = float(self.poll_interval)
        last = None
        limit = float(self.max_wait if max_wait is None else max_wait)
        while True:
            status = describe()
            if status != last:
                self.ctx.log(f"{self.name}: {what}: {status} ({time.monotonic() - t0:.0f} s)")
                last = status
            if status in done or status in failed:
                return status
            if time.monotonic() - t0 > limit:
                raise TimeoutError(f"{what} still {status} after {limit:.0f} s (max_wait)")
            time.sleep(interval)
            interval = min(interval * 1.5, float(self.max_poll_interval))
