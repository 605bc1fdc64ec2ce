"""Files of a workspace someone sent you: only regular files, inside the workspace, of a bounded size, UTF-8.

Every way a file can fail to be read (missing, a folder, a device, too large, binary, not UTF-8, outside the
workspace) is a located Problem, never an exception.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from roadtest.errors import Problem

MAX_TEXT_BYTES = 1_000_000
"""A YAML or Markdown file larger than this is refused unread (roadtest's own files are a few kB)."""

OUTSIDE_FLAG = "--allow-outside-paths"
"""The command-line flag that lets a workspace read files outside its folder."""

BOM = "\ufeff"


@dataclass(frozen=True)
class Access:
    """Which files a workspace may make roadtest read: those inside its root, unless outside paths are allowed."""

    root: Path
    """The workspace folder, resolved."""
    allow_outside: bool = False
    """The caller trusts the workspace with files outside its folder (--allow-outside-paths)."""

    def outside(self, path: Path) -> Path | None:
        """Where `path` really leads (links followed) when that is outside the root and that is not allowed."""
        if self.allow_outside:
            return None
        real = real_path(path)
        if real is None or real == self.root or self.root in real.parents:
            return None
        return real

    def refuse(self, path: Path, name: str, value: str, where: str, line: int) -> Problem | None:
        """A problem at where:line when the file `name: value` names leads outside the workspace."""
        real = self.outside(path)
        if real is None:
            return None
        how = "to" if Path(value).is_absolute() or ".." in Path(value).parts else "through a link to"
        return Problem(where, line, f"{name} '{value}' leads outside the workspace ({how} {real})",
                       "copy the file into the workspace folder and name it with a relative path; if you trust "
                       f"this workspace, run with {OUTSIDE_FLAG} (the file's content is sent to the models)",
                       field=name)


def real_path(path: Path) -> Path | None:
    """path with every link followed, or None when the name cannot even be looked up (NUL byte, too long)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file ('not found', 'a folder', ...), or None when it is a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of the path is a file, not a folder)"
    except ValueError:
        return "not a valid file name (it contains a NUL character)"
    except OSError as exc:
        return f"cannot be opened: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, socket or pipe)"
    return None


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except (OSError, ValueError):
        return 0


def read_text(path: Path, display: str, limit: int = MAX_TEXT_BYTES) -> tuple[str | None, list[Problem]]:
    """A whole YAML or Markdown file as text (a leading BOM dropped), or None and the problem that stops it."""
    why = not_a_file(path)
    if why:
        return None, [Problem(display, 0, f"{display} is {why}", "it must be a text file (YAML or Markdown)")]
    size = size_of(path)
    if size > limit:
        return None, [Problem(display, 0, f"the file has {size:,} bytes; roadtest reads at most {limit:,}",
                              "keep scenario, hypothesis and settings files small: items belong in a dataset file")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(display, 0, f"cannot read the file: {exc.strerror or exc}", "check its permissions")]
    problem = binary_problem(data, display)
    if problem:
        return None, [problem]
    return data.decode("utf-8").removeprefix(BOM), []


def binary_problem(data: bytes, display: str, first_line: int = 1) -> Problem | None:
    """A NUL byte or bytes that are not UTF-8, at their line; None for UTF-8 text."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return Problem(display, first_line + data.count(b"\n", 0, nul),
                       "a NUL byte: this looks like a binary file, not text", "save the file as plain UTF-8 text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        return Problem(display, first_line + data.count(b"\n", 0, exc.start),
                       f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1} "
                       f"({exc.reason})", "save the file as UTF-8 (in most editors: Save with Encoding, UTF-8)")
    return None
