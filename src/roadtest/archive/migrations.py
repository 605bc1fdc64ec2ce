"""Archive schema versions and the named, ordered migrations that bring an old archive up to date.

A migration takes the manifest of version N (and the archive folder, read-only) and returns the
manifest of version N + 1. Migrations run in memory when an archive is read; `replay` writes the
upgraded manifest back. Trial records are never rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from roadtest.archive.trials_file import served_by
from roadtest.errors import RoadtestError

Migration = Callable[[dict[str, Any], Path], dict[str, Any]]


def _0001_endpoint_identity(manifest: dict[str, Any], path: Path) -> dict[str, Any]:
    """v1 -> v2: endpoints record what the server said about itself (its /models entry, and the model
    names and system fingerprints its responses carried); the plan is among the hashed files."""
    served = served_by(path)
    for model_id, entry in manifest.get("endpoints", {}).items():
        entry.setdefault("models_entry", None)
        entry.setdefault("served", served.get(model_id, {"model": [], "system_fingerprint": []}))
    return manifest


MIGRATIONS: list[tuple[str, int, Migration]] = [
    ("0001_endpoint_identity", 1, _0001_endpoint_identity),
]
"""(name, version it upgrades from, function), in order."""

SCHEMA_VERSION = MIGRATIONS[-1][1] + 1


def upgrade(manifest: dict[str, Any], path: Path) -> dict[str, Any]:
    """The manifest at the current schema version, with the names of the migrations applied."""
    version = manifest.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise RoadtestError(f"{path.name}: archive schema {version} is newer than this roadtest knows ({SCHEMA_VERSION})",
                            "upgrade roadtest to read it")
    for name, from_version, migrate in MIGRATIONS:
        if version == from_version:
            manifest = migrate(manifest, path)
            version = from_version + 1
            manifest["schema_version"] = version
            manifest.setdefault("migrations", []).append(name)
    return manifest
