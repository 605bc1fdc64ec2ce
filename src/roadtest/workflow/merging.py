"""`roadtest merge`: the shards of one run (`roadtest run --shard K/N`, on any machines) joined into one ordinary
run archive that report, replay, verify and diff read like any other.

Nothing in a shard is trusted: every shard must share one fingerprint (and a configuration that hashes to it),
one plan (byte for byte) and one N; every K from 1 to N must be there exactly once; each must be complete and
verify (its records are all of its own slice, explained by the plan, each trial answered). The merged archive is
a function of the shards' folders alone: merging the same folders twice writes the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, NamedTuple

from roadtest.archive import RunArchive
from roadtest.archive.canonical import fingerprint
from roadtest.archive.checks import MANIFEST, PLAN, TRIALS
from roadtest.archive.lock import LOCK
from roadtest.archive.files import open_regular, reason, remedy
from roadtest.archive.migrations import SCHEMA_VERSION
from roadtest.archive.schema import Manifest
from roadtest.errors import AlteredArchive, RoadtestError
from roadtest.workflow.deriving import derive
from roadtest.workflow.running import record_served

MERGED_SUFFIX = "merged"


class Merged(NamedTuple):
    """A merge's outcome."""

    archive: RunArchive
    """The merged run."""
    warnings: list[str]
    """Shards that ran different software or saw different endpoints."""
    verdicts: dict[str, Any]
    """Its verdicts, as derived (and written to verdicts.json)."""
    shards: list[Path]
    """The shards' folders, in shard order."""


def merge(shards: list[RunArchive], into: Path | None = None) -> Merged:
    """Check the shards and write the merged run at `into` (default: beside the first shard, named
    `<earliest shard's start>-<fingerprint[:6]>-merged`), scores, metrics and verdicts derived."""
    if not shards:
        raise RoadtestError("merge needs the run folders of a plan's shards", "e.g. roadtest merge runs/*-s*of3")
    manifests = [_shard_manifest(a) for a in shards]
    ordered = _check_set(shards, manifests)
    with ExitStack() as stack:
        for archive, _ in ordered:   # no resume of a shard while it is merged
            stack.enter_context(archive.lock())
        for archive, manifest in ordered:
            _check_shard(archive, manifest)
        _check_plans(ordered)
        target, created = _target(into, ordered)
        merged = RunArchive(target)
        try:
            stack.enter_context(merged.lock())   # refused at once while another merge writes there
        except BaseException:
            if created:
                _remove(target, created)
            raise
        try:
            _refuse_busy(target)
            warnings = _write(merged, ordered)
            verdicts = derive(merged)
        except BaseException:   # a merge refused or stopped half-way leaves no half-merged run behind
            _remove(target, created)
            raise
    return Merged(merged, warnings, verdicts, [a.path for a, _ in ordered])


def _shard_manifest(archive: RunArchive) -> Manifest:
    manifest = archive.manifest_record()
    if manifest.shard is None:
        raise RoadtestError(f"run {archive.run_id} is not a shard (it was not run with --shard K/N)",
                            "merge joins the runs of `roadtest run --shard K/N`; compare whole runs with "
                            "`roadtest diff`")
    return manifest


def _name(archive: RunArchive, manifest: Manifest) -> str:
    assert manifest.shard is not None
    return f"shard {manifest.shard.index}/{manifest.shard.count} (run {archive.run_id})"


def _check_set(shards: list[RunArchive], manifests: list[Manifest]) -> list[tuple[RunArchive, Manifest]]:
    """One N, one fingerprint, every K once: the shards in K order."""
    first, head = shards[0], manifests[0]
    assert head.shard is not None
    count = head.shard.count
    by_index: dict[int, tuple[RunArchive, Manifest]] = {}
    for archive, manifest in zip(shards, manifests):
        assert manifest.shard is not None
        if manifest.shard.count != count:
            raise RoadtestError(f"{_name(archive, manifest)} is one of {manifest.shard.count} shards, but "
                                f"{_name(first, head)} one of {count}: the shards of one plan share N",
                                "give the shards of one `--shard K/N` split")
        if manifest.fingerprint != head.fingerprint:
            raise RoadtestError(
                f"{_name(archive, manifest)} has fingerprint {manifest.fingerprint[:12]}…, {_name(first, head)} "
                f"{head.fingerprint[:12]}…: they were planned from different configurations",
                f"run every shard from the same workspace and settings; `roadtest diff {first.run_id} "
                f"{archive.run_id}` shows what differs")
        index = manifest.shard.index
        if index in by_index:
            raise RoadtestError(f"shard {index}/{count} is given twice: runs {by_index[index][0].run_id} and "
                                f"{archive.run_id}", "give each shard once (a resumed shard is still one run folder)")
        by_index[index] = (archive, manifest)
    missing = [k for k in range(1, count + 1) if k not in by_index]
    if missing:
        given = ", ".join(_name(*by_index[k]) for k in sorted(by_index))
        what = ", ".join(f"{k}/{count}" for k in missing)
        raise RoadtestError(f"shard{'s' if len(missing) > 1 else ''} {what} {'are' if len(missing) > 1 else 'is'} "
                            f"missing: merge needs every shard of the plan (given: {given})",
                            f"run {'them' if len(missing) > 1 else 'it'} from the same workspace with `roadtest run "
                            f"--shard {missing[0]}/{count}`, then merge all {count}")
    return [by_index[k] for k in range(1, count + 1)]


