"""The archive as a whole: is every entry a regular file, is every recorded source there, is the plan the one
the run recorded, are the trial records what that plan explains. Each check returns problems (one line each,
naming the file and line) for `verify` to print; the commands that read an archive refuse on the first."""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from roadtest.archive.files import entry_problems, open_regular
from roadtest.archive.integrity import (SHOWN, TrialsCheck, decode_line, jsonl_lines, record_problem,
                                        request_digest, trial_problem)
from roadtest.archive.lock import LOCK
from roadtest.archive.schema import Manifest
from roadtest.errors import RoadtestError

MANIFEST = "manifest.json"
TRIALS = "trials.jsonl"
PLAN = "plan.jsonl"
SOURCES = (TRIALS, PLAN)


def shape_problems(folder: Path, manifest: Manifest) -> list[str]:
    """Links and other non-regular entries; source files the manifest records but the folder lacks."""
    out = [f"{name}: {what}; a run writes only regular files, so roadtest neither reads nor writes through it"
           for name, what in entry_problems(folder)]
    bad = {p.split(":", 1)[0] for p in out}
    for name in SOURCES:
        if name in bad or (folder / name).exists():
            continue
        if name in manifest.files:
            out.append(f"{name}: missing, yet the manifest recorded its sha256 ({manifest.files[name][:12]}…) "
                       "when the run ended")
        elif name == PLAN and manifest.plan:
            out.append(f"{name}: missing, yet the manifest recorded its {manifest.plan.trials:,} trials")
        elif name == TRIALS and manifest.endpoints:
            out.append(f"{name}: missing, yet calls were made (the manifest names the endpoints that answered)")
    return out


@dataclass
class PlanScan:
    """One pass over plan.jsonl."""

    trials: int = 0
    bytes: int = 0
    sha256: str = ""
    digests: dict[str, builtins.bytes] = field(default_factory=dict)    # `bytes` above is a field
    conversations: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """conversation id -> (model, simulated customer's model)."""
    owned: set[str] | None = None
    """A shard's run: the planned ids (trials and conversations) in its slice (None: the run sends the whole plan)."""
    problems: list[str] = field(default_factory=list)


def scan_plan(folder: Path, manifest: Manifest) -> PlanScan | None:
    """Every plan line a valid trial of this run, each id once, and the whole as the manifest recorded it
    (count and sha256); None when there is no plan.jsonl."""
    models = {m.id for m in manifest.config.models}
    scenarios = set(manifest.config.scenarios)
    scan, h, invalid = PlanScan(), hashlib.sha256(), 0
    shard = None
    if manifest.shard is not None:
        from roadtest.plan.shards import Shard   # the plan's machinery only for a shard's archive

        shard, scan.owned = Shard.from_record(manifest.shard), set()
    data: Any                               # a JSON value, a dict once no problem is found
    try:
        f = open_regular(folder / PLAN)
    except FileNotFoundError:
        return None
    with f:
        for n, raw, complete in jsonl_lines(f):
            h.update(raw)
            scan.bytes += len(raw)
            scan.trials += 1
            data, why = decode_line(raw) if complete else (None, "a half-written last line")
            why = why or trial_problem(data, models, scenarios)
            if why is None and data["id"] in scan.digests:
                why = f"trial {data['id'][:120]} is planned twice"
            if why is not None:
                invalid += 1
                if invalid <= SHOWN:
                    scan.problems.append(f"{PLAN}:{n}: not a valid trial of this run ({why})")
                continue
            if scan.owned is not None and shard is not None and shard.owns_line(data):
                scan.owned.add(data["id"])
            if data.get("kind") == "conversation":
                scan.conversations[data["id"]] = (data["model"], (data["dialogue"].get("simulator") or {}).get("model"))
            scan.digests[data["id"]] = request_digest(data["model"], data["scenario"], data["item"], data["repeat"],
                                                      data["variant"], data.get("level"), data["endpoint"],
                                                      data["body"])
    if invalid > SHOWN:
        scan.problems.append(f"{PLAN}: {invalid - SHOWN:,} more invalid lines")
    scan.sha256 = h.hexdigest()
    record = manifest.plan
    if record and (record.sha256 != scan.sha256 or record.trials != scan.trials):
        scan.problems.insert(0, (
            f"{PLAN}: {scan.trials:,} trials (sha256 {scan.sha256[:12]}…), but the run recorded "
            f"{record.trials:,} (sha256 {record.sha256[:12]}…) when it had written its plan whole: "
            "this is not the plan its calls were sent from"))
    return scan


