"""Google Cloud Natural Language content classification (``documents:classifyText``), mapped onto the dataset.

The service answers with categories of its fixed content taxonomy ("/Sports/Team Sports/Soccer", with a
confidence each); v2 (default) uses the 1,000+ category taxonomy, v1 is asked for the same one
(``contentCategoriesVersion = V2``; v1 refuses texts of fewer than about 20 words: item errors).

Mapping, in order, for the best-scoring category that maps at all:
1. explicit: ``[label_maps.gcp-language-classify]`` keys are category paths or prefixes
   (``"/Finance" = "billing"`` sends every /Finance/... category there); the longest prefix wins;
2. obvious names: a dataset label equal (case, spaces, "_"/"-"/"&" aside) to one of the path's segments,
   deepest first ("sports" ← "/Sports/...", "movies" ← "/Arts & Entertainment/Movies").
No category, or none that maps (or all below ``min_confidence``) → abstention, counted, with the top
category kept as the raw answer. Scores: confidences summed per dataset label.
"""

from __future__ import annotations

import math
import re
from typing import Any

from baseline.adapters.base import RANK_PREBUILT_API, AdapterContext, BatchResult, Opt
from baseline.adapters.cloud import InvalidAnswer
from baseline.adapters.gcp.common import _GoogleLanguage
from baseline.errors import BadInput


def _norm(s: str) -> str:
    return re.sub(r"[\s_\-&,]+", " ", str(s).lower()).strip()


class GoogleClassify(_GoogleLanguage):
    """Google Cloud Natural Language classifyText: taxonomy categories mapped onto the dataset's labels."""

    name = "gcp-language-classify"
    simplicity = RANK_PREBUILT_API
    description = "Google Cloud Natural Language content classification (classifyText), category-mapped"
    price_row = ("gcp_language", "classification")
    rpc = "classifyText"
    option_schema = {**_GoogleLanguage.option_schema, "min_confidence": Opt("float", lo=0, hi=1)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.min_confidence = float(ctx.option("min_confidence", 0.0))
        explicit = dict(ctx.label_map or {})
        for k, v in explicit.items():
            if not str(k).startswith("/"):
                raise BadInput(f"[label_maps.{self.name}] key {k!r} is not a category path: keys look like "
                               "\"/Finance\" or \"/Sports/Team Sports\"")
            if v is not None and v not in ctx.labels:
                raise BadInput(f"[label_maps.{self.name}] sends {k!r} to {v!r}, which is not a dataset label "
                               f"{ctx.labels}")
        self.explicit = {k.rstrip("/"): v for k, v in explicit.items()}
        self.by_norm = {_norm(lab): lab for lab in ctx.labels}
        self.seen: dict[str, str | None] = {}

    def map_category(self, name: str) -> str | None:
        """A category path → dataset label (explicit longest prefix, then an obvious segment name) or None."""
        best = None
        for prefix, label in self.explicit.items():
            if (name == prefix or name.startswith(prefix + "/")) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, label)
        if best is not None:
            return best[1]
        for seg in reversed([s for s in name.split("/") if s]):
            if _norm(seg) in self.by_norm:
                return self.by_norm[_norm(seg)]
        return None

    def cache_identity(self) -> str:
        return self._identity(min_confidence=self.min_confidence)

    def load(self) -> None:
        super().load()
        how = ", ".join(f"{k}→{v}" for k, v in sorted(self.explicit.items())) or "none"
        line = f"category map: explicit {how}; otherwise a dataset label named like a path segment; unmapped → abstain"
        self.notes.append(line)
        self.ctx.log(f"{self.name}: {line}")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        out, todo = self._prepare(texts)
        for k, text in todo:
            request: dict[str, Any] = {"document": self._document(text)}
            if self.api_version == "v1":
                request["classification_model_options"] = {"v2_model": {"content_categories_version": 2}}

            def call(client: Any, request: dict[str, Any] = request) -> Any:
                return client.classify_text(request=request, retry=None, timeout=self.timeout)

            answer = self._ask(text, call, self._validate, out, k)
            if answer is None:
                continue
            cats = sorted(((c.name, float(c.confidence)) for c in answer.categories), key=lambda c: -c[1])
            out.raw[k] = cats[0][0] if cats else "(no category)"
            scores: dict[str, float] = {}
            label = None
            for name, conf in cats:
                target = self.map_category(name)
                self.seen.setdefault(name, target)
                if target is None or conf < self.min_confidence:
                    continue
                scores[target] = scores.get(target, 0.0) + conf
                label = label or target
            out.scores[k] = scores
            out.labels[k] = label
        return out

    @staticmethod
    def _validate(answer: Any) -> None:
        for c in answer.categories:
            if not str(c.name).startswith("/"):
                raise InvalidAnswer(f"classifyText: category {c.name!r} is not a taxonomy path")
            if not (math.isfinite(c.confidence) and 0.0 <= c.confidence <= 1.0):
                raise InvalidAnswer(f"classifyText: confidence {c.confidence!r} is outside [0, 1]")

    def explain(self) -> dict[str, Any]:
        mapped = {k: v for k, v in sorted(self.seen.items())}
        return {"kind": "service", "text": "prebuilt Google content classification; categories seen → dataset labels",
                "categories": {k: (v or "(abstain)") for k, v in mapped.items()}}
