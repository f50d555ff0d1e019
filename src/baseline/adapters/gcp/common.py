"""Google Cloud Natural Language: what the two adapters share (credentials, client, retries, billing).

``google-cloud-language`` (extra ``gcp``) is imported lazily, so this module imports and estimates run
without it. The client is the real ``LanguageServiceClient`` (``language_v2`` by default, ``language_v1``
with ``api_version = "v1"``) on its REST transport, so ``api_endpoint`` can point it anywhere (the tests
point it at a loopback double of the service's REST wire format).

Credentials: Application Default Credentials only (``google.auth.default``): the key file named by
GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file (``gcloud auth application-default login``), or the
metadata server on Google Cloud. None found → unavailable with one line. Keys are never read from
baseline.toml (a ``key``/``api_key``/``credentials`` option is refused). What the credential chain holds
(private key id, client secret, refresh token, access tokens) is registered for redaction.

Options shared by both adapters (``[adapters.<name>]``): ``api_endpoint`` (host or URL; default the
client's, language.googleapis.com), ``api_version`` ("v2" | "v1"), ``language`` ("en"; "" lets the service
detect it), ``quota_project`` (the project billed and whose quota is used, when not the credential's),
``max_concurrency`` (requests in flight, 4), ``max_rps`` (client-side pacing, 10/s: the default quota is
600 requests a minute), ``max_attempts`` (HTTP attempts per request incl. the first, 5), ``backoff_base`` /
``backoff_max`` (exponential backoff, 0.5 s / 30 s; a Retry-After header wins), ``timeout`` (seconds per
attempt, 60), ``answer_attempts`` (times a request whose 200 answer does not validate is asked again, 3),
``max_consecutive_failures`` (requests failing in a row after retries before the adapter gives up, 5),
``units_used_this_month`` (billing position in the month, see below).

Retries: the adapter retries itself (google-api-core's Retry ignores Retry-After and does not count):
429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, 500 INTERNAL, 504 and dropped connections are retried with
backoff; every retry and every 429 is counted per request. Still failing after ``max_attempts`` → the
text is an item error, never an abstention. A 400 INVALID_ARGUMENT (empty document, too few tokens to
classify, unsupported language) is that text's item error; 401/403 are a configuration error (one line).

Answers are validated: a sentiment answer needs a documentSentiment with a score in [-1, 1] and a
magnitude >= 0; a classification answer's categories need taxonomy paths ("/Sports/...") and confidences
in [0, 1]. An answer that does not parse or validate is asked again, then becomes an item error.

Billing: one document per request; Google bills units of 1,000 Unicode characters per request, rounded
up, with monthly volume tiers and a free allowance (price rows ``gcp_language.sentiment`` /
``gcp_language.classification``). The free allowance is reported, not silently subtracted: by default the
run is priced as if this month's free units are already used (``units_used_this_month`` defaults to the
free allowance); set it to the units your project has used this month (0 for a fresh project) and the
free tier and volume tiers are applied from there. Possibly billed: an attempt the service may have
processed with no usable answer back (dropped connection or read timeout after sending, 500/504, a 200
that does not validate) is counted at what it would bill; 400, 401/403, 429 and 503 are refusals, not billed.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from baseline.adapters.base import (
    Adapter,
    AdapterContext,
    AdapterGaveUp,
    Availability,
    BatchResult,
    Cost,
    Opt,
)
from baseline.adapters.cloud import InvalidAnswer, RateLimiter, truncate_utf8
from baseline.costs import PriceTable
from baseline.errors import AdapterUnavailable, BadInput
from baseline.redact import one_line, redact, register_secret

ENV_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
SCOPES = ("https://www.googleapis.com/auth/cloud-language", "https://www.googleapis.com/auth/cloud-platform")
DEFAULT_HOST = "language.googleapis.com"
MAX_CONTENT_BYTES = 1_000_000   # document content limit per request
NO_CREDENTIALS = ("no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a key file, or run "
                  "`gcloud auth application-default login`")
UNIT = "gcp_language_units"


# ---- billing -------------------------------------------------------------------------------------------

def gcp_language_units(text: str, unit_chars: int = 1000) -> int:
    """Units one request bills: started ``unit_chars`` Unicode characters (code points), at least one."""
    return max(1, math.ceil(len(text) / unit_chars))


def tiered_usd(units: float, row: dict[str, Any], start: float) -> float:
    """USD for ``units`` more units this month, the month already at ``start`` units.

    ``row``: ``free_units_per_month`` (priced 0), then ``tier_usd_per_unit[i]`` up to ``tier_upto_units[i]``
    cumulative units this month, the last price open-ended.
    """
    free = float(row.get("free_units_per_month", 0))
    bounds = [free] + [float(b) for b in row.get("tier_upto_units", [])]
    prices = [0.0] + [float(p) for p in row["tier_usd_per_unit"]]
    if len(prices) != len(bounds) + 1:
        raise BadInput("price row: tier_usd_per_unit needs one price more than tier_upto_units")
    usd, lo, left = 0.0, float(start), float(units)
    for upper, price in zip(bounds + [math.inf], prices, strict=True):
        if left <= 0:
            break
        if lo >= upper:
            continue
        take = min(left, upper - lo)
        usd += take * price
        lo += take
        left -= take
    return usd


# ---- credentials ---------------------------------------------------------------------------------------

def _adc_well_known_file() -> Path:
    cfg = os.environ.get("CLOUDSDK_CONFIG")
    if cfg:
        return Path(cfg) / "application_default_credentials.json"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", "")) / "gcloud" / "application_default_credentials.json"
    return Path.home() / ".config" / "gcloud" / "application_default_credentials.json"


def credentials_problem() -> str | None:
    """None when Application Default Credentials can be found without a network call, else one line."""
    named = os.environ.get(ENV_CREDENTIALS)
    if named:
        return None if Path(named).is_file() else f"{ENV_CREDENTIALS} names {named!r}, which is not a file"
    if _adc_well_known_file().is_file():
        return None
    if os.environ.get("GCE_METADATA_HOST") or os.environ.get("GCE_METADATA_IP"):
        return None
    try:
        product = Path("/sys/class/dmi/id/product_name").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        product = ""
    if product.strip().startswith("Google"):  # a Google Cloud VM: the metadata server holds credentials
        return None
    return NO_CREDENTIALS


def register_google_secrets(credentials: Any = None) -> None:
    """Mask what the credential chain holds: the key file's secrets and the current access token."""
    named = os.environ.get(ENV_CREDENTIALS)
    files = [Path(named)] if named else []
    files.append(_adc_well_known_file())
    for f in files:
        try:
            info = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict):
            register_secret(*(info.get(k) for k in ("private_key", "private_key_id", "client_secret",
                                                    "refresh_token")))
    token = getattr(credentials, "token", None) if credentials is not None else None
    if isinstance(token, str):
        register_secret(token)


