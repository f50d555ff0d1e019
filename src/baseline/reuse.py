"""Reruns that run only what is new: a candidate's identity, and finding its earlier result on the same split.

A candidate's **identity** is everything that decides its answers on a given split: the adapter's
name and ``version`` (bumped when the adapter's behaviour changes), its options and label map, the
seed, the headline metric (trainable adapters tune for it), the requested device (for models that
run on one), the model/API identity the adapter declares (``cache_identity()``) and the versions of
the packages it imports (``requires``). A ``compare`` whose split hash matches an earlier finished
run copies the earlier result of every candidate whose identity is unchanged — predictions included,
so scoring and the paired tests run on the same rows — and runs only new or changed candidates.
``--fresh`` (everything) or ``--rerun a,b`` (those) forces a rerun.

Each run folder keeps ``adapters/<name>/identity.json``; a copied result carries ``reused_from``
(the run that measured it, with its date), and a result copied again keeps pointing at that origin.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from baseline.adapters.base import Adapter, AdapterContext
from baseline.data import Split
from baseline.redact import redact_tree
from baseline.runner import STATUS_OK, AdapterResult, RunOptions, load_result

IDENTITY_FILE = "identity.json"
# import name → distribution name where the two differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "sentence_transformers": "sentence-transformers",
                  "azure.ai.textanalytics": "azure-ai-textanalytics", "azure.identity": "azure-identity",
                  "yaml": "pyyaml"}


def package_versions(modules: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the distributions behind these import names (missing ones are left out)."""
    out: dict[str, str] = {}
    for m in modules:
        for dist in dict.fromkeys((_DISTRIBUTIONS.get(m, m), m.replace("_", "-"), m.split(".")[0])):
            try:
                out[dist] = version(dist)
                break
            except (PackageNotFoundError, ValueError):
                continue
    return out


def _model_identity(cls: type[Adapter], split: Split, opts: RunOptions) -> str | None:
    """What the adapter itself declares as its model/API identity (``cache_identity``), when it declares one.

    Built the way the runner builds it (constructor, then ``estimate_fit`` on train, which is pure), so
    an identity that depends on the train split (few-shot examples) is the same. Any error: ``None``.
    """
    if getattr(cls, "cache_identity", None) is Adapter.cache_identity:
        return None
    try:
        ctx = AdapterContext(labels=split.labels, options=opts.adapter_options.get(cls.name, {}), task=opts.task,
                             schema=split.schema,
                             label_map=opts.label_maps.get(cls.name), prices=opts.prices, seed=opts.seed,
                             cache_dir=opts.cache_dir, metric=opts.metric)
        a = cls(ctx)
        if cls.learns:
            a.estimate_fit(split.train["text"].tolist(), split.train["label"].tolist())
        ident = a.cache_identity()
        return None if ident is None else str(ident)
    except Exception:
        return None


def candidate_identity(cls: type[Adapter], split: Split, opts: RunOptions) -> dict[str, Any]:
    """Everything that decides this candidate's answers on ``split``, with its hash under ``hash``."""
    ident: dict[str, Any] = {
        "adapter": cls.name, "version": str(getattr(cls, "version", "1")),
        "options": opts.adapter_options.get(cls.name, {}), "label_map": opts.label_maps.get(cls.name),
        "seed": opts.seed, "split_hash": split.hash,
        "metric": opts.metric if cls.learns else None,
        "device": opts.device if cls.uses_device else None,
        "model": _model_identity(cls, split, opts),
        "packages": package_versions(tuple(cls.requires)),
    }
    blob = json.dumps(ident, sort_keys=True, default=str)
    return {**ident, "hash": hashlib.sha256(blob.encode()).hexdigest()}


def save_identity(run_dir: Path, name: str, identity: dict[str, Any]) -> None:
    p = run_dir / "adapters" / name / IDENTITY_FILE
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(redact_tree(identity), indent=2, sort_keys=True, default=str), encoding="utf-8")


