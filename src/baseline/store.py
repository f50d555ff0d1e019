"""Embedded SQLite stores in the per-user home: the run history and the response cache for paid calls.

Both are safe for concurrent runs: WAL journaling (readers never block the writer) and a busy
timeout (a second writer waits instead of failing with "database is locked").
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 60.0

RUNS_SCHEMA = """
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
    run_dir TEXT NOT NULL,
    pid INTEGER,
    host TEXT
);
"""
CACHE_SCHEMA = """
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
SCHEMA = RUNS_SCHEMA + CACHE_SCHEMA  # kept for callers that create both in one file

STATUS_RUNNING = "running"
STATUS_INTERRUPTED = "interrupted"


def connect(path: str | Path, schema: str) -> sqlite3.Connection:
    """Open (creating if needed) an SQLite file in WAL mode with a busy timeout, and apply ``schema``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:  # switching to WAL needs a moment alone with the file; another process may hold it
        try:
            db.execute("PRAGMA journal_mode = WAL")
            with db:
                db.executescript(schema)
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return db


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists on this machine (``False`` for None)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or we cannot tell: assume alive)
    return True


class Store:
    """The run history (``baseline history``): one SQLite file in the per-user home."""

    COLS = ["run_id", "started", "finished", "dataset", "data_sha256", "split_hash", "adapters",
            "best", "verdict", "status", "run_dir", "pid", "host"]

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = connect(self.path, RUNS_SCHEMA)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        for col, typ in (("pid", "INTEGER"), ("host", "TEXT")):  # files from before these columns
            if col not in have:
                with self.db:
                    self.db.execute(f"ALTER TABLE runs ADD COLUMN {col} {typ}")

    def close(self) -> None:
        self.db.close()

    def record_run(self, row: dict[str, Any]) -> None:
        """Insert or replace one run; a running row carries this process's id and host."""
        row = {"pid": os.getpid(), "host": socket.gethostname(), **row}
        vals = [json.dumps(row[c]) if c == "adapters" else row.get(c) for c in self.COLS]
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO runs ({','.join(self.COLS)}) "
                            f"VALUES ({','.join('?' * len(self.COLS))})", vals)

    def set_status(self, run_id: str, status: str) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))

    def mark_interrupted(self, pid: int) -> str | None:
        """This process's running run (if any) becomes ``interrupted``; returns its run id."""
        host = socket.gethostname()
        r = self.db.execute("SELECT run_id FROM runs WHERE status = ? AND pid = ? AND host = ? "
                            "ORDER BY started DESC LIMIT 1", (STATUS_RUNNING, pid, host)).fetchone()
        if r is None:
            return None
        self.set_status(r[0], STATUS_INTERRUPTED)
        return r[0]

    def _rows(self, q: str, args: list[Any]) -> list[dict[str, Any]]:
        cur = self.db.execute(q, args)
        names = [d[0] for d in cur.description]
        out = []
        host = socket.gethostname()
        for r in cur.fetchall():
            d = dict(zip(names, r, strict=True))
            d["adapters"] = json.loads(d["adapters"])
            # a "running" row whose process is gone was killed (kill -9, power loss): say so
            if d["status"] == STATUS_RUNNING and d.get("host") == host and not pid_alive(d.get("pid")):
                d["status"] = STATUS_INTERRUPTED
            out.append(d)
        return out

    def runs(self, dataset: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = "SELECT * FROM runs"
        args: list[Any] = []
        if dataset:
            q += " WHERE dataset = ?"
            args.append(dataset)
        q += " ORDER BY started DESC, rowid DESC LIMIT ?"
        args.append(limit)
        return self._rows(q, args)

    def find(self, ref: str) -> dict[str, Any] | None:
        """A run by id, or by its folder (absolute or relative to the current directory)."""
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", [ref])
        if not rows and Path(ref).exists():
            rows = self._rows("SELECT * FROM runs WHERE run_dir = ?", [str(Path(ref).resolve())])
        return rows[0] if rows else None

    def previous_run(self, split_hash: str, before_run_id: str) -> dict[str, Any] | None:
        """The latest finished run on the same frozen split, other than this one."""
        cur = self.db.execute(
            "SELECT run_id, run_dir FROM runs WHERE split_hash = ? AND run_id != ? AND finished IS NOT NULL "
            "ORDER BY started DESC LIMIT 1", (split_hash, before_run_id))
        r = cur.fetchone()
        return {"run_id": r[0], "run_dir": r[1]} if r else None


    def runs_on_split(self, split_hash: str, exclude: str | None = None) -> list[dict[str, Any]]:
        """Finished runs on this frozen split, newest first (the candidates a rerun may reuse)."""
        rows = self._rows("SELECT * FROM runs WHERE split_hash = ? AND finished IS NOT NULL "
                          "ORDER BY started DESC, rowid DESC", [split_hash])
        return [r for r in rows if r["run_id"] != exclude]


class ResponseCache:
    """Answers already paid for, keyed by adapter, model/API identity and a hash of the text.

    Holds labels and scores only: never texts, credentials or request headers.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = connect(self.path, CACHE_SCHEMA)

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
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO response_cache (key, adapter, identity, value, usd, units, created) "
                "VALUES (?,?,?,?,?,?,?)",
                [(k, adapter, identity, json.dumps(v), usd, json.dumps(u), now) for k, v, usd, u in rows])

    def count(self, adapter: str | None = None) -> int:
        if adapter:
            return self.db.execute("SELECT COUNT(*) FROM response_cache WHERE adapter = ?", (adapter,)).fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM response_cache").fetchone()[0]

    def close(self) -> None:
        self.db.close()
