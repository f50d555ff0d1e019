"""The adapter contract: one candidate classifier behind a tiny, uniform interface.

An adapter knows nothing about reports, metrics or the test labels. The runner calls, in order:
``availability`` → ``estimate_*`` → ``load`` (cold start) → ``fit`` (if it learns) →
``predict_batch`` over batches → ``teardown`` (always, in ``finally``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from baseline.costs import PriceTable
from baseline.errors import BadInput

FAMILIES = ("trivial", "cloud", "pretrained", "automl")

# Simplicity ranks (lower is simpler), from DESIGN.md: no training and no hosting is simplest;
# training plus hosting is least simple.
RANK_FLOOR = 0            # trivial floors (majority class)
RANK_PREBUILT_API = 10    # managed prebuilt service: no training, no hosting
RANK_PRETRAINED = 20      # open model used as is: no training, self-hosted
RANK_CUSTOM_CLOUD = 30    # managed custom model: training, managed hosting
RANK_LINEAR = 40          # small model trained here and self-hosted
RANK_PROBE = 50           # trained head on a self-hosted transformer
RANK_AUTOML = 60          # a search, then training, then self-hosting


CREDENTIAL_OPTION_KEYS = frozenset({"key", "api_key", "subscription_key", "credential", "credentials", "secret",
                                    "private_key", "token"})


@dataclass
class Availability:
    """Whether an adapter can run here, and if not, why (one line)."""

    ok: bool
    reason: str = ""

    @classmethod
    def yes(cls) -> Availability:
        return cls(True, "")

    @classmethod
    def no(cls, reason: str) -> Availability:
        return cls(False, reason)


@dataclass
class Cost:
    """Expected or actual spend: USD plus the provider's billed units (e.g. comprehend_units)."""

    usd: float = 0.0
    units: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None
    note: str = ""

    def __add__(self, other: Cost) -> Cost:
        units = dict(self.units)
        for k, v in other.units.items():
            units[k] = units.get(k, 0.0) + v
        secs = None if self.seconds is None and other.seconds is None else (self.seconds or 0) + (other.seconds or 0)
        notes = [n for n in (self.note, other.note) if n]
        return Cost(self.usd + other.usd, units, secs, "; ".join(dict.fromkeys(notes)))


@dataclass
class BatchResult:
    """What one request (one batch) returned: per item, a dataset label or ``None`` (abstain)."""

    labels: list[str | None]
    # per item, over dataset labels: dicts, or ``scorerows.score_rows`` (rows of one float block: a many-class
    # batch's scores in a fraction of the memory)
    scores: list[Mapping[str, float]] | None = None
    raw: list[str | None] | None = None           # the service's own label before mapping
    errors: list[str | None] | None = None        # per-item error text (no secrets)
    cost: Cost = field(default_factory=Cost)      # what this request billed (confirmed by an answer)
    unconfirmed: Cost = field(default_factory=Cost)  # attempts that may have been billed, with no answer back
    retries: int = 0
    throttles: int = 0
    truncated: int = 0
    service_ms: float | None = None               # server-reported latency, when given
    queued_ms: float = 0.0                        # client-side pacing wait, not part of the latency


