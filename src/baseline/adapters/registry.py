"""Adapter discovery: the built-in adapters by module path, plus the ``baseline.adapters`` entry-point group.

The built-in table is the code's own truth about where its adapters live, so a moved or new built-in
adapter is found without reinstalling (installed entry-point metadata can be stale in an editable
install). Entry points add plugins; an entry point named like a built-in is ignored in its favour.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from baseline.adapters.base import Adapter, Availability
from baseline.errors import BadInput

GROUP = "baseline.adapters"

# name -> "module:Class"; keep pyproject.toml's [project.entry-points."baseline.adapters"] the same.
BUILTIN: dict[str, str] = {
    "majority": "baseline.adapters.trivial:Majority",
    "tfidf-logreg": "baseline.adapters.trivial:TfidfLogReg",
    "hf-embeddings": "baseline.adapters.hf.embeddings:HFEmbeddings",
    "hf-zero-shot": "baseline.adapters.hf.zero_shot:HFZeroShot",
    "hf-pipeline": "baseline.adapters.hf.pipeline:HFPipeline",
    "flaml": "baseline.adapters.automl.flaml:FlamlAdapter",
    "aws-comprehend-sentiment": "baseline.adapters.aws.comprehend_sentiment:ComprehendSentiment",
    "aws-comprehend-custom": "baseline.adapters.aws.comprehend_custom:ComprehendCustom",
    "bedrock-llm": "baseline.adapters.aws.bedrock:BedrockLLM",
    "aws-sagemaker-autopilot": "baseline.adapters.aws.autopilot:SageMakerAutopilot",
    "azure-language-sentiment": "baseline.adapters.azure.sentiment:AzureSentiment",
    "azure-language-custom": "baseline.adapters.azure.custom:AzureCustom",
    "openai-llm": "baseline.adapters.openai.chat:OpenAIChat",
    "gcp-language-sentiment": "baseline.adapters.gcp.sentiment:GoogleSentiment",
    "gcp-language-classify": "baseline.adapters.gcp.classify:GoogleClassify",
    "setfit-8": "baseline.adapters.setfit.adapter:SetFit8",
    "setfit-64": "baseline.adapters.setfit.adapter:SetFit64",
    "mean": "baseline.adapters.tabular.floors:Mean",
    "median": "baseline.adapters.tabular.floors:Median",
    "linear": "baseline.adapters.tabular.linear:Linear",
    "lightgbm": "baseline.adapters.tabular.boosting:LightGBM",
    "tabpfn": "baseline.adapters.tabular.pretrained:TabPFN",
}


def _load(value: str) -> Any:
    module, _, attr = value.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _entry(name: str, value: str, load: Any) -> Entry:
    try:
        return Entry(name, load())
    except Exception as e:  # broken or not-yet-installed plugin: listed, not fatal
        msg = f"{type(e).__name__}: {e}".splitlines()[0]
        if isinstance(e, ImportError | ModuleNotFoundError):
            msg = f"cannot import {value}: {e}".splitlines()[0]
        return Entry(name, None, msg)


@dataclass
class Entry:
    """One registered adapter: its class, or the reason it could not be imported."""

    name: str
    cls: type[Adapter] | None
    import_error: str = ""

    @property
    def family(self) -> str:
        return self.cls.family if self.cls else "?"

    def availability(self, task: str, options: dict[str, Any] | None = None) -> Availability:
        if self.cls is None:
            return Availability.no(self.import_error)
        try:
            return self.cls.availability(task, options or {})
        except Exception as e:  # an availability check must never crash the listing
            return Availability.no(f"availability check failed: {type(e).__name__}: {e}".splitlines()[0])


class Registry:
    """Name → adapter class. Built from entry points; extra classes can be added (plugins, tests)."""

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = dict(entries or {})

    @classmethod
    def discover(cls) -> Registry:
        entries: dict[str, Entry] = {n: _entry(n, v, lambda v=v: _load(v)) for n, v in BUILTIN.items()}
        for ep in entry_points(group=GROUP):
            if ep.name not in BUILTIN:
                entries[ep.name] = _entry(ep.name, ep.value, ep.load)
        return cls(entries)

    def add(self, klass: type[Adapter]) -> None:
        self.entries[klass.name] = Entry(klass.name, klass)

    def check_options(self, adapter_options: dict[str, dict[str, Any]]) -> None:
        """Every ``[adapters.<name>]`` section against its adapter's declared options (``BadInput`` if wrong)."""
        for name, options in (adapter_options or {}).items():
            if name not in self.entries:
                raise BadInput(f"[adapters.{name}] names no adapter; `baseline adapters` lists them: "
                               f"{', '.join(self.names())}")
            if not isinstance(options, dict):
                raise BadInput(f"[adapters.{name}] must be a table of options (got {options!r})")
            cls = self.entries[name].cls
            if cls is not None:
                cls.check_options(options)

    def names(self) -> list[str]:
        return sorted(self.entries, key=lambda n: (self.entries[n].cls.simplicity if self.entries[n].cls else 999, n))

    def get(self, name: str) -> Entry:
        if name not in self.entries:
            raise BadInput(f"unknown adapter {name!r}; `baseline adapters` lists them: {', '.join(self.names())}")
        return self.entries[name]

    def select(self, spec: str | list[str] | None) -> tuple[list[str], list[str]]:
        """Resolve ``--adapters``: returns (names to run, names listed but not run).

        ``None`` or ``"default"`` means every free adapter that runs by default (paid ones and slow
        ones such as SetFit are listed with their estimates instead); ``"all"`` means everything;
        otherwise a comma-separated list of names.
        """
        if spec is None or spec == "default":
            def opt_in(n: str) -> bool:
                c = self.entries[n].cls
                return bool(c and (c.paid or not c.by_default))
            return [n for n in self.names() if not opt_in(n)], [n for n in self.names() if opt_in(n)]
        if spec == "all":
            return self.names(), []
        names = spec if isinstance(spec, list) else [s.strip() for s in spec.split(",") if s.strip()]
        if not names:
            raise BadInput("--adapters is empty: name adapters (comma-separated), 'all', or leave it out")
        for n in names:
            self.get(n)
        return list(dict.fromkeys(names)), []
