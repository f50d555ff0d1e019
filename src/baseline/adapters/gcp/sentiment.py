"""Google Cloud Natural Language sentiment (``documents:analyzeSentiment``), thresholded onto the dataset's labels.

The service returns no label, only a document score in [-1, 1] and a magnitude >= 0. The adapter turns
them into a sentiment label by stated, configurable thresholds:

    score >= positive_threshold (0.25)   → "positive"
    score <= negative_threshold (-0.25)  → "negative"
    otherwise                            → "neutral", or "mixed" when mixed_magnitude is set and the
                                           magnitude is at least that (strong feelings both ways)

and maps that label onto the dataset's labels ([label_maps.gcp-language-sentiment] first, then the
obvious names). A label with no dataset counterpart is an abstention, counted, with the raw label kept;
``unmapped = "nearest"`` instead takes the sign of the score (the mapped positive or negative label), for
binary datasets. Scores per dataset label: P(positive) = (score + 1) / 2, P(negative) = 1 - that.
"""

from __future__ import annotations

import math
from typing import Any

from baseline.adapters.base import RANK_PREBUILT_API, AdapterContext, BatchResult, Opt
from baseline.adapters.cloud import InvalidAnswer
from baseline.adapters.gcp.common import _GoogleLanguage
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.errors import AdapterUnavailable, BadInput

SENTIMENT_LABELS = ("positive", "negative", "neutral", "mixed")


class GoogleSentiment(_GoogleLanguage):
    """Google Cloud Natural Language analyzeSentiment: score/magnitude thresholded, then label-mapped."""

    name = "gcp-language-sentiment"
    simplicity = RANK_PREBUILT_API
    description = "Google Cloud Natural Language sentiment (analyzeSentiment), score thresholds, label-mapped"
    price_row = ("gcp_language", "sentiment")
    rpc = "analyzeSentiment"
    option_schema = {**_GoogleLanguage.option_schema,
                     "positive_threshold": Opt("float", lo=-1, hi=1), "negative_threshold": Opt("float", lo=-1, hi=1),
                     "mixed_magnitude": Opt("float", lo=0, nullable=True),
                     "unmapped": Opt("str", choices=("abstain", "nearest"))}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.pos_t = float(ctx.option("positive_threshold", 0.25))
        self.neg_t = float(ctx.option("negative_threshold", -0.25))
        if self.neg_t > self.pos_t:
            raise BadInput(f"[adapters.{self.name}] negative_threshold ({self.neg_t}) must not be above "
                           f"positive_threshold ({self.pos_t})")
        mm = ctx.option("mixed_magnitude")
        self.mixed_magnitude = None if mm is None else float(mm)
        self.unmapped = str(ctx.option("unmapped", "abstain"))
        self.label_map = infer_label_map(SENTIMENT_LABELS, ctx.labels, ctx.label_map)

    def thresholds(self) -> str:
        mixed = f", 'mixed' when magnitude >= {self.mixed_magnitude:g}" if self.mixed_magnitude is not None else ""
        return (f"score >= {self.pos_t:g} → positive, score <= {self.neg_t:g} → negative, otherwise neutral{mixed}")

    def service_label(self, score: float, magnitude: float) -> str:
        if score >= self.pos_t:
            return "positive"
        if score <= self.neg_t:
            return "negative"
        if self.mixed_magnitude is not None and magnitude >= self.mixed_magnitude:
            return "mixed"
        return "neutral"

    def cache_identity(self) -> str:
        # thresholds are applied to cached answers too, but the label is what is cached: they are part of it
        return self._identity(pos=self.pos_t, neg=self.neg_t, mixed=self.mixed_magnitude, unmapped=self.unmapped)

    def load(self) -> None:
        if not set(self.label_map.values()) & set(self.ctx.labels):
            raise AdapterUnavailable(
                f"labels {self.ctx.labels} do not map onto {'/'.join(SENTIMENT_LABELS)}: add "
                f"[label_maps.{self.name}] to baseline.toml (e.g. positive = \"<your label>\")")
        super().load()
        line = f"label map: {describe_map(self.label_map, SENTIMENT_LABELS)}; thresholds: {self.thresholds()}"
        self.notes.append(line + (" (unmapped → sign of the score)" if self.unmapped == "nearest" else ""))
        self.ctx.log(f"{self.name}: {line}")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        out, todo = self._prepare(texts)
        for k, text in todo:
            doc = self._document(text)

            def call(client: Any, doc: Any = doc) -> Any:
                return client.analyze_sentiment(request={"document": doc}, retry=None, timeout=self.timeout)

            answer = self._ask(text, call, self._validate, out, k)
            if answer is None:
                continue
            score = float(answer.document_sentiment.score)
            magnitude = float(answer.document_sentiment.magnitude)
            raw = self.service_label(score, magnitude)
            out.raw[k] = raw
            p_pos = (score + 1.0) / 2.0
            scores: dict[str, float] = {}
            for lab, p in (("positive", p_pos), ("negative", 1.0 - p_pos)):
                target = self.label_map.get(lab)
                if target is not None:
                    scores[target] = scores.get(target, 0.0) + p
            out.scores[k] = scores
            label = self.label_map.get(raw)
            if label is None and self.unmapped == "nearest":
                label = self.label_map.get("positive" if score >= 0 else "negative")
            out.labels[k] = label
        return out

    @staticmethod
    def _validate(answer: Any) -> None:
        pb = getattr(answer, "_pb", None)
        if pb is None or not pb.HasField("document_sentiment"):
            raise InvalidAnswer("analyzeSentiment: the answer has no documentSentiment")
        s, m = answer.document_sentiment.score, answer.document_sentiment.magnitude
        if not (math.isfinite(s) and -1.0 <= s <= 1.0):
            raise InvalidAnswer(f"analyzeSentiment: score {s!r} is outside [-1, 1]")
        if not (math.isfinite(m) and m >= 0):
            raise InvalidAnswer(f"analyzeSentiment: magnitude {m!r} is negative")

    def explain(self) -> dict[str, Any]:
        return {"kind": "service", "text": f"prebuilt Google sentiment; {self.thresholds()}; label map "
                + describe_map(self.label_map, SENTIMENT_LABELS)}
