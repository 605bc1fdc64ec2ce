"""Two runs compared: settings, endpoints, metrics that moved beyond their noise, verdicts (`roadtest diff`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roadtest.archive import RunArchive
from roadtest.workflow.deriving import check_sources, derive_if_missing


def diff(a: RunArchive, b: RunArchive) -> dict[str, Any]:
    """What differs between two runs: settings, endpoints, metrics beyond noise, verdicts."""
    from roadtest.compare import compare_runs
    for archive in (a, b):
        check_sources(archive)
        derive_if_missing(archive)
    return compare_runs(a, b)


def diff_page(result: dict[str, Any], workspace_templates: Path | None = None) -> str:
    """A comparison (from `diff`) as a standalone HTML page."""
    from roadtest.report import render_diff_page

    return render_diff_page(result, workspace_templates)


def reproduction_line(comparison: dict[str, Any]) -> str:
    """A rerun's comparison in one line: whether the results reproduced."""
    from roadtest.compare import reproduction_line as line

    return line(comparison)
