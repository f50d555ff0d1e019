"""Bedrock Converse as a zero-/few-shot classifier over the dataset's labels."""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from typing import Any

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
)
from baseline.adapters.cloud import (
    truncate_chars,
)
from baseline.errors import BadInput

_STRIP = " \t\r\n\"'`“”‘’.,;:!?*()[]{}<>"


def normalize_answer(text: str) -> str:
    """Strip whitespace, surrounding quotes and punctuation; case-fold."""
    return text.strip().strip(_STRIP).strip().casefold()


def parse_label(answer: str | None, labels: Sequence[str]) -> str | None:
    """The one dataset label the answer equals (after normalising both), else None (abstain)."""
    if not answer:
        return None
    norm = normalize_answer(answer)
    hits = [lab for lab in labels if normalize_answer(str(lab)) == norm]
    return hits[0] if len(hits) == 1 else None


class BedrockLLM(_AwsAdapter):
    """An LLM on Amazon Bedrock (Converse API) as a zero- or few-shot classifier over the dataset's labels.

    Options: ``model_id`` (required, e.g. "amazon.nova-micro-v1:0" or an inference profile such as
    "us.amazon.nova-micro-v1:0"), ``few_shot`` (examples per class drawn from train with the seed;
    default 0 = zero-shot), ``max_tokens`` (default 10), ``temperature`` (default 0), ``max_chars``
    (texts are cut to this many characters, default 4000), ``max_example_chars`` (default 500),
    ``instructions`` (one line about the task, added to the system prompt), ``prompt_overhead_tokens``
    (per-request allowance in estimates, default 30), ``usd_per_1k_input`` / ``usd_per_1k_output``
    (prices for a model the price table lacks), plus the shared AWS options. Answers are parsed
    strictly: after stripping quotes/punctuation and case-folding, the answer must equal exactly
    one label, otherwise the item abstains and the raw answer is kept.
    """

    name = "bedrock-llm"
    simplicity = RANK_PREBUILT_API
    description = "LLM on Amazon Bedrock (Converse) as a zero-/few-shot classifier"
    learns = True  # only to receive the train split for few-shot examples; nothing is trained
    batch_size = 1
    service_name = "bedrock-runtime"
    option_schema = {**_AwsAdapter.option_schema, "model_id": Opt("str"), "few_shot": Opt("int", lo=0),
                     "max_tokens": Opt("int", lo=1), "temperature": Opt("float", lo=0),
                     "max_chars": Opt("int", lo=1), "max_example_chars": Opt("int", lo=1),
                     "instructions": Opt("str"), "prompt_overhead_tokens": Opt("int", lo=0),
                     "usd_per_1k_input": Opt("float", lo=0), "usd_per_1k_output": Opt("float", lo=0)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.model_id = str(o.get("model_id") or "")
        self.few_shot = _opt_int(self.name, o, "few_shot", 0)
        self.max_tokens = _opt_int(self.name, o, "max_tokens", 10, lo=1)
        self.temperature = _opt_float(self.name, o, "temperature", 0.0)
        self.max_chars = _opt_int(self.name, o, "max_chars", 4000, lo=1)
        self.max_example_chars = _opt_int(self.name, o, "max_example_chars", 500, lo=1)
        self.overhead_tokens = _opt_int(self.name, o, "prompt_overhead_tokens", 30)
        self.instructions = " ".join(str(o.get("instructions", "")).split())
        self.examples: list[tuple[str, str]] = []
        self._est_example_chars: float | None = None

    @classmethod
    def _config_problem(cls, options: dict[str, Any]) -> str | None:
        if not options.get("model_id"):
            return f"set model_id under [adapters.{cls.name}] in baseline.toml (e.g. \"amazon.nova-micro-v1:0\")"
        return None

    # ---- prompt --------------------------------------------------------------------------------
    def system_prompt(self) -> str:
        labels = "\n".join(f"- {lab}" for lab in self.ctx.labels)
        intro = f"{self.instructions}\n" if self.instructions else ""
        return (f"{intro}You are a text classifier. Classify the text into exactly one of these labels:\n{labels}\n"
                "Answer with the label only, written exactly as above, and nothing else.")

    def messages(self, text: str) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        for ex_text, ex_label in self.examples:
            msgs.append({"role": "user", "content": [{"text": f"Text: {ex_text}"}]})
            msgs.append({"role": "assistant", "content": [{"text": ex_label}]})
        msgs.append({"role": "user", "content": [{"text": f"Text: {text}"}]})
        return msgs

    # ---- prices, estimates ---------------------------------------------------------------------
    def price_row(self) -> dict[str, Any]:
        """The price row for the model id (an inference profile's geo prefix is dropped to find it)."""
        prices = self.ctx.prices
        for mid in (self.model_id, GEO_PREFIX.sub("", self.model_id)):
            if prices.has("bedrock", mid):
                return prices.row("bedrock", mid)
        o = self.ctx.options
        if o.get("usd_per_1k_input") is not None and o.get("usd_per_1k_output") is not None:
            return {"usd_per_1k_input": _opt_float(self.name, o, "usd_per_1k_input", None),
                    "usd_per_1k_output": _opt_float(self.name, o, "usd_per_1k_output", None),
                    "source": "adapter options"}
        raise BadInput(f"no price for Bedrock model {self.model_id!r}: add [prices.bedrock.\"{self.model_id}\"] with "
                       f"usd_per_1k_input and usd_per_1k_output to baseline.toml (or set them under [adapters.{self.name}])")

    def token_cost(self, input_tokens: float, output_tokens: float) -> Cost:
        row = self.price_row()
        usd = input_tokens * float(row["usd_per_1k_input"]) / 1000 + output_tokens * float(row["usd_per_1k_output"]) / 1000
        return Cost(usd, {"input_tokens": float(input_tokens), "output_tokens": float(output_tokens)})

    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        digest = hashlib.sha256()
        for t, lab in zip(texts, labels, strict=True):
            digest.update(f"{lab}\t{t}\n".encode())
        self._train_digest = digest.hexdigest()[:16]  # few-shot answers depend on the train split
        if self.few_shot and texts:
            mean = sum(min(len(t), self.max_example_chars) for t in texts) / len(texts)
            self._est_example_chars = self.few_shot * len(set(labels)) * (mean + 10)
        return Cost(note="no training: few-shot examples only" if self.few_shot else "zero-shot: nothing to fit")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        if not self.model_id:
            return Cost(note="model_id not set: cannot price")
        if self.examples:
            shots = sum(len(t) + len(lab) + 10 for t, lab in self.examples)
        else:
            shots = self._est_example_chars or 0.0
        fixed = (len(self.system_prompt()) + shots) / 4 + self.overhead_tokens
        docs = [t for t in texts if t.strip()]
        tin = sum(math.ceil(len(truncate_chars(t, self.max_chars)[0]) / 4) + fixed for t in docs)
        tout = self.max_tokens * len(docs)
        c = self.token_cost(tin, tout)
        c.note = "≈ chars/4 input tokens + prompt, max_tokens output"
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
        return json.dumps(ident, sort_keys=True)

    # ---- life cycle ----------------------------------------------------------------------------
    def load(self) -> None:
        if not self.model_id:
            raise BadInput(f"set model_id under [adapters.{self.name}] in baseline.toml (e.g. \"amazon.nova-micro-v1:0\")")
        self.price_row()
        self._client()

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        """Draw ``few_shot`` examples per class with the seed; nothing is trained or billed."""
        self.examples = []
        if self.few_shot:
            rng = random.Random(self.ctx.seed)
            by_label: dict[str, list[str]] = {}
            for t, lab in zip(texts, labels, strict=True):
                if t.strip():
                    by_label.setdefault(str(lab), []).append(t)
            for lab in self.ctx.labels:
                pool = by_label.get(lab, [])
                for t in rng.sample(pool, min(self.few_shot, len(pool))):
                    self.examples.append((" ".join(truncate_chars(t, self.max_example_chars)[0].split()), lab))
            rng.shuffle(self.examples)
        return FitInfo(cost=Cost(), details={"few_shot": self.few_shot, "examples": len(self.examples),
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
            doc, was_cut = truncate_chars(t, self.max_chars)
            out.truncated += int(was_cut)
            resp = self._converse(client, doc, i, out)
            if resp is None:
                continue
            usage = resp["usage"]
            out.cost = out.cost + self.token_cost(usage.get("inputTokens", 0), usage.get("outputTokens", 0))
            service_ms += float((resp.get("metrics") or {}).get("latencyMs", 0.0))
            content = resp["output"]["message"]["content"]
            answer = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            stop = resp.get("stopReason")
            out.raw[i] = answer if answer or stop in (None, "end_turn") else f"<{stop}>"
            out.labels[i] = parse_label(answer, self.ctx.labels)
            if out.labels[i] is not None:
                out.scores[i] = {lab: float(lab == out.labels[i]) for lab in self.ctx.labels}
        out.service_ms = service_ms or None
        return out

    def _converse(self, client: Any, doc: str, i: int, out: BatchResult) -> dict | None:
        """One Converse call, asked again while its answer does not validate; None when it ends as an item error.

        An attempt that may have been billed without a usable answer is counted at the estimate for the text.
        """
        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            _queued(out, self._pacer.wait())
            resp, err, retries, throttles = self._call(
                client.converse, modelId=self.model_id, system=[{"text": self.system_prompt()}],
                messages=self.messages(doc),
                inferenceConfig={"maxTokens": self.max_tokens, "temperature": float(self.temperature)})
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

    def explain(self) -> dict[str, Any]:
        shots = f"{self.few_shot}-shot ({len(self.examples)} examples)" if self.few_shot else "zero-shot"
        return {"kind": "prompt", "text": f"{self.model_id}, {shots}, strict label parsing; system prompt: "
                + self.system_prompt().replace("\n", " ")}
