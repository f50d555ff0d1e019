"""Read the resource ledgers back: delete what an interrupted or killed run left billing.

Each adapter that creates billable things keeps a ledger (``adapters/<name>/resources.json`` in
the run folder), written before every create call and after every confirmed deletion. A run that
died (kill -9, power loss) or whose teardown failed leaves records not marked ``deleted``;
:func:`cleanup_run` hands them back to the adapter class, which finds them (by id, or by name and
tags for a create whose answer never came) and deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baseline.adapters.base import Adapter, AdapterContext
from baseline.adapters.registry import Registry
from baseline.interrupts import shielded
from baseline.redact import one_line

LEGACY_LEDGERS = ("aws-resources.json",)  # ledgers written before the generic name


@dataclass
class CleanupReport:
    """What one run's cleanup found and did."""

    run_id: str
    run_dir: str
    deleted: list[dict[str, Any]] = field(default_factory=list)   # confirmed gone now
    left: list[dict[str, Any]] = field(default_factory=list)      # still there (or unknown)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_dir": self.run_dir, "deleted": self.deleted, "left": self.left,
                "errors": self.errors}


def ledger_files(run_dir: Path) -> list[tuple[str, Path]]:
    """(adapter name, ledger path) for every adapter folder in the run that has one."""
    out = []
    adir = Path(run_dir) / "adapters"
    if not adir.is_dir():
        return out
    for d in sorted(p for p in adir.iterdir() if p.is_dir()):
        for name in (Adapter.LEDGER, *LEGACY_LEDGERS):
            if (d / name).is_file():
                out.append((d.name, d / name))
                break
    return out


def read_ledger(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def leftovers(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records not confirmed gone."""
    return [r for r in ledger if not r.get("deleted")]


def run_leftovers(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Adapter name → records not confirmed gone, for one run folder."""
    out = {}
    for name, path in ledger_files(run_dir):
        left = leftovers(read_ledger(path))
        if left:
            out[name] = left
    return out


def _describe(name: str, r: dict[str, Any]) -> dict[str, Any]:
    return {"adapter": name, "kind": r.get("kind"), "id": r.get("id"), "state": r.get("state")}


def cleanup_run(run_dir: Path, registry: Registry, adapter_options: dict[str, dict[str, Any]] | None = None,
                run_id: str | None = None, log: Callable[[str], None] = lambda s: None) -> CleanupReport:
    """Delete every leftover in one run folder's ledgers; the ledgers are updated as things go."""
    run_dir = Path(run_dir)
    rep = CleanupReport(run_id or run_dir.name, str(run_dir))
    for name, path in ledger_files(run_dir):
        ledger = read_ledger(path)
        before = leftovers(ledger)
        if not before:
            continue
        entry = registry.entries.get(name)
        cls = entry.cls if entry is not None else None
        if cls is None:
            rep.errors.append(f"{name}: adapter not installed here, cannot clean up "
                              f"{len(before)} resource(s) in {path}")
            rep.left += [_describe(name, r) for r in before]
            continue
        ctx = AdapterContext(labels=[], options=dict((adapter_options or {}).get(name, {})),
                             workdir=path.parent, run_id=rep.run_id, log=log)
        log(f"{name}: cleaning up {len(before)} leftover resource(s) of run {rep.run_id}")
        try:
            with shielded(f"cleanup of {name}"):
                after = cls.cleanup(ctx, ledger)
        except Exception as e:
            rep.errors.append(f"{name}: {one_line(e)}")
            after = read_ledger(path) if path.name == cls.LEDGER else ledger  # what the adapter managed to save
        if path.name != cls.LEDGER:  # a legacy ledger: write the outcome under the current name
            path = path.parent / cls.LEDGER
            path.write_text(json.dumps(after, indent=2, default=str), encoding="utf-8")
        # the adapter returns the ledger in the same order, ids filled in where a lookup found them
        for b, r in zip(ledger, after, strict=False):
            if not b.get("deleted") and r.get("deleted"):
                rep.deleted.append(_describe(name, r))
        rep.left += [_describe(name, r) for r in leftovers(after)]
    return rep
