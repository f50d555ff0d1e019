"""hf-pipeline: a fine-tuned text-classification checkpoint used as is."""

from __future__ import annotations

from typing import Any

from baseline.adapters.base import (
    RANK_PRETRAINED,
    BatchResult,
)
from baseline.adapters.hf.common import (
    _HFAdapter,
    effective_max_length,
    length_order,
)
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.errors import AdapterUnavailable, BadInput


class HFPipeline(_HFAdapter):
    """A fine-tuned text-classification checkpoint used as is; its labels mapped onto the dataset's.

    Options (``[adapters.hf-pipeline]``): ``model`` (required: hub id or local folder), ``revision``,
    ``batch_size`` (texts per forward pass, 32), ``request_size`` (texts per runner request, 512),
    ``max_length`` (tokens). The label map comes from ``[label_maps.hf-pipeline]`` (model label =
    dataset label), else obvious names are inferred (POSITIVE → positive, ...). Outputs that map to no
    dataset label are abstentions, with the model's own label kept as the raw answer.
    """

    name = "hf-pipeline"
    simplicity = RANK_PRETRAINED
    description = "fine-tuned text-classification checkpoint (transformers pipeline), labels mapped"
    learns = False
    batch_size = 512
    default_model = None

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

    def predict_batch(self, texts: list[str]) -> BatchResult:
        lengths = self._token_lengths(self.pipe.tokenizer, texts)
        truncated = sum(n > self.max_len for n in lengths)
        order = length_order(lengths)
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

    def explain(self) -> dict[str, Any]:
        features: dict[str, list[str]] = {lab: [] for lab in self.ctx.labels}
        for s in self.service_labels:
            features.setdefault(self.mapping.get(s) or "(abstain)", []).append(f"model label {s}")
        return {"kind": "black_box", "text": "fine-tuned classifier used as is; its labels mapped onto the dataset's",
                "model": self.model_name, "label_map": describe_map(self.mapping, self.service_labels),
                "features": {k: v for k, v in features.items() if v}}

    def _release(self) -> None:
        self.pipe = None
