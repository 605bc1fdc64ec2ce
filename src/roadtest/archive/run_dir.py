"""The run folder: manifest.json, plan.jsonl (written whole, then recorded), trials.jsonl (appended record by
record), derived files and their hashes; one writer at a time (see lock.py), nothing read or written through
a link (see files.py), and an archive refused unless it is as its run left it (see checks.py)."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, Iterator

from roadtest import __version__
from roadtest.archive import checks
from roadtest.archive.canonical import canonical_json, fingerprint
from roadtest.archive.checks import MANIFEST, PLAN, SOURCES, TRIALS
from roadtest.archive.config import dataset_hashes
from roadtest.archive.files import check_regular, open_regular, read_bytes, reason, remedy, replace_file, sha256_file
from roadtest.archive.integrity import (MAX_MANIFEST_BYTES, Specs, build_specs, decode_line, jsonl_lines,
                                        parse_manifest, trial_problem, typed_manifest)
from roadtest.archive.lock import LOCK, RunLock
from roadtest.archive.migrations import SCHEMA_VERSION, upgrade
from roadtest.archive.schema import Manifest, ResolvedConfig, TrialRow
from roadtest.archive.trials_file import Appender, cut_half_line, jsonl, read_records
from roadtest.errors import AlteredArchive, RoadtestError, RunError

PACKAGES = ("pydantic", "httpx", "jinja2", "numpy", "scipy", "pandas", "weasyprint", "markdown-it-py",
            "typer", "llama-cpp-python")


def now() -> str:
    """UTC, to the millisecond: runs a second apart (a fast endpoint) still have an order."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"roadtest": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_revision(root: Path) -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip() or None


RACY_NS = 2_000_000_000
"""A manifest changed less than this long before it was last read may change again without its size or time
changing (file times tick coarsely): its bytes are compared again rather than trusted by its stat."""


@dataclass
class _Opened:
    """The manifest as read once: its bytes, the stat they were read under, and what they were turned into."""

    key: tuple | None
    """(inode, size, mtime, ctime) of manifest.json when `raw` was read or written (None: it could not be stat'ed)."""
    checked_ns: int
    """When the file was last found to hold `raw`."""
    raw: bytes
    """The file's bytes."""
    record: Manifest
    """The manifest, checked and migrated to the current schema version."""
    specs: Specs
    """Its scenarios, models and hypotheses built as spec objects."""

    def trusted(self, key: tuple | None) -> bool:
        return key is not None and key == self.key and key[2] < self.checked_ns - RACY_NS


class ArchiveWriteError(RunError, OSError):
    """The disk refused a write to the run folder (full, read-only, quota): a RunError (exit 3) for people and an
    OSError for the engine, which stops sending calls when its sink raises one."""

    def __init__(self, message: str, hint: str, cause: OSError) -> None:
        RunError.__init__(self, message, hint)
        self.errno, self.strerror = cause.errno, cause.strerror or str(cause)


