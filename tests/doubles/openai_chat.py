"""A loopback double of the Chat Completions wire format (OpenAI, Azure OpenAI deployments and v1, compatible servers).

What it serves, as the real services do: ``POST /v1/chat/completions``,
``POST /openai/deployments/<deployment>/chat/completions?api-version=...`` and
``POST /openai/v1/chat/completions``; a bearer or ``api-key`` key check (401 otherwise); plain answers,
structured output (``response_format`` json_schema: ``{"label": ...}``), forced tool calls, log-probabilities
(``logprobs`` / ``top_logprobs``), ``usage`` with prompt/completion tokens; RPM/TPM limits as token buckets
(429 with ``retry-after`` and ``retry-after-ms``); scripted faults for the next requests (429, 5xx, a body
that is not JSON, no usage, a dropped connection, an Azure content-filter 400); a fixed latency; and a
meter of the tokens it billed (answered 200s only).

The answer for a text comes from ``oracle`` (text -> label, which may be a non-label), else ``default``
(a callable of the text and the labels).

Label sets (multi-label): a request whose schema (``response_format`` or the tool's ``parameters``) is
``{"labels": {"type": "array", "items": {"enum": [...]}}}`` is answered ``{"labels": [...]}``, compact, as
strict structured output writes it: an ``oracle`` value that is a list (or tuple / set) is the set; a string is
sent verbatim (prose, a hand-made bad array); otherwise ``set_default(text, labels)`` (a list). Fault
``bad_set=`` spoils a 200 answer (billed like any answer): "unknown" (a label outside the enum added),
"prose" (a sentence), "not_array" (``{"labels": "<label>"}``), "bare_string" (``"<label>"``), "extra_key"
(``{"labels": [...], "confidence": 0.9}``) or "truncated" (cut mid-array, ``finish_reason`` "length"). Prompt tokens are counted the way OpenAI documents it: 3 per
message + role + content + 3, with tiktoken's o200k_base when available, else ceil(chars / 4).

Table rows (tabular tasks): the user turn ``Row: <json>`` is the query (``text``). Tabular classification is answered
like any single-label request. A regression request (a schema ``{"value": {"type": "number"}}``, or in text mode a
system prompt asking for "the number only") is answered ``{"value": <x>}`` compact (structured output, tool
arguments) or the bare number (text): an ``oracle`` value that is a number is ``x``; a string is sent verbatim (a
hand-made bad answer); otherwise ``number_default(text)`` (default :func:`row_number`, the sum of the row's numeric
fields). Fault ``bad_number=`` spoils a 200 answer (billed like any answer): "prose" (a sentence), "units"
(``42 kg``), "range" (``40-45``), "thousands" (``1,234``), "string" (``{"value": "42"}``), "empty" (no content)
or "truncated" (cut short, ``finish_reason`` "length"); in structured modes units, ranges and thousands come as
the string value of ``{"value": ...}``, as from a server that ignored the schema.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from baseline.adapters.llm import token_counter

NUMBER_FAULTS = ("prose", "units", "range", "thousands", "string", "empty", "truncated")


def row_number(text: str) -> float:
    """The double's regression answer for a row: the sum of its numeric (non-boolean) fields, 0 for a non-row."""
    try:
        row = json.loads(text)
    except ValueError:
        return 0.0
    if not isinstance(row, dict):
        return 0.0
    return float(sum(v for v in row.values() if isinstance(v, int | float) and not isinstance(v, bool)))


