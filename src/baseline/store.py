"""Embedded SQLite store: run history and the response cache for paid calls."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    dataset TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,
    split_hash TEXT NOT NULL,
    adapters TEXT NOT NULL,
    best TEXT,
    verdict TEXT,
    status TEXT NOT NULL,
    run_dir TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS response_cache (
    key TEXT PRIMARY KEY,
    adapter TEXT NOT NULL,
    identity TEXT NOT NULL,
    value TEXT NOT NULL,
    usd REAL NOT NULL DEFAULT 0,
    units TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS response_cache_adapter ON response_cache(adapter);
"""


def default_store_path(reports_dir: Path) -> Path:
    return Path(reports_dir) / ".baseline" / "baseline.sqlite3"


class Store:
    """Runs history (``baseline history``) in one SQLite file beside the reports."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def record_run(self, row: dict[str, Any]) -> None:
        cols = ["run_id", "started", "finished", "dataset", "data_sha256", "split_hash", "adapters",
                "best", "verdict", "status", "run_dir"]
        vals = [json.dumps(row[c]) if c == "adapters" else row.get(c) for c in cols]
        self.db.execute(f"INSERT OR REPLACE INTO runs ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", vals)
        self.db.commit()

    def runs(self, dataset: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = "SELECT * FROM runs"
        args: list[Any] = []
        if dataset:
            q += " WHERE dataset = ?"
            args.append(dataset)
        q += " ORDER BY started DESC, rowid DESC LIMIT ?"
        args.append(limit)
        cur = self.db.execute(q, args)
        names = [d[0] for d in cur.description]
        out = []
        for r in cur.fetchall():
            d = dict(zip(names, r, strict=True))
            d["adapters"] = json.loads(d["adapters"])
            out.append(d)
        return out

    def previous_run(self, split_hash: str, before_run_id: str) -> dict[str, Any] | None:
        """The latest finished run on the same frozen split, other than this one."""
        cur = self.db.execute(
            "SELECT run_id, run_dir FROM runs WHERE split_hash = ? AND run_id != ? AND finished IS NOT NULL "
            "ORDER BY started DESC LIMIT 1", (split_hash, before_run_id))
        r = cur.fetchone()
        return {"run_id": r[0], "run_dir": r[1]} if r else None


class ResponseCache:
    """Answers already paid for, keyed by adapter, model/API identity and a hash of the text.

    Holds labels and scores only: never texts, credentials or request headers.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.executescript(SCHEMA)

    @staticmethod
    def key(adapter: str, identity: str, text: str) -> str:
        h = hashlib.sha256()
        for part in (adapter, identity, text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            cur = self.db.execute(
                f"SELECT key, value, usd, units FROM response_cache WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            for k, v, usd, units in cur.fetchall():
                out[k] = {"value": json.loads(v), "usd": usd, "units": json.loads(units)}
        return out

    def put_many(self, adapter: str, identity: str, rows: list[tuple[str, dict[str, Any], float, dict[str, float]]]) -> None:
        now = time.time()
        self.db.executemany(
            "INSERT OR REPLACE INTO response_cache (key, adapter, identity, value, usd, units, created) VALUES (?,?,?,?,?,?,?)",
            [(k, adapter, identity, json.dumps(v), usd, json.dumps(u), now) for k, v, usd, u in rows])
        self.db.commit()

    def count(self, adapter: str | None = None) -> int:
        if adapter:
            return self.db.execute("SELECT COUNT(*) FROM response_cache WHERE adapter = ?", (adapter,)).fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM response_cache").fetchone()[0]

    def close(self) -> None:
        self.db.close()
