"""What running a candidate produces: its statuses, options, budget, result record and the file it is saved in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.base import Adapter
from baseline.costs import PriceTable
from baseline.redact import redact_tree
from baseline.scorerows import ScoreRow, gather, score_rows
from baseline.store import ResponseCache

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_UNAVAILABLE = "unavailable"
STATUS_STOPPED = "stopped"  # budget reached mid-run: partial predictions kept
STATUS_INCOMPLETE = "incomplete"  # finished, but some items got no answer (item errors): rerun asks only those
SCORED = (STATUS_OK, STATUS_STOPPED, STATUS_INCOMPLETE)  # statuses whose (partial) predictions are scored
NOT_SENT_BUDGET = "not sent: --max-cost reached"


@dataclass
class Budget:
    """What ``--max-cost`` leaves to spend across the run (USD). ``None`` means no cap."""

    max_usd: float | None = None
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return float("inf") if self.max_usd is None else self.max_usd - self.spent


@dataclass
class RunOptions:
    """Runner configuration; the CLI builds it from flags and baseline.toml."""

    task: str = "text-classification"
    seed: int = 42
    device: str = "auto"
    threads: int | None = None
    metric: str = "macro_f1"
    max_cost: float | None = None
    latency_probe: int = 100          # single-item requests timed per free adapter
    adapter_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    prices: PriceTable = field(default_factory=PriceTable.default)
    cache: ResponseCache | None = None
    cache_dir: Path = Path(".baseline-cache")
    run_id: str = ""  # the run folder's name; adapters derive resource names, tokens and tags from it
    executor: str = "local"           # "ray": free adapters as Ray tasks (baseline.executors.ray)
    ray_address: str | None = None    # an existing Ray cluster; None starts a local instance for the run
    # with --executor ray: free local-compute adapters predict through ray.data batch inference when the test
    # set has at least this many rows (0: always; None: never); ray_data_actors caps the actor pool
    ray_data_min_rows: int | None = 20_000
    ray_data_actors: int | None = None


@dataclass
class AdapterResult:
    """Everything measured for one adapter; predictions align with the test rows."""

    name: str
    family: str
    simplicity: int
    paid: bool
    status: str
    reason: str = ""
    predictions: list[str | None] = field(default_factory=list)
    scores: list[Mapping[str, float] | None] = field(default_factory=list)
    raw: list[str | None] = field(default_factory=list)
    item_errors: list[str | None] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explain: dict[str, Any] = field(default_factory=dict)
    reused_from: dict[str, Any] | None = None  # copied from an earlier run on the same split: its run id, date

    def to_json(self) -> dict[str, Any]:
        # shallow: every field already holds JSON-ready values, and a deep copy of thousands of
        # per-item score dicts (dataclasses.asdict) costs more than the rest of the bookkeeping
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AdapterResult:
        return cls(**d)


class Progress:
    """Callbacks the runner emits; the CLI renders them with rich. Default: silent."""

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None: ...
    def phase(self, name: str) -> None: ...  # a stage outside the adapters (load, profile, scoring, report)
    def advance(self, adapter: str, n: int) -> None: ...
    def message(self, text: str) -> None: ...
    def done(self, result: AdapterResult) -> None: ...


def show_phase(progress: Progress, name: str) -> None:
    """Announce a stage outside the adapters; progress renderers written before phases existed lack ``phase``."""
    phase = getattr(progress, "phase", None)
    if phase is not None:
        phase(name)


def empty_result(cls: type[Adapter] | None, name: str, status: str, reason: str) -> AdapterResult:
    """A result with no answers yet: the adapter's identity, a status and its reason."""
    return AdapterResult(name=name, family=cls.family if cls else "?", simplicity=cls.simplicity if cls else 999,
                         paid=bool(cls and cls.paid), status=status, reason=reason)


def unanswered_summary(results: list[AdapterResult], first: int = 3) -> list[dict[str, Any]]:
    """Per adapter with unanswered items: how many, and the first distinct error messages."""
    out = []
    for r in results:
        errs = [e for e in r.item_errors if e]
        if not errs:
            continue
        out.append({"name": r.name, "status": r.status, "unanswered": len(errs), "of": len(r.item_errors),
                    "first_errors": list(dict.fromkeys(errs))[:first]})
    return out


