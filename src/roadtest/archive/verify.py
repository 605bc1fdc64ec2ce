"""Does an archive still prove itself? Every file against its recorded sha256; datasets against the workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from roadtest.archive.canonical import fingerprint
from roadtest.archive.run_dir import MANIFEST, TRIALS, RunArchive
from roadtest.load.datasets import file_sha256


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
    manifest = archive.manifest()
    if "config" in manifest and fingerprint(manifest["config"]) != manifest.get("fingerprint"):
        result.mismatches.append(f"{MANIFEST}: its configuration hashes to {fingerprint(manifest['config'])[:12]}…, "
                                 f"not to the run's fingerprint {str(manifest.get('fingerprint'))[:12]}…: "
                                 "a setting was edited after the run")
    if TRIALS not in manifest.get("files", {}):
        result.mismatches.append(f"{TRIALS}: no sha256 recorded: the run never ended (killed?); finish it with "
                                 f"`roadtest run --resume {archive.run_id}`, then verify")
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = archive.path / name
        if not path.is_file():
            result.mismatches.append(f"{name}: missing (recorded sha256 {expected[:12]}…)")
            continue
        actual = file_sha256(path)
        result.checked.append(name)
        if actual != expected:
            result.mismatches.append(f"{name}: sha256 {actual[:12]}… does not match the manifest's {expected[:12]}…")
    known = set(manifest.get("files", {})) | {MANIFEST, f"{MANIFEST}.tmp", "rerun.json"}
    for extra in sorted(p.name for p in archive.path.iterdir() if p.is_file() and p.name not in known):
        result.warnings.append(f"{extra}: not recorded in the manifest")
    if workspace is not None:
        for rel, expected in sorted(manifest.get("datasets", {}).items()):
            path = workspace / rel
            if not path.is_file():
                result.warnings.append(f"dataset {rel}: not in this workspace (the archive does not need it)")
            elif file_sha256(path) != expected:
                result.warnings.append(f"dataset {rel}: changed since the run (a new run would differ)")
    return result
