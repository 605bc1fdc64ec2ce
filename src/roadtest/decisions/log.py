"""decisions/log.jsonl: the append-only, hash-chained log of recorded decisions.

Each line is one entry, canonical JSON: `seq` (1, 2, ...), `id` (the decision's id, also its file's stem),
`file` and `file_sha256` (the decision's Markdown file as written), `record` (everything the file's front matter
holds), `supersedes` (the id of the decision it replaces, or null), `prev` (the `sha256` of the entry before it;
64 zeros for the first) and `sha256` (of the entry without this field). Editing an entry breaks its own hash;
deleting or reordering one breaks the next entry's `prev`; editing a decision file breaks its `file_sha256`.
The chain proves the log was not changed by someone who did not also recompute every later hash: print its head
(`roadtest verify --decisions`) and keep a copy elsewhere (a commit, the decision document) to anchor it.

Decision logs come from other people: a log that is not a regular file, too large, not UTF-8, not JSON, with a
non-finite number, or a broken link is reported line by line (`decisions/log.jsonl:LINE: message`), never a
traceback, and nothing is ever written through a link or outside the workspace's decisions/ folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from roadtest.archive.canonical import canonical_json
from roadtest.archive.files import open_append, open_regular, read_bytes
from roadtest.decisions.schema import finite_json
from roadtest.errors import AlteredArchive, RoadtestError

FOLDER = "decisions"
LOG = "log.jsonl"
GENESIS = "0" * 64
MAX_LOG_BYTES = 32 << 20
"""A decision log larger than this is refused unread (a decision is a few kB: this is thousands of them)."""
MAX_FILE_BYTES = 1 << 20
"""A decision file larger than this is refused."""
ENTRY_KEYS = {"seq", "id", "file", "file_sha256", "record", "supersedes", "prev", "sha256"}
LOG_NAME = f"{FOLDER}/{LOG}"


class BrokenChain(RoadtestError):
    """The decision log does not prove itself: every problem, located as `decisions/log.jsonl:LINE: ...`."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"the decision log is broken: {problems[0]}" + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            "`roadtest verify --decisions` lists every problem; restore decisions/ from a copy (git) — roadtest "
            "never rewrites the log, so nothing more was recorded")


@dataclass(frozen=True)
class Entry:
    line: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def record(self) -> dict[str, Any]:
        return self.data["record"]


@dataclass
class Chain:
    """The log as read: its entries, and every problem found (empty when the chain proves itself)."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.entries[-1].data["sha256"] if self.entries else GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems

    def active(self) -> list[Entry]:
        """The decisions no later entry supersedes, oldest first."""
        replaced = {e.data.get("supersedes") for e in self.entries}
        return [e for e in self.entries if e.id not in replaced]

    def superseded_by(self) -> dict[str, str]:
        return {e.data["supersedes"]: e.id for e in self.entries if e.data.get("supersedes")}


def entry_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in data.items() if k != "sha256"}).encode()).hexdigest()


def folder_of(root: Path) -> Path:
    return root / FOLDER


def check_folder(root: Path) -> Path:
    """The workspace's decisions/ folder, refused when it is a link or not a folder (nothing is read through it)."""
    folder = folder_of(root)
    if folder.is_symlink():
        raise RoadtestError(f"{FOLDER}/ is a symbolic link (to {os.readlink(folder)}): roadtest reads and writes "
                            "decisions only inside the workspace", "replace the link by the folder itself")
    if folder.exists() and not folder.is_dir():
        raise RoadtestError(f"{FOLDER} is not a folder", "move it away: decisions/ holds the decision record")
    return folder


