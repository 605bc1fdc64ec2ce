"""trials.jsonl: one JSON line per call, appended whole, read strictly.

A record is written with one os.write loop straight to the kernel (no buffer that could flush half of it later);
if the disk refuses part of it, the part is cut off again and nothing more is appended. So the only damage a
run can leave is a half-written last line (a kill mid-write), which readers leave out and resume cuts off.
Any other unreadable line was damaged after it was written: an error naming `trials.jsonl:<line>`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from roadtest.archive.checks import TRIALS
from roadtest.archive.files import open_append, open_regular
from roadtest.archive.integrity import decode_line, jsonl_lines, record_problem, unreadable


def jsonl(value: dict[str, Any]) -> bytes:
    """One JSON line; text UTF-8 cannot hold (a lone surrogate from a server) is kept as a JSON escape."""
    try:
        return (json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(value, ensure_ascii=True, sort_keys=True) + "\n").encode("ascii")


def read_records(path: Path, typed: bool = False) -> Iterator[Any]:
    """Every record (with `typed`, as a roadtest.archive.schema TrialRow); a half-written last line is left out;
    any other unreadable line raises AlteredArchive naming it."""
    if typed:
        from roadtest.archive.schema.trials import row
        from pydantic import ValidationError
    try:
        f = open_regular(path)
    except FileNotFoundError:
        return
    with f:
        for n, raw, complete in jsonl_lines(f):
            if not complete:
                return
            data, why = decode_line(raw)
            why = why or record_problem(data)
            if why:
                raise unreadable(path.name, n, why)
            if not typed:
                yield data
                continue
            try:
                yield row(data)
            except ValidationError:
                raise unreadable(path.name, n, record_problem(data, typed=True) or "not a trial record") from None


def cut_half_line(path: Path) -> int:
    """Drop a half-written last line (a killed run); returns the bytes removed."""
    try:
        f = open_regular(path, "rb+")
    except FileNotFoundError:
        return 0
    with f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return 0
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        chunk = min(size, 1 << 20)
        while True:
            f.seek(size - chunk)
            data = f.read(chunk)
            cut = data.rfind(b"\n")
            if cut >= 0 or chunk == size:
                keep = size - chunk + cut + 1 if cut >= 0 else 0
                f.truncate(keep)
                return size - keep
            chunk = min(size, chunk * 2)


class Appender:
    """trials.jsonl open for appending; OSError from `write` leaves the file as it was before the record."""

    def __init__(self, path: Path) -> None:
        self.fd = open_append(path)
        self.size = os.fstat(self.fd).st_size
        self.broken = False

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            self.broken = True
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass   # the half line stays last: resume cuts it off
            raise
        self.size += len(data)

    def close(self) -> None:
        try:
            os.fsync(self.fd)
        finally:
            os.close(self.fd)


def served_by(folder: Path) -> dict[str, dict[str, list[str]]]:
    """Per model: the model names and system fingerprints its responses carried (endpoint drift), from the run
    folder's trials.jsonl (answers served from the response cache say nothing about the endpoint)."""
    return served_by_endpoint(folder)[0]


def served_by_endpoint(folder: Path) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[int, dict[str, list[str]]]]]:
    """`served_by`, and the same per replica (model -> replica number -> served) for the rows of a model with
    several replicas (those rows name theirs), in one pass over trials.jsonl."""
    seen: dict[str, dict[str, set[str]]] = {}
    per_replica: dict[str, dict[int, dict[str, set[str]]]] = {}
    for record in read_records(folder / TRIALS):
        body = (record.get("response") or {}).get("body")
        if not isinstance(body, dict) or record.get("cache"):
            continue
        entries = [seen.setdefault(record["model"], {"model": set(), "system_fingerprint": set()})]
        replica = record.get("replica")
        if isinstance(replica, int) and not isinstance(replica, bool):
            entries.append(per_replica.setdefault(record["model"], {}).setdefault(
                replica, {"model": set(), "system_fingerprint": set()}))
        for key in ("model", "system_fingerprint"):
            if body.get(key):
                for entry in entries:
                    entry[key].add(str(body[key]))
    return ({m: _sorted(e) for m, e in seen.items()},
            {m: {n: _sorted(e) for n, e in replicas.items()} for m, replicas in per_replica.items()})


def _sorted(entry: dict[str, set[str]]) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in entry.items()}
