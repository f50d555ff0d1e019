"""hf-pipeline: a fine-tuned text-classification checkpoint used as is."""

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
    _HFAdapter,
    effective_max_length,
    length_order,
)
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.errors import AdapterUnavailable, BadInput
from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION
from baseline.tasks.labelsets import encode

DEFAULT_THRESHOLD = 0.5


class HFPipeline(_HFAdapter):
    """A fine-tuned text-classification checkpoint used as is; its labels mapped onto the dataset's.

    Options (``[adapters.hf-pipeline]``): ``model`` (required: hub id or local folder), ``revision``,
    ``batch_size`` (texts per forward pass, 32), ``request_size`` (texts per runner request, 512),
    ``max_length`` (tokens). The label map comes from ``[label_maps.hf-pipeline]`` (model label =
    dataset label), else obvious names are inferred (POSITIVE → positive, ...). Outputs that map to no
    dataset label are abstentions, with the model's own label kept as the raw answer.

    Multi-label text classification (a checkpoint fine-tuned for it, ``problem_type =
    "multi_label_classification"``): the pipeline runs with ``top_k=None, function_to_apply="sigmoid"``, so each
    model label gets an independent probability; a dataset label's score is the highest probability among the
    model labels mapped onto it (0.0 when none is), and it is in the answer when that score is at or above
    ``threshold`` (default 0.5, the sigmoid's own cut: nothing is trained here to tune it on). Model labels that
    map to no dataset label are left out of the set (they cannot be an abstention for one item's whole answer).
    A checkpoint trained single-label (softmax) still answers, with a note that its sigmoid scores are not
    calibrated for label sets. ``threshold`` is unused for single-label runs.
    """

    name = "hf-pipeline"
    simplicity = RANK_PRETRAINED
    description = "fine-tuned text-classification checkpoint (transformers pipeline), labels mapped"
    learns = False
    tasks = (TEXT_CLASSIFICATION, MULTI_LABEL)
    batch_size = 512
    default_model = None
    options_known = _HFAdapter.options_known + ("threshold",)
    option_schema = {**_HFAdapter.option_schema, "threshold": Opt("float", lo=0, hi=1, lo_open=True)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        t = ctx.options.get("threshold", DEFAULT_THRESHOLD)
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 1:
            raise BadInput(f"[adapters.{self.name}] threshold must be a number above 0 and at most 1 (got {t!r})")
        self.threshold = float(t)

    def load(self) -> None:
        self.pipe = self._load_pipeline("text-classification")
        cfg = self.pipe.model.config
        self.service_labels = [str(cfg.id2label[i]) for i in sorted(cfg.id2label)]
        explicit = {str(k): str(v) for k, v in (self.ctx.label_map or {}).items()}
        stray = sorted(set(explicit) - set(self.service_labels))
        if stray:
            raise BadInput(f"[label_maps.{self.name}] names {stray}, which {self.model_name} does not output "
                           f"(its labels: {self.service_labels})")
        self.mapping = infer_label_map(self.service_labels, self.ctx.labels, explicit)
        if not any(self.mapping.get(s) for s in self.service_labels):
            raise AdapterUnavailable(f"labels of {self.model_name} ({', '.join(self.service_labels[:8])}) do not map "
                                     f"onto the dataset labels ({', '.join(self.ctx.labels[:8])}): add "
                                     f"[label_maps.{self.name}] to baseline.toml")
        self.notes.append(f"label map: {describe_map(self.mapping, self.service_labels)}")
        tok = self.pipe.tokenizer
        self.max_len = effective_max_length(tok, cfg, self.max_length)
        tok.model_max_length = self.max_len
        if is_multilabel(self.ctx):
            self.notes.append(f"multi-label: sigmoid per model label, a label predicted at probability "
                              f">= {self.threshold:g}")
            if getattr(cfg, "problem_type", None) != "multi_label_classification":
                self.notes.append(f"{self.model_name} is not marked as a multi-label checkpoint (problem_type "
                                  f"{getattr(cfg, 'problem_type', None)!r}): its sigmoid scores were not trained "
                                  "to be read one label at a time")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        lengths = self._token_lengths(self.pipe.tokenizer, texts)
        truncated = sum(n > self.max_len for n in lengths)
        order = length_order(lengths)
        if is_multilabel(self.ctx):
            return self._predict_sets(texts, order, truncated)
        outs = self.pipe([texts[i] for i in order], top_k=None, truncation=True, batch_size=self.forward_batch)
        labels: list[str | None] = [None] * len(texts)
        scores: list[dict[str, float]] = [{}] * len(texts)
        raw: list[str | None] = [None] * len(texts)
        for pos, i in enumerate(order):
            r = outs[pos]
            if isinstance(r, dict):
                r = [r]
            s = dict.fromkeys(self.ctx.labels, 0.0)
            for item in r:
                target = self.mapping.get(str(item["label"]))
                if target:
                    s[target] += float(item["score"])
            top = max(r, key=lambda item: item["score"])
            raw[i] = str(top["label"])
            labels[i] = self.mapping.get(raw[i]) or None
            scores[i] = s
        return BatchResult(labels=labels, scores=scores, raw=raw, truncated=truncated)

    def _predict_sets(self, texts: list[str], order: list[int], truncated: int) -> BatchResult:
        """Multi-label: independent sigmoid probabilities per model label, mapped, cut at ``threshold``."""
        outs = self.pipe([texts[i] for i in order], top_k=None, truncation=True, batch_size=self.forward_batch,
                         function_to_apply="sigmoid")
        labels: list[str | None] = [None] * len(texts)
        scores: list[dict[str, float]] = [{}] * len(texts)
        for pos, i in enumerate(order):
            r = outs[pos]
            if isinstance(r, dict):
                r = [r]
            s = dict.fromkeys(self.ctx.labels, 0.0)
            for item in r:
                target = self.mapping.get(str(item["label"]))
                if target:
                    s[target] = max(s[target], float(item["score"]))
            scores[i] = s
            labels[i] = encode(lab for lab, v in s.items() if v >= self.threshold)
        return BatchResult(labels=labels, scores=scores, truncated=truncated)

    def explain(self) -> dict[str, Any]:
        features: dict[str, list[str]] = {lab: [] for lab in self.ctx.labels}
        for s in self.service_labels:
            features.setdefault(self.mapping.get(s) or "(abstain)", []).append(f"model label {s}")
        return {"kind": "black_box", "text": "fine-tuned classifier used as is; its labels mapped onto the dataset's",
                "model": self.model_name, "label_map": describe_map(self.mapping, self.service_labels),
                "features": {k: v for k, v in features.items() if v}}

    def _release(self) -> None:
        self.pipe = None
