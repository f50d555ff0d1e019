"""A loopback HTTP double of Google Cloud Natural Language that speaks its REST wire format.

It serves what ``google-cloud-language`` 2.x sends with ``transport="rest"``: ``POST
/v1/documents:analyzeSentiment``, ``/v2/documents:analyzeSentiment``, ``/v1/documents:classifyText`` and
``/v2/documents:classifyText`` (JSON bodies in camelCase, ``{"document": {"type": "PLAIN_TEXT",
"content": ..., "languageCode"|"language": ...}}``), plus an OAuth 2 token endpoint (``POST /token``) so
the real google-auth credential chain (an ``authorized_user`` file named by
GOOGLE_APPLICATION_CREDENTIALS whose ``token_uri`` points here) refreshes against it. Every API call must
carry ``Authorization: Bearer <the token this double issued>``, else 401 with Google's error body.

Errors follow Google's JSON error shape ``{"error": {"code", "message", "status", "details"}}``: 400
INVALID_ARGUMENT (empty text; classify with too few tokens on v1), 401 UNAUTHENTICATED, 429
RESOURCE_EXHAUSTED (``throttle_next(n)``, with the quota ErrorInfo detail and a Retry-After header), 500
INTERNAL, 503 UNAVAILABLE. Faults (``inject(kind, times=)``): ``malformed`` (a 200 whose body is cut short),
``no_sentiment`` (a 200 without documentSentiment), ``bad_score`` (score outside [-1, 1]), ``bad_category``
(a category name that is not a taxonomy path), ``drop`` (the connection closed with no answer).

Billing meter: Google bills units of 1,000 Unicode characters per request, rounded up (the pricing page's
example: 800 + 1,500 + 600 characters = 4 units), per feature. ``meter`` counts the units of every request
the service processed (answered with a 200, or processed and then spoiled by a fault); refused requests
(4xx, 429, 503) are not billed.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("malformed", "no_sentiment", "bad_score", "bad_category", "drop", "server_error")
BODY_429 = {"error": {
    "code": 429,
    "message": "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
               "'language.googleapis.com' for consumer 'project_number:000000000000'.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                 "domain": "googleapis.com",
                 "metadata": {"service": "language.googleapis.com", "quota_metric": "language.googleapis.com/requests",
                              "quota_limit": "RequestsPerMinutePerProject", "consumer": "projects/000000000000"}}]}}
BODY_401 = {"error": {
    "code": 401,
    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
               "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "status": "UNAUTHENTICATED"}}
BODY_EMPTY = {"error": {"code": 400, "message": "The document is empty.", "status": "INVALID_ARGUMENT"}}
BODY_FEW_TOKENS = {"error": {"code": 400, "message": "Invalid text content: too few tokens (words) to process.",
                             "status": "INVALID_ARGUMENT"}}
BODY_500 = {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}

POSITIVE_WORDS = {"love", "great", "excellent", "happy", "superb", "good", "wonderful", "best", "fantastic"}
NEGATIVE_WORDS = {"awful", "broken", "refund", "angry", "terrible", "bad", "worst", "hate", "poor"}
TOPICS = {"football": "/Sports/Team Sports/Soccer", "goal": "/Sports/Team Sports/Soccer",
          "stock": "/Finance/Investing/Stocks & Bonds", "bank": "/Finance/Banking",
          "election": "/News/Politics", "movie": "/Arts & Entertainment/Movies",
          "recipe": "/Food & Drink/Cooking & Recipes", "laptop": "/Computers & Electronics/Consumer Electronics"}


def units(text: str, unit_chars: int = 1000) -> int:
    """Billed units of one request: started 1,000 Unicode characters (code points)."""
    return max(1, math.ceil(len(text) / unit_chars))


def lexicon_sentiment(text: str) -> tuple[float, float]:
    """Deterministic stand-in for the model: (score in [-1, 1], magnitude >= 0) from a few words."""
    words = re.findall(r"[a-z']+", text.lower())
    pos = sum(w in POSITIVE_WORDS for w in words)
    neg = sum(w in NEGATIVE_WORDS for w in words)
    if not pos and not neg:
        return 0.0, 0.1
    return round((pos - neg) / (pos + neg) * 0.9, 3), round(0.8 * (pos + neg), 3)


def keyword_categories(text: str) -> list[tuple[str, float]]:
    found: dict[str, float] = {}
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in TOPICS:
            found[TOPICS[w]] = max(found.get(TOPICS[w], 0.0), 0.9 - 0.1 * len(found))
    return sorted(found.items(), key=lambda kv: -kv[1])


class GoogleLanguageDouble:
    """Start it, point the client's ``api_endpoint`` at ``endpoint``, read ``requests`` and ``meter``."""

    def __init__(self, *, sentiment: Callable[[str], tuple[float, float]] = lexicon_sentiment,
                 classify: Callable[[str], list[tuple[str, float]]] = keyword_categories,
                 retry_after: str | None = "0", min_classify_tokens_v1: int = 20) -> None:
        self.sentiment, self.classify = sentiment, classify
        self.retry_after = retry_after
        self.min_classify_tokens_v1 = min_classify_tokens_v1
        self.tokens_issued: list[str] = []
        self.service_accounts: set[str] = set()
        self.jwts_seen = 0
        self.token_requests = 0
        self.requests: list[dict[str, Any]] = []
        self.meter: dict[str, int] = {}
        self.faults_served: dict[str, int] = {}
        self._throttle_next = 0
        self._unavailable_next = 0
        self._faults: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ---- life cycle ------------------------------------------------------------------------
    def start(self) -> GoogleLanguageDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() the double first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return self.endpoint + "/token"

    # ---- knobs -----------------------------------------------------------------------------
    def throttle_next(self, n: int) -> None:
        """Answer the next ``n`` API requests with 429 RESOURCE_EXHAUSTED (quota exceeded) + Retry-After."""
        with self._lock:
            self._throttle_next += n

    def unavailable_next(self, n: int) -> None:
        """Answer the next ``n`` API requests with 503 UNAVAILABLE (not processed, not billed)."""
        with self._lock:
            self._unavailable_next += n

    def inject(self, kind: str, *, times: int = 1) -> None:
        """Spoil the answer to the next ``times`` processed requests (billed: the work was done)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append({"kind": kind, "left": times})

    def accepts(self, bearer: str) -> bool:
        """An access token this double issued, or a self-signed service-account JWT (what google-auth sends
        with ``always_use_jwt_access``) whose issuer is one of ``service_accounts`` and audience this API."""
        if bearer in self.tokens_issued:
            return True
        parts = bearer.split(".")
        if len(parts) != 3:
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return False
        with self._lock:
            self.jwts_seen += 1
        return claims.get("iss") in self.service_accounts and claims.get("exp", 0) > time.time()

    def _next_fault(self) -> str | None:
        with self._lock:
            for f in self._faults:
                if f["left"] > 0:
                    f["left"] -= 1
                    self.faults_served[f["kind"]] = self.faults_served.get(f["kind"], 0) + 1
                    return f["kind"]
        return None


class _Handler(BaseHTTPRequestHandler):
    double: GoogleLanguageDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        d = self.double
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] == "/token":
            form = raw.decode()
            with d._lock:
                d.token_requests += 1
                tok = "ya29.PLANTEDdoubleToken" + uuid.uuid4().hex
                d.tokens_issued.append(tok)
            if "grant_type=" not in form:
                return self._send(400, {"error": "unsupported_grant_type"})
            return self._send(200, {"access_token": tok, "expires_in": 3599, "token_type": "Bearer",
                                    "scope": "https://www.googleapis.com/auth/cloud-platform"})
        m = re.fullmatch(r"/(v1|v2)/documents:(analyzeSentiment|classifyText)", self.path.split("?")[0])
        if not m:
            return self._send(404, {"error": {"code": 404, "message": f"Method not found: {self.path}",
                                              "status": "NOT_FOUND"}})
        version, op = m.groups()
        auth = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": {"code": 400, "message": "Invalid JSON payload received.",
                                              "status": "INVALID_ARGUMENT"}})
        doc = body.get("document") or {}
        content = str(doc.get("content", ""))
        with d._lock:
            d.requests.append({"version": version, "op": op, "body": body,
                               "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"}})
        if not auth.startswith("Bearer ") or not d.accepts(auth[7:]):
            return self._send(401, BODY_401, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        with d._lock:
            throttled = d._throttle_next > 0
            d._throttle_next -= int(throttled)
            unavailable = not throttled and d._unavailable_next > 0
            d._unavailable_next -= int(unavailable)
        if throttled:
            return self._send(429, BODY_429, {"Retry-After": d.retry_after} if d.retry_after else {})
        if unavailable:
            return self._send(503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                                              "status": "UNAVAILABLE"}})
        if doc.get("type") not in ("PLAIN_TEXT", 1) or not content.strip():  # enum-encoding=int: 1
            return self._send(400, BODY_EMPTY)
        lang_key = "language" if version == "v1" else "languageCode"
        if op == "classifyText" and version == "v1" and len(content.split()) < d.min_classify_tokens_v1:
            return self._send(400, BODY_FEW_TOKENS)
        # processed from here on: billed
        feature = "sentiment_units" if op == "analyzeSentiment" else "classification_units"
        with d._lock:
            d.meter[feature] = d.meter.get(feature, 0) + units(content)
        fault = d._next_fault()
        if op == "analyzeSentiment":
            score, magnitude = d.sentiment(content)
            ans: dict[str, Any] = {"documentSentiment": {"magnitude": magnitude, "score": score},
                                   lang_key: doc.get(lang_key) or "en",
                                   "sentences": [{"text": {"content": content, "beginOffset": -1},
                                                  "sentiment": {"magnitude": magnitude, "score": score}}]}
            if fault == "no_sentiment":
                ans.pop("documentSentiment")
            if fault == "bad_score":
                ans["documentSentiment"]["score"] = 3.5
        else:
            ans = {"categories": [{"name": n, "confidence": c} for n, c in d.classify(content)]}
            if version == "v2":
                ans.update(languageCode=doc.get(lang_key) or "en", languageSupported=True)
            if fault == "bad_category":
                ans["categories"] = [{"name": "Sports", "confidence": 0.9}]
        if version == "v2" and op == "analyzeSentiment":
            ans["languageSupported"] = True
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "server_error":
            return self._send(500, BODY_500)
        data = json.dumps(ans).encode()
        if fault == "malformed":
            data = data[: len(data) // 2]
        return self._send(200, data)