class AdapterGaveUp(RuntimeError):
    """Too many requests in a row failed: the adapter stops. ``partial`` is what the failing call got and
    counted (answers, item errors, retries, throttles, spend), so nothing seen goes uncounted."""

    def __init__(self, message: str, partial: BatchResult) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class FitInfo:
    """What training produced: billed cost for cloud training, details for the report."""

    cost: Cost = field(default_factory=Cost)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class AdapterContext:
    """Everything an adapter may know about the run. Never holds test labels."""

    labels: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    label_map: dict[str, str] | None = None
    prices: PriceTable = field(default_factory=PriceTable.default)
    workdir: Path = field(default_factory=lambda: Path("."))
    cache_dir: Path = field(default_factory=lambda: Path(".baseline-cache"))
    seed: int = 42
    device: str = "auto"
    threads: int | None = None
    metric: str = "macro_f1"
    # the run's task (``baseline.tasks``): for "multi-label-text-classification" ``labels`` are the single labels,
    # ``fit`` gets each row's label set and ``predict_batch`` answers one, both as canonical strings
    # (``baseline.tasks.labelsets.encode`` / ``decode``), with per-label scores (independent probabilities)
    task: str = "text-classification"
    # tabular tasks: each item is a JSON row of features (``baseline.tasks.rows``); ``schema`` maps every feature to
    # its kind (numeric, boolean, categorical, datetime, text) so ``rows.decode_rows`` rebuilds the typed frame
    schema: dict[str, str] | None = None
    run_id: str = ""  # the run folder's name: resource names, idempotency tokens and tags derive from it
    log: Callable[[str], None] = field(default=lambda msg: logging.getLogger("baseline").info(msg))

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class Opt:
    """One declared adapter option: its kind and the values it accepts.

    ``kind``: "int", "float", "str", "bool", "list" (of strings, or of numbers with ``items``), "table"
    or "any". ``lo``/``hi`` bound numbers (``lo_open`` makes ``lo`` exclusive); ``choices`` lists the
    allowed strings (for "str"/"list") or extra literal values a number may also take (C = "cv").
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    items: str = "str"

    def describe(self) -> str:
        if self.kind == "str" and self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = {"int": "a whole number", "float": "a number", "str": "a string", "bool": "true or false",
                "list": f"a list of {'strings' if self.items == 'str' else 'numbers'}", "table": "a table",
                "any": "any value"}[self.kind]
        if self.kind in ("int", "float") or (self.kind == "list" and self.items != "str"):
            if self.lo is not None:
                what += f" {'>' if self.lo_open else '>='} {self.lo:g}"
            if self.hi is not None:
                what += f" {'and ' if self.lo is not None else ''}<= {self.hi:g}"
        if self.kind == "list" and self.choices:
            what += " from " + ", ".join(repr(c) for c in self.choices)
        elif self.choices:
            what += " or " + ", ".join(repr(c) for c in self.choices)
        return what

    def _number_ok(self, v: Any, integral: bool) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        if not math.isfinite(v) or (integral and float(v) != int(v)):
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return self.hi is None or v <= self.hi

    def accepts(self, v: Any) -> bool:
        if v is None:
            return self.nullable
        if self.kind == "any":
            return True
        if self.kind in ("int", "float"):
            return (self.choices and v in self.choices) or self._number_ok(v, self.kind == "int")
        if self.kind == "str":
            return isinstance(v, str) and (not self.choices or v in self.choices)
        if self.kind == "bool":
            return isinstance(v, bool)
        if self.kind == "table":
            return isinstance(v, dict)
        if self.kind == "list":
            if not isinstance(v, list):
                return False
            if self.items == "str":
                return all(isinstance(x, str) and (not self.choices or x in self.choices) for x in v)
            return all(self._number_ok(x, self.items == "int") for x in v)
        return False


def proba_answers(proba: Any, classes: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[Mapping[str, float]]]:
    """A classifier's probabilities (rows × ``classes``) as per-item answers: the top class, and a score for every
    dataset label (0.0 for a label the classifier never saw), in ``labels`` order (then any class not among them)."""
    import numpy as np

    from baseline.scorerows import score_rows

    proba = np.asarray(proba)
    best = [classes[j] for j in proba.argmax(axis=1)]
    keys = list(dict.fromkeys([*labels, *classes]))
    at = {k: j for j, k in enumerate(keys)}
    full = np.zeros((proba.shape[0], len(keys)), dtype=np.float64)
    full[:, [at[c] for c in classes]] = proba
    return best, score_rows(full, keys)


def validate_options(name: str, schema: dict[str, Opt] | None, options: dict[str, Any]) -> None:
    """Check ``[adapters.<name>]`` against the adapter's declared schema; ``BadInput`` (one line) if not.

    ``schema`` None means the adapter declares none (third-party plugins): anything goes.
    """
    if schema is None:
        return
    allowed = ", ".join(sorted(schema)) or "(none: this adapter takes no options)"
    for key, value in options.items():
        spec = schema.get(key)
        if spec is None:
            raise BadInput(f"[adapters.{name}] unknown option {key!r}; allowed keys: {allowed}")
        if not spec.accepts(value):
            shown = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
            raise BadInput(f"[adapters.{name}] {key} must be {spec.describe()} (got {shown[:60]}); "
                           f"allowed keys: {allowed}")


def _task_title(task: str) -> str:
    try:
        from baseline.tasks import all_tasks

        cls = all_tasks().get(task)
        return cls.title if cls is not None else repr(task)
    except Exception:
        return repr(task)


def is_multilabel(ctx: AdapterContext) -> bool:
    """Whether this run answers label sets (the multi-label task)."""
    return ctx.task == "multi-label-text-classification"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a dotted name whose parent package is missing
        return False


class Adapter:
    """Base class for every candidate. Subclasses set the class attributes and override methods.

    Class attributes:
        name: registry name, e.g. ``aws-comprehend-sentiment``.
        family: one of ``trivial``, ``cloud``, ``pretrained``, ``automl``.
        simplicity: rank used by the decision rule (lower is simpler).
        paid: calls a billed service; runs only when named (or ``--adapters all``).
        by_default: False for a free adapter that runs only when named (or ``--adapters all``), because
            it takes minutes on a CPU (``not_by_default_reason`` says why).
        learns: has a ``fit`` step on the train split.
        extra: the pip extra that installs its dependencies.
        requires: import names that must be importable for it to be available.
        batch_size / max_concurrency: the adapter's declared limits.
        local_compute: priced from measured compute seconds × instance price.
        warmup: the runner may make an untimed warm-up call (never for paid adapters).
        uses_device: the runner resolves ``--device auto`` (cuda, mps, cpu) for it; others get ``cpu``.
        streams_texts: ``fit`` accepts any ``Sequence[str]``; the runner streams the train texts to it.
        version: bump it when a change to the adapter changes its answers: a rerun on the same split
            reuses an earlier result only when name, version, options, model identity and packages match.
    """

    name: ClassVar[str] = "adapter"
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "trivial"
    simplicity: ClassVar[int] = RANK_FLOOR
    description: ClassVar[str] = ""
    paid: ClassVar[bool] = False
    # how a paid adapter gets its credentials, as a clause ("keys are read only from …"); when set,
    # credential-like option keys in baseline.toml are refused with it
    credentials_from: ClassVar[str] = ""
    by_default: ClassVar[bool] = True   # False: a free adapter too slow on a CPU to run unless named
    not_by_default_reason: ClassVar[str] = ""
    learns: ClassVar[bool] = False
    # the tasks this adapter answers (``baseline.tasks``); any other is "does not support <task>" at availability
    tasks: ClassVar[tuple[str, ...]] = ("text-classification",)
    extra: ClassVar[str | None] = None
    requires: ClassVar[tuple[str, ...]] = ()
    local_compute: ClassVar[bool] = True
    uses_device: ClassVar[bool] = False  # runs on an accelerator when one is there (torch models)
    # fit takes any Sequence[str] it iterates (or indexes), not only a list: the runner then streams the train
    # texts from the split instead of copying them all into Python strings first (see data.TextColumn)
    streams_texts: ClassVar[bool] = False
    warmup: ClassVar[bool] = True
    batch_size: int = 256
    max_concurrency: int = 1
    # The options ``[adapters.<name>]`` may set, checked before anything runs (``check_options``).
    # ``None``: undeclared (third-party adapters), nothing is checked.
    option_schema: ClassVar[dict[str, Opt] | None] = None
    LEDGER: ClassVar[str] = "resources.json"   # in the adapter's run folder: billable things created

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        self.resources: list[dict[str, Any]] = []   # billable things created: {"kind", "id", "deleted"}
        self.extra_cost = Cost()                    # time-based one-off costs (endpoints, storage)
        self.notes: list[str] = []                  # one-liners for the report

    # ---- discovery -------------------------------------------------------------------------
    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        """Cheap check, no network calls that cost money: dependencies, credentials, task fit."""
        if task not in cls.tasks:
            return Availability.no(f"does not support {_task_title(task)}")
        missing = [m for m in cls.requires if not _importable(m)]
        if missing:
            hint = f'extra "{cls.extra}" not installed (pip install "baseline[{cls.extra}]")' if cls.extra else f"missing {missing}"
            return Availability.no(hint)
        problem = cls.credential_option_problem(options)
        return Availability.no(problem) if problem else Availability.yes()

    @classmethod
    def credential_option_problem(cls, options: dict[str, Any] | None) -> str | None:
        """A key or token written into baseline.toml: refused, so secrets never sit in a config file."""
        if not cls.credentials_from:
            return None
        bad = [k for k in options or {} if k.lower() in CREDENTIAL_OPTION_KEYS]
        if not bad:
            return None
        return f"option {bad[0]!r} in baseline.toml is not used: {cls.credentials_from}; remove it"

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Unknown keys and bad values under ``[adapters.<name>]`` are bad input (``BadInput``, one line)."""
        problem = cls.credential_option_problem(options)
        if problem:
            raise BadInput(f"[adapters.{cls.name}] {problem}")
        validate_options(cls.name, cls.option_schema, options or {})

    @classmethod
    def check_named(cls, options: dict[str, Any]) -> None:
        """Named explicitly in ``--adapters``: raise ``BadInput`` if a required setting is missing.

        (Unnamed, a misconfigured adapter is merely unavailable; named, it is the user's error.)
        """

    # ---- estimate before paying --------------------------------------------------------------
    def estimate_fit(self, texts: Sequence[str], labels: Sequence[str]) -> Cost:
        """Expected one-off cost of training (USD + billed units), before anything is paid."""
        return Cost(note="local compute, priced after the run" if self.local_compute else "")

    def estimate_predict(self, texts: Sequence[str]) -> Cost:
        """Expected cost of predicting these texts (USD + billed units). Pure: no calls."""
        return Cost(note="local compute, priced after the run" if self.local_compute else "")

    def endpoint_description(self) -> str | None:
        """For paid adapters: 'service in region', shown before the first call."""
        return None

    # ---- life cycle --------------------------------------------------------------------------
    def load(self) -> None:
        """Load models / create clients: timed as cold start."""

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo | None:
        """Learn from the train split (only called when ``learns``)."""
        return None

    def predict_batch(self, texts: list[str]) -> BatchResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def cache_identity(self) -> str | None:
        """Identity of the responses (model/API version + parameters) for the response cache.

        ``None`` (the default for local adapters) means responses are not cached.
        """
        return None

    def explain(self) -> dict[str, Any]:
        """Explainability notes for the report (e.g. top features per class)."""
        return {}

    def teardown(self) -> None:
        """Delete anything billable this adapter created. Must be idempotent.

        Mark a resource ``deleted`` only once the provider confirms it is gone; the report says
        "NOT DELETED" for anything else.
        """

    # ---- the resource ledger -----------------------------------------------------------------
    def save_ledger(self) -> None:
        """Write ``self.resources`` to the ledger beside the adapter's results (crash-safe replace)."""
        if not self.resources:
            return
        try:
            p = Path(self.ctx.workdir) / self.LEDGER
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.resources, indent=2, default=str), encoding="utf-8")
            tmp.replace(p)
        except OSError:
            pass

    @classmethod
    def cleanup(cls, ctx: AdapterContext, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Delete what an earlier process's ledger shows left over; return the updated ledger.

        ``ctx.workdir`` is the adapter's folder in that run and ``ctx.run_id`` the run. Adapters that
        create nothing billable have nothing to do. Raise if something could not be deleted.
        """
        return ledger