# ---- the shared base -----------------------------------------------------------------------------------

class _GoogleLanguage(Adapter):
    """Credentials, per-thread clients, explicit retries with counting, validation and tiered billing."""

    family = "cloud"
    paid = True
    credentials_from = ("Google credentials come only from Application Default Credentials "
                        "(GOOGLE_APPLICATION_CREDENTIALS or gcloud)")
    extra = "gcp"
    requires = ("google.cloud.language_v2", "google.cloud.language_v1")
    local_compute = False
    warmup = False
    learns = False
    batch_size = 1            # the API analyses one document per request
    max_concurrency = 4
    price_row: ClassVar[tuple[str, str]] = ("gcp_language", "sentiment")
    rpc: ClassVar[str] = ""   # "analyzeSentiment" | "classifyText"
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "api_endpoint": Opt("str"), "api_version": Opt("str", choices=("v2", "v1")), "language": Opt("str"),
        "quota_project": Opt("str"), "max_concurrency": Opt("int", lo=1), "max_rps": Opt("float", lo=0),
        "max_attempts": Opt("int", lo=1), "backoff_base": Opt("float", lo=0), "backoff_max": Opt("float", lo=0),
        "timeout": Opt("float", lo=0, lo_open=True), "answer_attempts": Opt("int", lo=1),
        "max_consecutive_failures": Opt("int", lo=1), "units_used_this_month": Opt("int", lo=0, nullable=True)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.check_options(ctx.options)
        o = ctx.option
        self.api_endpoint = o("api_endpoint") or None
        self.api_version = str(o("api_version", "v2"))
        self.language = str(o("language", "en"))
        self.quota_project = o("quota_project")
        self.max_concurrency = int(o("max_concurrency", type(self).max_concurrency))
        rps = o("max_rps", 10.0)
        self._limiter = RateLimiter(float(rps) if rps else None)
        self.max_attempts = int(o("max_attempts", 5))
        self.backoff_base = float(o("backoff_base", 0.5))
        self.backoff_max = float(o("backoff_max", 30.0))
        self.timeout = float(o("timeout", 60.0))
        self.answer_attempts = int(o("answer_attempts", 3))
        self.max_failures = int(o("max_consecutive_failures", 5))
        row = self._row()
        used = o("units_used_this_month")
        self.month_start = float(row.get("free_units_per_month", 0) if used is None else used)
        self._month_pos = self.month_start
        self._pos_lock = threading.Lock()
        self._fail_lock = threading.Lock()
        self._failures_in_row = 0
        self._local = threading.local()
        self._credentials: Any = None
        self._rng = random.Random(ctx.seed)

    # ---- discovery -------------------------------------------------------------------------------------
    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        base = super().availability(task, options)
        if not base.ok:
            return base
        problem = credentials_problem()
        return Availability.no(problem) if problem else Availability.yes()

    def endpoint_description(self) -> str:
        host = self.api_endpoint or DEFAULT_HOST
        return f"Google Cloud Natural Language {self.api_version} documents:{self.rpc} at {host}"

    # ---- billing ---------------------------------------------------------------------------------------
    def _row(self, prices: PriceTable | None = None) -> dict[str, Any]:
        return (prices or self.ctx.prices).row(*self.price_row)

    def _units(self, text: str) -> int:
        return gcp_language_units(text, int(self._row().get("unit_chars", 1000)))

    def _sendable(self, text: str) -> tuple[str, bool]:
        return truncate_utf8(text, MAX_CONTENT_BYTES)

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        """Units of what would be sent × the tiered price from this month's position; no calls."""
        n = sum(self._units(self._sendable(t)[0]) for t in texts if t.strip())
        row = self._row()
        usd = tiered_usd(n, row, self.month_start)
        free = int(row.get("free_units_per_month", 0))
        where = ("free tier assumed used (set units_used_this_month to count it)"
                 if self.month_start >= free else f"from {int(self.month_start):,} units used this month")
        return Cost(usd, {UNIT: float(n)},
                    note=f"{n:,} units (1,000 characters per request) × {'.'.join(self.price_row)}, {where}")

    def _bill(self, units: int, confirm: bool) -> Cost:
        """Cost of one request's units at the month's current tier; ``confirm`` moves the position."""
        with self._pos_lock:
            usd = tiered_usd(units, self._row(), self._month_pos)
            if confirm:
                self._month_pos += units
        return Cost(usd, {UNIT: float(units)})

    # ---- clients ---------------------------------------------------------------------------------------
    def load(self) -> None:
        """Resolve Application Default Credentials and build this thread's client (no API call)."""
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            creds, _project = google.auth.default(scopes=list(SCOPES), quota_project_id=self.quota_project)
        except DefaultCredentialsError as e:
            problem = credentials_problem() or one_line(e)
            raise AdapterUnavailable(f"{problem}" if problem == NO_CREDENTIALS else f"Google credentials: {problem}") from None
        self._credentials = creds
        register_google_secrets(creds)
        self.notes.append(f"credentials: Application Default Credentials ({type(creds).__name__})")
        self._client()

    def _module(self) -> Any:
        if self.api_version == "v1":
            from google.cloud import language_v1 as mod
        else:
            from google.cloud import language_v2 as mod
        return mod

    def _client(self) -> Any:
        c = getattr(self._local, "client", None)
        if c is None:
            from google.api_core.client_options import ClientOptions

            mod = self._module()
            opts = ClientOptions(api_endpoint=self.api_endpoint) if self.api_endpoint else None
            c = mod.LanguageServiceClient(credentials=self._credentials, transport="rest", client_options=opts)
            self._local.client = c
        return c

    def _document(self, text: str) -> Any:
        mod = self._module()
        lang = {"language" if self.api_version == "v1" else "language_code": self.language} if self.language else {}
        return mod.Document(content=text, type_=mod.Document.Type.PLAIN_TEXT, **lang)

    def teardown(self) -> None:
        """Nothing billable is created; drop the clients (their HTTP sessions close with them)."""
        self._local = threading.local()

    # ---- one request, retried and counted --------------------------------------------------------------
    def _backoff(self, attempt: int, err: Any) -> float:
        resp = getattr(err, "response", None)
        after = getattr(resp, "headers", {}).get("Retry-After") if resp is not None else None
        if after is not None:
            try:
                return min(self.backoff_max, max(0.0, float(after)))
            except ValueError:
                pass
        return min(self.backoff_max, self.backoff_base * (2 ** attempt)) * (0.5 + self._rng.random() / 2)

    def _send(self, call: Callable[[Any], Any], out: BatchResult, bill: Cost) -> tuple[Any, str, bool]:
        """One request with HTTP retries: (answer, "", _) or (None, reason, per_item).

        ``per_item``: the service refused this text (400), an item error that is not a failure in a row.
        A body that does not parse comes back as (None, "invalid: ...", False) for the answer loop.
        """
        import requests
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as aexc
        from google.protobuf.json_format import ParseError

        reason = ""
        last: Exception | None = None
        for attempt in range(self.max_attempts):
            out.retries += int(attempt > 0)
            out.queued_ms += self._limiter.wait()
            try:
                answer = call(self._client())
                register_google_secrets(self._credentials)
                return answer, "", False
            except gexc.TooManyRequests as e:
                out.throttles += 1
                last = e
                reason = f"still throttled (HTTP 429 {getattr(e, 'reason', None) or 'RESOURCE_EXHAUSTED'}) after " \
                         f"{self.max_attempts} attempts: lower max_rps or max_concurrency, or raise the quota"
            except gexc.ServiceUnavailable as e:
                last = e
                reason = f"HTTP 503 after {self.max_attempts} attempts: {self._message(e)}"
            except (gexc.InternalServerError, gexc.GatewayTimeout, gexc.DeadlineExceeded) as e:
                out.unconfirmed = out.unconfirmed + bill  # processed, maybe billed, no answer
                last = e
                reason = f"HTTP {e.code} after {self.max_attempts} attempts: {self._message(e)}"
            except (gexc.Unauthorized, gexc.PermissionDenied) as e:
                raise BadInput(f"{self.name}: Google Cloud Natural Language refused the credentials "
                               f"(HTTP {e.code}): {self._message(e)[:160]}; check {ENV_CREDENTIALS} / gcloud ADC, "
                               "that the API is enabled and the project can use it") from None
            except (gexc.BadRequest, gexc.InvalidArgument) as e:
                return None, f"HTTP 400 INVALID_ARGUMENT: {self._message(e)}", True
            except gexc.NotFound as e:
                raise BadInput(f"{self.name}: HTTP 404 from {self.api_endpoint or DEFAULT_HOST}: check api_endpoint "
                               f"and api_version ({self._message(e)[:120]})") from None
            except gexc.GoogleAPICallError as e:
                raise RuntimeError(f"Google Cloud Natural Language refused the request (HTTP {e.code}): "
                                   f"{self._message(e)}") from None
            except aexc.RefreshError as e:
                raise BadInput(f"{self.name}: Google credentials could not be refreshed: {one_line(e)}") from None
            except (requests.ConnectTimeout, aexc.TransportError) as e:
                last = e
                reason = f"could not reach {self.api_endpoint or DEFAULT_HOST}: {one_line(e)}"  # never sent
            except (requests.ConnectionError, requests.Timeout) as e:
                last = e
                if "NewConnectionError" in repr(e) or "Failed to establish" in str(e):
                    reason = f"could not reach {self.api_endpoint or DEFAULT_HOST}: {one_line(e)}"
                else:  # sent, then no answer: possibly billed
                    out.unconfirmed = out.unconfirmed + bill
                    reason = f"no answer ({type(e).__name__}) after {self.max_attempts} attempts"
            except (ParseError, ValueError, TypeError, KeyError) as e:
                return None, f"invalid: the answer does not parse ({type(e).__name__}: {one_line(e)[:120]})", False
            if attempt + 1 < self.max_attempts:
                time.sleep(self._backoff(attempt, last))
        return None, reason, False

    def _ask(self, text: str, call: Callable[[Any], Any], validate: Callable[[Any], None],
             out: BatchResult, k: int) -> Any | None:
        """Send one text until its answer validates; on failure record item ``k``'s error and return None."""
        units = self._units(text)
        bill = self._bill(units, confirm=False)
        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            answer, reason, per_item = self._send(call, out, bill)
            if per_item:
                out.errors[k] = redact(reason)
                return None
            if answer is None and not reason.startswith("invalid:"):
                self._request_failed(reason, out, k)
                return None
            if answer is not None:
                try:
                    validate(answer)
                except InvalidAnswer as e:
                    reason = f"invalid: {e}"
            if reason.startswith("invalid:"):
                out.unconfirmed = out.unconfirmed + bill  # a 200 came back: the work was done
                problem = reason[len("invalid: "):]
                continue
            with self._fail_lock:
                self._failures_in_row = 0
            out.cost = out.cost + self._bill(units, confirm=True)
            return answer
        self._request_failed(f"invalid answer after {self.answer_attempts} attempts: {problem}", out, k)
        return None

    def _request_failed(self, msg: str, out: BatchResult, k: int) -> None:
        msg = redact(msg)
        out.errors[k] = msg
        with self._fail_lock:
            self._failures_in_row += 1
            n = self._failures_in_row
        if n >= self.max_failures:
            raise AdapterGaveUp(f"{n} requests in a row failed after retries, giving up: {msg}", out)

    @staticmethod
    def _message(e: Any) -> str:
        return redact(str(getattr(e, "message", None) or e).splitlines()[0])

    def _prepare(self, texts: list[str]) -> tuple[BatchResult, list[tuple[int, str]]]:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        todo = []
        for i, t in enumerate(texts):
            if not t.strip():
                out.errors[i] = "empty text: not sent (the API refuses empty documents)"
                continue
            sent, cut = self._sendable(t)
            out.truncated += int(cut)
            todo.append((i, sent))
        return out, todo

    def _identity(self, **parts: Any) -> str:
        return json.dumps({"adapter": self.name, "api": self.api_version, "rpc": self.rpc, "language": self.language,
                           "max_bytes": MAX_CONTENT_BYTES, "labels": self.ctx.labels,
                           "map": sorted((self.ctx.label_map or {}).items()), **parts}, sort_keys=True, default=str)