class RunArchive:
    """One run folder. Trials are appended as they finish, each record whole (or, when the disk fails, not at all).

    Writing takes the folder's lock (`lock()`): a second writer is refused at once. Appending trials holds it
    from `open_trials` until `finish`; every other write holds it while it writes, unless the caller holds it
    already (`with archive.lock(): ...` around a whole run or resume, which is what the API does).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._trials: Appender | None = None
        self._lock = RunLock(path)
        self._holds = 0
        self._session = False
        self._failure: ArchiveWriteError | None = None
        self._resumable = False
        self._plan_verified: tuple | None = None
        self._opened: _Opened | None = None

    # -- the lock -----------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator["RunArchive"]:
        """Hold the run folder's lock for the block (nested holds are free); refused at once (RunLocked,
        exit 2, naming the holder's pid) while another process or another RunArchive of the folder holds it."""
        self._hold()
        try:
            yield self
        finally:
            self._unhold()

    @property
    def locked(self) -> bool:
        return self._lock.held

    def _hold(self) -> None:
        if self._holds == 0:
            with self._writing(LOCK):
                self._lock.acquire()
        self._holds += 1

    def _unhold(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._lock.release()

    # -- creating -----------------------------------------------------------
    @classmethod
    def create(cls, runs_dir: Path, config: dict[str, Any], command: list[str], root: Path,
               shard: Any = None) -> "RunArchive":
        """A new run folder `<UTC start>-<fingerprint[:6]>` (a shard's: `...-s<K>of<N>`, its manifest naming the
        shard: a roadtest.plan.shards.Shard) with its manifest; the plan is written next (`write_plan`)."""
        fp = fingerprint(config)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{fp[:6]}" + (f"-{shard.suffix}" if shard is not None else "")
        path, n = runs_dir / run_id, 1
        while True:
            try:
                path.mkdir(parents=True)
                break
            except FileExistsError:
                n += 1
                path = runs_dir / f"{run_id}-{n}"
            except OSError as exc:
                raise RunError(f"could not create {path}: {reason(exc)}",
                               f"no call was sent: {remedy(exc)}, then run the command again") from None
        archive = cls(path)
        archive.write_manifest({
            "schema_version": SCHEMA_VERSION, "run_id": path.name, "status": "running",
            "command": command, "started_at": now(), "finished_at": None,
            "versions": versions(), "platform": platform.platform(),
            "workspace": {"git_revision": git_revision(root)},
            "config": config, "fingerprint": fp, "datasets": dataset_hashes(config),
            "endpoints": {}, "files": {}, "plan": None,
            **({"shard": {"index": shard.index, "count": shard.count}} if shard is not None else {}),
        })
        return archive

    def write_plan(self, trials) -> dict[tuple, int]:
        """Every planned trial, one JSON line each (streamed), written whole or not at all: a temporary file,
        fsync'd, renamed to plan.jsonl, and only then recorded in the manifest (its trial count and sha256).
        Returns the count per engine block. A plan that was never recorded is never resumed from."""
        from roadtest.plan.trial import group_key

        counts: dict[tuple, int] = {}

        def lines():
            for trial in trials:
                counts[group_key(trial)] = counts.get(group_key(trial), 0) + 1
                yield jsonl(trial.to_json())

        self.store_plan(lines())
        return counts

    def copy_plan(self, original: "RunArchive") -> None:
        """rerun: the original's plan, refused unless it is the one its run recorded, copied whole and recorded here."""
        manifest = original.manifest_record()
        original._refuse(checks.shape_problems(original.path, manifest))
        scan = checks.scan_plan(original.path, manifest)
        if scan is None:
            raise RoadtestError(f"run {original.run_id} has no plan.jsonl: it cannot be rerun from the archive alone",
                                "rerun it from its workspace with `roadtest run`")
        original._refuse(scan.problems)
        with open_regular(original.path / PLAN) as source:
            if self.store_plan(source)["sha256"] != scan.sha256:
                raise AlteredArchive(f"{original.path / PLAN} changed while it was copied", "run the command again")

    def store_plan(self, lines) -> dict[str, Any]:
        """plan.jsonl from `lines` (bytes, each a JSON line), written whole, fsync'd, then recorded in the manifest
        (count, size, sha256); returns that record."""
        h, size, total = hashlib.sha256(), 0, 0

        def write(f: IO[bytes]) -> None:
            nonlocal size, total
            for line in lines:
                f.write(line)
                h.update(line)
                size, total = size + len(line), total + 1

        with self.lock(), self._writing(PLAN):
            replace_file(self.path / PLAN, write, durable=True)
            manifest = self.manifest()
            manifest["plan"] = {"trials": total, "bytes": size, "sha256": h.hexdigest()}
            self.write_manifest(manifest)
        return manifest["plan"]

    def store_trials(self, write) -> None:
        """trials.jsonl written whole by `write(f)` (a merge: the shards' records), fsync'd; `record_sources`
        records it next."""
        with self.lock(), self._writing(TRIALS):
            replace_file(self.path / TRIALS, write, durable=True)

    def plan(self, skip: set[str] | None = None):
        """The planned trials, streamed, leaving out the ids in `skip`. A plan the manifest recorded must still
        be that plan (count and sha256), checked before the first trial comes out; every line must be a trial
        of this run (AlteredArchive naming `plan.jsonl:<line>` when not)."""
        from roadtest.plan import Trial

        manifest = self.manifest_record()
        if manifest.plan:
            self._verify_plan(manifest)
        models, scenarios = {m.id for m in manifest.config.models}, set(manifest.config.scenarios)
        data: Any                           # a JSON value, a dict once no problem is found
        with open_regular(self.path / PLAN) as f:
            for n, raw, complete in jsonl_lines(f):
                data, why = decode_line(raw) if complete else (None, "a half-written last line")
                why = why or trial_problem(data, models, scenarios)
                if why:
                    raise AlteredArchive(f"{PLAN}:{n}: not a valid trial of this run ({why})",
                                         "the plan is damaged: nothing more is sent from it; start the run again with "
                                         "`roadtest run`")
                if not skip or data["id"] not in skip:
                    yield Trial.from_json(data)

    def _verify_plan(self, manifest: Manifest) -> None:
        """Once per plan file and record (a resume streams its plan two or three times)."""
        key = self._plan_key(manifest)
        if key is not None and key == self._plan_verified:
            return
        scan = checks.scan_plan(self.path, manifest)
        self._refuse(scan.problems if scan is not None else checks.shape_problems(self.path, manifest))
        self._plan_verified = key

    def _plan_key(self, manifest: Manifest) -> tuple | None:
        try:
            st = os.lstat(self.path / PLAN)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns, manifest.plan.sha256 if manifest.plan else None

    def check_resumable(self) -> None:
        """Refuse to resume unless the plan was written whole and is still the one recorded, the records the
        run wrote before it last ended are unchanged, and every record is readable and explained by the plan.
        (Resuming from a plan cut short would send part of it, then call the run complete.)"""
        if self._resumable:
            return
        manifest = self.manifest_record()
        self._refuse(checks.shape_problems(self.path, manifest))
        refusal = checks.unrecorded_plan(manifest, self.run_id)
        if refusal is not None:
            raise refusal
        self._refuse(checks.resume_problems(self.path, manifest))
        self._resumable, self._plan_verified = True, self._plan_key(manifest)

    def outcomes(self) -> dict[str, tuple[bool, bool]]:
        """trial id -> (failed, from the cache), as its last record says (a retried trial supersedes its error)."""
        return {t.trial_id: (t.error is not None, t.cache is not None) for t in self.rows()}

    def done_ids(self, answered_only: bool = False) -> set[str]:
        """Trial ids already in the archive; with `answered_only`, those whose last record is not an error."""
        if not answered_only:
            return {t.trial_id for t in self.rows()}
        return {tid for tid, (failed, _) in self.outcomes().items() if not failed}

    def repair_trials(self) -> int:
        """Before a resume: refuse an archive that cannot be resumed (`check_resumable`), then drop a half-written
        last line (a killed run); returns the bytes removed."""
        self.check_resumable()
        return self._repair()

    def _repair(self) -> int:
        with self.lock(), self._writing(TRIALS):
            return cut_half_line(self.path / TRIALS)

    def open_trials(self) -> None:
        """Start appending: takes the lock (held until `finish`) and drops a half-written last line."""
        if not self._session:
            self._hold()
            self._session = True
        try:
            self._repair()
            with self._writing(TRIALS):
                self._trials = Appender(self.path / TRIALS)
        except BaseException:
            self._end_session()
            raise

    # -- Sink ---------------------------------------------------------------
    def write(self, record: dict[str, Any]) -> None:
        """Append one record, whole (see trials_file.py); a disk that refuses it is an ArchiveWriteError (exit 3),
        and every later write repeats it, so nothing is appended after a record that failed."""
        trials = self._trials
        assert trials is not None               # open_trials comes first
        if trials.broken and self._failure is not None:
            raise self._failure
        with self._writing(TRIALS):
            trials.write(jsonl(record))

    def flush(self) -> None:
        """Records reach the kernel as they are written (no buffer to flush); kept for the Sink protocol."""

    def endpoint(self, model_id: str, identity: dict[str, Any]) -> None:
        manifest = self.manifest()
        manifest["endpoints"][model_id] = identity
        self.write_manifest(manifest)

    def close_trials(self) -> None:
        trials, self._trials = self._trials, None
        if trials is not None:
            with self._writing(TRIALS):
                trials.close()

    def finish(self, status: str) -> None:
        """Close trials.jsonl, record the status, and let go of the lock `open_trials` took."""
        try:
            try:
                self.close_trials()
            finally:
                manifest = self.manifest()
                manifest["status"] = status
                manifest["finished_at"] = now()
                self.write_manifest(manifest)
        finally:
            self._end_session()

    def _end_session(self) -> None:
        if self._session:
            self._session = False
            self._unhold()

    @property
    def write_failure(self) -> ArchiveWriteError | None:
        """The first write the disk refused (the engine stops on it: EngineOptions.stopped = 'disk: ...')."""
        return self._failure

    # -- reading ------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.path.name

    def manifest(self) -> dict[str, Any]:
        """The manifest as a dict of its own (the caller may change it and `write_manifest` it): a thin wrapper
        over `manifest_record()`, kept while callers still read it through string keys."""
        return self.manifest_record().dump()

    def manifest_record(self) -> Manifest:
        """The manifest, checked (the keys and types of a run manifest, its specs valid) and migrated to the
        current schema version when the archive is first read, then cached: read again only when the file
        changed (another writer). RoadtestError (exit 2) when it is not a run manifest. Do not change it: change
        `manifest()`'s dict, then `write_manifest` it."""
        return self._open().record

    def config(self) -> ResolvedConfig:
        """The run's resolved configuration (typed, cached with the manifest)."""
        return self._open().record.config

    def specs(self) -> Specs:
        """The archived scenarios, models and hypotheses as spec objects, built once per manifest."""
        return self._open().specs

    def _open(self) -> _Opened:
        path = self.path / MANIFEST
        key = _stat_key(path)
        opened = self._opened
        if opened is not None and opened.trusted(key):
            return opened
        checked = time.time_ns()
        raw = self._read_manifest(path)
        if opened is not None and raw == opened.raw:
            opened.key, opened.checked_ns = _stat_key(path), checked
            return opened
        record = typed_manifest(upgrade(parse_manifest(raw, path), self.path), path)
        specs = opened.specs if opened is not None and opened.record.config == record.config \
            else build_specs(record.config, path, record.written_by)
        self._opened = _Opened(key, checked, raw, record, specs)
        return self._opened

    def _read_manifest(self, path: Path) -> bytes:
        try:
            return read_bytes(path, MAX_MANIFEST_BYTES)
        except FileNotFoundError:
            raise RoadtestError(f"{self.path} is not a run archive (no {MANIFEST})",
                                "list archives with `ls runs/`; pass a run id or folder") from None
        except ValueError as exc:
            raise RoadtestError(f"{path}: not a roadtest run manifest: {exc}",
                                "the archive is damaged: get a fresh copy of it from where it came from") from None
        except OSError as exc:
            raise RoadtestError(f"could not read {path}: {reason(exc)}", f"{remedy(exc)}, then run the command again") \
                from None

    def write_manifest(self, manifest: dict[str, Any] | Manifest) -> None:
        """Write the manifest whole (canonical JSON), and keep what was written as the cached manifest."""
        if isinstance(manifest, Manifest):
            manifest = manifest.dump()
        try:
            data = (canonical_json(manifest, indent=2) + "\n").encode("utf-8")
        except UnicodeEncodeError:
            data = (canonical_json(manifest, indent=2, ascii=True) + "\n").encode("ascii")
        with self.lock(), self._writing(MANIFEST):
            replace_file(self.path / MANIFEST, lambda f: f.write(data), durable=True)
        self._remember(data, time.time_ns())

    def _remember(self, data: bytes, checked: int) -> None:
        """After a write: the written manifest is the cached one, without reading it back (its specs are built
        again only when its configuration changed). One that is not a run manifest is forgotten instead, so the
        next read refuses it as it would anyone's."""
        opened, self._opened = self._opened, None
        try:
            record = typed_manifest(parse_manifest(data, self.path / MANIFEST), self.path / MANIFEST)
        except RoadtestError:
            return
        if record.schema_version != SCHEMA_VERSION:
            return
        if opened is not None and opened.record.config == record.config:
            specs = opened.specs
        else:
            try:
                specs = build_specs(record.config, self.path / MANIFEST, record.written_by)
            except RoadtestError:
                return
        self._opened = _Opened(_stat_key(self.path / MANIFEST), checked, data, record, specs)

    def trials(self) -> Iterator[dict[str, Any]]:
        """Every record; a half-written last line (a killed run) is left out. Any other unreadable line is an
        error naming `trials.jsonl:<line>` (AlteredArchive): records are written whole, so it was damaged later."""
        return read_records(self.path / TRIALS)

    def rows(self) -> Iterator[TrialRow]:
        """Every record as a typed row (ModelRow, JudgeRow, TurnRow); a half-written last line is left out, and a
        line that is not a row is an error naming `trials.jsonl:<line>` (AlteredArchive), as for `trials()`."""
        return read_records(self.path / TRIALS, typed=True)

    def write_derived(self, name: str, text: str) -> None:
        """A derived file, written whole beside its old self and renamed over it: never through a link."""
        with self.lock(), self._writing(name):
            replace_file(self.path / name, lambda f: f.write(text.encode("utf-8")))

    def write_lines(self, name: str, lines) -> None:
        def write(f: IO[bytes]) -> None:
            for line in lines:
                f.write((line + "\n").encode("utf-8"))

        with self.lock(), self._writing(name):
            replace_file(self.path / name, write)

    @contextmanager
    def derived_path(self, name: str) -> Iterator[Path]:
        """A temporary path in the run folder for a writer that wants a file name (the PDF renderer); renamed to
        `name` when the block ends without error, deleted otherwise."""
        target = self.path / name
        with self.lock(), self._writing(name):
            check_regular(target)
            tmp = self.path / f".{name}.{os.getpid()}.tmp"
            check_regular(tmp)
            try:
                yield tmp
                check_regular(tmp)
                os.replace(tmp, target)
            finally:
                if os.path.lexists(tmp):
                    os.unlink(tmp)

    def record_sources(self) -> None:
        """Hash what the run itself wrote (trials, plan), each time an execution ends, however it ended; for
        trials.jsonl also its size and record count, so a resume can tell records appended since from records
        changed.

        Later commands (replay, report, diff) only check these hashes: they never record new ones, so an
        altered archive cannot launder itself by being replayed.
        """
        with self.lock():
            manifest = self.manifest()
            files = manifest.setdefault("files", {})
            for name in SOURCES:
                if (self.path / name).exists():
                    files[name] = sha256_file(self.path / name)
            if (self.path / TRIALS).exists():
                sha, size, lines = checks.trials_summary(self.path / TRIALS)
                manifest["trials"] = {"records": lines, "bytes": size, "sha256": sha}
            manifest["files"] = dict(sorted(files.items()))
            self.write_manifest(manifest)

    def altered_sources(self) -> list[str]:
        """The source files (trials, plan) whose sha256 no longer matches the one recorded when the run ended.

        Before that, refuses (AlteredArchive, exit 1) an archive that is not as a run leaves it: a link or other
        non-regular entry, a recorded source missing; after it, a plan that is not the recorded one, unreadable
        records, records the plan does not explain. Every command that derives from an archive calls this first.
        """
        manifest = self.manifest_record()
        self._refuse(checks.shape_problems(self.path, manifest))
        files = manifest.files
        altered = [n for n in SOURCES if n in files and sha256_file(self.path / n) != files[n]]
        if altered == [TRIALS] and manifest.status != "complete" and checks.grew_only(self.path, manifest):
            raise RoadtestError(
                f"run {self.run_id}: trials.jsonl holds records appended after the run last ended (a resume that "
                "was stopped before it could record them): nothing is derived from records the run never recorded",
                f"finish the run: `roadtest run --resume {self.run_id}`, then run the command again")
        if altered:
            return altered
        self._refuse(checks.content_problems(self.path, manifest))
        return []

    def _refuse(self, problems: list[str]) -> None:
        if not problems:
            return
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise AlteredArchive(
            f"run {self.run_id} is not as its run left it: {problems[0]}{more}",
            f"nothing is read from it or written into it; `roadtest verify {self.path}` lists every problem. Restore "
            "the archive from another copy; a derived file (scores, metrics, verdicts, reports) may instead be "
            "deleted, and replay writes it again")

    def record_hashes(self, names: list[str]) -> None:
        """Record the sha256 of derived files (scores, metrics, verdicts, reports); never of the sources."""
        with self.lock():
            manifest = self.manifest()
            files = manifest.setdefault("files", {})
            for name in names:
                if (self.path / name).exists():
                    files[name] = sha256_file(self.path / name)
                else:
                    files.pop(name, None)
            manifest["files"] = dict(sorted(files.items()))
            self.write_manifest(manifest)

    # -- disk errors ----------------------------------------------------------
    @contextmanager
    def _writing(self, name: str) -> Iterator[None]:
        """OSError while writing `name` becomes an ArchiveWriteError (RunError, exit 3) saying what to do; once one
        write failed, later failures repeat the first (the cause), not their own."""
        try:
            yield
        except ArchiveWriteError:
            raise
        except OSError as exc:
            if self._failure is None:
                self._failure = ArchiveWriteError(f"could not write {self.path / name}: {reason(exc)}",
                                                  self._hint(name, exc), exc)
            raise self._failure from exc

    def _hint(self, name: str, exc: OSError) -> str:
        fix = remedy(exc)
        if name == PLAN:
            return f"no call was sent from this plan: {fix}, then start the run again with `roadtest run`"
        if name == TRIALS or self._session:
            return f"every call answered before is in the archive: {fix}, then `roadtest run --resume {self.run_id}`"
        if name in (MANIFEST, LOCK):
            return f"{fix}, then run the command again (nothing the run recorded was lost)"
        return f"the run's own records are intact: {fix}, then `roadtest replay {self.run_id}` writes {name} again"


def _stat_key(path: Path) -> tuple | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def in_run_order(folders: list[Path]) -> list[Path]:
    """Run folders oldest first: by the start time their manifest records (to the millisecond), then by name. Two
    runs started in the same second have ids that sort by fingerprint, not by time; an unreadable manifest sorts
    by name alone."""
    return [archive.path for archive in archives_in_run_order(folders)]


def archives_in_run_order(folders: list[Path]) -> list[RunArchive]:
    """`in_run_order`, as archives whose manifests are already read (the caller reads them again for free)."""
    def key(archive: RunArchive) -> tuple[datetime, str]:
        earliest = datetime.min.replace(tzinfo=timezone.utc)
        try:
            recorded = archive.manifest_record().started_at
            started = datetime.fromisoformat(recorded).astimezone(timezone.utc) if recorded is not None else earliest
        except Exception:  # noqa: BLE001 - a damaged archive still has a place in the list
            started = earliest
        return started, archive.path.name

    return sorted((RunArchive(path) for path in folders), key=key)


def _is_shard(archive: RunArchive) -> bool:
    """A shard's run (`run --shard`): 'latest' means the latest whole run (a merged one counts) when there is one."""
    try:
        return archive.manifest_record().shard is not None
    except Exception:  # noqa: BLE001 - a damaged archive is not a shard; the command that reads it says what is wrong
        return False


def find_run(runs_dir: Path, ref: str) -> RunArchive:
    """A run by id, by folder path, or 'latest'."""
    candidate = Path(ref)
    if (candidate / MANIFEST).is_file():
        return RunArchive(candidate.resolve())
    if ref == "latest":
        runs = archives_in_run_order([p for p in runs_dir.glob("*/") if (p / MANIFEST).is_file()]) \
            if runs_dir.is_dir() else []
        if not runs:
            raise RoadtestError(f"no runs in {runs_dir}", "start one with `roadtest run`")
        whole = [run for run in runs if not _is_shard(run)]
        return (whole or runs)[-1]
    if (runs_dir / ref / MANIFEST).is_file():
        return RunArchive(runs_dir / ref)
    known = sorted(p.name for p in runs_dir.glob("*/")) if runs_dir.is_dir() else []
    from roadtest.registry import did_you_mean

    raise RoadtestError(f"no run '{ref}' in {runs_dir}",
                        did_you_mean(ref, known) or "list them with `roadtest runs`, or give the run's folder")