def _write_json(d: dict[str, Any], f: Any, rows: int = 20_000) -> None:
    """``json.dump(d, f)`` for a dict whose long lists (per-item answers) are written ``rows`` items at a time: the
    same text, without one string of a large run's whole result in memory (and at ``json.dumps`` speed, which
    ``json.dump``'s many small writes are far from)."""
    f.write("{")
    for k, (key, value) in enumerate(d.items()):
        f.write(("" if k == 0 else ", ") + json.dumps(key) + ": ")
        if isinstance(value, list) and len(value) > rows:
            f.write("[")
            for start in range(0, len(value), rows):
                f.write(("" if start == 0 else ", ") + json.dumps(value[start:start + rows], default=float)[1:-1])
            f.write("]")
        else:
            f.write(json.dumps(value, default=float))
    f.write("}")


_BLOCK = attrgetter("block")
SCORES_PREFIX = "scores"           # adapters/<name>/scores.<token>.npy: a new name each save
# from this many scores (test items × classes), per-item class scores go to a scores.<token>.npy matrix: as JSON text
# banking77's 3,080 × 77 made an 11 MB result.json per adapter, and on the four shared text sets mixed (8,968 × 85)
# the runner's time outside the adapters fell 3.8-4.2 → 0.4-0.5 s with this and the device probe's move
# (bench/results/scale_mix_label_check_nb.json)
SCORES_FILE_MIN_CELLS = 100_000
_SCORE_ROWS = 20_000             # rows of the score matrix filled at a time


def _score_labels(scores: list[Mapping[str, float] | None]) -> list[str] | None:
    """The one key order every non-empty score dict has, when they all have it and hold numbers; else None."""
    first = next((d for d in scores if d), None)
    if first is None or len(scores) * len(first) < SCORES_FILE_MIN_CELLS:
        return None
    keys = list(first)
    if not all(isinstance(k, str) for k in keys) or \
            not all(type(v) in (float, int) for v in first.values()):
        return None
    prev = first   # one dict shared by many rows in a row (a floor's constant answer) is checked once
    block = None   # rows over one score block share its labels: checked once per block (not row by row)
    for d in scores:
        if d is prev:
            continue
        if type(d) is ScoreRow:
            if d.block is block:
                continue
            block = d.block
        if d and list(d) != keys:
            return None
        prev = d
    return keys


