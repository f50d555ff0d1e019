"""Azure AI Language custom single-label (and, for the multi-label task, multi-label) classification."""

from __future__ import annotations

from typing import Any

from baseline.adapters.azure.common import (
    MAX_DOC_CHARS,
    MAX_JOB_CHARS,
    MAX_JOB_DOCS,
    _at,
    _AzureLanguage,
    _host,
)
from baseline.adapters.base import (
    RANK_CUSTOM_CLOUD,
    AdapterContext,
    Availability,
    BatchResult,
    Opt,
    is_multilabel,
)
from baseline.adapters.cloud import InvalidAnswer, truncate_chars
from baseline.costs import azure_text_records
from baseline.errors import BadInput
from baseline.tasks.labelsets import encode


class AzureCustom(_AzureLanguage):
    """Azure AI Language custom single-label classification against a project you trained in Azure.

    Classifies through ``begin_single_label_classify`` with the ``project`` and ``deployment``
    options. Training Azure custom models is out of scope: train and deploy in Language Studio
    (or the authoring API) first. Categories map onto dataset labels by explicit
    [label_maps.azure-language-custom] entries or identical names; others are abstentions.

    Multi-label task: the project must be a custom multi-label one (``projectKind``
    "CustomMultiLabelClassification", trained and deployed in Azure like the single-label one);
    documents go through ``begin_multi_label_classify`` (task kind ``CustomMultiLabelClassification``)
    and each answer's ``class`` list (zero or more categories with ``confidenceScore``) is the
    predicted set, as the service decides it. Every dataset label gets a score: the confidence the
    service returned for it, 0.0 for a label it did not return. A category that maps to no dataset
    label is left out of the set, kept in the raw answer and counted in a note. Billing, retries,
    batching (25 documents / 125,000 characters per job) and teardown are the single-label ones.
    """

    name = "azure-language-custom"
    simplicity = RANK_CUSTOM_CLOUD
    description = ("Azure AI Language custom single-label classification (a project + deployment you "
                   "trained in Azure; baseline does not train it)")
    learns = False
    tasks = ("text-classification", "multi-label-text-classification")
    batch_size = MAX_JOB_DOCS
    service_limit = MAX_JOB_DOCS
    price_row = ("azure_language", "custom_classification")
    option_schema = {**_AzureLanguage.option_schema, "batch_size": Opt("int", lo=1, hi=MAX_JOB_DOCS),
                     "project": Opt("str"), "deployment": Opt("str"), "polling_interval": Opt("float", lo=0)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.project = ctx.option("project")
        self.deployment = ctx.option("deployment")
        self.polling_interval = self._number("polling_interval", 5.0, float)
        self._unmapped = 0  # multi-label: returned categories that map to no dataset label
        bad = {k: v for k, v in (ctx.label_map or {}).items() if v not in ctx.labels}
        if bad:
            k, v = next(iter(bad.items()))
            raise BadInput(f"label map for {self.name} sends {k!r} to {v!r}, which is not a dataset label "
                           f"{ctx.labels}: fix label_maps.{self.name} in baseline.toml")

    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        base = super().availability(task, options)
        if not base.ok:
            return base
        missing = [k for k in ("project", "deployment") if not (options or {}).get(k)]
        if missing:
            return Availability.no(f"set {' and '.join(missing)} under adapters.{cls.name} in baseline.toml (a project and "
                                   "deployment you trained in Azure; baseline does not train Azure models)")
        return Availability.yes()

    def endpoint_description(self) -> str:
        where = f"{self.project}/{self.deployment}" if self.project and self.deployment else "project not set"
        kind = "multi-label" if is_multilabel(self.ctx) else "single-label"
        return (f"Azure AI Language custom {kind} classification ({where}) "
                f"{_at(self.endpoint)}")

    def _operation(self) -> str:
        """The SDK operation (and cache key part) this run's task uses."""
        return "multi_label_classify" if is_multilabel(self.ctx) else "single_label_classify"

    def cache_identity(self) -> str:
        return self._identity(f"op={self._operation()}", f"project={self.project}",
                              f"deployment={self.deployment}")

    def _map(self, category: str | None) -> str | None:
        """Category → dataset label: the explicit map, else the same name (case-insensitive); None = abstain."""
        if category is None:
            return None
        if category not in self._maps:
            explicit = self.ctx.label_map or {}
            by_name = {str(lab).strip().lower(): lab for lab in self.ctx.labels}
            target = explicit.get(category, by_name.get(category.strip().lower()))
            self._maps[category] = target
        return self._maps[category]

    def _not_found_message(self) -> str:
        return (f"{self.name}: project {self.project!r} / deployment {self.deployment!r} not found at "
                f"{_host(self.endpoint)} (HTTP 404): check the project and deployment options")

    def load(self) -> None:
        if not self.project or not self.deployment:
            raise BadInput(f"{self.name}: set project and deployment under adapters.{self.name} in baseline.toml")
        super().load()
        self.notes.append(f"classifies with {self.project}/{self.deployment}, trained and hosted in Azure outside "
                          "baseline: its training and hosting costs are not in this report")

    def predict_batch(self, texts: list[str]) -> BatchResult:
        sent, cut = zip(*(truncate_chars(t, MAX_DOC_CHARS) for t in texts), strict=True) if texts else ((), ())
        sent = list(sent)
        n = len(sent)
        out = BatchResult(labels=[None] * n, scores=[{} for _ in range(n)], raw=[None] * n, errors=[None] * n,
                          truncated=sum(cut))
        unit_chars, _ = self._price()
        billed = 0
        # one job per ≤25 documents and ≤125,000 characters (5,120 × 25 can exceed it)
        jobs: list[list[int]] = [[]]
        for k, t in enumerate(sent):
            if jobs[-1] and sum(len(sent[j]) for j in jobs[-1]) + len(t) > MAX_JOB_CHARS:
                jobs.append([])
            jobs[-1].append(k)
        for job in jobs:
            if not job:
                continue
            docs_in = [sent[k] for k in job]

            op = self._operation()

            def call(client: Any, docs_in: list[str] = docs_in, op: str = op) -> Any:
                poller = getattr(client, f"begin_{op}")(
                    docs_in, project_name=self.project, deployment_name=self.deployment, language=self.language,
                    show_stats=True, polling_interval=self.polling_interval,
                    disable_service_logs=self.disable_service_logs or None)
                return list(poller.result())

            def validate(docs: Any, m: int = len(job), op: str = op) -> None:
                self._check_docs(docs, m, op)
                for doc in docs:
                    if not doc.is_error and not isinstance(doc.classifications, list):
                        raise InvalidAnswer(f"{op}: a document has no classifications")

            bill = self._cost(sum(azure_text_records(t, unit_chars) for t in docs_in))
            docs = self._ask(call, out, job, bill, validate)
            if docs is None:
                continue
            for k, text, doc in zip(job, docs_in, docs, strict=True):
                if doc.is_error:
                    out.errors[k] = f"{doc.error.code}: {doc.error.message}"
                    continue
                billed += self._records(text, doc)
                if is_multilabel(self.ctx):
                    self._take_set(doc.classifications, k, out)
                    continue
                top = doc.classifications[0] if doc.classifications else None
                category = top.category if top is not None else None
                label = self._map(category)
                out.raw[k] = category
                out.labels[k] = label
                out.scores[k] = {label: float(top.confidence_score)} if label is not None and top else {}
        out.cost = self._cost(billed)
        return out

    def _take_set(self, classifications: list[Any], k: int, out: BatchResult) -> None:
        """Multi-label: the returned categories (mapped) as a canonical set; every label's score (0.0 if absent)."""
        scores = dict.fromkeys(self.ctx.labels, 0.0)
        taken: set[str] = set()
        categories: set[str] = set()
        for c in classifications:
            categories.add(str(c.category))
            label = self._map(c.category)
            if label is None:
                self._unmapped += 1
                continue
            taken.add(label)
            scores[label] = max(scores[label], float(c.confidence_score))
        out.raw[k] = encode(categories)
        out.labels[k] = encode(taken)
        out.scores[k] = scores

    def teardown(self) -> None:
        """Close the clients; in multi-label runs, first note the categories left out for mapping to no label."""
        if self._unmapped:
            self.notes.append(f"{self._unmapped} returned categories map to no dataset label: left out of the "
                              "predicted sets (see the raw answers; map them under label_maps.azure-language-custom)")
            self._unmapped = 0
        super().teardown()