class _Bucket:
    def __init__(self, per_minute: float, burst_s: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.level = self.capacity
        self.t = time.monotonic()

    def take(self, n: float) -> float:
        """0 when taken, else the seconds until ``n`` would fit."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now
        need = min(n, self.capacity)
        if self.level >= need:
            self.level -= n
            return 0.0
        return (need - self.level) / self.rate


class ChatDouble:
    def __init__(self, key: str | None = None, latency: float = 0.0, rpm: float | None = None,
                 tpm: float | None = None, burst_s: float = 1.0, oracle: dict[str, str] | None = None,
                 default: Callable[[str, list[str]], str] | None = None, p_top: float = 0.9,
                 set_default: Callable[[str, list[str]], list[str]] | None = None,
                 number_default: Callable[[str], float] | None = None) -> None:
        self.key = key
        self.latency = latency
        self.oracle: dict[str, Any] = dict(oracle or {})
        self.default = default or (lambda text, labels: labels[0])
        self.set_default = set_default or (lambda text, labels: labels[:1])
        self.number_default = number_default or row_number
        self.p_top = p_top
        self.faults: list[dict[str, Any]] = []
        self.usage_override: tuple[int, int] | None = None
        self.requests: list[dict[str, Any]] = []
        self.meter = {"answered": 0, "prompt_tokens": 0, "completion_tokens": 0, "throttled": 0, "faults": 0}
        self._lock = threading.Lock()
        self._limits = [(_Bucket(rpm, burst_s), "requests")] if rpm else []
        if tpm:
            self._limits.append((_Bucket(tpm, burst_s), "tokens"))
        self.count, self.tokenizer = token_counter("gpt-4o")
        self._server: ThreadingHTTPServer | None = None

    # ---- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> ChatDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                double._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def root(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def fault(self, n: int = 1, **spec: Any) -> None:
        """The next ``n`` requests get this fault: status=429 (retry_after), 500, 503; body="not json";
        no_usage=True; drop=True; status=400 with code="content_filter"; bad_set="unknown" | "prose" |
        "not_array" | "bare_string" | "extra_key" | "truncated" (a label-set answer spoiled, see the module doc);
        bad_number= one of ``NUMBER_FAULTS`` (a regression answer spoiled, see the module doc)."""
        with self._lock:
            self.faults += [dict(spec) for _ in range(n)]

    def calls(self, ok_only: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if not ok_only or r["status"] == 200]

    # ---- serving -------------------------------------------------------------------------------
    def prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        return sum(3 + self.count(str(m.get("role", ""))) + self.count(str(m.get("content") or ""))
                   for m in messages) + 3

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-request-id", f"req_{len(self.requests)}")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str, code: str,
               headers: dict[str, str] | None = None) -> None:
        self._send(h, status, {"error": {"message": message, "type": code, "code": code, "param": None}}, headers)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        rec: dict[str, Any] = {"path": parts.path, "query": parse_qs(parts.query), "status": 0,
                               "authorized": False, "t": time.monotonic()}
        with self._lock:
            self.requests.append(rec)
        ok_path = parts.path in ("/v1/chat/completions", "/openai/v1/chat/completions") or (
            parts.path.startswith("/openai/deployments/") and parts.path.endswith("/chat/completions"))
        if not ok_path:
            rec["status"] = 404
            return self._error(h, 404, f"no route {parts.path}", "not_found")
        if parts.path.startswith("/openai/deployments/"):
            rec["deployment"] = parts.path.split("/")[3]
        given = h.headers.get("api-key") or (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        rec["authorized"] = self.key is None or given == self.key
        if not rec["authorized"]:
            rec["status"] = 401
            return self._error(h, 401, "Incorrect API key provided.", "invalid_api_key")
        body = json.loads(raw or b"{}")
        rec["body"] = body
        labels = self._labels(body)
        msgs = body.get("messages") or []
        text = str(msgs[-1].get("content", "")) if msgs else ""
        text = text.removeprefix("Text: ") if text.startswith("Text: ") else text.removeprefix("Row: ")
        rec["text"] = text
        ptok = self.prompt_tokens(msgs)
        max_out = int(body.get("max_completion_tokens") or body.get("max_tokens") or 16)
        with self._lock:
            spec = self.faults.pop(0) if self.faults else None
            wait = 0.0
            if spec is None:
                for bucket, _what in self._limits:
                    wait = max(wait, bucket.take(1 if _what == "requests" else ptok + max_out))
                if wait:
                    self.meter["throttled"] += 1
            else:
                self.meter["faults"] += 1
        if self.latency:
            time.sleep(self.latency)
        if wait:
            rec["status"] = 429
            return self._error(h, 429, "Rate limit reached", "rate_limit_exceeded",
                               {"retry-after-ms": str(math.ceil(wait * 1000)), "retry-after": f"{wait:.3f}"})
        if spec is not None:
            if spec.get("drop"):
                rec["status"] = -1
                h.close_connection = True
                return
            if spec.get("status") == 429:
                rec["status"] = 429
                ra = float(spec.get("retry_after", 0.05))
                return self._error(h, 429, "Rate limit reached", "rate_limit_exceeded",
                                   {"retry-after": f"{ra:g}", "retry-after-ms": str(int(ra * 1000))})
            if spec.get("status") == 400:
                rec["status"] = 400
                return self._error(h, 400, "The response was filtered due to the prompt triggering Azure "
                                   "OpenAI's content management policy.", spec.get("code", "content_filter"))
            if spec.get("status"):
                rec["status"] = int(spec["status"])
                ra = spec.get("retry_after")
                return self._error(h, rec["status"], "The server had an error", "server_error",
                                   {"retry-after-ms": str(int(float(ra) * 1000))} if ra is not None else None)
        sets = self._is_set_request(body)
        number = not sets and self._is_number_request(body)
        answer = self.oracle.get(text)
        if answer is None:
            answer = self.set_default(text, labels) if sets else self.number_default(text) if number else \
                self.default(text, labels)
        if sets:
            content, value, tool = self._set_content(body, answer)
        elif number:
            content, value, tool = self._number_content(body, answer)
        else:
            content, value, tool = self._content(body, answer)
        finish = "tool_calls" if tool else "stop"
        if sets and spec is not None and spec.get("bad_set"):
            content, finish = self._spoil_set(str(spec["bad_set"]), content, labels, finish)
            value = content
        if number and spec is not None and spec.get("bad_number"):
            content, finish = self._spoil_number(str(spec["bad_number"]), content, body, answer, finish)
            value = content
        ctok = self.count(content)
        usage = self.usage_override or (ptok, ctok)
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish,
                                  "message": {"role": "assistant", "content": None if tool else content,
                                              "refusal": None}}
        if tool:
            name = str(((body.get("tools") or [{}])[0].get("function") or {}).get("name") or "classify")
            choice["message"]["tool_calls"] = [{"id": "call_0", "type": "function",
                                                "function": {"name": name, "arguments": content}}]
        if body.get("logprobs") and not tool:
            choice["logprobs"] = {"content": self._logprobs(content, value, labels, int(body.get("top_logprobs") or 0))}
        resp = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "choices": [choice],
                "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}
        if spec is not None and spec.get("body"):
            rec["status"] = 200
            rec["invalid"] = True
            return self._send(h, 200, str(spec["body"]))
        if spec is not None and spec.get("no_usage"):
            del resp["usage"]
            rec["status"] = 200
            rec["invalid"] = True
            return self._send(h, 200, resp)
        rec["status"] = 200
        with self._lock:
            self.meter["answered"] += 1
            self.meter["prompt_tokens"] += usage[0]
            self.meter["completion_tokens"] += usage[1]
        self._send(h, 200, resp)

    @staticmethod
    def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
        rf = body.get("response_format") or {}
        schema = (rf.get("json_schema") or {}).get("schema")
        if schema is None and body.get("tools"):
            schema = body["tools"][0]["function"]["parameters"]
        return schema

    @classmethod
    def _is_set_request(cls, body: dict[str, Any]) -> bool:
        """Whether the request asks for a label set: a schema whose ``labels`` is an array (or its prompt does)."""
        schema = cls._schema(body)
        if schema:
            return (schema.get("properties") or {}).get("labels", {}).get("type") == "array"
        system = str((body.get("messages") or [{}])[0].get("content", ""))
        return '{"labels": [...]}' in system

    @classmethod
    def _is_number_request(cls, body: dict[str, Any]) -> bool:
        """Whether the request asks for a number: a schema whose ``value`` is a number (or its prompt does)."""
        schema = cls._schema(body)
        if schema:
            return (schema.get("properties") or {}).get("value", {}).get("type") == "number"
        system = str((body.get("messages") or [{}])[0].get("content", ""))
        return "Answer with the number only" in system

    @classmethod
    def _labels(cls, body: dict[str, Any]) -> list[str]:
        schema = cls._schema(body)
        if schema and cls._is_set_request(body):
            return list(schema["properties"]["labels"]["items"]["enum"])
        if cls._is_number_request(body):
            return []
        if schema:
            return list(schema["properties"]["label"]["enum"])
        system = str((body.get("messages") or [{}])[0].get("content", ""))
        return [ln[2:] for ln in system.splitlines() if ln.startswith("- ")]

    @staticmethod
    def _content(body: dict[str, Any], answer: str) -> tuple[str, str, bool]:
        if body.get("tools"):
            return json.dumps({"label": answer}), answer, True
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return json.dumps({"label": answer}, separators=(",", ":")), answer, False
        return answer, answer, False

    @staticmethod
    def _set_content(body: dict[str, Any], answer: Any) -> tuple[str, str, bool]:
        """A label-set answer: a list as compact ``{"labels": [...]}``, a string verbatim."""
        tool = bool(body.get("tools"))
        if isinstance(answer, list | tuple | set | frozenset):
            content = json.dumps({"labels": list(answer)}, separators=(",", ":"))
        else:
            content = str(answer)
        return content, content, tool

    @staticmethod
    def _number_content(body: dict[str, Any], answer: Any) -> tuple[str, str, bool]:
        """A regression answer: a number as compact ``{"value": x}`` (structured) or bare (text), a string verbatim."""
        tool = bool(body.get("tools"))
        structured = tool or (body.get("response_format") or {}).get("type") == "json_schema"
        if isinstance(answer, str):
            content = answer
        elif structured:
            content = json.dumps({"value": answer}, separators=(",", ":"))
        else:
            content = json.dumps(answer)
        return content, content, tool

    @staticmethod
    def _spoil_number(kind: str, content: str, body: dict[str, Any], answer: Any, finish: str) -> tuple[str, str]:
        """A regression answer spoiled as ``kind`` (content, finish_reason)."""
        x = answer if isinstance(answer, int | float) else 42
        structured = bool(body.get("tools")) or (body.get("response_format") or {}).get("type") == "json_schema"
        bad = {"units": f"{x} kg", "range": f"{x}-{x + 5}", "thousands": "1,234"}
        if kind in bad:
            return (json.dumps({"value": bad[kind]}, separators=(",", ":")) if structured else bad[kind]), finish
        if kind == "prose":
            return f"The value is probably about {x}.", finish
        if kind == "string":
            return json.dumps({"value": str(x)}, separators=(",", ":")), finish
        if kind == "empty":
            return "", finish
        if kind == "truncated":
            return content[: max(1, len(content) - 3)], "length"
        raise ValueError(f"unknown bad_number fault {kind!r}; one of {NUMBER_FAULTS}")

    @staticmethod
    def _spoil_set(kind: str, content: str, labels: list[str], finish: str) -> tuple[str, str]:
        """A label-set answer spoiled as ``kind`` (content, finish_reason)."""
        first = labels[0] if labels else "x"
        if kind == "unknown":
            return json.dumps({"labels": [first, "not-a-label"]}, separators=(",", ":")), finish
        if kind == "prose":
            return f"The text is about {first}, I think.", finish
        if kind == "not_array":
            return json.dumps({"labels": first}, separators=(",", ":")), finish
        if kind == "bare_string":
            return json.dumps(first), finish
        if kind == "extra_key":
            return json.dumps({"labels": [first], "confidence": 0.9}, separators=(",", ":")), finish
        if kind == "truncated":
            return content[: max(1, len(content) - 4)], "length"
        raise ValueError(f"unknown bad_set fault {kind!r}")

    def _logprobs(self, content: str, value: str, labels: list[str], top: int) -> list[dict[str, Any]]:
        """The content in tokens: the text before the label as one token, the label in 3-character pieces."""
        start = content.find(value)
        pieces = ([content[:start]] if start > 0 else []) + [value[k:k + 3] for k in range(0, len(value), 3)]
        tail = content[start + len(value):]
        pieces += [tail] if tail else []
        out = []
        for k, piece in enumerate(pieces):
            first = start >= 0 and k == (1 if start > 0 else 0)
            lp = math.log(self.p_top) if first else 0.0
            alts = [{"token": piece, "logprob": lp}]
            if first and top > 1:
                others = list(dict.fromkeys(lab[:3] for lab in labels if lab[:3] != piece))[: top - 1]
                rest = (1 - self.p_top) / max(1, len(others))
                alts += [{"token": o, "logprob": math.log(rest)} for o in others]
            out.append({"token": piece, "logprob": lp, "bytes": list(piece.encode()), "top_logprobs": alts[:top]})
        return out