def _check_shard(archive: RunArchive, manifest: Manifest) -> None:
    """Complete, and as its run left it (every file against its sha256, every record of its own slice)."""
    from roadtest.archive.verify import verify

    if manifest.status != "complete":
        raise RoadtestError(f"{_name(archive, manifest)} is {manifest.status}, not complete: its slice of the plan "
                            "is not all answered",
                            f"finish it with `roadtest run --resume {archive.path}`, then merge again")
    if manifest.plan is None or manifest.trials is None:
        raise RoadtestError(f"{_name(archive, manifest)}: its manifest records no "
                            f"{'plan' if manifest.plan is None else 'trials'} summary, which every shard's run "
                            "writes: it was not written whole by `roadtest run --shard`",
                            f"see `roadtest verify {archive.path}`; run the shard again")
    for key in ("started_at", "finished_at"):
        _instant(archive, manifest, key)
    if fingerprint(manifest.config.dump()) != manifest.fingerprint:
        raise RoadtestError(f"{_name(archive, manifest)}: its configuration does not hash to its fingerprint "
                            "(a setting was edited after the run)", f"see `roadtest verify {archive.path}`")
    result = verify(archive, None)
    if not result.ok:
        more = f" (and {len(result.mismatches) - 1} more)" if len(result.mismatches) > 1 else ""
        raise RoadtestError(f"{_name(archive, manifest)} does not verify: {result.mismatches[0]}{more}",
                            f"`roadtest verify {archive.path}` lists every problem; restore the shard from another "
                            "copy (a derived file may be deleted instead: `roadtest replay` writes it again)")


def _check_plans(ordered: list[tuple[RunArchive, Manifest]]) -> None:
    """Every shard holds the whole plan, the same one (verify has checked each file against its record)."""
    (first, head), *rest = ordered
    assert head.plan is not None
    for archive, manifest in rest:
        if manifest.plan is None or manifest.plan.sha256 != head.plan.sha256:
            raise RoadtestError(
                f"{_name(archive, manifest)} was planned differently from {_name(first, head)} (plan.jsonl sha256 "
                f"{manifest.plan.sha256[:12] if manifest.plan else 'none'}… vs {head.plan.sha256[:12]}…), under one "
                "fingerprint", "run every shard with the same roadtest version; see `roadtest diff`")


def merged_id(ordered: list[tuple[RunArchive, Manifest]]) -> str:
    """`<earliest shard's UTC start>-<fingerprint[:6]>-merged`: the same for the same shards, wherever merged."""
    start = min(_instant(a, m, "started_at") for a, m in ordered)
    return f"{start.strftime('%Y%m%d-%H%M%S')}-{ordered[0][1].fingerprint[:6]}-{MERGED_SUFFIX}"


def _instant(archive: RunArchive, manifest: Manifest, key: str) -> datetime:
    """A shard's start or end as a UTC instant; a RoadtestError naming the shard when it is not one."""
    stamp = getattr(manifest, key)
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise RoadtestError(f"{_name(archive, manifest)}: its manifest's {key} ({str(stamp)[:40]!r}) is not a UTC "
                            "time as a run records it", f"see `roadtest verify {archive.path}`; restore the shard "
                            "from another copy")
    return when.astimezone(timezone.utc)


def _target(into: Path | None, ordered: list[tuple[RunArchive, Manifest]]) -> tuple[Path, bool]:
    """The merged run's folder, new or empty and inside no run folder (and whether merge created it)."""
    target = into if into is not None else ordered[0][0].path.parent / merged_id(ordered)
    for folder in (target.resolve(), *target.resolve().parents):
        if (folder / MANIFEST).is_file():
            raise RoadtestError(f"{target} is inside the run folder {folder}: merge writes a run folder of its own",
                                "give --into a folder outside every run folder, e.g. runs/merged-nightly")
    if os.path.lexists(target) and (target.is_symlink() or not target.is_dir() or any(target.iterdir())):
        raise RoadtestError(f"{target} exists already: merge writes a new run folder",
                            "give another folder with --into, or delete that one if it is an earlier merge")
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=not created)
    except FileExistsError:
        raise RoadtestError(f"{target} was created by someone else while merge checked the shards",
                            "give another folder with --into") from None
    except OSError as exc:
        raise RoadtestError(f"could not create {target}: {reason(exc)}", f"{remedy(exc)}, then merge again") from None
    return target, created


def _refuse_busy(target: Path) -> None:
    """Under the target's lock: still empty (another merge into the same empty folder got there first)."""
    if any(p.name != LOCK for p in target.iterdir()):
        raise RoadtestError(f"{target} was written by someone else while merge checked the shards",
                            "give another folder with --into")


