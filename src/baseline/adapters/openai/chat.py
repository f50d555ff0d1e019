"""``openai-llm``: an LLM behind the Chat Completions API as a zero-/few-shot classifier (extra ``[openai]``).

Through the official ``openai`` SDK, by its own conventions:

- **OpenAI**: ``OPENAI_API_KEY``; ``model`` from config.
- **Any OpenAI-compatible server** (vLLM, Ollama, LM Studio, a LiteLLM proxy, other providers'
  compatibility endpoints): ``base_url`` option or ``OPENAI_BASE_URL``. A loopback or private-network
  server needs no key; another host takes ``OPENAI_API_KEY`` (or the variable ``api_key_env`` names).
- **Azure OpenAI**: ``azure_endpoint`` option or ``AZURE_OPENAI_ENDPOINT``, key ``AZURE_OPENAI_API_KEY``
  (or an Entra ID token in ``AZURE_OPENAI_AD_TOKEN``). With ``api_version`` (or ``OPENAI_API_VERSION``)
  the SDK's ``AzureOpenAI`` client calls ``/openai/deployments/<deployment>/chat/completions``; without
  it, the v1 endpoint ``<endpoint>/openai/v1/``. The deployment is ``azure_deployment`` (default: ``model``).

Keys are never read from baseline.toml (an ``api_key`` there makes the adapter unavailable); the key in
use is registered for redaction. Prompting, few-shot selection, parsing, token counting and prices are
the shared LLM core (``baseline.adapters.llm``); this module only talks to the service.

Answers: ``answer_format`` "json_schema" (default: structured output, ``{"label": <enum of the
dataset's labels>}``), "tool" (a forced function call with that schema) or "text" (strict parsing).
Anything that is not a label is an abstention (the raw answer kept); ``finish_reason`` "content_filter"
or a refusal is an abstention too. Class scores come from ``logprobs`` when the server returns them.
A response that is not a Chat Completion (malformed body, no choices, no usage) is asked again up to
``answer_attempts`` times, then its text is an item error, never an abstention.

Multi-label (``ctx.task`` "multi-label-text-classification"): the same three formats answer a label set as
``{"labels": [...]}`` whose items are an enum of the labels (``response_format`` json_schema "label_set",
strict; or the forced function "record_labels"), parsed strictly by ``llm.parse_label_set``: an empty array
is the empty set, anything else (prose, an unknown label, a non-array, a cut-off answer) is an item error,
never an abstention (a refusal or content filter stays an abstention). Few-shot examples show sets, the
task is part of the template id and cache identity, log-probabilities are not requested (scores are the
set's 0/1 indicators), ``max_tokens`` defaults to the every-label answer + 12, and the estimate prices the
expected answer (mean answer tokens over train's label sets, at most ``max_tokens``).

Tables (``ctx.task`` "tabular-classification" / "tabular-regression"): each item is one JSON row of named features,
sent whole as ``Row: <json>`` (a row over ``max_chars`` is an item error, never cut). Classification is the
single-label answer above (the same enum schema, tool, parsing and log-probability scores) under a system prompt
that says the input is a table row; few-shot examples are rows with their class. Regression answers one number:
``response_format`` json_schema "regression" (strict) or the forced function "record_value", both
``{"value": <number>}``, or in "text" the bare number, read strictly by ``llm.parse_number`` (a plain decimal number;
prose, units, ranges, thousands separators, a string, an empty or cut-off answer are item errors, billed, not
re-asked); few-shot examples are train rows at the target's quantiles (``few_shot_selection`` "quantiles", default);
``max_tokens`` defaults to 16 (text) or 24 (structured); no log-probabilities; the estimate prices the expected
answer (train targets' mean answer tokens). Option ``target`` names the target column in the prompt. The task is
part of the template id and cache identity.

Rate limits: ``rpm`` / ``tpm`` pacing (each request reserves its counted prompt tokens + max_tokens),
``max_concurrency`` requests in flight, the SDK's retries (``max_retries``; it honours ``Retry-After`` /
``retry-after-ms``), every attempt, retry and 429 counted. Spend: the response's ``usage`` priced per
token; an attempt that may have been processed with no answer back (5xx other than 503, connection lost
after sending, an invalid 200) is counted as possibly billed at the estimate.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from baseline.adapters import llm
from baseline.adapters.base import (
    RANK_PREBUILT_API,
    Adapter,
    AdapterContext,
    AdapterGaveUp,
    Availability,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
    is_multilabel,
)
from baseline.adapters.cloud import InvalidAnswer
from baseline.errors import BadInput
from baseline.redact import one_line, redact, register_secret

API = "chat.completions"
FORMATS = ("json_schema", "tool", "text")
LOCAL_HOSTS = ("localhost", "host.docker.internal")


def _is_local(url: str | None) -> bool:
    host = (urlsplit(url or "").hostname or "").lower()
    if host in LOCAL_HOSTS or host.endswith((".local", ".localhost")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified


def connection(options: dict[str, Any]) -> dict[str, Any]:
    """Which service and how: kind ("openai" | "compatible" | "azure" | "azure-v1"), url, key env, key, version."""
    o, env = options, os.environ
    base = o.get("base_url")
    azure = o.get("azure_endpoint")
    if not base and not azure:
        base = env.get("OPENAI_BASE_URL")
        azure = None if base else env.get("AZURE_OPENAI_ENDPOINT")
    if azure:
        version = o.get("api_version") or env.get("OPENAI_API_VERSION")
        key_env = o.get("api_key_env") or "AZURE_OPENAI_API_KEY"
        return {"kind": "azure" if version else "azure-v1", "url": str(azure).rstrip("/"), "key_env": key_env,
                "key": env.get(key_env), "ad_token": env.get("AZURE_OPENAI_AD_TOKEN"), "api_version": version,
                "deployment": o.get("azure_deployment") or o.get("model")}
    key_env = o.get("api_key_env") or "OPENAI_API_KEY"
    return {"kind": "compatible" if base else "openai", "url": str(base or "https://api.openai.com/v1"),
            "key_env": key_env, "key": env.get(key_env), "local": _is_local(base) if base else False}


class _Stats(threading.local):
    """Per-thread counts for the call in flight on that thread, fed by the HTTP client's hooks."""

    def __init__(self) -> None:
        self.attempts = self.responses = self.throttles = self.unconfirmed = 0


