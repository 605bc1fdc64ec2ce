"""The run archives in a folder, newest last, each summed up in a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roadtest.archive.run_dir import MANIFEST, RunArchive


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    rows = []
    if not runs_dir.is_dir():
        return rows
    for path in sorted(p for p in runs_dir.iterdir() if (p / MANIFEST).is_file()):
        try:
            manifest = RunArchive(path).manifest()
        except Exception:  # noqa: BLE001 - a damaged archive is listed as such, not a crash
            rows.append({"run_id": path.name, "status": "unreadable"})
            continue
        counts: dict[str, int] = {}
        verdicts = path / "verdicts.json"
        if verdicts.is_file():
            for hyp in json.loads(verdicts.read_text(encoding="utf-8"))["hypotheses"]:
                for cell in hyp["models"].values():
                    counts[cell["verdict"]] = counts.get(cell["verdict"], 0) + 1
        sel = manifest["config"]["selection"]
        rows.append({"run_id": path.name, "started_at": manifest.get("started_at"), "status": manifest.get("status"),
                     "hypotheses": sel["hypotheses"], "models": sel["models"],
                     "fingerprint": manifest.get("fingerprint"), "verdicts": counts,
                     "rerun_of": manifest.get("rerun_of")})
    return rows
