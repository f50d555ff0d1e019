"""Azure AI Language prebuilt sentiment (analyze_sentiment)."""

from __future__ import annotations

from typing import Any

from baseline.adapters.azure.common import (
    MAX_DOC_CHARS,
    MAX_SYNC_DOCS,
    SENTIMENT_LABELS,
    _at,
    _AzureLanguage,
)
from baseline.adapters.base import (
    RANK_PREBUILT_API,
    AdapterContext,
    BatchResult,
    Opt,
)
from baseline.adapters.cloud import InvalidAnswer, truncate_chars
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.costs import azure_text_records
from baseline.errors import AdapterUnavailable


class AzureSentiment(_AzureLanguage):
    """Azure AI Language prebuilt sentiment (``analyze_sentiment``), label-mapped onto the dataset.

    positive/negative/neutral/mixed map onto the dataset's labels (explicit [label_maps] first,
    then the obvious names); a label with no counterpart is an abstention with its raw label kept.
    """

    name = "azure-language-sentiment"
    simplicity = RANK_PREBUILT_API
    description = "Azure AI Language prebuilt sentiment (analyze_sentiment), label-mapped"
    learns = False
    batch_size = MAX_SYNC_DOCS
    service_limit = MAX_SYNC_DOCS
    price_row = ("azure_language", "prebuilt_standard")
    option_schema = {**_AzureLanguage.option_schema, "model_version": Opt("str")}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.model_version = str(ctx.option("model_version", "latest"))
        self.label_map = infer_label_map(SENTIMENT_LABELS, ctx.labels, ctx.label_map)

    def endpoint_description(self) -> str:
        return f"Azure AI Language analyze_sentiment {_at(self.endpoint)}"

    def cache_identity(self) -> str:
        return self._identity("op=analyze_sentiment", f"model={self.model_version}", "opinion_mining=false")

    def load(self) -> None:
        if not any(v is not None for v in self.label_map.values()):
            raise AdapterUnavailable(
                f"labels {self.ctx.labels} do not map onto {'/'.join(SENTIMENT_LABELS)}: add "
                f"a label_maps.{self.name} table to baseline.toml")
        super().load()
        self.notes.append("label map: " + describe_map(self.label_map, SENTIMENT_LABELS))

    def predict_batch(self, texts: list[str]) -> BatchResult:
        sent, cut = zip(*(truncate_chars(t, MAX_DOC_CHARS) for t in texts), strict=True) if texts else ((), ())
        sent = list(sent)
        n = len(sent)
        model = None if self.model_version == "latest" else self.model_version
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n,
                          truncated=sum(cut))
        unit_chars, _ = self._price()
        bill = self._cost(sum(azure_text_records(t, unit_chars) for t in sent))  # if every document is answered

        def call(client: Any) -> Any:
            return client.analyze_sentiment(sent, language=self.language, show_opinion_mining=False,
                                            model_version=model, show_stats=True,
                                            disable_service_logs=self.disable_service_logs or None)

        def validate(docs: Any) -> None:
            self._check_docs(docs, n, "analyze_sentiment")
            for doc in docs:
                if doc.is_error:
                    continue
                if doc.sentiment not in SENTIMENT_LABELS:
                    raise InvalidAnswer(f"analyze_sentiment: unknown sentiment {doc.sentiment!r}")
                for lab in ("positive", "neutral", "negative"):
                    v = getattr(doc.confidence_scores, lab, None)
                    if not isinstance(v, int | float) or isinstance(v, bool):
                        raise InvalidAnswer(f"analyze_sentiment: confidence score {lab} is {v!r}")

        docs = self._ask(call, out, range(n), bill, validate)
        if docs is None:
            return out
        billed = 0
        for k, (text, doc) in enumerate(zip(sent, docs, strict=True)):
            if doc.is_error:
                out.errors[k] = f"{doc.error.code}: {doc.error.message}"
                continue
            billed += self._records(text, doc)
            out.raw[k] = doc.sentiment
            out.labels[k] = self.label_map.get(doc.sentiment)
            s: dict[str, float] = {}
            for service_label in ("positive", "neutral", "negative"):
                target = self.label_map.get(service_label)
                if target is not None:
                    s[target] = s.get(target, 0.0) + float(getattr(doc.confidence_scores, service_label))
            out.scores[k] = s
        out.cost = self._cost(billed)
        return out
