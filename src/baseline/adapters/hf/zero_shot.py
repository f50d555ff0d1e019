"""hf-zero-shot: the transformers zero-shot-classification pipeline over an NLI model."""

from __future__ import annotations

from typing import Any

from baseline.adapters.base import (
    RANK_PRETRAINED,
    AdapterContext,
    BatchResult,
    Opt,
    is_multilabel,
)
from baseline.adapters.hf.common import (
    DEFAULT_NLI_MODEL,
    _HFAdapter,
    effective_max_length,
    length_order,
)
from baseline.errors import BadInput
from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION
from baseline.tasks.labelsets import encode

DEFAULT_THRESHOLD = 0.5


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

    Multi-label text classification: the pipeline always runs with ``multi_label=True``, so each label's
    hypothesis is scored on its own (a softmax over that pair's entailment and contradiction logits) and the
    scores do not compete or sum to 1. A label is in the answer when its entailment probability is at or above
    ``threshold`` (a number in (0, 1]; default 0.5, the point where entailment beats contradiction, since nothing
    is trained there is no train data to tune it on); no label above it is the empty set. Scores: every label's
    entailment probability. ``multi_label = false`` is refused for this task; ``threshold`` is unused for
    single-label runs (the most entailed label wins).
    """

    name = "hf-zero-shot"
    simplicity = RANK_PRETRAINED
    description = "zero-shot NLI classification (transformers pipeline), no training"
    learns = False
    tasks = (TEXT_CLASSIFICATION, MULTI_LABEL)
    batch_size = 64
    default_model = DEFAULT_NLI_MODEL
    default_request_size = 64
    options_known = _HFAdapter.options_known + ("hypothesis_template", "verbalizations", "multi_label", "threshold")
    option_schema = {**_HFAdapter.option_schema, "hypothesis_template": Opt("str"),
                     "verbalizations": Opt("table"), "multi_label": Opt("bool"),
                     "threshold": Opt("float", lo=0, hi=1, lo_open=True)}

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
        self.threshold = o.get("threshold", DEFAULT_THRESHOLD)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float) or not (
                0 < self.threshold <= 1):
            raise BadInput(f"[adapters.{self.name}] threshold must be a number above 0 and at most 1 "
                           f"(got {self.threshold!r})")
        self.threshold = float(self.threshold)
        if is_multilabel(ctx):
            if o.get("multi_label") is False:
                raise BadInput(f"[adapters.{self.name}] multi_label = false cannot answer label sets: remove it "
                               "(multi-label runs score each label independently)")
            self.multi_label = True

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
        if is_multilabel(self.ctx):
            self.notes.append(f"multi-label: each label scored independently (multi_label = true); a label is "
                              f"predicted when its entailment probability is at least {self.threshold:g}")

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
        sets = is_multilabel(self.ctx)
        for pos, i in enumerate(order):
            r = outs[pos]
            s = {self.by_phrase[p]: float(v) for p, v in zip(r["labels"], r["scores"], strict=True)}
            scores[i] = {lab: s[lab] for lab in self.ctx.labels}
            if sets:
                labels[i] = encode(lab for lab, v in scores[i].items() if v >= self.threshold)
                continue
            raw[i] = r["labels"][0]
            labels[i] = self.by_phrase[r["labels"][0]]
        return BatchResult(labels=labels, scores=scores, raw=None if sets else raw, truncated=truncated)

    def explain(self) -> dict[str, Any]:
        how = (f"each label is scored independently; labels with entailment probability at least {self.threshold:g} "
               "are predicted" if is_multilabel(self.ctx) else "the most entailed hypothesis wins")
        return {"kind": "black_box", "text": "NLI model, no training: each text is scored against one hypothesis "
                f"per label; {how}",
                "model": self.model_name,
                "hypotheses": {lab: self.template.format(p) for lab, p in self.phrases.items()},
                "features": {lab: [f"hypothesis “{self.template.format(p)}”"] for lab, p in self.phrases.items()}}

    def _release(self) -> None:
        self.pipe = None


# ---- hf-pipeline ----------------------------------------------------------------------------------------
