"""Datasets: JSONL or CSV rows, each with the line it came from."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadtest.digest import file_sha256
from roadtest.errors import Problem
from roadtest.load.files import binary_problem, not_a_file, size_of


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


MAX_DATASET_BYTES = 2 * 1024 ** 3
"""A dataset file larger than this is refused unread."""
MAX_LINE_BYTES = 10 * 1024 ** 2
"""A dataset line longer than this is refused (and skipped without being held in memory)."""
MAX_ROW_DEPTH = 32
"""Levels of JSON arrays and objects inside one row."""

_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")
BOM = "\ufeff"


def read_table(path: Path, display: str, ref_path: str, ref_line: int) -> tuple[Table | None, list[Problem]]:
    """Read a JSONL or CSV file; problems point at the file's own lines where they can."""
    why = not_a_file(path)
    if why:
        what = f"dataset file not found: {display}" if why == "not found" else f"dataset file {display} is {why}"
        return None, [Problem(ref_path, ref_line, what,
                              "paths are relative to the scenario file; name a JSONL or CSV file")]
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        return None, [Problem(ref_path, ref_line, f"unsupported dataset format '{suffix}' ({display})",
                              "use a .jsonl file (one JSON object per line) or a .csv file with a header row")]
    size = size_of(path)
    if size > MAX_DATASET_BYTES:
        return None, [Problem(display, 0, f"the dataset has {size:,} bytes; roadtest reads at most "
                                          f"{MAX_DATASET_BYTES:,}",
                              "split it into several scenarios, or sample the items you need")]
    try:
        lines, problems = read_lines(path, display)
    except OSError as exc:
        return None, [Problem(display, 0, f"cannot read the dataset: {exc.strerror or exc}", "check its permissions")]
    rows, more = (_read_jsonl if suffix == ".jsonl" else _read_csv)(lines, display)
    problems += more
    if not rows and not problems:
        problems.append(Problem(display, 1, "the dataset has no rows", "add at least one item"))
    return Table(path, display, tuple(rows), file_sha256(path)), problems


def read_lines(path: Path, display: str) -> tuple[list[str | None], list[Problem]]:
    """The file's lines split at "\\n" only (each keeps its end), as a list whose index + 1 is the line number;
    a line that is too long, holds a NUL byte or is not UTF-8 is None, with a problem at its line."""
    lines: list[str | None] = []
    problems: list[Problem] = []
    with path.open("rb") as f:
        while True:
            raw = f.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            number = len(lines) + 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                length = len(raw) + _skip_line(f)
                lines.append(None)
                problems.append(Problem(display, number, f"the line has {length:,} bytes; a line may have at most "
                                                         f"{MAX_LINE_BYTES:,}",
                                        "shorten the item; long documents do not fit a model's context anyway"))
                continue
            try:
                text = raw.decode("utf-8") if b"\x00" not in raw else None
            except UnicodeDecodeError:
                text = None
            if text is None:
                lines.append(None)
                problem = binary_problem(raw, display, number)
                assert problem is not None          # text is None only for a NUL byte or bytes that are not UTF-8
                problems.append(problem)
                continue
            lines.append(text.removeprefix(BOM) if number == 1 else text)
    return lines, problems


def _skip_line(f) -> int:
    """Read on to the end of the current line without keeping it; the bytes skipped, not counting the line end."""
    skipped = 0
    while True:
        chunk = f.readline(1 << 20)
        skipped += len(chunk)
        if not chunk:
            return skipped
        if chunk.endswith(b"\n"):
            return skipped - 1


class _RowError(ValueError):
    """A row that is valid JSON text but not a valid row: a message and a hint."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise _RowError(f"key '{_shown(twice)}' appears twice in one object of this row",
                        "keep one of them (JSON readers disagree on which one wins)")
    return value


def _constant(name: str) -> Any:
    raise _RowError(f"{name} is not a JSON value", "write a finite number, or null for a missing one")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RowError(f"the number {text} is too large: it reads as infinity", "write a finite number")
    return value


_KEY_END = re.compile(r'"\s*:')
_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_finite)
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_float=_finite)


def _parse_row(raw: str) -> Any:
    """The row's JSON; raises _RowError for a key written twice, NaN, Infinity or a number beyond float."""
    value = _DECODER.decode(raw)
    if isinstance(value, dict) and raw.count("{") == 1 and len(_KEY_END.findall(raw)) == len(value):
        return value        # one flat object whose every '":' is a key of it: no key was written twice
    return _PAIRS_DECODER.decode(raw)