def trial_problems(folder: Path, manifest: Manifest, plan: PlanScan | None) -> list[str]:
    """Unreadable records (a half-written last line aside), and records the plan does not explain."""
    check = TrialsCheck(plan.digests, manifest.resends_allowed(), plan.conversations,
                        owned=plan.owned, shard=manifest.shard) if plan is not None else None
    out: list[str] = []
    unreadable = 0
    try:
        f = open_regular(folder / TRIALS)
    except FileNotFoundError:
        return out
    with f:
        for n, raw, complete in jsonl_lines(f):
            if not complete:
                break   # a killed run's last line: resume drops it
            data, why = decode_line(raw)
            why = why or record_problem(data, typed=True)
            if why is not None:
                unreadable += 1
                if unreadable <= SHOWN:
                    out.append(f"{TRIALS}:{n}: not a readable record ({why})")
            elif check is not None:
                check.add(n, data)
    if unreadable > SHOWN:
        out.append(f"{TRIALS}: {unreadable - SHOWN:,} more unreadable lines")
    if check is not None:
        out += check.problems(complete=manifest.status == "complete")
    return out


def content_problems(folder: Path, manifest: Manifest) -> list[str]:
    plan = scan_plan(folder, manifest)
    return (plan.problems if plan else []) + trial_problems(folder, manifest, plan)


def trials_summary(path: Path, limit: int | None = None) -> tuple[str, int, int]:
    """(sha256, bytes, complete lines) of trials.jsonl, or of its first `limit` bytes."""
    h, size, lines = hashlib.sha256(), 0, 0
    with open_regular(path) as f:
        while limit is None or size < limit:
            block = f.read(1 << 16 if limit is None else min(1 << 16, limit - size))
            if not block:
                break
            h.update(block)
            size += len(block)
            lines += block.count(b"\n")
    return h.hexdigest(), size, lines


def grew_only(folder: Path, manifest: Manifest) -> bool:
    """trials.jsonl differs from its recorded sha256 only by records appended after the run last ended
    (a resume that was killed before it could record them)."""
    record = manifest.trials
    if not record or not (folder / TRIALS).is_file():
        return False
    sha, size, _ = trials_summary(folder / TRIALS, record.bytes)
    return size == record.bytes and sha == record.sha256


def unrecorded_files(folder: Path, manifest: Manifest) -> list[str]:
    """Regular files in the folder the manifest does not record (the lock and temporary files aside)."""
    known = set(manifest.files) | {MANIFEST, f"{MANIFEST}.tmp", "rerun.json", LOCK}
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in known and not p.is_symlink() and p.is_file())


def unrecorded_plan(manifest: Manifest, run_id: str) -> RoadtestError | None:
    """Why a run cannot be resumed from its plan at all: it was never recorded as written whole."""
    if "plan" not in manifest.model_fields_set:
        written_by = manifest.written_by or "(unknown)"
        return RoadtestError(
            f"run {run_id} cannot be resumed: roadtest {written_by} wrote it without recording how many trials it "
            "planned, so a plan.jsonl cut short (a run killed while writing it) cannot be told from a whole one, and "
            "resuming it could skip the rest and call the run complete",
            "start the run again with `roadtest run` (the response cache answers the calls already made for free)")
    if manifest.plan is None:
        return RoadtestError(
            f"run {run_id} cannot be resumed: the plan was never completely written, so no call was sent from it",
            "start the run again with `roadtest run`")
    return None


def resume_problems(folder: Path, manifest: Manifest) -> list[str]:
    """A recorded plan that no longer matches, records changed since the run last ended (records appended
    since, by a resume that was stopped, are fine), unreadable or unexplained records."""
    if manifest.trials and (folder / TRIALS).is_file() and not grew_only(folder, manifest):
        return [f"{TRIALS}: the records written before the run last ended no longer match the sha256 recorded then"]
    plan = scan_plan(folder, manifest)
    if plan is None:
        assert manifest.plan is not None    # unrecorded_plan refused first otherwise
        return [f"{PLAN}: missing, yet the manifest recorded its {manifest.plan.trials:,} trials"]
    return plan.problems + trial_problems(folder, manifest, plan)