class OpenAIChat(Adapter):
    """An LLM behind the Chat Completions API (OpenAI, Azure OpenAI, any compatible server), zero-/few-shot."""

    name = "openai-llm"
    family = "cloud"
    simplicity = RANK_PREBUILT_API
    description = "LLM via the OpenAI SDK (OpenAI, Azure OpenAI, vLLM/Ollama/compatible) as a zero-/few-shot classifier"
    paid = True
    learns = True  # only to receive the train split for few-shot examples; nothing is trained
    extra = "openai"
    requires = ("openai",)
    local_compute = False
    warmup = False
    batch_size = 1
    max_concurrency = 4
    tasks = (llm.SINGLE_LABEL_TASK, llm.MULTI_LABEL_TASK, *llm.TABULAR_TASKS)
    option_schema = {
        **llm.LLM_OPTIONS, "model": Opt("str"), "base_url": Opt("str"), "azure_endpoint": Opt("str"),
        "azure_deployment": Opt("str"), "api_version": Opt("str"), "api_key_env": Opt("str"),
        "api_key": Opt("any"), "answer_format": Opt("str", choices=FORMATS), "logprobs": Opt("bool"),
        "top_logprobs": Opt("int", lo=0, hi=20), "max_tokens_param": Opt("str", choices=("max_tokens", "max_completion_tokens")),
        "seed": Opt("bool"), "rpm": Opt("float", lo=0), "tpm": Opt("float", lo=0), "max_concurrency": Opt("int", lo=1),
        "max_retries": Opt("int", lo=0), "timeout": Opt("float", lo=0, lo_open=True),
        "max_consecutive_failures": Opt("int", lo=1), "answer_attempts": Opt("int", lo=1), "price_model": Opt("str"),
        "tokenizer": Opt("str", choices=("auto", "o200k_base", "cl100k_base", "approx")),
    }

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.check_options(o)
        self.model = str(o.get("model") or "")
        self.conn = connection(o)
        azure = self.conn["kind"].startswith("azure")
        self.request_model = (self.conn.get("deployment") or self.model) if azure else self.model  # Azure: the deployment
        self.answer_format = str(o.get("answer_format", "json_schema"))
        self.multilabel = is_multilabel(ctx)
        self.tabular = llm.is_tabular(ctx.task)
        self.regression = ctx.task == llm.TABULAR_REGRESSION
        self.turn = llm.turn_for(ctx.task)
        # sets and numbers: no per-label probabilities
        self.logprobs = bool(o.get("logprobs", True)) and not self.multilabel and not self.regression
        self.top_logprobs = int(o.get("top_logprobs", 5))
        default_param = "max_completion_tokens" if self.conn["kind"] in ("openai", "azure", "azure-v1") else "max_tokens"
        self.max_tokens_param = str(o.get("max_tokens_param", default_param))
        self.send_seed = bool(o.get("seed", True))
        self.temperature = o.get("temperature", 0.0)
        self.max_chars = int(o.get("max_chars", 4000))
        self.overhead_tokens = int(o.get("prompt_overhead_tokens", 0))
        self.instructions = " ".join(str(o.get("instructions", "")).split())
        self.max_concurrency = int(o.get("max_concurrency", type(self).max_concurrency))
        self.max_retries = int(o.get("max_retries", 5))
        self.timeout = float(o.get("timeout", 60.0))
        self.max_failures = int(o.get("max_consecutive_failures", 5))
        self.answer_attempts = int(o.get("answer_attempts", 3))
        self.batch_pricing = bool(o.get("batch_pricing", False))
        self.batch_discount = o.get("batch_discount")
        self.count, self.tokenizer = llm.token_counter(str(o.get("price_model") or self.model or "?"),
                                                       str(o.get("tokenizer", "auto")))
        self.fewshot = llm.FewShot(int(o.get("few_shot", 0)),
                                   str(o.get("few_shot_selection", llm.default_selection(ctx.task))),
                                   ctx.seed, int(o.get("max_example_chars", 500)), o.get("embedding_model"),
                                   multilabel=self.multilabel, regression=self.regression, whole=self.tabular)
        # multi-label: (mean answer tokens, cardinality); regression: (mean answer tokens, 0)
        self._answer_tokens: tuple[float, float] | None = None
        target = o.get("target")
        if self.multilabel:
            self.system = llm.set_system_prompt(ctx.labels, self.instructions)
            self.max_tokens = int(o.get("max_tokens", self.count(llm.full_set_answer(ctx.labels)) + 12))
        elif self.regression:
            self.system = llm.number_system_prompt(self.instructions, target)
            self.max_tokens = int(o.get("max_tokens", 16 if self.answer_format == "text" else 24))
        elif self.tabular:
            self.system = llm.row_system_prompt(ctx.labels, self.instructions, target)
            label_tokens = max((self.count(str(lab)) for lab in ctx.labels), default=1)
            self.max_tokens = int(o.get("max_tokens", label_tokens + (4 if self.answer_format == "text" else 12)))
        else:
            self.system = llm.system_prompt(ctx.labels, self.instructions)
            label_tokens = max((self.count(str(lab)) for lab in ctx.labels), default=1)
            self.max_tokens = int(o.get("max_tokens", label_tokens + (4 if self.answer_format == "text" else 12)))
        self.pacer = llm.TokenPacer(o.get("rpm") or None, o.get("tpm") or None)
        self._stats = _Stats()
        self._lock = threading.Lock()
        self._failures_in_row = 0
        self._client_obj: Any = None
        self._usage = {"input_tokens": 0.0, "output_tokens": 0.0}
        self._answered = 0
        self._row: dict[str, Any] | None = None

    # ---- discovery -----------------------------------------------------------------------------
    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        base = super().availability(task, options)
        if not base.ok:
            return base
        o = options or {}
        if "api_key" in o:
            return Availability.no(f"keys are never read from baseline.toml: remove api_key from [adapters.{cls.name}] "
                                   "and set OPENAI_API_KEY / AZURE_OPENAI_API_KEY (or api_key_env) instead")
        if not o.get("model"):
            return Availability.no(f'set model under [adapters.{cls.name}] in baseline.toml (e.g. "gpt-4o-mini")')
        c = connection(o)
        if c["kind"].startswith("azure"):
            if not (c["key"] or c["ad_token"]):
                return Availability.no(f"no Azure OpenAI key: set {c['key_env']} (or AZURE_OPENAI_AD_TOKEN)")
        elif not c["key"] and not c.get("local"):
            where = "" if c["kind"] == "openai" else f" for {urlsplit(c['url']).hostname}"
            return Availability.no(f"no OpenAI API key{where}: set {c['key_env']} (a local base_url needs none)")
        return Availability.yes()

    @classmethod
    def check_named(cls, options: dict[str, Any]) -> None:
        if not (options or {}).get("model"):
            raise BadInput(f'set model under [adapters.{cls.name}] in baseline.toml (e.g. "gpt-4o-mini")')

    def endpoint_description(self) -> str:
        c = self.conn
        what = {"openai": "OpenAI", "compatible": "OpenAI-compatible server", "azure": "Azure OpenAI",
                "azure-v1": "Azure OpenAI v1"}[c["kind"]]
        dep = f" deployment {self.request_model}" if c["kind"].startswith("azure") else ""
        return f"{what} Chat Completions ({self.model or 'model not set'}{dep}) at {urlsplit(c['url']).hostname}"

    # ---- prices, estimates ---------------------------------------------------------------------
    def price_row(self) -> dict[str, Any]:
        if self._row is None:
            self._row = self._find_price_row()
        return self._row

    def _find_price_row(self) -> dict[str, Any]:
        m = str(self.ctx.options.get("price_model") or self.model)
        lite = [f"azure/{m}", m] if self.conn["kind"].startswith("azure") else [m, f"openai/{m}"]
        try:
            return llm.price_row(self.ctx.prices, "openai", [m], self.ctx.options, lite, self.name)
        except BadInput:
            if self.conn.get("local"):
                return {"usd_per_1k_input": 0.0, "usd_per_1k_output": 0.0,
                        "source": "local server: tokens counted, not priced (set usd_per_1k_* to price them)",
                        "effective_date": "n/a"}
            raise

    def token_cost(self, tin: float, tout: float) -> Cost:
        return llm.token_cost(self.price_row(), tin, tout)

    def messages(self, doc: str) -> list[dict[str, str]]:
        answer = self.fewshot.answer if self.multilabel or self.regression else None
        pairs = [("system", self.system), *llm.turns(doc, self.fewshot.for_text(doc), answer, self.turn)]
        return [{"role": r, "content": c} for r, c in pairs]

    def prompt_tokens(self, doc: str, messages: list[dict[str, str]] | None = None) -> int:
        """Prompt tokens of the request for ``doc`` (its ``messages`` when already built)."""
        if messages is None and self.fewshot.method == "nearest" and self.fewshot.k and not self.fewshot.pool:
            pairs = [("system", self.system), *llm.turns(doc, [], turn=self.turn)]  # before fit: examples' mean size
            extra = self.fewshot.mean_example_chars(*self._train) / 4 if getattr(self, "_train", None) else 0
            return llm.chat_tokens(self.count, pairs) + int(extra) + self.overhead_tokens
        msgs = messages if messages is not None else self.messages(doc)
        return llm.chat_tokens(self.count, [(m["role"], m["content"]) for m in msgs]) + self.overhead_tokens

    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        self.fewshot.digest(texts, labels)  # answers depend on the train split when examples are drawn from it
        self._train = (list(texts), list(labels))
        if self.multilabel:
            self._answer_tokens = llm.answer_length_stats(labels, self.count)
        elif self.regression:
            render = llm.number_answer if self.answer_format == "text" else llm.value_answer
            self._answer_tokens = (llm.mean_answer_tokens(labels, self.count, render), 0.0)
        if self.fewshot.k and self.fewshot.method != "nearest":
            self.fewshot.fit(texts, labels, self.ctx.labels)  # cheap and seeded: the estimate sees the real prompt
        return Cost(note=f"no training: {self.fewshot.k} few-shot ({self.fewshot.method})" if self.fewshot.k
                    else "zero-shot: nothing to fit")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        if not self.model:
            return Cost(note="model not set: cannot price")
        sent = (llm.row_or_error(t, self.max_chars, self.tabular)[0] for t in texts if t.strip())
        docs = [d for d in sent if d is not None]
        tin = sum(self.prompt_tokens(d) for d in docs)
        if self.regression and self._answer_tokens is not None:
            per = min(float(self.max_tokens), self._answer_tokens[0])
            c = self.token_cost(tin, per * len(docs))
            c.note = (f"input: {self.tokenizer}; output: the expected number answer, {per:.1f} tokens per row "
                      f"(train targets' mean; max_tokens {self.max_tokens} the upper bound)")
        elif self.multilabel and self._answer_tokens is not None:
            per, card = self._answer_tokens
            per = min(float(self.max_tokens), per)
            c = self.token_cost(tin, per * len(docs))
            c.note = (f"input: {self.tokenizer}; output: the expected label-set answer, {per:.1f} tokens per text "
                      f"(train's mean of {card:.2f} labels per row; max_tokens {self.max_tokens} the upper bound)")
        else:
            c = self.token_cost(tin, self.max_tokens * len(docs))
            c.note = f"input: {self.tokenizer}; output: max_tokens ({self.max_tokens}) per text, an upper bound"
        if self.batch_pricing and docs:
            c.note += "; " + llm.batch_projection(self.price_row(), c.units, len(docs), self.batch_discount)
        return c

    def cache_identity(self) -> str:
        c = self.conn
        ident = {"api": API, "kind": c["kind"], "host": urlsplit(c["url"]).netloc, "model": self.model,
                 "deployment": self.request_model, "api_version": c.get("api_version"),
                 "params": {"max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.send_seed,
                            "answer_format": self.answer_format, "logprobs": self.logprobs,
                            "top_logprobs": self.top_logprobs, "max_chars": self.max_chars, "seed_value": self.ctx.seed},
                 "template": llm.template_id(self.system, self.answer_format), "labels": self.ctx.labels,
                 "few_shot": self.fewshot.identity()}
        if self.multilabel or self.tabular:  # only here: single-label identities stay byte for byte what they were
            ident.update(task=self.ctx.task, template=llm.template_id(self.system, self.answer_format, self.ctx.task))
        return json.dumps(ident, sort_keys=True)

    # ---- client --------------------------------------------------------------------------------
    def _on_request(self, request: Any) -> None:
        self._stats.attempts += 1

    def _on_response(self, response: Any) -> None:
        st = self._stats
        st.responses += 1
        if response.status_code == 429:
            st.throttles += 1
        elif response.status_code >= 500 and response.status_code != 503:
            st.unconfirmed += 1  # a server error after processing may have been billed

    def _client(self) -> Any:
        if self._client_obj is not None:
            return self._client_obj
        import openai

        c = self.conn
        key = c.get("key")
        register_secret(key, c.get("ad_token"))
        http = openai.DefaultHttpxClient(event_hooks={"request": [self._on_request], "response": [self._on_response]})
        common = {"max_retries": self.max_retries, "timeout": self.timeout, "http_client": http}
        if c["kind"] == "azure":
            self._client_obj = openai.AzureOpenAI(azure_endpoint=c["url"], api_version=c["api_version"],
                                                  api_key=key, azure_ad_token=None if key else c["ad_token"], **common)
        elif c["kind"] == "azure-v1":
            self._client_obj = openai.OpenAI(base_url=c["url"] + "/openai/v1/", api_key=key or c["ad_token"], **common)
        else:
            self._client_obj = openai.OpenAI(base_url=c["url"], api_key=key or "no-key-needed", **common)
        return self._client_obj

    def load(self) -> None:
        if not self.model:
            raise BadInput(f'set model under [adapters.{self.name}] in baseline.toml (e.g. "gpt-4o-mini")')
        self.price_row()
        self._client()

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Select few-shot examples (seeded; ``nearest`` embeds train); nothing is trained or billed."""
        self.fewshot.fit(texts, labels, self.ctx.labels)
        return FitInfo(cost=Cost(), details={"few_shot": self.fewshot.k, "selection": self.fewshot.method,
                                             "examples": len(self.fewshot.examples or self.fewshot.pool),
                                             "model": self.model, "answer_format": self.answer_format,
                                             "max_tokens": self.max_tokens, "tokenizer": self.tokenizer})

    # ---- predict -------------------------------------------------------------------------------
    def request(self, doc: str) -> dict[str, Any]:
        kw: dict[str, Any] = {"model": self.request_model, "messages": self.messages(doc),
                              self.max_tokens_param: self.max_tokens}
        if self.temperature is not None:
            kw["temperature"] = float(self.temperature)
        if self.send_seed:
            kw["seed"] = self.ctx.seed
        if self.multilabel:
            schema, name, tool, what = llm.set_schema(self.ctx.labels), llm.SET_SCHEMA_NAME, llm.SET_TOOL, \
                llm.SET_TOOL_DESCRIPTION
        elif self.regression:
            schema, name, tool, what = llm.number_schema(), llm.VALUE_SCHEMA_NAME, llm.VALUE_TOOL, \
                llm.VALUE_TOOL_DESCRIPTION
        else:
            schema = {"type": "object", "properties": {"label": {"type": "string", "enum": list(self.ctx.labels)}},
                      "required": ["label"], "additionalProperties": False}
            name, tool = "classification", "classify"
            what = "Record the row's class." if self.tabular else "Record the text's label."
        if self.answer_format == "json_schema":
            kw["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": name, "strict": True, "schema": schema}}
        elif self.answer_format == "tool":
            kw["tools"] = [{"type": "function", "function": {"name": tool, "strict": True, "parameters": schema,
                                                             "description": what}}]
            kw["tool_choice"] = {"type": "function", "function": {"name": tool}}
        if self.logprobs and self.answer_format != "tool":
            kw["logprobs"] = True
            if self.top_logprobs:
                kw["top_logprobs"] = self.top_logprobs
        return kw

    def predict_batch(self, texts: list[str]) -> BatchResult:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        for i, t in enumerate(texts):
            if not t.strip():
                out.errors[i] = "empty text: not sent"
                continue
            doc, was_cut, problem = llm.row_or_error(t, self.max_chars, self.tabular)
            if doc is None:
                out.errors[i] = problem
                continue
            out.truncated += int(was_cut)
            self._ask(doc, i, out)
        return out

    def _ask(self, doc: str, i: int, out: BatchResult) -> None:
        """One text: asked until its answer validates (``answer_attempts``), else an item error."""
        import openai

        client = self._client()
        kw = self.request(doc)
        reserve = self.prompt_tokens(doc, kw["messages"]) + self.max_tokens  # what TPM limits count
        est: Cost | None = None
        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            out.queued_ms += self.pacer.wait(reserve)
            st = self._stats
            st.attempts = st.responses = st.throttles = st.unconfirmed = 0
            body: Any = None
            err: Exception | None = None
            try:
                raw = client.chat.completions.with_raw_response.create(**kw)
            except openai.APIStatusError as e:
                err = e
            except openai.APIConnectionError as e:  # includes timeouts
                err = e
            else:
                try:
                    body = json.loads(raw.http_response.text)
                except ValueError as e:  # a 200 whose body is not JSON
                    body, problem = None, f"answer is not JSON ({one_line(e)[:80]})"
            out.retries += max(0, st.attempts - 1)
            out.throttles += st.throttles
            unconfirmed = st.unconfirmed + max(0, st.attempts - st.responses)
            parsed = None
            if err is None:
                try:
                    parsed = self._read(body) if body is not None else None
                except InvalidAnswer as e:
                    problem = str(e)
                unconfirmed += int(parsed is None)
            for _ in range(unconfirmed):
                est = est or self.token_cost(reserve - self.max_tokens, self.max_tokens)
                out.unconfirmed = out.unconfirmed + Cost(est.usd, dict(est.units))
            if err is not None:
                status = getattr(err, "status_code", None)
                if status == 400 and (getattr(err, "code", None) == "content_filter"
                                      or "content_filter" in str(getattr(err, "body", ""))):  # Azure: prompt filtered
                    out.raw[i] = "<content_filter>"
                    self._ok()
                    return
                if status is not None and status not in (408, 409, 429) and status < 500:
                    raise RuntimeError(redact(f"{self.endpoint_description()}: {one_line(err)}")) from None
                self._failed(f"{type(err).__name__} after {st.attempts} attempts: {one_line(err)}", out, i)
                return
            if parsed is not None:
                self._take(parsed, i, out)
                self._ok()
                return
        self._failed(f"invalid answer after {self.answer_attempts} attempts: {problem}", out, i)

    def _read(self, body: Any) -> dict[str, Any]:
        """A Chat Completion's answer, or ``InvalidAnswer`` when the body is not one."""
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
            raise InvalidAnswer("answer is not a Chat Completion (no choices)")
        ch = body["choices"][0]
        msg = ch.get("message") if isinstance(ch, dict) else None
        if not isinstance(msg, dict):
            raise InvalidAnswer("Chat Completion without a message")
        usage = body.get("usage")
        if not isinstance(usage, dict) or not all(isinstance(usage.get(k), int) and not isinstance(usage.get(k), bool)
                                                  for k in ("prompt_tokens", "completion_tokens")):
            raise InvalidAnswer("Chat Completion without token usage")
        finish = ch.get("finish_reason")
        text: str | None = msg.get("content") if isinstance(msg.get("content"), str) else None
        if self.answer_format == "tool":
            calls = msg.get("tool_calls") or []
            fn = (calls[0] or {}).get("function") if calls and isinstance(calls[0], dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                text = fn["arguments"]
        tokens = []
        lp = ch.get("logprobs")
        if isinstance(lp, dict) and isinstance(lp.get("content"), list):
            for t in lp["content"]:
                if isinstance(t, dict) and isinstance(t.get("token"), str) and isinstance(t.get("logprob"), int | float):
                    alts = [(a["token"], float(a["logprob"])) for a in t.get("top_logprobs") or []
                            if isinstance(a, dict) and isinstance(a.get("token"), str)
                            and isinstance(a.get("logprob"), int | float)]
                    tokens.append((t["token"], float(t["logprob"]), alts))
        return {"text": text, "finish": finish, "refusal": msg.get("refusal"), "tokens": tokens,
                "usage": (usage["prompt_tokens"], usage["completion_tokens"])}

    def _take(self, a: dict[str, Any], i: int, out: BatchResult) -> None:
        tin, tout = a["usage"]
        out.cost = out.cost + self.token_cost(tin, tout)
        with self._lock:
            self._usage["input_tokens"] += tin
            self._usage["output_tokens"] += tout
            self._answered += 1
        text, finish = a["text"], a["finish"]
        if self.multilabel:
            self._take_set(text, finish, a["refusal"], i, out)
            return
        if self.regression:
            self._take_number(text, finish, a["refusal"], i, out)
            return
        if a["refusal"] or finish == "content_filter" or not text:
            out.raw[i] = text or ("<refusal>" if a["refusal"] else f"<{finish or 'empty'}>")
            return
        if self.answer_format == "text":
            label, value = llm.parse_label(text, self.ctx.labels), text.strip()
        else:
            label, value = llm.parse_structured(text, self.ctx.labels)
        out.raw[i] = value if value is not None else text
        out.labels[i] = label
        scores = llm.scores_from_logprobs(a["tokens"], text, value or "", self.ctx.labels, label) if a["tokens"] else {}
        if label is not None:
            out.scores[i] = scores or {lab: float(lab == label) for lab in self.ctx.labels}
        elif scores:
            out.scores[i] = scores

    def _take_set(self, text: str | None, finish: str | None, refusal: Any, i: int, out: BatchResult) -> None:
        """A label-set answer: the canonical set, an abstention (refusal, content filter) or an item error."""
        if refusal or finish == "content_filter":
            out.raw[i] = text or ("<refusal>" if refusal else "<content_filter>")
            return
        out.raw[i] = text
        value, why = llm.parse_label_set(text, self.ctx.labels)
        if why is not None:
            cut = f" (finish_reason {finish}: raise max_tokens)" if finish == "length" else ""
            out.errors[i] = redact(f"invalid label set: {why}{cut}")
            return
        out.labels[i] = value
        out.scores[i] = llm.set_scores(value, self.ctx.labels)

    def _take_number(self, text: str | None, finish: str | None, refusal: Any, i: int, out: BatchResult) -> None:
        """A regression answer: the canonical number, an abstention (refusal, content filter) or an item error."""
        if refusal or finish == "content_filter":
            out.raw[i] = text or ("<refusal>" if refusal else "<content_filter>")
            return
        out.raw[i] = text
        value, why = llm.parse_number(text)
        if finish == "length":  # a cut-off number may still parse ("12345" cut to "12"): never taken
            why = f"{why or 'answer cut off'} (finish_reason length: raise max_tokens)"
        if why is not None:
            out.errors[i] = redact(f"invalid number: {why}")
            return
        out.labels[i] = value

    def _ok(self) -> None:
        with self._lock:
            self._failures_in_row = 0

    def _failed(self, msg: str, out: BatchResult, i: int) -> None:
        """A text left unanswered: an item error; after ``max_consecutive_failures`` in a row, give up."""
        with self._lock:
            self._failures_in_row += 1
            n = self._failures_in_row
        out.errors[i] = msg = redact(msg)
        if n >= self.max_failures:
            raise AdapterGaveUp(f"{n} requests in a row failed after retries, giving up: {msg}", out)

    def teardown(self) -> None:
        if self._answered:
            try:
                row = self.price_row()
                self.notes.append(llm.price_note(row))
                if self.batch_pricing:
                    self.notes.append(llm.batch_projection(row, self._usage, self._answered, self.batch_discount))
            except BadInput:
                pass
        if self._client_obj is not None:
            try:
                self._client_obj.close()
            except Exception:
                pass
            self._client_obj = None

    def explain(self) -> dict[str, Any]:
        shots = (f"{self.fewshot.k}-shot ({self.fewshot.method})" if self.fewshot.k else "zero-shot")
        parsing = "strict label-set parsing" if self.multilabel else \
            "strict number parsing" if self.regression else "strict label parsing"
        return {"kind": "prompt", "text": f"{self.model} via {self.endpoint_description()}, {shots}, "
                f"{self.answer_format} answers, {parsing}; system prompt: " + self.system.replace("\n", " ")}