def read_chain(root: Path) -> Chain:
    """Read decisions/log.jsonl and check every link of the chain and every decision file's hash."""
    folder = check_folder(root)
    chain = Chain()
    path = folder / LOG
    if not path.exists() and not path.is_symlink():
        return chain
    odd = _not_regular(path)
    if odd:
        chain.problems.append(f"{LOG_NAME}: {odd}; roadtest reads the log only as a regular file in the workspace")
        return chain
    try:
        raw = read_bytes(path, MAX_LOG_BYTES)
    except (OSError, ValueError, AlteredArchive) as exc:
        chain.problems.append(f"{LOG_NAME}: cannot be read: {getattr(exc, 'message', exc)}")
        return chain
    if raw and not raw.endswith(b"\n"):
        last = raw.count(b"\n") + 1
        chain.problems.append(f"{LOG_NAME}:{last}: the last line has no newline (a write was cut "
                              "short, or the file was edited): every entry ends with one")
    prev: str | None = GENESIS
    seen: set[str] = set()
    lines = raw.split(b"\n")
    seq = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if number < len(lines):
                chain.problems.append(f"{LOG_NAME}:{number}: an empty line: the log has one entry per line")
            continue
        seq += 1
        data, problem = _parse(line)
        if problem:
            chain.problems.append(f"{LOG_NAME}:{number}: {problem}")
            prev = None
            continue
        name = f"{LOG_NAME}:{number}: entry {data.get('seq')} ({data.get('id')})"
        if data["sha256"] != entry_hash(data):
            chain.problems.append(f"{name} was altered after it was written: it hashes to "
                                  f"{entry_hash(data)[:12]}…, not to the sha256 it records ({data['sha256'][:12]}…)")
        if prev is not None and data["prev"] != prev:
            chain.problems.append(f"{name} does not follow the entry before it: it names {data['prev'][:12]}… as "
                                  f"the previous entry's sha256, which is {prev[:12]}… (an entry before it was "
                                  "removed, inserted or reordered)")
        if data["seq"] != seq:
            chain.problems.append(f"{name} is numbered {data['seq']}, but it is entry {seq} of the log")
        if data["id"] in seen:
            chain.problems.append(f"{name}: the id {data['id']} is recorded twice")
        if data["supersedes"] is not None and data["supersedes"] not in seen:
            chain.problems.append(f"{name} supersedes {data['supersedes']}, which no earlier entry records")
        seen.add(data["id"])
        prev = data["sha256"]
        shape = _record_problem(data["record"])
        if shape:
            chain.problems.append(f"{name}: its record is not one roadtest writes: {shape}")
            continue
        chain.problems += _file_problems(folder, data, name)
        chain.entries.append(Entry(number, data))
    return chain


def _not_regular(path: Path) -> str | None:
    import stat

    from roadtest.archive.files import kind_of

    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return f"is a symbolic link (to {os.readlink(path)})"
    return None if stat.S_ISREG(st.st_mode) else f"is {kind_of(st.st_mode)}"


def _record_problem(record: dict[str, Any]) -> str | None:
    from pydantic import ValidationError

    from roadtest.decisions.schema import DecisionRecord

    try:
        DecisionRecord.model_validate(record)
    except ValidationError as exc:
        e = exc.errors()[0]
        return f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
    return None


