"""Datasets: JSONL or CSV rows, each with the line it came from."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadtest.errors import Problem


@dataclass(frozen=True)
class Row:
    """One dataset row and the line of the file it starts on."""

    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """A dataset file read whole: its rows, its sha256, where it lives."""

    path: Path
    display: str
    rows: tuple[Row, ...]
    sha256: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def read_table(path: Path, display: str, ref_path: str, ref_line: int) -> tuple[Table | None, list[Problem]]:
    """Read a JSONL or CSV file; problems point at the file's own lines where they can."""
    if not path.is_file():
        return None, [Problem(ref_path, ref_line, f"dataset file not found: {display}",
                              "paths are relative to the scenario file; check the name and folder")]
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        return None, [Problem(ref_path, ref_line, f"unsupported dataset format '{suffix}' ({display})",
                              "use a .jsonl file (one JSON object per line) or a .csv file with a header row")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, f"not UTF-8 text: {exc.reason}", "save the file as UTF-8")]
    rows, problems = (_read_jsonl if suffix == ".jsonl" else _read_csv)(text, display)
    if not rows and not problems:
        problems.append(Problem(display, 1, "the dataset has no rows", "add at least one item"))
    return Table(path, display, tuple(rows), file_sha256(path)), problems


def _read_jsonl(text: str, display: str) -> tuple[list[Row], list[Problem]]:
    rows, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(display, number, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                    "each line must be one complete JSON object"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(display, number, f"expected a JSON object, found {type(value).__name__}",
                                    'write {"field": value, ...} on each line'))
            continue
        rows.append(Row(number, value))
    return rows, problems


def _read_csv(text: str, display: str) -> tuple[list[Row], list[Problem]]:
    """Rows keyed by the header; each row's line is the line it starts on (a quoted value may span lines)."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, problems, header = [], [], None
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a NUL byte
            problems.append(Problem(display, start, f"unreadable CSV row: {exc}", "save the file as plain CSV text"))
            break
        if not record:
            continue
        if header is None:
            header = record
            continue
        if len(record) != len(header) or _quote_left_open(lines[start - 1:reader.line_num]):
            problems.append(_width_problem(display, start, reader.line_num, record, len(header), lines))
            continue
        rows.append(Row(start, dict(zip(header, record))))
    return rows, problems


def _quote_left_open(raw: list[str]) -> bool:
    """The row's text ends inside a quoted value (only possible at the end of the file)."""
    try:
        list(csv.reader(io.StringIO("".join(raw), newline=""), strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _width_problem(display: str, start: int, end: int, record: list[str], width: int, lines: list[str]) -> Problem:
    """Why a row has the wrong shape: usually a quote left open, which swallows the lines after it."""
    hint = 'close the quote; inside a quoted value write a quote as two ("")'
    if end > start:
        return Problem(display, start, f"unclosed quote: the quoted value that starts on this line runs on to line {end}",
                       hint)
    if _quote_left_open(lines[start - 1:end]):
        return Problem(display, start, "unclosed quote: a quoted value on this line has no closing quote", hint)
    return Problem(display, start, f"row has {len(record)} columns but the header has {width}",
                   'quote values that contain commas: "a, b"')