def _read_jsonl(lines: list[str | None], display: str) -> tuple[list[Row], list[Problem]]:
    rows, problems = [], []
    for number, raw in enumerate(lines, start=1):
        if raw is None or not raw.strip(" \t\r\n"):
            continue
        try:
            value = _parse_row(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(display, number, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                    "each line must be one complete JSON object"))
            continue
        except _RowError as exc:
            problems.append(Problem(display, number, exc.message, exc.hint))
            continue
        except ValueError as exc:          # e.g. a whole number of more than 4,300 digits
            problems.append(Problem(display, number, f"unreadable JSON value: {exc}", "write an ordinary number"))
            continue
        except RecursionError:
            problems.append(Problem(display, number, "the row is nested too deeply",
                                    f"keep rows to at most {MAX_ROW_DEPTH} levels of arrays and objects"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(display, number, f"expected a JSON object, found {type(value).__name__}",
                                    'write {"field": value, ...} on each line'))
            continue
        problem = _value_problem(value, display, number) if _may_hide_problems(raw) else None
        if problem:
            problems.append(problem)
            continue
        rows.append(Row(number, value))
    return rows, problems


def _may_hide_problems(raw: str) -> bool:
    """A lone surrogate or a NUL character can only come from a \\u escape, and deep nesting needs brackets:
    rows without either (most rows) need no walk."""
    return "\\u" in raw or raw.count("[") + raw.count("{") > MAX_ROW_DEPTH


def _value_problem(row: dict[str, Any], display: str, number: int) -> Problem | None:
    """Text that cannot be sent (a lone surrogate, a NUL character) or nesting too deep, in any field of a row."""
    for name, value in row.items():
        stack = [(name, 0), (value, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_ROW_DEPTH:
                return Problem(display, number,
                               f"field '{_shown(name)}' is nested more than {MAX_ROW_DEPTH} levels deep",
                               "flatten the value: a prompt template shows text, numbers and short lists")
            if isinstance(item, str):
                bad = _UNSENDABLE.search(item)
                if bad:
                    return Problem(display, number, f"field '{_shown(name)}' holds " + (
                        "a NUL character (\\u0000)" if bad.group() == "\x00" else
                        f"a lone surrogate (\\u{ord(bad.group()):04x}), which is not a character"),
                        "remove the \\u escape; write the character itself, or a complete pair such as "
                        "\\ud83d\\ude00")
            elif isinstance(item, dict):
                stack += [(k, depth + 1) for k in item] + [(v, depth + 1) for v in item.values()]
            elif isinstance(item, list):
                stack += [(v, depth + 1) for v in item]
    return None


def _shown(text: str, width: int = 40) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    return text if len(text) <= width else text[:width - 3] + "..."


def _read_csv(read: list[str | None], display: str) -> tuple[list[Row], list[Problem]]:
    """Rows keyed by the header; each row's line is the line it starts on (a quoted value may span lines)."""
    lines = [line if line is not None else "\n" for line in read]      # an unreadable line (reported) reads as empty
    reader = csv.reader(iter(lines))
    rows, problems, header = [], [], None
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a value longer than csv's field limit
            problems.append(Problem(display, start, f"unreadable CSV row: {exc}", "save the file as plain CSV text"))
            break
        if not record:
            continue
        if header is None:
            header = record
            problems += _header_problems(header, display, start)
            continue
        if len(record) != len(header) or _quote_left_open(lines[start - 1:reader.line_num]):
            problems.append(_width_problem(display, start, reader.line_num, record, len(header), lines))
            continue
        rows.append(Row(start, dict(zip(header, record))))
    return rows, problems


def _header_problems(header: list[str], display: str, line: int) -> list[Problem]:
    """A column name used twice would silently replace the first column's values."""
    first: dict[str, int] = {}
    problems = []
    for i, name in enumerate(header, start=1):
        if name in first:
            problems.append(Problem(display, line, f"column '{name}' appears twice in the header "
                                                   f"(columns {first[name]} and {i})",
                                    "rename one of them: the second would silently replace the first"))
        first.setdefault(name, i)
    return problems


def _quote_left_open(raw: list[str]) -> bool:
    """The row's text ends inside a quoted value (only possible at the end of the file)."""
    try:
        list(csv.reader(iter(raw), strict=True))
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
