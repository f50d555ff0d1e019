"""hf-zero-shot: the transformers zero-shot-classification pipeline over an NLI model."""

from __future__ import annotations

from typing import Any

from baseline.adapters.base import (
    RANK_PRETRAINED,
    AdapterContext,
    BatchResult,
    Opt,
)
from baseline.adapters.hf.common import (
    DEFAULT_NLI_MODEL,
    _HFAdapter,
    effective_max_length,
    length_order,
)
from baseline.errors import BadInput


class HFZeroShot(_HFAdapter):
    """Zero-shot classification with an NLI model (transformers pipeline); candidate labels = dataset labels.

    Default model: MoritzLaurer/xtremedistil-l6-h256-zeroshot-v1.1-all-33. Why: it was trained for
    zero-shot classification (33 datasets recast as entailment, not MNLI alone), so it ranks label
    hypotheses better than plain MNLI models of its size; it is small (22M backbone parameters, 6
    layers, 51 MB) and fast on a CPU, where zero-shot costs one forward pass per text *and* label;
    its tokenizer is plain BERT WordPiece, so the ``[hf]`` extra needs no sentencepiece; MIT licence.
    For more accuracy at more compute, set ``model`` to e.g. MoritzLaurer/deberta-v3-base-zeroshot-v2.0
    or facebook/bart-large-mnli.

    Options (``[adapters.hf-zero-shot]``): ``model``, ``revision``, ``hypothesis_template`` (must hold
    ``{}``; "This example is {}."), ``verbalizations`` (table: dataset label → phrase put in the
    template; default the label with "_" read as a space), ``multi_label`` (false: softmax over
    labels), ``batch_size`` (text-label pairs per forward pass, 32), ``request_size`` (texts per
    runner request, 64), ``max_length`` (tokens).
    """

    name = "hf-zero-shot"
    simplicity = RANK_PRETRAINED
    description = "zero-shot NLI classification (transformers pipeline), no training"
    learns = False
    batch_size = 64
    default_model = DEFAULT_NLI_MODEL
    default_request_size = 64
    options_known = _HFAdapter.options_known + ("hypothesis_template", "verbalizations", "multi_label")
    option_schema = {**_HFAdapter.option_schema, "hypothesis_template": Opt("str"),
                     "verbalizations": Opt("table"), "multi_label": Opt("bool")}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.template = o.get("hypothesis_template", "This example is {}.")
        if not isinstance(self.template, str) or "{}" not in self.template:
            raise BadInput(f'[adapters.{self.name}] hypothesis_template must contain "{{}}" where the label goes '
                           f"(got {self.template!r})")
        verbal = o.get("verbalizations") or {}
        if not isinstance(verbal, dict):
            raise BadInput(f"[adapters.{self.name}] verbalizations must be a table: dataset label = \"phrase\"")
        stray = sorted(set(map(str, verbal)) - set(ctx.labels))
        if stray:
            raise BadInput(f"[adapters.{self.name}] verbalizations name {stray}, which are not dataset labels "
                           f"{ctx.labels}")
        self.phrases: dict[str, str] = {}
        for lab in ctx.labels:
            phrase = verbal.get(lab, lab.replace("_", " "))
            if not isinstance(phrase, str) or not phrase.strip():
                raise BadInput(f"[adapters.{self.name}] verbalization for {lab!r} must be a non-empty string")
            self.phrases[lab] = phrase.strip()
        dup = [p for p in set(self.phrases.values()) if list(self.phrases.values()).count(p) > 1]
        if dup:
            raise BadInput(f"[adapters.{self.name}] two labels share the phrase {dup[0]!r}: give each its own "
                           "verbalization")
        self.by_phrase = {p: lab for lab, p in self.phrases.items()}
        self.multi_label = o.get("multi_label", False)
        if not isinstance(self.multi_label, bool):
            raise BadInput(f"[adapters.{self.name}] multi_label must be true or false")

    def load(self) -> None:
        self.pipe = self._load_pipeline("zero-shot-classification")
        cfg = self.pipe.model.config
        if self.pipe.entailment_id == -1:
            raise BadInput(f"{self.model_name} has no 'entailment' label (its labels: "
                           f"{sorted(cfg.label2id)}): hf-zero-shot needs an NLI model; set model under "
                           f"[adapters.{self.name}]")
        tok = self.pipe.tokenizer
        self.max_len = effective_max_length(tok, cfg, self.max_length)
        tok.model_max_length = self.max_len
        self._pair_extra = tok.num_special_tokens_to_add(pair=True)
        hyps = [self.template.format(p) for p in self.phrases.values()]
        self._longest_hyp = max(self._token_lengths(tok, hyps, special=False))
        self.notes.append(f"{len(hyps)} hypotheses per text: one forward pass per text and label, so compute "
                          "grows with the number of labels")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        lengths = self._token_lengths(self.pipe.tokenizer, texts, special=False)
        truncated = sum(n + self._longest_hyp + self._pair_extra > self.max_len for n in lengths)
        order = length_order(lengths)
        outs = self.pipe([texts[i] for i in order], candidate_labels=list(self.phrases.values()),
                         hypothesis_template=self.template, multi_label=self.multi_label,
                         batch_size=self.forward_batch)
        if isinstance(outs, dict):
            outs = [outs]
        labels: list[str | None] = [None] * len(texts)
        scores: list[dict[str, float]] = [{}] * len(texts)
        raw: list[str | None] = [None] * len(texts)
        for pos, i in enumerate(order):
            r = outs[pos]
            s = {self.by_phrase[p]: float(v) for p, v in zip(r["labels"], r["scores"], strict=True)}
            scores[i] = {lab: s[lab] for lab in self.ctx.labels}
            raw[i] = r["labels"][0]
            labels[i] = self.by_phrase[r["labels"][0]]
        return BatchResult(labels=labels, scores=scores, raw=raw, truncated=truncated)

    def explain(self) -> dict[str, Any]:
        return {"kind": "black_box", "text": "NLI model, no training: each text is scored against one hypothesis "
                "per label; the most entailed hypothesis wins",
                "model": self.model_name,
                "hypotheses": {lab: self.template.format(p) for lab, p in self.phrases.items()},
                "features": {lab: [f"hypothesis “{self.template.format(p)}”"] for lab, p in self.phrases.items()}}

    def _release(self) -> None:
        self.pipe = None


# ---- hf-pipeline ----------------------------------------------------------------------------------------
