"""A response cache in SQLite: the same request to the same endpoint is answered once, ever.

Keyed by the sha256 of the canonical request (endpoint identity + path + body). Only successful
responses are stored, and only as they are archived (the API key redacted). WAL mode makes concurrent runs on
one cache safe.

Writes are grouped: up to BATCH answers (or 50 ms' worth) go in one transaction, so a fast run
does not pay one commit per call. A crash can lose the last group from the cache, never from the run: the
archive (trials.jsonl) is the record, and resume never sends a trial that is in it.

The cache is a convenience, never a reason for a run to fail: a corrupt file is moved aside (renamed
`cache.sqlite.corrupt-<UTC time>`) and a fresh cache started; a cache another process keeps locked for more than
LOCK_WAIT_S is left alone for the rest of the run; a write that fails (disk full, read-only) stops the writes.
Each of these adds a sentence to `warnings` (and calls `warn`, when given) and the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

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

CORRUPT = {11, 26}      # SQLITE_CORRUPT, SQLITE_NOTADB
LOCKED = {5, 6}         # SQLITE_BUSY, SQLITE_LOCKED
SIDE_FILES = ("-wal", "-shm", "-journal")


def cache_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """What makes two endpoints the same for caching (never a secret, never a port)."""
    keep = ("provider", "base_url", "model", "gguf_sha256", "llama_cpp_version")
    return {k: identity[k] for k in keep if identity.get(k) is not None and not (
        identity.get("provider") == "local" and k == "base_url")}


def request_key(identity: dict[str, Any], path: str, body: dict[str, Any]) -> str:
    text = json.dumps({"endpoint": cache_identity(identity), "path": path, "body": body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def failure_kind(exc: sqlite3.Error) -> str:
    """'corrupt', 'locked' or 'failed' (disk full, read-only, I/O error, ...)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary in CORRUPT or "malformed" in text or "not a database" in text:
        return "corrupt"
    if primary in LOCKED or "locked" in text:
        return "locked"
    return "failed"


