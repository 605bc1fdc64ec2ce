"""Hostile endpoints and a hostile machine: bodies of many megabytes, an endpoint that stops answering, a corrupt or
locked cache, a full disk. Failures are data; nothing that finished is lost; nothing stalls.

These need an endpoint but no model: the fault proxy answers every call itself (upstream=None).
"""

from __future__ import annotations

import asyncio
import errno
import json
import sqlite3
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.engine import EngineOptions, ResponseCache, RetryPolicy, execute, stop_kind
from roadtest.plan.trial import group_key
from roadtest.plan import Trial
from roadtest.spec import ModelSpec
from tests.conftest import write_workspace

runner = CliRunner()
MiB = 1024 * 1024


class ListSink:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self.endpoints: dict[str, dict] = {}

    def write(self, record: dict) -> None:
        self.records.append(record)

    def endpoint(self, model_id: str, identity: dict) -> None:
        self.endpoints[model_id] = identity


class FullDisk(ListSink):
    """Takes `room` records, then the disk is full."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, record: dict) -> None:
        if len(self.records) >= self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(record)


class Quiet:
    def model_started(self, label, total) -> None: ...

    def trial_finished(self, record) -> None: ...

    def model_finished(self, label) -> None: ...


def model(url: str, id: str = "m", **settings) -> ModelSpec:
    settings = {"timeout_s": 5, "max_retries": 1, **settings}
    return ModelSpec(id=id, provider="openai", base_url=url, model="smollm2", **settings)


def trials(n: int, model_id: str = "m") -> list[Trial]:
    return [Trial(id=f"{model_id}-{i:03d}", model=model_id, scenario="s", item=f"i{i}", repeat=0, variant="base",
                  endpoint="chat/completions",
                  body={"model": "smollm2", "messages": [{"role": "user", "content": f"question {i}"}],
                        "max_tokens": 4}, reference={})
            for i in range(n)]


def engine(specs: list[ModelSpec], planned: list[Trial], root: Path, sink=None, **options):
    """Run the engine over `planned` as api.py does (totals from the plan); returns (sink, options)."""
    sink = sink if sink is not None else ListSink()
    opts = EngineOptions(retry=RetryPolicy(base_s=0.01, jitter=0.0), **options)
    totals: dict[tuple, int] = {}
    for t in planned:
        totals[group_key(t)] = totals.get(group_key(t), 0) + 1
    asyncio.run(execute(planned, {s.id: s for s in specs}, root, sink, Quiet(), opts, totals))
    return sink, opts


# -- response size ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["huge", "huge_declared"])
def test_a_body_over_max_response_bytes_is_a_too_large_error_row_and_memory_stays_bounded(tmp_path, stub, action):
    p, url = stub(lambda i, body: action if "question 1" in json.dumps(body) else "pass", huge_bytes=50 * MiB)
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        sink, options = engine([model(url, max_response_bytes=MiB)], trials(3), tmp_path, max_error_rate=0.5)
        elapsed = time.monotonic() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB for a 50 MiB body with a 1 MiB cap"
    assert elapsed < 10
    rows = {r["item"]: r for r in sink.records}
    assert sorted(rows) == ["i0", "i1", "i2"]                      # the other calls went on
    big = rows["i1"]
    assert big["error"]["kind"] == "too_large" and "max_response_bytes" in big["error"]["message"]
    assert big["response"] is None                                  # nothing of the body is archived
    assert big["attempts"] == 1                                     # the same request would get the same body
    assert sum("question 1" in json.dumps(s.body) for s in p.seen) == 1
    assert rows["i0"]["error"] is None and rows["i2"]["error"] is None
    assert options.stopped is None                                  # 1 of 3 is not past 0.5 x 3
    assert len(json.dumps(sink.records)) < 100_000


def test_a_body_just_under_the_cap_is_read(tmp_path, stub):
    p, url = stub(lambda i, body: "pass", answer=lambda body: "x" * 5000)
    sink, _ = engine([model(url, max_response_bytes=8 * 1024)], trials(1), tmp_path)
    assert sink.records[0]["error"] is None
    assert sink.records[0]["response"]["body"]["choices"][0]["message"]["content"] == "x" * 5000


# -- an endpoint that stops answering -------------------------------------------------------------------------

def test_an_endpoint_failing_mid_run_stops_the_run_once_failures_pass_the_error_rate(tmp_path, stub):
    p, url = stub(lambda i, body: "pass" if i < 4 else "500")          # answers 4 calls, then fails every one
    first, second = model(url), model(url, id="m2")
    sink, options = engine([first, second], trials(20) + trials(5, "m2"), tmp_path, max_error_rate=0.2)
    # 20 planned x 0.2 = 4 failures allowed: the 5th stops the run, for every model
    assert options.stopped == "endpoint failing: m: 5 of 20 calls failed"
    assert stop_kind(options.stopped) == "failing"
    assert [r["error"] is None for r in sink.records] == [True] * 4 + [False] * 5
    assert all(r["error"]["kind"] == "http_500" and r["attempts"] == 2 for r in sink.records[4:])
    assert len(p.seen) == 4 + 5 * 2                                    # nothing sent after the stop
    assert "m2" not in sink.endpoints and not any(r["model"] == "m2" for r in sink.records)


def test_calls_in_flight_when_the_run_stops_are_archived(tmp_path, stub):
    p, url = stub(lambda i, body: "pass" if i < 6 else "500", delay_s=0.2)
    sink, options = engine([model(url, max_concurrency=4, max_retries=0)], trials(40), tmp_path)
    assert stop_kind(options.stopped) == "failing"
    answered = [s for s in p.seen if s.action == "pass"]
    archived = {r["trial_id"] for r in sink.records}
    assert len(archived) == len(sink.records)                         # each trial once
    assert len(sink.records) == len(p.seen)                           # every call that was sent came back as a row
    assert sum(r["error"] is None for r in sink.records) == len(answered) == 6
    assert len(p.seen) < 20                                            # not the 40 planned


def test_client_errors_are_data_not_an_outage(tmp_path, stub):
    p, url = stub(lambda i, body: "400")
    sink, options = engine([model(url)], trials(6), tmp_path)
    assert options.stopped is None and len(sink.records) == 6
    assert all(r["error"]["kind"] == "http_400" for r in sink.records)


def test_a_failing_endpoint_exits_3_and_resume_finishes(tmp_path, stub):
    outage = {"on": True}
    p, url = stub(lambda i, body: "503" if outage["on"] and i >= 1 else "pass", retry_after="0")
    ws = write_workspace(tmp_path / "ws", url=url)
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", "    model: smollm2\n    max_retries: 1\n"))
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache", "--retry-base", "0.01"])
    assert result.exit_code == 3, result.output
    run_dir = next((ws / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "stopped: endpoint failing: smollm2: 2 of 5 calls failed"
    rows = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert [r["error"] is None for r in rows] == [True, False, False]
    outage["on"] = False
    again = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache", "--resume", run_dir.name,
                                "--retry-errors"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["errors"] == 0


# -- a full disk -----------------------------------------------------------------------------------------------

def test_a_sink_that_raises_oserror_stops_the_engine_cleanly(tmp_path, stub):
    p, url = stub(delay_s=0.05)
    sink, options = engine([model(url, max_concurrency=2), model(url, id="m2")], trials(12) + trials(3, "m2"),
                           tmp_path, sink=FullDisk(room=3))
    assert options.stopped == "disk: No space left on device"
    assert stop_kind(options.stopped) == "disk"
    assert len(sink.records) == 3
    assert len(p.seen) <= 3 + 2                                         # what was in flight, no more
    assert "m2" not in sink.endpoints


def test_a_manifest_write_that_fails_stops_the_engine_cleanly(tmp_path, stub):
    class ReadOnly(ListSink):
        def endpoint(self, model_id, identity):
            raise OSError(errno.EROFS, "Read-only file system")

    p, url = stub()
    sink, options = engine([model(url)], trials(3), tmp_path, sink=ReadOnly())
    assert options.stopped == "disk: Read-only file system"
    assert sink.records == [] and p.seen == []


# -- a corrupt, locked or unwritable cache ---------------------------------------------------------------------

def cached_run(tmp_path: Path, url: str, cache: ResponseCache, n: int = 5):
    try:
        return engine([model(url)], trials(n), tmp_path, cache=cache)
    finally:
        cache.close()


@pytest.mark.parametrize("damage", ["not sqlite", "malformed"])
def test_a_corrupt_cache_is_moved_aside_and_the_run_completes(tmp_path, stub, damage):
    p, url = stub()
    path = tmp_path / ".roadtest" / "cache.sqlite"
    if damage == "not sqlite":
        path.parent.mkdir()
        path.write_bytes(b"this is not a database\n" * 500)
    else:   # a real cache whose pages were overwritten: only reading its rows finds out
        cached_run(tmp_path, url, ResponseCache(path), n=40)
        data = bytearray(path.read_bytes())
        for offset in range(4096, len(data), 4096):
            data[offset:offset + 64] = b"\xff" * 64
        path.write_bytes(bytes(data))
    before = path.read_bytes()
    seen_before = len(p.seen)
    warned: list[str] = []
    cache = ResponseCache(path, warn=warned.append)
    sink, options = cached_run(tmp_path, url, cache)
    assert [r["error"] for r in sink.records] == [None] * 5 and options.stopped is None
    assert len(p.seen) - seen_before == 5                               # answered by the endpoint, not the cache
    aside = sorted(path.parent.glob("cache.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == before          # kept for whoever wants to look
    assert aside[0].name.removeprefix("cache.sqlite.corrupt-").endswith("Z")
    assert len(cache.warnings) == 1 and "corrupt" in cache.warnings[0] and aside[0].name in cache.warnings[0]
    assert warned == cache.warnings
    fresh = ResponseCache(path)                                         # the fresh cache works and holds the answers
    assert len(fresh.rows()) == 5 and fresh.warnings == []
    fresh.close()


def test_a_locked_cache_does_not_stall_the_run_and_loses_no_answer(tmp_path, stub):
    p, url = stub()
    path = tmp_path / "cache.sqlite"
    ResponseCache(path).close()
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")                                   # another process writing, for ever
    try:
        t0 = time.monotonic()
        cache = ResponseCache(path, lock_wait_s=1.0)
        cache.FLUSH_S = 0.0                                              # every answer tries to write
        sink, options = cached_run(tmp_path, url, cache, n=8)
        elapsed = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert [r["error"] for r in sink.records] == [None] * 8 and options.stopped is None
    assert len(cache.warnings) == 1 and "locked" in cache.warnings[0]
    assert cache.unsaved == 8 and not cache.writable


def test_a_cache_locked_for_a_moment_keeps_every_answer(tmp_path, stub):
    p, url = stub(delay_s=0.05)
    path = tmp_path / "cache.sqlite"
    ResponseCache(path).close()
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    cache = ResponseCache(path, lock_wait_s=3.0)
    cache.FLUSH_S = 0.0
    release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        sink, _ = cached_run(tmp_path, url, cache, n=10)
    finally:
        release.join()
        holder.close()
    assert cache.warnings == [] and cache.unsaved == 0
    again = ResponseCache(path)
    assert len(again.rows()) == 10
    again.close()


@pytest.mark.parametrize("failure", ["disk full", "read-only"])
def test_a_cache_write_that_fails_is_a_warning_never_a_lost_call(tmp_path, stub, failure):
    p, url = stub(answer=lambda body: "long answer " * 1000)           # rows larger than a page
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.FLUSH_S = 0.0
    if failure == "disk full":   # SQLITE_FULL, as a full disk gives it
        pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
        cache.db.execute(f"PRAGMA max_page_count={pages}")
    else:                        # SQLITE_READONLY
        cache.db.execute("PRAGMA query_only=1")
    sink, options = cached_run(tmp_path, url, cache, n=6)
    assert [r["error"] for r in sink.records] == [None] * 6 and options.stopped is None
    assert len(cache.warnings) == 1 and "could not write" in cache.warnings[0]
    assert cache.unsaved == 6


def test_a_cache_folder_that_cannot_be_created_is_a_warning(tmp_path, stub):
    p, url = stub()
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    cache = ResponseCache(tmp_path / "blocked" / "cache.sqlite")
    sink, options = cached_run(tmp_path, url, cache, n=2)
    assert [r["error"] for r in sink.records] == [None] * 2
    assert len(cache.warnings) == 1 and "cannot be opened" in cache.warnings[0]
