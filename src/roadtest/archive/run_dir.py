"""The run folder: manifest.json, trials.jsonl (append + flush), derived files and their hashes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterator

from roadtest import __version__
from roadtest.archive.canonical import canonical_json, fingerprint
from roadtest.archive.config import dataset_hashes
from roadtest.archive.migrations import SCHEMA_VERSION, upgrade
from roadtest.errors import RoadtestError

MANIFEST = "manifest.json"
TRIALS = "trials.jsonl"
PLAN = "plan.jsonl"
SOURCES = (TRIALS, PLAN)
"""What a run writes itself; every other file in the folder is derived from these and the manifest."""
PACKAGES = ("pydantic", "httpx", "jinja2", "numpy", "scipy", "pandas", "weasyprint", "markdown-it-py",
            "typer", "llama-cpp-python")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


class RunArchive:
    """One run folder. Trials are appended and flushed as they finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._trials = None

    # -- creating -----------------------------------------------------------
    @classmethod
    def create(cls, runs_dir: Path, config: dict[str, Any], command: list[str], root: Path) -> "RunArchive":
        fp = fingerprint(config)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{fp[:6]}"
        path = runs_dir / run_id
        n = 1
        while path.exists():
            n += 1
            path = runs_dir / f"{run_id}-{n}"
        path.mkdir(parents=True)
        archive = cls(path)
        archive.write_manifest({
            "schema_version": SCHEMA_VERSION, "run_id": path.name, "status": "running",
            "command": command, "started_at": now(), "finished_at": None,
            "versions": versions(), "platform": platform.platform(),
            "workspace": {"git_revision": git_revision(root)},
            "config": config, "fingerprint": fp, "datasets": dataset_hashes(config),
            "endpoints": {}, "files": {},
        })
        return archive

    def write_plan(self, trials) -> dict[tuple, int]:
        """Every planned trial, one JSON line each (streamed); returns the count per engine block."""
        from roadtest.engine import group_key

        counts: dict[tuple, int] = {}
        with (self.path / PLAN).open("w", encoding="utf-8") as f:
            for trial in trials:
                f.write(json.dumps(trial.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
                counts[group_key(trial)] = counts.get(group_key(trial), 0) + 1
        return counts

    def plan(self, skip: set[str] | None = None):
        """The planned trials, streamed, leaving out the ids in `skip`."""
        from roadtest.plan import Trial

        with (self.path / PLAN).open(encoding="utf-8") as f:
            for line in f:
                data = json.loads(line)
                if not skip or data["id"] not in skip:
                    yield Trial.from_json(data)

    def outcomes(self) -> dict[str, tuple[bool, bool]]:
        """trial id -> (failed, from the cache), as its last record says (a retried trial supersedes its error)."""
        return {t["trial_id"]: (bool(t.get("error")), bool(t.get("cache"))) for t in self.trials()}

    def done_ids(self, answered_only: bool = False) -> set[str]:
        """Trial ids already in the archive; with `answered_only`, those whose last record is not an error."""
        if not answered_only:
            return {t["trial_id"] for t in self.trials()}
        return {tid for tid, (failed, _) in self.outcomes().items() if not failed}

    def repair_trials(self) -> int:
        """Drop a half-written last line (a killed run); returns the bytes removed."""
        path = self.path / TRIALS
        if not path.exists():
            return 0
        size = path.stat().st_size
        with path.open("rb+") as f:
            if size == 0:
                return 0
            f.seek(max(0, size - 1))
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

    def open_trials(self) -> None:
        self.repair_trials()
        self._trials = (self.path / TRIALS).open("a", encoding="utf-8")

    # -- Sink ---------------------------------------------------------------
    def write(self, record: dict[str, Any]) -> None:
        self._trials.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._trials.flush()

    def flush(self) -> None:
        if self._trials is not None:
            self._trials.flush()

    def endpoint(self, model_id: str, identity: dict[str, Any]) -> None:
        manifest = self.manifest()
        manifest["endpoints"][model_id] = identity
        self.write_manifest(manifest)

    def close_trials(self) -> None:
        if self._trials is not None:
            self._trials.flush()
            os.fsync(self._trials.fileno())
            self._trials.close()
            self._trials = None

    def finish(self, status: str) -> None:
        self.close_trials()
        manifest = self.manifest()
        manifest["status"] = status
        manifest["finished_at"] = now()
        self.write_manifest(manifest)

    # -- reading ------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.path.name

    def manifest(self) -> dict[str, Any]:
        """The manifest, upgraded in memory to the current schema version."""
        try:
            return upgrade(json.loads((self.path / MANIFEST).read_text(encoding="utf-8")), self.path)
        except FileNotFoundError:
            raise RoadtestError(f"{self.path} is not a run archive (no {MANIFEST})",
                                "list archives with `ls runs/`; pass a run id or folder") from None
        except json.JSONDecodeError as exc:
            raise RoadtestError(f"{self.path / MANIFEST}:{exc.lineno}: not valid JSON ({exc.msg})",
                                "the archive is damaged; `roadtest verify` tells what changed") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(canonical_json(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path / MANIFEST)

    def trials(self) -> Iterator[dict[str, Any]]:
        """Every complete record; a half-written last line (a killed run) is skipped."""
        path = self.path / TRIALS
        if not path.exists():
            return
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    return
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def write_derived(self, name: str, text: str) -> None:
        (self.path / name).write_text(text, encoding="utf-8")

    def write_lines(self, name: str, lines) -> None:
        with (self.path / name).open("w", encoding="utf-8") as f:
            for line in lines:
                f.write(line + "\n")

    def record_sources(self) -> None:
        """Hash what the run itself wrote (trials, plan), each time an execution ends, however it ended.

        Later commands (replay, report, diff) only check these hashes: they never record new ones, so an
        altered archive cannot launder itself by being replayed.
        """
        from roadtest.load.datasets import file_sha256

        manifest = self.manifest()
        files = manifest.setdefault("files", {})
        for name in SOURCES:
            if (self.path / name).exists():
                files[name] = file_sha256(self.path / name)
        manifest["files"] = dict(sorted(files.items()))
        self.write_manifest(manifest)

    def altered_sources(self) -> list[str]:
        """The source files (trials, plan) whose sha256 no longer matches the one recorded when the run ended."""
        from roadtest.load.datasets import file_sha256

        files = self.manifest().get("files", {})
        return [n for n in SOURCES if n in files and (self.path / n).exists() and file_sha256(self.path / n) != files[n]]

    def record_hashes(self, names: list[str]) -> None:
        """Record the sha256 of derived files (scores, metrics, verdicts, reports); never of the sources."""
        from roadtest.load.datasets import file_sha256

        manifest = self.manifest()
        files = manifest.setdefault("files", {})
        for name in names:
            if (self.path / name).exists():
                files[name] = file_sha256(self.path / name)
            else:
                files.pop(name, None)
        manifest["files"] = dict(sorted(files.items()))
        self.write_manifest(manifest)


def served_by(path: Path) -> dict[str, dict[str, list[str]]]:
    """Per model: the model names and system fingerprints its responses carried (endpoint drift)."""
    seen: dict[str, dict[str, set[str]]] = {}
    archive = RunArchive(path)
    for record in archive.trials():
        body = (record.get("response") or {}).get("body")
        if not isinstance(body, dict) or record.get("cache"):
            continue
        entry = seen.setdefault(record["model"], {"model": set(), "system_fingerprint": set()})
        for key in ("model", "system_fingerprint"):
            if body.get(key):
                entry[key].add(str(body[key]))
    return {m: {k: sorted(v) for k, v in e.items()} for m, e in seen.items()}


def find_run(runs_dir: Path, ref: str) -> RunArchive:
    """A run by id, by folder path, or 'latest'."""
    candidate = Path(ref)
    if (candidate / MANIFEST).is_file():
        return RunArchive(candidate.resolve())
    if ref == "latest":
        runs = sorted(p for p in runs_dir.glob("*/") if (p / MANIFEST).is_file()) if runs_dir.is_dir() else []
        if not runs:
            raise RoadtestError(f"no runs in {runs_dir}", "start one with `roadtest run`")
        return RunArchive(runs[-1])
    if (runs_dir / ref / MANIFEST).is_file():
        return RunArchive(runs_dir / ref)
    known = sorted(p.name for p in runs_dir.glob("*/")) if runs_dir.is_dir() else []
    from roadtest.registry import did_you_mean

    raise RoadtestError(f"no run '{ref}' in {runs_dir}",
                        did_you_mean(ref, known) or "list them with `roadtest runs`, or give the run's folder")