class ResponseCache:
    BATCH = 64
    FLUSH_S = 0.05
    LOCK_WAIT_S = 3.0
    """How long a cache another process holds locked is waited for before the run goes on without it."""
    TRY_MS = 20
    """How long one write waits for the lock during the run (it runs on the event loop: never long)."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None,
                 lock_wait_s: float | None = None) -> None:
        self.path = path
        self.warnings: list[str] = []
        """What went wrong with the cache, one sentence each, for the user (the run went on regardless)."""
        self.lock_wait_s = self.LOCK_WAIT_S if lock_wait_s is None else lock_wait_s
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.unsaved = 0
        """Answers that could not be written to the cache (they are in the archive all the same)."""
        self._warn = warn
        self._pending: dict[str, tuple] = {}
        self._since = time.monotonic()
        self._locked_since: float | None = None
        self._moved = 0
        self.db: sqlite3.Connection | None = None
        self.writable = True
        self._open()

    # -- opening, and what to do when the file is not usable --------------------------------------------------

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._connect()
        except sqlite3.Error as exc:
            self._failed(exc, "open")
        except OSError as exc:
            self._off(f"the response cache {self.path} cannot be opened ({exc.strerror or exc}); "
                      "this run goes on without it (answers are archived, not cached)")

    def _connect(self) -> sqlite3.Connection:
        # Opening may wait for another process's lock (no call is in flight yet); later writes only try briefly.
        db = sqlite3.connect(str(self.path), timeout=self.lock_wait_s, isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout={int(self.lock_wait_s * 1000)}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")   # WAL: a power cut may lose the last answers, never corrupt
            db.execute(SCHEMA)
            db.execute(f"PRAGMA busy_timeout={self.TRY_MS}")
        except BaseException:
            db.close()
            raise
        return db

    def _failed(self, exc: sqlite3.Error, doing: str) -> str:
        """Deal with a failed cache operation so the run can go on; returns what kind of failure it was."""
        kind = failure_kind(exc)
        if kind == "corrupt":
            self._replace_corrupt(exc)
        elif kind == "locked":
            now = time.monotonic()
            waited = f"the response cache {self.path} is locked by another process (waited {self.lock_wait_s:g} s)"
            if doing == "open" or (self._locked_since is not None and now - self._locked_since >= self.lock_wait_s):
                if doing in ("write", "close"):   # WAL: reading still works while another process writes
                    self.writable = False
                    self._say(f"{waited}; this run goes on without storing its answers there (they are archived)")
                else:
                    self._off(f"{waited}; this run goes on without it (answers are archived, not cached)")
            elif self._locked_since is None:
                self._locked_since = now
        elif doing in ("write", "close"):
            self.writable = False
            self._say(f"could not write to the response cache {self.path} ({exc}); this run goes on without "
                      "storing its answers there (they are archived)")
        else:
            self._off(f"the response cache {self.path} cannot be used ({exc}); this run goes on without it "
                      "(answers are archived, not cached)")
        return kind

    def _replace_corrupt(self, exc: sqlite3.Error) -> None:
        """Move the corrupt file (and its WAL) aside and start a fresh cache in its place."""
        self._close_db()
        if self._moved:   # the fresh cache is corrupt too: something else is wrong, stop trying
            self._off(f"the fresh response cache {self.path} is unreadable too ({exc}); this run goes on without it")
            return
        self._moved += 1
        try:
            aside = self._move_aside()
        except OSError as err:
            self._off(f"the response cache {self.path} is corrupt ({exc}) and cannot be moved aside "
                      f"({err.strerror or err}); this run goes on without it (answers are archived, not cached)")
            return
        self._say(f"the response cache {self.path} was corrupt ({exc}); moved it aside to {aside.name} and "
                  "started a fresh one (earlier answers will be sent again)")
        try:
            self.db = self._connect()
            self.writable = True
        except sqlite3.Error as err:
            self._off(f"a fresh response cache could not be started at {self.path} ({err}); "
                      "this run goes on without it")

    def _move_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, aside)
        for suffix in SIDE_FILES:   # a stale WAL left next to the fresh file would be replayed into it
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        return aside

    def _off(self, message: str) -> None:
        self._close_db()
        self.writable = False
        self._say(message)

    def _say(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)

    def _close_db(self) -> None:
        db, self.db = self.db, None
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    # -- reading and writing -----------------------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        pending = self._pending.get(key)
        row = (pending[3], pending[4], pending[5], pending[6]) if pending else self._read(key)
        try:
            hit = None if row is None else {"status": row[0], "body": json.loads(row[1]), "latency_s": row[2],
                                            "created_at": row[3]}
        except (TypeError, ValueError):   # a row that does not hold JSON is no answer
            hit = None
        if hit is None:
            self.misses += 1
            return None
        self.hits += 1
        return hit

    def _read(self, key: str) -> tuple | None:
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT status, body, latency_s, created_at FROM responses WHERE key = ?",
                                  (key,)).fetchone()
        except sqlite3.Error as exc:
            self._failed(exc, "read")
            return None
        self._locked_since = None
        return row

    def put(self, key: str, identity: dict[str, Any], path: str, status: int, body: Any, latency_s: float) -> None:
        if not self.writable:
            self.unsaved += 1
            return
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (key, json.dumps(cache_identity(identity), sort_keys=True), path, status,
               json.dumps(body, ensure_ascii=False), latency_s, now)
        if key in self._pending:   # the same request answered twice before a flush: count it, as the table would
            self.flush()
            if key in self._pending or not self._write([row]):
                self._pending[key] = row   # still locked: the next flush counts it
        else:
            self._pending[key] = row
        self.stored += 1
        if len(self._pending) >= self.BATCH or time.monotonic() - self._since >= self.FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the pending answers in one transaction (while the file is locked they stay pending)."""
        if self._pending and self._write(list(self._pending.values())):
            self._pending.clear()
        self._since = time.monotonic()

    def _write(self, rows: list[tuple], doing: str = "write") -> bool:
        """True when the rows are in the cache, or will never be (then they are counted as unsaved)."""
        if self.db is None or not self.writable:
            self.unsaved += len(rows)
            return True
        try:
            self._insert(rows)
        except sqlite3.Error as exc:
            kind = self._failed(exc, doing)
            if kind == "locked" and self.db is not None and self.writable:
                return False                        # try again at the next flush
            if kind == "corrupt" and self.db is not None and self.writable:
                return self._write(rows, doing)     # into the fresh cache
            self.unsaved += len(rows)
            return True
        self._locked_since = None
        return True

    def _insert(self, rows: list[tuple]) -> None:
        db = self.db
        assert db is not None                       # _write only calls this with an open cache
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO responses (key, endpoint, path, status, body, latency_s, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET stores = stores + 1", rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "stored": self.stored}

    def rows(self) -> list[tuple[str, int]]:
        """(key, stores) for every cached response: stores > 1 would mean a finished request was sent twice."""
        self.flush()
        if self.db is None:
            return []
        try:
            return self.db.execute("SELECT key, stores FROM responses ORDER BY key").fetchall()
        except sqlite3.Error as exc:
            self._failed(exc, "read")
            return []

    def close(self) -> None:
        """Write what is pending (waiting up to LOCK_WAIT_S for a lock) and close; never raises."""
        if self._pending and self.db is not None and self.writable:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute(f"PRAGMA busy_timeout={int(self.lock_wait_s * 1000)}")
            self._locked_since = time.monotonic() - self.lock_wait_s   # one more wait, then give up
            self._write(list(self._pending.values()), "close")
        elif self._pending:
            self.unsaved += len(self._pending)
        self._pending.clear()
        self._close_db()