def load_identity(run_dir: Path, name: str) -> dict[str, Any] | None:
    p = Path(run_dir) / "adapters" / name / IDENTITY_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run_date(run: dict[str, Any]) -> str:
    return str(run.get("finished") or run.get("started") or "")


def find_reusable(runs: list[dict[str, Any]], name: str, identity: dict[str, Any],
                  n_test: int) -> AdapterResult | None:
    """The newest ``ok`` result of this candidate with the same identity among ``runs`` (newest first).

    The result comes back with ``reused_from`` set: its origin (kept from an earlier copy) or that run.
    """
    for run in runs:
        d = Path(run["run_dir"])
        old = load_identity(d, name)
        if not old or old.get("hash") != identity["hash"]:
            continue
        try:
            res = load_result(d, name)
        except (OSError, ValueError, TypeError):
            continue
        if res is None or res.status != STATUS_OK or len(res.predictions) != n_test or any(res.item_errors or []):
            continue
        if not res.reused_from:
            res.reused_from = {"run_id": run["run_id"], "date": _run_date(run), "run_dir": str(d)}
        res.reused_from = {**res.reused_from, "via": str(d)}  # the folder it was copied from this time
        res.notes = [n for n in res.notes if not n.startswith("reused from ")]
        res.notes.append(f"reused from run {res.reused_from['run_id']} ({res.reused_from['date'][:19]}): "
                         "same split and identity, not rerun")
        return res
    return None


def plan_reuse(split: Split, names: list[str], classes: dict[str, type[Adapter] | None], opts: RunOptions,
               runs: list[dict[str, Any]], force: set[str] | None, fresh: bool
               ) -> tuple[dict[str, dict[str, Any]], dict[str, AdapterResult], dict[str, str]]:
    """For each candidate: its identity; the earlier results to copy; why the others run.

    Returns ``(identities, reused, why_run)``; ``why_run[name]`` is ``new``, ``changed`` (its identity
    differs), ``forced`` (``--fresh`` / ``--rerun``) or ``not reusable`` (the earlier result did not
    finish ``ok``, or was recorded before identities were).
    """
    identities: dict[str, dict[str, Any]] = {}
    reused: dict[str, AdapterResult] = {}
    why: dict[str, str] = {}
    n_test = len(split.test)
    force = force or set()
    for name in names:
        cls = classes.get(name)
        if cls is None:
            continue
        identities[name] = candidate_identity(cls, split, opts)
        if fresh or name in force:
            why[name] = "forced"
            continue
        res = find_reusable(runs, name, identities[name], n_test)
        if res is not None:
            reused[name] = res
            continue
        seen = [load_identity(Path(r["run_dir"]), name) for r in runs]
        if any(s and s.get("hash") == identities[name]["hash"] for s in seen):
            why[name] = "not reusable"
        elif any(s for s in seen):
            why[name] = "changed"
        elif any(name in (r.get("adapters") or []) for r in runs):
            why[name] = "not reusable"  # run before identities were recorded: cannot tell it is unchanged
        else:
            why[name] = "new"
    return identities, reused, why


def reprice(res: AdapterResult, cls: type[Adapter] | None, opts: RunOptions, n_test: int) -> None:
    """A reused local result's cost from its measured seconds at today's price table (prices are not identity).

    Services keep what they billed: their cost is the bill of the run that measured them.
    """
    if cls is None or not cls.local_compute:
        return
    from baseline.adapters.base import Cost
    from baseline.runner import _price

    res.cost.update(_price(cls, res, opts, Cost(), Cost(), Cost(), n_test))


def identity_changes(before: dict[str, Any] | None, now: dict[str, Any] | None) -> list[str]:
    """Which parts of a candidate's identity differ (``options``, ``version``, ``packages``…)."""
    if not before or not now:
        return []
    return [k for k in sorted(set(before) | set(now)) if k != "hash" and before.get(k) != now.get(k)]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