def _write(merged: RunArchive, ordered: list[tuple[RunArchive, Manifest]]) -> list[str]:
    """The merged folder: its manifest, the shared plan, the shards' trials one after another."""
    with merged.lock():
        merged.write_manifest(_manifest(merged, ordered))
        (first, head), *_ = ordered
        assert head.plan is not None   # _check_shard refused a shard without one
        with open_regular(first.path / PLAN) as plan:
            copied = merged.store_plan(plan)
        if copied["sha256"] != head.plan.sha256:
            raise AlteredArchive(f"{first.path / PLAN} changed while it was merged", "merge again")
        merged.store_trials(lambda f: _concatenate(f, ordered))
        merged.record_sources()
        manifest = merged.manifest()
        record_served(manifest, merged.path)
        merged.write_manifest(manifest)
    return _warnings(ordered)


def _concatenate(out: IO[bytes], ordered: list[tuple[RunArchive, Manifest]]) -> None:
    """The shards' trials.jsonl one after another, each checked, as it is copied, against the sha256 its shard
    recorded (a file that changed since it was verified, e.g. an upload still arriving, is refused)."""
    for archive, manifest in ordered:
        digest, tail = hashlib.sha256(), b"\n"
        with open_regular(archive.path / TRIALS) as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                tail = chunk[-1:]
        if manifest.files.get(TRIALS) != digest.hexdigest():
            raise AlteredArchive(f"{archive.path / TRIALS} changed while it was merged", "merge again")
        if tail != b"\n":    # a shard's file ends with a whole record; never glue two records together
            out.write(b"\n")


def _manifest(merged: RunArchive, ordered: list[tuple[RunArchive, Manifest]]) -> dict[str, Any]:
    head = ordered[0][1]
    endpoints: dict[str, dict[str, Any]] = {}
    for _, manifest in ordered:
        for model_id, entry in manifest.endpoints.items():
            endpoints.setdefault(model_id, {k: v for k, v in entry.items() if k != "served"})
    return {
        "schema_version": SCHEMA_VERSION, "run_id": merged.run_id, "status": "complete",
        "command": ["roadtest", "merge", *(a.run_id for a, _ in ordered)],
        "started_at": min(ordered, key=lambda s: _instant(s[0], s[1], "started_at"))[1].started_at,
        "finished_at": max(ordered, key=lambda s: _instant(s[0], s[1], "finished_at"))[1].finished_at,
        "versions": head.versions, "platform": head.platform,
        "workspace": head.workspace.dump() if head.workspace is not None else {"git_revision": None},
        "config": head.config.dump(), "fingerprint": head.fingerprint, "datasets": head.datasets,
        "endpoints": endpoints, "files": {}, "plan": None,
        "resumes": [r.dump() for _, m in ordered for r in m.resumes],
        "execution": [e.dump() for _, m in ordered for e in m.execution],
        "merged_from": [_shard_entry(a, m) for a, m in ordered],
    }


def _identity(entry: dict[str, Any]) -> dict[str, Any]:
    """What an endpoint is, without what its answers carried (each shard saw its own) or what a server changes
    from call to call (a /models entry's `created`)."""
    from roadtest.compare import endpoint_identity

    out = {k: v for k, v in endpoint_identity(entry).items() if k != "served"}
    if "replicas" in out:
        out["replicas"] = [{k: v for k, v in r.items() if k != "served"} for r in out["replicas"]]
    return out


def _shard_entry(archive: RunArchive, manifest: Manifest) -> dict[str, Any]:
    assert manifest.shard is not None and manifest.trials is not None   # a verified, complete shard
    return {"run_id": archive.run_id, "index": manifest.shard.index, "count": manifest.shard.count,
            "command": manifest.command, "started_at": manifest.started_at, "finished_at": manifest.finished_at,
            "platform": manifest.platform, "versions": manifest.versions, "trials": manifest.trials.dump()}


def _warnings(ordered: list[tuple[RunArchive, Manifest]]) -> list[str]:
    """What the shards did not share that could move a number: software versions, the endpoints' identity."""
    (first, head), *rest = ordered
    out = []
    for archive, manifest in rest:
        if manifest.versions != head.versions:
            changed = sorted(k for k in set(manifest.versions) | set(head.versions)
                             if manifest.versions.get(k) != head.versions.get(k))
            out.append(f"{_name(archive, manifest)} ran other versions than {_name(first, head)}: "
                       + ", ".join(f"{k} {head.versions.get(k)} vs {manifest.versions.get(k)}" for k in changed))
        for model_id, entry in manifest.endpoints.items():
            mine, theirs = _identity(entry), _identity(head.endpoints.get(model_id, entry))
            if mine != theirs:
                keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                out.append(f"model {model_id}: {_name(archive, manifest)} saw another endpoint than "
                           f"{_name(first, head)} ({', '.join(keys)} differ); the merged run records the first")
    return out


def _remove(path: Path, created: bool) -> None:
    if created:
        shutil.rmtree(path, ignore_errors=True)
    else:   # an empty folder given with --into: emptied again
        for entry in path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
