"""The run archives in a folder, newest last, each summed up in a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roadtest.archive.files import read_bytes
from roadtest.archive.run_dir import MANIFEST, archives_in_run_order
from roadtest.errors import RoadtestError

MAX_VERDICTS_BYTES = 16 << 20


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not runs_dir.is_dir():
        return rows
    for archive in archives_in_run_order([p for p in runs_dir.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]):
        try:
            manifest = archive.manifest_record()
        except Exception:  # noqa: BLE001 - a damaged archive is listed as such, not a crash
            rows.append({"run_id": archive.path.name, "status": "unreadable"})
            continue
        sel = manifest.config.selection
        rows.append({"run_id": archive.path.name, "started_at": manifest.started_at, "status": manifest.status,
                     "hypotheses": list(sel.hypotheses), "models": list(sel.models),
                     "fingerprint": manifest.fingerprint, "verdicts": _verdict_counts(archive.path / "verdicts.json"),
                     "rerun_of": manifest.rerun_of,
                     "shard": f"{manifest.shard.index}/{manifest.shard.count}" if manifest.shard else None,
                     "merged_from": [s.run_id for s in manifest.merged_from]})
    return rows


def _verdict_counts(path: Path) -> dict[str, int]:
    """How many of each verdict the run's verdicts.json holds; nothing when it is missing, a link or damaged."""
    counts: dict[str, int] = {}
    try:
        data = json.loads(read_bytes(path, MAX_VERDICTS_BYTES))
        for hyp in data["hypotheses"]:
            for cell in hyp["models"].values():
                counts[str(cell["verdict"])] = counts.get(str(cell["verdict"]), 0) + 1
    except (OSError, ValueError, RecursionError, RoadtestError, KeyError, TypeError, AttributeError):
        return {}
    return counts