def _parse(line: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        data = finite_json(line.decode("utf-8"))
    except UnicodeDecodeError:
        return {}, "not UTF-8 text (binary?)"
    except (ValueError, RecursionError) as exc:
        return {}, f"not a JSON entry: {str(exc)[:120]}"
    if not isinstance(data, dict):
        return {}, "not a JSON object"
    missing = sorted(ENTRY_KEYS - set(data))
    extra = sorted(set(data) - ENTRY_KEYS)
    if missing or extra:
        return {}, f"not a decision entry ({'missing ' + ', '.join(missing) if missing else ''}" \
                   f"{'; ' if missing and extra else ''}{'unknown ' + ', '.join(extra) if extra else ''})"
    kinds = {"seq": int, "id": str, "file": str, "file_sha256": str, "record": dict, "prev": str, "sha256": str}
    wrong = [k for k, t in kinds.items() if not isinstance(data[k], t) or isinstance(data[k], bool)]
    if data["supersedes"] is not None and not isinstance(data["supersedes"], str):
        wrong.append("supersedes")
    if wrong:
        return {}, f"not a decision entry ({', '.join(wrong)} of the wrong type)"
    return data, None


def _file_problems(folder: Path, data: dict[str, Any], name: str) -> list[str]:
    file = data["file"]
    if "/" in file or "\\" in file or file.startswith(".") or not file.endswith(".md"):
        return [f"{name} names the file {file!r}, which is not a decision file in {FOLDER}/"]
    try:
        body = read_bytes(folder / file, MAX_FILE_BYTES)
    except FileNotFoundError:
        return [f"{name}: its file {FOLDER}/{file} is missing"]
    except (OSError, ValueError, AlteredArchive) as exc:
        return [f"{name}: its file {FOLDER}/{file} cannot be read: {getattr(exc, 'message', exc)}"]
    digest = hashlib.sha256(body).hexdigest()
    if digest != data["file_sha256"]:
        return [f"{name}: its file {FOLDER}/{file} was edited after it was recorded (sha256 {digest[:12]}…, "
                f"recorded {data['file_sha256'][:12]}…)"]
    differs = _front_matter_differs(body, data, f"{FOLDER}/{file}")
    return [f"{name}: its file {FOLDER}/{file} does not say what the entry records: {differs}"] if differs else []


def _front_matter_differs(body: bytes, data: dict[str, Any], display: str) -> str | None:
    """The decision file's front matter and note against the entry's record (a log rewritten with fresh hashes
    beside an untouched file, or the reverse, is caught here)."""
    from roadtest.load.yamlsrc import parse_yaml

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    parts = text.split("---\n", 2)
    if len(parts) != 3 or parts[0]:
        return "it has no YAML front matter between --- lines"
    parsed = parse_yaml(parts[1], display, line_offset=1)
    if parsed.problems or not isinstance(parsed.data, dict):
        return parsed.problems[0].message if parsed.problems else "its front matter is not a mapping"
    record = data["record"]
    expected = {"id": data["id"], **{k: v for k, v in record.items() if k != "note"}}
    keys = sorted(k for k in set(expected) | set(parsed.data) if expected.get(k) != parsed.data.get(k))
    if keys:
        return f"{', '.join(keys[:5])} differ{'s' if len(keys) == 1 else ''}"
    if not parts[2].rstrip("\n").endswith(record["note"].rstrip("\n")):
        return "its note differs"
    return None


def intact_chain(root: Path) -> Chain:
    """The chain, or BrokenChain (exit 2) when it does not prove itself: nothing is decided on a broken record."""
    chain = read_chain(root)
    if not chain.ok:
        raise BrokenChain(chain.problems)
    return chain


@contextmanager
def locked(root: Path) -> Iterator[Path]:
    """The decisions/ folder (created), held against a concurrent `roadtest decide` while the block runs."""
    folder = check_folder(root)
    folder.mkdir(exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)      # the folder itself: no lock file to commit or to replace by a link
        yield folder
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def new_entry(chain: Chain, decision_id: str, file: str, file_bytes: bytes, record: dict[str, Any],
              supersedes: str | None) -> dict[str, Any]:
    data = {"seq": len(chain.entries) + 1, "id": decision_id, "file": file,
            "file_sha256": hashlib.sha256(file_bytes).hexdigest(), "record": record, "supersedes": supersedes,
            "prev": chain.head}
    data["sha256"] = entry_hash(data)
    return data


def append(folder: Path, data: dict[str, Any]) -> None:
    """One entry appended to the log and forced to disk (the caller holds `locked`)."""
    path = folder / LOG
    if path.exists():
        with open_regular(path) as f:       # a log whose last line lacks its newline: the entry starts a new line
            f.seek(0, os.SEEK_END)
            if f.tell():
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    raise RoadtestError(f"{LOG_NAME}: its last line has no newline (a write was cut short?)",
                                        "`roadtest verify --decisions` checks it; restore it from a copy")
    fd = open_append(path)
    try:
        os.write(fd, (canonical_json(data) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
