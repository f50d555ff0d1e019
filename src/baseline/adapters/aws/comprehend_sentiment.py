"""Amazon Comprehend prebuilt sentiment (BatchDetectSentiment), label-mapped onto the dataset."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from baseline.adapters.aws.common import (
    BATCH_MAX_DOCS,
    COMPREHEND_API,
    SENTIMENT_LABELS,
    SENTIMENT_LANGUAGES,
    SYNC_MAX_BYTES,
    _AwsAdapter,
    _queued,
)
from baseline.adapters.base import (
    RANK_PREBUILT_API,
    AdapterContext,
    BatchResult,
    Cost,
    Opt,
)
from baseline.adapters.cloud import (
    InvalidAnswer,
    check_indexes,
    truncate_utf8,
)
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.costs import comprehend_units
from baseline.errors import AdapterUnavailable, BadInput
from baseline.redact import redact


class ComprehendSentiment(_AwsAdapter):
    """Amazon Comprehend prebuilt sentiment through BatchDetectSentiment, label-mapped onto the dataset.

    Options: ``language`` (LanguageCode, default "en"), ``unmapped`` ("abstain": a service label with
    no dataset counterpart is an abstention; "argmax": take the best-scoring mapped label instead),
    ``max_rps`` (default 10: the ~250 documents/s the Comprehend guide gives for batch operations;
    set it to your account's quota), plus the shared AWS options. Texts over 5,000 UTF-8 bytes are
    cut to the longest prefix that fits; empty texts are not sent (abstain, item error).
    """

    name = "aws-comprehend-sentiment"
    simplicity = RANK_PREBUILT_API
    description = "Amazon Comprehend prebuilt sentiment (BatchDetectSentiment), label-mapped"
    learns = False
    batch_size = BATCH_MAX_DOCS
    default_max_rps = 10.0
    service_name = "comprehend"
    option_schema = {**_AwsAdapter.option_schema, "language": Opt("str", choices=SENTIMENT_LANGUAGES),
                     "unmapped": Opt("str", choices=("abstain", "argmax"))}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.language = str(ctx.options.get("language", "en"))
        if self.language not in SENTIMENT_LANGUAGES:
            raise BadInput(f"[adapters.{self.name}] language {self.language!r} is not one Comprehend sentiment "
                           f"supports: {', '.join(SENTIMENT_LANGUAGES)}")
        self.unmapped = str(ctx.options.get("unmapped", "abstain"))
        if self.unmapped not in ("abstain", "argmax"):
            raise BadInput(f"[adapters.{self.name}] unmapped must be 'abstain' or 'argmax' (got {self.unmapped!r})")
        self.label_map = infer_label_map(SENTIMENT_LABELS, ctx.labels, ctx.label_map)

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        row = self.ctx.prices.row("aws_comprehend", "nlp_sync")
        units = sum(comprehend_units(truncate_utf8(t, SYNC_MAX_BYTES)[0], int(row["unit_chars"]), int(row["min_units"]))
                    for t in texts if t.strip())
        return Cost(units * float(row["usd_per_unit"]), {"comprehend_units": float(units)},
                    note="100-character units, 3-unit minimum per document")

    def endpoint_description(self) -> str:
        return f"Amazon Comprehend BatchDetectSentiment {self._where()}"

    def cache_identity(self) -> str:
        return json.dumps({"api": COMPREHEND_API, "op": "BatchDetectSentiment", "language": self.language,
                           "max_bytes": SYNC_MAX_BYTES, "map": sorted(self.label_map.items()),
                           "unmapped": self.unmapped, "labels": self.ctx.labels}, sort_keys=True)

    def load(self) -> None:
        if not set(self.label_map.values()) & set(self.ctx.labels):
            raise AdapterUnavailable(
                f"labels {self.ctx.labels} do not map onto {'/'.join(SENTIMENT_LABELS)}: add "
                f"[label_maps.{self.name}] to baseline.toml (e.g. POSITIVE = \"<your label>\")")
        line = f"label map: {describe_map(self.label_map, SENTIMENT_LABELS)}"
        self.notes.append(line + (" (unmapped → best mapped score)" if self.unmapped == "argmax" else ""))
        self.ctx.log(f"{self.name}: {line}")
        self._client()

    def predict_batch(self, texts: list[str]) -> BatchResult:
        n = len(texts)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n)
        sent: list[tuple[int, str]] = []
        for i, t in enumerate(texts):
            if not t.strip():
                out.errors[i] = "empty text: not sent (Comprehend needs at least one character)"
                continue
            cut, was_cut = truncate_utf8(t, SYNC_MAX_BYTES)
            out.truncated += int(was_cut)
            sent.append((i, cut))
        for k in range(0, len(sent), BATCH_MAX_DOCS):
            self._send(sent[k:k + BATCH_MAX_DOCS], out)
        return out

    def _send(self, chunk: list[tuple[int, str]], out: BatchResult) -> None:
        """One BatchDetectSentiment request, asked again (up to ``answer_attempts``) while its answer
        does not validate; every attempt that may have been billed is counted."""
        client = self._client()
        row = self.ctx.prices.row("aws_comprehend", "nlp_sync")
        units = sum(comprehend_units(t, int(row["unit_chars"]), int(row["min_units"])) for _, t in chunk)
        # Conservative: every document of a processed request is billed, including per-document errors.
        bill = Cost(units * float(row["usd_per_unit"]), {"comprehend_units": float(units)})
        items = [i for i, _ in chunk]
        problem = ""
        for attempt in range(self.answer_attempts):
            out.retries += int(attempt > 0)
            _queued(out, self._pacer.wait())
            resp, err, retries, throttles = self._call(client.batch_detect_sentiment,
                                                       TextList=[t for _, t in chunk], LanguageCode=self.language)
            out.retries += retries
            out.throttles += throttles
            for _ in range(self._stats.unconfirmed):
                out.unconfirmed = out.unconfirmed + bill
            if err is not None:
                if not self._is_transient(err):
                    self._raise(err, "BatchDetectSentiment failed")
                self._request_failed(err, out, items)
                return
            try:
                results, errors = self._validate(resp, len(chunk))
            except InvalidAnswer as e:  # a 200 was sent, so the service may well have billed it
                out.unconfirmed = out.unconfirmed + bill
                problem = str(e)
                continue
            self._request_ok()
            out.cost = out.cost + bill
            for r in results:
                i = chunk[r["Index"]][0]
                out.raw[i] = r["Sentiment"]
                out.scores[i] = self._scores(r.get("SentimentScore") or {})
                out.labels[i] = self._label(out.raw[i], out.scores[i])
            for e in errors:
                out.errors[chunk[e["Index"]][0]] = redact(
                    f"{e.get('ErrorCode', 'error')}: {e.get('ErrorMessage', '')}".strip())
            return
        self._request_failed(f"invalid answer after {self.answer_attempts} attempts: {problem}", out, items)

    @staticmethod
    def _validate(resp: dict | None, n: int) -> tuple[list[dict], list[dict]]:
        """ResultList + ErrorList cover the n documents exactly once, each result with a known sentiment."""
        resp = resp or {}
        results, errors = resp.get("ResultList"), resp.get("ErrorList")
        if not isinstance(results, list) or not isinstance(errors, list):
            body = str(resp.get("message", ""))[:60]
            raise InvalidAnswer("BatchDetectSentiment answer is not the expected JSON"
                                + (f" (body starts {body!r})" if body else " (no ResultList/ErrorList)"))
        if not all(isinstance(x, dict) for x in results + errors):
            raise InvalidAnswer("BatchDetectSentiment answer has entries that are not objects")
        check_indexes([x.get("Index") for x in results + errors], n, "BatchDetectSentiment")
        for r in results:
            if r.get("Sentiment") not in SENTIMENT_LABELS:
                raise InvalidAnswer(f"BatchDetectSentiment: unknown sentiment {r.get('Sentiment')!r}")
            scores = r.get("SentimentScore")
            if scores is not None and (not isinstance(scores, dict) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values())):
                raise InvalidAnswer("BatchDetectSentiment: SentimentScore is not a map of numbers")
        return results, errors

    def _scores(self, service_scores: dict[str, float]) -> dict[str, float]:
        """Service scores (Positive, Negative, ...) summed onto the dataset labels they map to."""
        out = dict.fromkeys(self.ctx.labels, 0.0)
        for s in SENTIMENT_LABELS:
            target = self.label_map.get(s)
            if target in out:
                out[target] += float(service_scores.get(s.capitalize(), 0.0))
        return out

    def _label(self, raw: str | None, scores: dict[str, float]) -> str | None:
        mapped = self.label_map.get(raw) if raw else None
        if mapped is None and self.unmapped == "argmax" and any(scores.values()):
            mapped = max(scores, key=lambda k: scores[k])
        return mapped

    def explain(self) -> dict[str, Any]:
        return {"kind": "service", "text": "prebuilt Comprehend sentiment; label map "
                + describe_map(self.label_map, SENTIMENT_LABELS)}
