"""Bedrock Converse as a zero-/few-shot classifier over the dataset's labels.

Prompting, few-shot selection, strict parsing and token prices are the shared LLM core
(``baseline.adapters.llm``); this module only speaks Converse.

Multi-label (``ctx.task`` "multi-label-text-classification"): the request carries ``toolConfig`` with one tool,
``record_labels``, whose ``inputSchema.json`` is ``{"labels": [<enum of the labels>]}``, and ``toolChoice``
``{"tool": {"name": "record_labels"}}`` forcing it (option ``tool_choice`` "any" for models that take only
``any``; ``strict_tool`` adds the toolSpec's ``strict`` flag where the model supports it). The answer is the
``toolUse`` block's ``input`` (or, from a model that ignored the tool, its text), parsed strictly by
``llm.parse_label_set``: an empty array is the empty set; prose, an unknown label, a non-array or a cut-off
answer is an item error, never an abstention (``content_filtered`` / ``guardrail_intervened`` stay abstentions).

Tables (``ctx.task`` "tabular-classification" / "tabular-regression"): each item is one JSON row of named features,
sent whole as ``Row: <json>`` (a row over ``max_chars`` is an item error, never cut). Classification is the plain
single-label answer (strict label parsing) under a system prompt that says the input is a table row; few-shot
examples are rows with their class. Regression forces the tool ``record_value`` whose ``inputSchema.json`` is
``{"value": <number>}`` (same ``tool_choice`` / ``strict_tool`` options; ``max_tokens`` default 40), read strictly
by ``llm.parse_number`` from the ``toolUse`` input (or the text of a model that ignored the tool): prose, units,
ranges, thousands separators, a string, an empty or cut-off answer are item errors, never a guessed value. Few-shot
examples are train rows at the target's quantiles (``few_shot_selection`` "quantiles", default). Option ``target``
names the target column in the prompt; the task is part of the cache identity.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

from baseline.adapters import llm
from baseline.adapters.aws.common import (
    BEDROCK_API,
    GEO_PREFIX,
    _AwsAdapter,
    _opt_float,
    _opt_int,
    _queued,
)
from baseline.adapters.base import (
    RANK_PREBUILT_API,
    AdapterContext,
    BatchResult,
    Cost,
    FitInfo,
    Opt,
    is_multilabel,
)
from baseline.adapters.llm import normalize_answer, parse_label  # noqa: F401 (re-exported)
from baseline.errors import BadInput

TOOL_CHOICES = ("tool", "any")


class BedrockLLM(_AwsAdapter):
    """An LLM on Amazon Bedrock (Converse API) as a zero- or few-shot classifier over the dataset's labels.

    Options: ``model_id`` (required, e.g. "amazon.nova-micro-v1:0" or an inference profile such as
    "us.amazon.nova-micro-v1:0"), ``few_shot`` (examples per class drawn from train with the seed;
    default 0 = zero-shot), ``max_tokens`` (default 10; label sets: the every-label answer's characters / 2
    + 32), ``temperature`` (default 0), ``max_chars``
    (texts are cut to this many characters, default 4000), ``max_example_chars`` (default 500),
    ``few_shot_selection`` ("per_class" default, "random", "nearest" by sentence embeddings with [hf];
    ``embedding_model``), ``batch_pricing`` / ``batch_discount`` (a Batch-inference projection),
    ``instructions`` (one line about the task, added to the system prompt), ``prompt_overhead_tokens``
    (per-request allowance in estimates, default 30), ``usd_per_1k_input`` / ``usd_per_1k_output``
    (prices for a model the price table lacks), ``tool_choice`` / ``strict_tool`` (label sets, see the module
    doc), ``target`` (tabular tasks: the target column's name in the prompt), plus the shared AWS options. Answers are parsed
    strictly: after stripping quotes/punctuation and case-folding, the answer must equal exactly
    one label, otherwise the item abstains and the raw answer is kept.
    """

    name = "bedrock-llm"
    simplicity = RANK_PREBUILT_API
    description = "LLM on Amazon Bedrock (Converse) as a zero-/few-shot classifier"
    learns = True  # only to receive the train split for few-shot examples; nothing is trained
    batch_size = 1
    service_name = "bedrock-runtime"
    tasks = (llm.SINGLE_LABEL_TASK, llm.MULTI_LABEL_TASK, *llm.TABULAR_TASKS)
    option_schema = {**_AwsAdapter.option_schema, **llm.LLM_OPTIONS, "model_id": Opt("str"),
                     "temperature": Opt("float", lo=0), "tool_choice": Opt("str", choices=TOOL_CHOICES),
                     "strict_tool": Opt("bool")}
    tool_overhead_tokens = 12  # output tokens a toolUse block adds around its input (stated allowance, estimates)

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.model_id = str(o.get("model_id") or "")
        self.few_shot = _opt_int(self.name, o, "few_shot", 0)
        self.multilabel = is_multilabel(ctx)
        self.tabular = llm.is_tabular(ctx.task)
        self.regression = ctx.task == llm.TABULAR_REGRESSION
        self.target = o.get("target")
        # label sets: room for the every-label answer (≈ chars/2, generous for a tokenizer we lack) + the tool call;
        # a number: room for a long one (≈ 8) + the tool call
        default_max = (math.ceil(len(llm.full_set_answer(ctx.labels)) / 2) + 32) if self.multilabel else \
            40 if self.regression else 10
        self.max_tokens = _opt_int(self.name, o, "max_tokens", default_max, lo=1)
        self.tool_choice = str(o.get("tool_choice", "tool"))
        if self.tool_choice not in TOOL_CHOICES:
            raise BadInput(f"[adapters.{self.name}] tool_choice must be 'tool' or 'any' (got {self.tool_choice!r})")
        self.strict_tool = bool(o.get("strict_tool", False))
        # multi-label: (mean answer tokens, cardinality); regression: (mean answer tokens, 0)
        self._answer_tokens: tuple[float, float] | None = None
        self.temperature = _opt_float(self.name, o, "temperature", 0.0)
        self.max_chars = _opt_int(self.name, o, "max_chars", 4000, lo=1)
        self.max_example_chars = _opt_int(self.name, o, "max_example_chars", 500, lo=1)
        self.overhead_tokens = _opt_int(self.name, o, "prompt_overhead_tokens", 30)
        self.instructions = " ".join(str(o.get("instructions", "")).split())
        self.fewshot = llm.FewShot(self.few_shot, str(o.get("few_shot_selection", llm.default_selection(ctx.task))),
                                   ctx.seed, self.max_example_chars, o.get("embedding_model"),
                                   multilabel=self.multilabel, regression=self.regression, whole=self.tabular)
        self.batch_pricing = bool(o.get("batch_pricing", False))
        self.batch_discount = o.get("batch_discount")
        self._est_example_chars: float | None = None
        self._usage = {"input_tokens": 0.0, "output_tokens": 0.0}
        self._answered = 0
        self._row: dict[str, Any] | None = None

    @property
    def examples(self) -> list[tuple[str, str]]:
        """The fixed few-shot examples (per_class / random selection)."""
        return self.fewshot.examples

    @classmethod
    def _config_problem(cls, options: dict[str, Any]) -> str | None:
        if not options.get("model_id"):
            return f"set model_id under [adapters.{cls.name}] in baseline.toml (e.g. \"amazon.nova-micro-v1:0\")"
        return None

    # ---- prompt --------------------------------------------------------------------------------
    def system_prompt(self) -> str:
        if self.multilabel:
            return llm.set_system_prompt(self.ctx.labels, self.instructions)
        if self.regression:
            return llm.number_system_prompt(self.instructions, self.target)
        if self.tabular:
            return llm.row_system_prompt(self.ctx.labels, self.instructions, self.target)
        return llm.system_prompt(self.ctx.labels, self.instructions)

    @property
    def uses_tool(self) -> bool:
        """Whether answers come through a forced tool call (label sets, numbers)."""
        return self.multilabel or self.regression

    def messages(self, text: str) -> list[dict[str, Any]]:
        answer = self.fewshot.answer if self.uses_tool else None
        return [{"role": role, "content": [{"text": content}]}
                for role, content in llm.turns(text, self.fewshot.for_text(text), answer, llm.turn_for(self.ctx.task))]

    def tool_config(self) -> dict[str, Any]:
        """Converse ``toolConfig`` for label sets or numbers: one tool whose input is the answer's schema, forced."""
        if self.regression:
            tool, what, schema = llm.VALUE_TOOL, llm.VALUE_TOOL_DESCRIPTION, llm.number_schema()
        else:
            tool, what, schema = llm.SET_TOOL, llm.SET_TOOL_DESCRIPTION, llm.set_schema(self.ctx.labels)
        spec: dict[str, Any] = {"name": tool, "description": what, "inputSchema": {"json": schema}}
        if self.strict_tool:
            spec["strict"] = True
        choice = {"tool": {"name": tool}} if self.tool_choice == "tool" else {"any": {}}
        return {"tools": [{"toolSpec": spec}], "toolChoice": choice}

    # ---- prices, estimates ---------------------------------------------------------------------
    def price_row(self) -> dict[str, Any]:
        """The price row for the model id (an inference profile's geo prefix is dropped to find it)."""
        if self._row is None:
            names = list(dict.fromkeys([self.model_id, GEO_PREFIX.sub("", self.model_id)]))
            self._row = llm.price_row(self.ctx.prices, "bedrock", names, self.ctx.options, names, self.name)
        return self._row

    def token_cost(self, input_tokens: float, output_tokens: float) -> Cost:
        return llm.token_cost(self.price_row(), input_tokens, output_tokens)

    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        self._train_digest = self.fewshot.digest(texts, labels)  # few-shot answers depend on the train split
        if self.multilabel:
            self._answer_tokens = llm.answer_length_stats(labels, lambda s: math.ceil(len(s) / 4))
        elif self.regression:
            self._answer_tokens = (llm.mean_answer_tokens(labels, lambda s: math.ceil(len(s) / 4), llm.value_answer), 0.0)
        if self.few_shot and texts:
            self._est_example_chars = self.fewshot.mean_example_chars(texts, labels)
        return Cost(note="no training: few-shot examples only" if self.few_shot else "zero-shot: nothing to fit")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        if not self.model_id:
            return Cost(note="model_id not set: cannot price")
        if self.examples:
            shots = sum(len(t) + len(self.fewshot.answer(lab)) + 10 for t, lab in self.examples)
        else:
            shots = self._est_example_chars or 0.0
        fixed = (len(self.system_prompt()) + shots) / 4 + self.overhead_tokens
        if self.uses_tool:  # the tool's definition is part of the prompt
            fixed += len(json.dumps(self.tool_config())) / 4
        sent = (llm.row_or_error(t, self.max_chars, self.tabular)[0] for t in texts if t.strip())
        docs = [d for d in sent if d is not None]
        tin = sum(math.ceil(len(d) / 4) + fixed for d in docs)
        if self.regression and self._answer_tokens is not None:
            per = min(float(self.max_tokens), self._answer_tokens[0] + self.tool_overhead_tokens)
            c = self.token_cost(tin, per * len(docs))
            c.note = (f"≈ chars/4 input tokens + prompt and tool; output: the expected number answer, {per:.1f} tokens "
                      f"per row (train targets' mean + {self.tool_overhead_tokens} for the tool call; max_tokens "
                      f"{self.max_tokens} the upper bound)")
        elif self.multilabel and self._answer_tokens is not None:
            per = min(float(self.max_tokens), self._answer_tokens[0] + self.tool_overhead_tokens)
            c = self.token_cost(tin, per * len(docs))
            c.note = (f"≈ chars/4 input tokens + prompt and tool; output: the expected label-set answer, {per:.1f} "
                      f"tokens per text (train's mean of {self._answer_tokens[1]:.2f} labels per row + "
                      f"{self.tool_overhead_tokens} for the tool call; max_tokens {self.max_tokens} the upper bound)")
        else:
            c = self.token_cost(tin, self.max_tokens * len(docs))
            c.note = "≈ chars/4 input tokens + prompt, max_tokens output"
        if self.batch_pricing and docs:
            c.note += "; " + llm.batch_projection(self.price_row(), c.units, len(docs), self.batch_discount)
        return c

    def endpoint_description(self) -> str:
        return f"Amazon Bedrock Converse ({self.model_id or 'model_id not set'}) {self._where()}"

    def cache_identity(self) -> str:
        ident = {"api": BEDROCK_API, "model": self.model_id, "max_tokens": self.max_tokens,
                 "temperature": self.temperature, "max_chars": self.max_chars, "labels": self.ctx.labels,
                 "system": hashlib.sha256(self.system_prompt().encode()).hexdigest()[:16], "prompt_version": 1,
                 "few_shot": self.few_shot}
        if self.few_shot:  # examples are drawn from train with the seed
            ident.update(seed=self.ctx.seed, max_example_chars=self.max_example_chars,
                         train=getattr(self, "_train_digest", None))
            if self.fewshot.method != "per_class":
                ident.update(selection=self.fewshot.method, embedding_model=self.fewshot.embedding_model)
        if self.multilabel or self.tabular:  # only here: single-label identities stay byte for byte what they were
            ident["task"] = self.ctx.task
        if self.uses_tool:
            ident["tool"] = hashlib.sha256(json.dumps(self.tool_config(), sort_keys=True).encode()).hexdigest()[:16]
        return json.dumps(ident, sort_keys=True)

    # ---- life cycle ----------------------------------------------------------------------------
    def load(self) -> None:
        if not self.model_id:
            raise BadInput(f"set model_id under [adapters.{self.name}] in baseline.toml (e.g. \"amazon.nova-micro-v1:0\")")
        self.price_row()
        self._client()

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Select the few-shot examples (seeded; ``nearest`` embeds train); nothing is trained or billed."""
        self.fewshot.fit(texts, labels, self.ctx.labels)
        n_examples = len(self.fewshot.examples) if self.fewshot.method != "nearest" else self.few_shot
        return FitInfo(cost=Cost(), details={"few_shot": self.few_shot, "examples": n_examples,
                                             "model_id": self.model_id, "max_tokens": self.max_tokens})

    def predict_batch(self, texts: list[str]) -> BatchResult:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        client = self._client()
        service_ms = 0.0
        for i, t in enumerate(texts):
            if not t.strip():
                out.errors[i] = "empty text: not sent"
                continue
            doc, was_cut, problem = llm.row_or_error(t, self.max_chars, self.tabular)
            if doc is None:
                out.errors[i] = problem
                continue
            out.truncated += int(was_cut)
            resp = self._converse(client, doc, i, out)
            if resp is None:
                continue
            usage = resp["usage"]
            out.cost = out.cost + self.token_cost(usage.get("inputTokens", 0), usage.get("outputTokens", 0))
            with self._fail_lock:
                self._usage["input_tokens"] += usage.get("inputTokens", 0)
                self._usage["output_tokens"] += usage.get("outputTokens", 0)
                self._answered += 1
            service_ms += float((resp.get("metrics") or {}).get("latencyMs", 0.0))
            content = resp["output"]["message"]["content"]
            stop = resp.get("stopReason")
            if self.multilabel:
                self._take_set(content, stop, i, out)
                continue
            if self.regression:
                self._take_number(content, stop, i, out)
                continue
            answer = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            out.raw[i] = answer if answer or stop in (None, "end_turn") else f"<{stop}>"
            out.labels[i] = parse_label(answer, self.ctx.labels)
            if out.labels[i] is not None:
                out.scores[i] = {lab: float(lab == out.labels[i]) for lab in self.ctx.labels}
        out.service_ms = service_ms or None
        return out

    @staticmethod
    def _tool_answer(content: list[Any], stop: str | None, i: int, out: BatchResult, tool: str,
                     what: str) -> tuple[bool, Any]:
        """The forced tool's input (else the text), kept as the raw answer: (False, None) when the answer was
        filtered (an abstention) or called another tool (an item error)."""
        if stop in ("content_filtered", "guardrail_intervened"):
            out.raw[i] = f"<{stop}>"
            return False, None
        uses = [c["toolUse"] for c in content if isinstance(c, dict) and isinstance(c.get("toolUse"), dict)]
        text = "".join(c.get("text", "") for c in content if isinstance(c, dict) and isinstance(c.get("text"), str))
        if not uses:
            out.raw[i] = text
            return True, text
        use = uses[0]
        out.raw[i] = json.dumps(use.get("input"), ensure_ascii=False, separators=(",", ":"))
        if use.get("name") != tool:
            out.errors[i] = f"invalid {what}: a call to tool {use.get('name')!r}, not {tool!r}"
            return False, None
        return True, use.get("input")

    def _take_set(self, content: list[Any], stop: str | None, i: int, out: BatchResult) -> None:
        """A label-set answer: the forced tool's input (else the text), strictly parsed; abstains only when filtered."""
        ok, answer = self._tool_answer(content, stop, i, out, llm.SET_TOOL, "label set")
        if not ok:
            return
        value, why = llm.parse_label_set(answer, self.ctx.labels)
        if why is not None:
            cut = f" (stopReason {stop}: raise max_tokens)" if stop == "max_tokens" else ""
            out.errors[i] = f"invalid label set: {why}{cut}"
            return
        out.labels[i] = value
        out.scores[i] = llm.set_scores(value, self.ctx.labels)

    def _take_number(self, content: list[Any], stop: str | None, i: int, out: BatchResult) -> None:
        """A regression answer: the forced tool's input (else the text), strictly parsed; abstains only when filtered."""
        ok, answer = self._tool_answer(content, stop, i, out, llm.VALUE_TOOL, "number")
        if not ok:
            return
        value, why = llm.parse_number(answer)
        if stop == "max_tokens":  # a cut-off number may still parse ("12345" cut to "12"): never taken
            why = f"{why or 'answer cut off'} (stopReason max_tokens: raise max_tokens)"
        if why is not None:
            out.errors[i] = f"invalid number: {why}"
            return
        out.labels[i] = value

    def _converse(self, client: Any, doc: str, i: int, out: BatchResult) -> dict | None:
        """One Converse call, asked again while its answer does not validate; None when it ends as an item error.

        An attempt that may have been billed without a usable answer is counted at the estimate for the text.
        """
        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            _queued(out, self._pacer.wait())
            extra = {"toolConfig": self.tool_config()} if self.uses_tool else {}
            resp, err, retries, throttles = self._call(
                client.converse, modelId=self.model_id, system=[{"text": self.system_prompt()}],
                messages=self.messages(doc),
                inferenceConfig={"maxTokens": self.max_tokens, "temperature": float(self.temperature)}, **extra)
            out.retries += retries
            out.throttles += throttles
            unconfirmed = self._stats.unconfirmed
            if err is None:
                problem = self._invalid(resp)
                unconfirmed += int(bool(problem))
            if unconfirmed:
                est = self.estimate_predict([doc])
                for _ in range(unconfirmed):
                    out.unconfirmed = out.unconfirmed + Cost(est.usd, dict(est.units))
            if err is not None:
                if not self._is_transient(err):
                    self._raise(err, f"Converse with {self.model_id} failed")
                self._request_failed(err, out, [i])
                return None
            if not problem:
                self._request_ok()
                return resp
        self._request_failed(f"invalid answer after {self.answer_attempts} attempts: {problem}", out, [i])
        return None

    @staticmethod
    def _invalid(resp: dict | None) -> str:
        """What makes a Converse answer unusable ('' when it is a valid answer)."""
        resp = resp or {}
        try:
            content = resp["output"]["message"]["content"]
        except (KeyError, TypeError):
            content = None
        if not isinstance(content, list):
            body = str(resp.get("message", ""))[:60]
            return "Converse answer is not the expected JSON" + (f" (body starts {body!r})" if body else " (no output.message.content)")
        usage = resp.get("usage")
        if not isinstance(usage, dict) or not all(isinstance(usage.get(k), int) for k in ("inputTokens", "outputTokens")):
            return "Converse answer has no token usage"
        return ""

    def teardown(self) -> None:
        if self._answered:
            try:
                row = self.price_row()
                self.notes.append(llm.price_note(row))
                if self.batch_pricing:
                    self.notes.append(llm.batch_projection(row, self._usage, self._answered, self.batch_discount))
            except BadInput:
                pass

    def explain(self) -> dict[str, Any]:
        shots = (f"{self.few_shot}-shot ({self.fewshot.method}, {len(self.examples) or self.few_shot} examples)"
                 if self.few_shot else "zero-shot")
        parsing = f"a forced {llm.SET_TOOL} tool call, strict label-set parsing" if self.multilabel \
            else f"a forced {llm.VALUE_TOOL} tool call, strict number parsing" if self.regression \
            else "strict label parsing"
        return {"kind": "prompt", "text": f"{self.model_id}, {shots}, {parsing}; system prompt: "
                + self.system_prompt().replace("\n", " ")}
