"""Replay: everything derived again from the archived responses alone, each file compared with the run's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roadtest.archive import RunArchive
from roadtest.workflow.deriving import DERIVED, REPORTS, derive
from roadtest.workflow.reporting import report


def replay(archive: RunArchive, workspace_templates: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Derive everything again from the archive and say, per file, whether it came out as the run wrote it."""
    recorded = dict(archive.manifest_record().files)
    formats = [f for f in ("html", "pdf") if (archive.path / f"report.{f}").is_file()]
    verdicts = derive(archive)
    if formats:
        report(archive, formats, workspace_templates)
    files = archive.manifest_record().files
    outcome = {}
    for name in [*DERIVED, *REPORTS]:
        if name in files:
            outcome[name] = "new" if name not in recorded else ("identical" if recorded[name] == files[name] else "differs")
    return verdicts, outcome
