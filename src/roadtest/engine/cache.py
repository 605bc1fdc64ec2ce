"""A response cache in SQLite: the same request to the same endpoint is answered once, ever.

Keyed by the sha256 of the canonical request (endpoint identity + path + body). Only successful
responses are stored. WAL mode and a busy timeout make concurrent runs on one cache safe.

Writes are grouped: up to BATCH answers (or 50 ms' worth) go in one transaction, so a fast run
does not pay one commit per call. A crash can lose the last group from the cache, never from the run: the
archive (trials.jsonl) is the record, and resume never sends a trial that is in it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    latency_s REAL NOT NULL,
    created_at TEXT NOT NULL,
    stores INTEGER NOT NULL DEFAULT 1
)
"""


def cache_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """What makes two endpoints the same for caching (never a secret, never a port)."""
    keep = ("provider", "base_url", "model", "gguf_sha256", "llama_cpp_version")
    return {k: identity[k] for k in keep if identity.get(k) is not None and not (
        identity.get("provider") == "local" and k == "base_url")}


def request_key(identity: dict[str, Any], path: str, body: dict[str, Any]) -> str:
    text = json.dumps({"endpoint": cache_identity(identity), "path": path, "body": body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")   # WAL: a power cut may lose the last answers, never corrupt
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute(SCHEMA)
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self._pending: dict[str, tuple] = {}
        self._since = time.monotonic()

    BATCH = 64
    FLUSH_S = 0.05

    def get(self, key: str) -> dict[str, Any] | None:
        pending = self._pending.get(key)
        row = (pending[3], pending[4], pending[5], pending[6]) if pending else self.db.execute(
            "SELECT status, body, latency_s, created_at FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return {"status": row[0], "body": json.loads(row[1]), "latency_s": row[2], "created_at": row[3]}

    def put(self, key: str, identity: dict[str, Any], path: str, status: int, body: Any, latency_s: float) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (key, json.dumps(cache_identity(identity), sort_keys=True), path, status,
               json.dumps(body, ensure_ascii=False), latency_s, now)
        if key in self._pending:   # the same request answered twice before a flush: count it, as the table would
            self.flush()
            self._write([row])
        else:
            self._pending[key] = row
        self.stored += 1
        if len(self._pending) >= self.BATCH or time.monotonic() - self._since >= self.FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the pending answers in one transaction."""
        if self._pending:
            self._write(list(self._pending.values()))
            self._pending.clear()
        self._since = time.monotonic()

    def _write(self, rows: list[tuple]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO responses (key, endpoint, path, status, body, latency_s, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET stores = stores + 1", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "stored": self.stored}

    def rows(self) -> list[tuple[str, int]]:
        """(key, stores) for every cached response: stores > 1 would mean a finished request was sent twice."""
        self.flush()
        return self.db.execute("SELECT key, stores FROM responses ORDER BY key").fetchall()

    def close(self) -> None:
        self.flush()
        self.db.close()
