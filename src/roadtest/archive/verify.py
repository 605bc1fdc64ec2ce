"""Does an archive still prove itself? Every entry a regular file, every file against its recorded sha256, the
plan against its recorded count, every trial record readable and explained by the plan; datasets against the
workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from roadtest.archive import checks
from roadtest.archive.canonical import fingerprint
from roadtest.archive.files import sha256_file
from roadtest.archive.run_dir import MANIFEST, PLAN, TRIALS, RunArchive
from roadtest.archive.schema import Manifest
from roadtest.errors import RoadtestError
from roadtest.digest import file_sha256


@dataclass
class Verification:
    """Mismatches fail verification; changed or missing datasets only warn (the archive is still whole)."""

    checked: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify(archive: RunArchive, workspace: Path | None) -> Verification:
    result = Verification()
    manifest = archive.manifest_record()
    actual = fingerprint(manifest.config.dump())
    if actual != manifest.fingerprint:
        result.mismatches.append(f"{MANIFEST}: its configuration hashes to {actual[:12]}…, "
                                 f"not to the run's fingerprint {manifest.fingerprint[:12]}…: "
                                 "a setting was edited after the run")
    if TRIALS not in manifest.files:
        result.mismatches.append(f"{TRIALS}: no sha256 recorded: the run never ended (killed?); finish it with "
                                 f"`roadtest run --resume {archive.run_id}`, then verify")
    shape = checks.shape_problems(archive.path, manifest)
    unsafe = {p.split(":", 1)[0] for p in shape}
    _check_hashes(archive, manifest, unsafe, result)
    result.mismatches += shape
    if not unsafe & set(checks.SOURCES):
        result.mismatches += checks.content_problems(archive.path, manifest)
    result.warnings += _plan_warnings(manifest)
    for extra in checks.unrecorded_files(archive.path, manifest):
        result.warnings.append(f"{extra}: not recorded in the manifest")
    if workspace is not None:
        _check_datasets(manifest, workspace, result)
    return result


def _check_hashes(archive: RunArchive, manifest: Manifest, unsafe: set[str], result: Verification) -> None:
    for name, expected in sorted(manifest.files.items()):
        path = archive.path / name
        if name in unsafe:
            continue   # a link or other non-regular entry, or a missing source: its problem says so
        if not path.is_file():
            result.mismatches.append(f"{name}: missing (recorded sha256 {expected[:12]}…)")
            continue
        try:
            actual = sha256_file(path)
        except RoadtestError as exc:
            result.mismatches.append(f"{name}: {exc.message}")
            continue
        result.checked.append(name)
        if actual != expected:
            if name == TRIALS and manifest.status != "complete" and checks.grew_only(archive.path, manifest):
                result.mismatches.append(f"{name}: records were appended after the run last ended (a resume was "
                                         f"stopped): finish it with `roadtest run --resume {archive.run_id}`")
            else:
                result.mismatches.append(
                    f"{name}: sha256 {actual[:12]}… does not match the manifest's {expected[:12]}…")


def _plan_warnings(manifest: Manifest) -> list[str]:
    if "plan" not in manifest.model_fields_set:
        return [f"{PLAN}: this archive's roadtest did not record how many trials it planned: a plan cut short "
                "could not be told from a whole one"]
    if manifest.plan is None:
        return [f"{PLAN}: the manifest does not record it as completely written"]
    return []


def _check_datasets(manifest: Manifest, workspace: Path, result: Verification) -> None:
    for rel, expected in sorted(manifest.datasets.items()):
        path = workspace / rel
        if not path.is_file():
            result.warnings.append(f"dataset {rel}: not in this workspace (the archive does not need it)")
        elif file_sha256(path) != expected:   # the workspace is the user's own: its links are followed
            result.warnings.append(f"dataset {rel}: changed since the run (a new run would differ)")