def _write_scores(scores: list[Mapping[str, float] | None], keys: list[str], path: Path) -> dict[str, Any]:
    """Per-item scores as one float64 matrix (rows = test items, columns = ``keys``) in ``path``; JSON keeps where
    it is and which rows had none (``None``) or an empty dict. Floats round-trip exactly; a score that is not a
    number (an adapter breaking the contract) raises, and the caller keeps the JSON form."""
    from numpy.lib.format import open_memmap

    n, k = len(scores), len(keys)
    mat = open_memmap(path, mode="w+", dtype=np.float64, shape=(n, k))
    none = (np.nan,) * k
    try:
        out = mat.view(np.ndarray).reshape(-1)   # the file's pages as a plain array: no memmap object per slice
        for start in range(0, n, _SCORE_ROWS):
            chunk = scores[start:start + _SCORE_ROWS]
            block = gather(chunk, keys)   # rows over score blocks: copied a block run at a time
            if block is not None:
                out[start * k:(start + len(chunk)) * k] = block.reshape(-1)
                continue
            # one flat pass per chunk (every non-empty dict holds k values in ``keys`` order: _score_labels)
            vals = np.fromiter(chain.from_iterable(d.values() if d else none for d in chunk), dtype=np.float64,
                               count=len(chunk) * k)
            for at in np.flatnonzero(np.isnan(vals)):  # numpy reads None as NaN: only a float NaN is stored as one
                d = chunk[at // k]
                if d and not isinstance(list(d.values())[at % k], float):
                    raise TypeError(f"score {list(d.values())[at % k]!r} is not a number")
            out[start * k:(start + len(chunk)) * k] = vals
        mat.flush()
    finally:
        del mat
    none, empty = _none_and_empty(scores)
    return {"file": path.name, "labels": keys, "rows": n, "none": none, "empty": empty}


def _none_and_empty(scores: list[Mapping[str, float] | None]) -> tuple[list[int], list[int]]:
    """The rows without scores (``None``) and the rows with an empty mapping. Rows that are all score rows over
    blocks with labels (a local candidate's answers) have neither: that is seen from their types and blocks, not
    row by row."""
    kinds = set(map(type, scores))
    if kinds == {ScoreRow} and all(b.labels for b in set(map(_BLOCK, scores))):
        return [], []
    if kinds == {dict}:   # dicts only (a floor's one shared answer): the empty ones by their sizes, read at C speed
        return [], np.flatnonzero(np.fromiter(map(len, scores), dtype=np.int64, count=len(scores)) == 0).tolist()
    return [i for i, d in enumerate(scores) if d is None], [i for i, d in enumerate(scores) if d is not None and not d]


def _read_scores(ref: dict[str, Any], folder: Path) -> list[Mapping[str, float] | None]:
    """The per-item scores ``_write_scores`` stored: rows over one block read from the file (they read as the dicts
    that were saved, in the same key order), ``None`` and ``{}`` where those were."""
    mat = np.load(folder / ref["file"], mmap_mode="r")
    if mat.shape != (int(ref["rows"]), len(ref["labels"])):
        raise ValueError(f"{ref['file']} holds {mat.shape} scores, result.json names {ref['rows']} rows")
    out: list[Mapping[str, float] | None] = list(score_rows(mat, list(ref["labels"])))
    for i in ref.get("none", []):
        out[i] = None
    for i in ref.get("empty", []):
        out[i] = {}
    return out


def save_result(res: AdapterResult, workdir: Path) -> Path:
    """Write ``adapters/<name>/result.json`` in the run folder (secrets masked, replaced atomically).

    With ``SCORES_FILE_MIN_CELLS`` scores (items × classes) or more, per-item class scores that share one key order
    go to a ``scores.<token>.npy`` matrix beside it: as JSON text they were most of a large many-class run's harness
    time (250k items x 50 classes: a 535 MB result.json, 8.6 s to write) and its disk. Each save writes a new matrix
    file, then the JSON that names it, then removes older matrices: a save stopped at any point leaves a
    result.json whose scores are all on disk (the previous one, or the new one).
    """
    import uuid

    folder = workdir / "adapters" / res.name
    p = folder / "result.json"
    folder.mkdir(parents=True, exist_ok=True)
    d = res.to_json()
    keys = _score_labels(res.scores)
    if keys is not None:
        matrix = folder / f"{SCORES_PREFIX}.{uuid.uuid4().hex[:12]}.npy"
        try:
            d["scores"] = _write_scores(res.scores, keys, matrix)
        except (TypeError, ValueError):   # a score that is not a number: kept as JSON
            matrix.unlink(missing_ok=True)
            d["scores"] = res.scores
    tmp = p.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        _write_json(redact_tree(d), f)
    tmp.replace(p)
    kept = d["scores"]["file"] if isinstance(d["scores"], dict) else None
    for old in folder.glob(f"{SCORES_PREFIX}.*.npy"):   # matrices no result.json names any more
        if old.name != kept:
            old.unlink(missing_ok=True)
    return p


def load_saved_result(workdir: Path, name: str) -> tuple[AdapterResult | None, str | None]:
    """For a resume: the candidate's saved result (``None`` when it has none), or ``None`` and why it could not be
    read (its scores file gone, its JSON cut short or not a result). A resume then runs that candidate again rather
    than stopping on it; the reason is masked and on one line."""
    from baseline.redact import one_line

    try:
        return load_result(workdir, name), None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        return None, one_line(e)


def resume_note(why: str) -> str:
    """The note and message of a candidate run again on resume because its saved result could not be read."""
    return f"resumed: its saved result could not be read ({why}); run again"


def load_result(workdir: Path, name: str) -> AdapterResult | None:
    """The adapter's saved result in the run folder, or None when it has none."""
    p = workdir / "adapters" / name / "result.json"
    if not p.exists():
        return None
    d = json.loads(p.read_text(encoding="utf-8"))
    if isinstance(d.get("scores"), dict):
        d["scores"] = _read_scores(d["scores"], p.parent)
    return AdapterResult.from_json(d)
