"""The public façade: check, run, derive (replay), report. Orchestration reads as named steps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from roadtest.archive import RunArchive, canonical_json, resolve_config
from roadtest.archive.config import scenario_specs
from roadtest.engine import Events, execute
from roadtest.errors import RunError
from roadtest.load import LoadedWorkspace, load_workspace
from roadtest.plan import Selection, build_trials, select
from roadtest.report import build_view, render_html, write_pdf
from roadtest.scoring import score_trials
from roadtest.verdict import decide, summarise

SCORES, METRICS, VERDICTS = "scores.jsonl", "metrics.json", "verdicts.json"
DERIVED = [SCORES, METRICS, VERDICTS]


def check(root: Path) -> LoadedWorkspace:
    """Load and validate every file; raises InputError listing every problem."""
    return load_workspace(root)


@dataclass(frozen=True)
class RunResult:
    archive: RunArchive
    trials: int
    errors: int
    verdicts: dict[str, Any]


def run(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
        command: list[str]) -> RunResult:
    """Plan, execute, archive, derive. Interrupted or failed runs keep what finished (exit code 3)."""
    ws = load_workspace(root)
    sel = select(ws, hypotheses, models)
    archive = RunArchive.create(ws.runs_dir, resolve_config(ws, sel), command, ws.root)
    _execute(ws, sel, archive, events)
    verdicts = derive(archive)
    errors = sum(1 for t in archive.trials() if t.get("error"))
    return RunResult(archive, sum(1 for _ in archive.trials()), errors, verdicts)


def _execute(ws: LoadedWorkspace, sel: Selection, archive: RunArchive, events: Events) -> None:
    models = {m.id: m for m in ws.spec.models}
    archive.open_trials()
    try:
        asyncio.run(execute(build_trials(ws, sel), models, ws.root, archive, events))
    except KeyboardInterrupt:
        archive.finish("interrupted")
        raise RunError(f"interrupted; finished trials are kept in {archive.path}",
                       "start the run again to finish it") from None
    except BaseException:
        archive.finish("failed")
        raise
    archive.finish("complete")


def derive(archive: RunArchive) -> dict[str, Any]:
    """Scores, metrics and verdicts from the archive alone (no model calls): what `replay` runs."""
    config = archive.manifest()["config"]
    frame = score_trials(archive.trials(), scenario_specs(config))
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    archive.write_derived(SCORES, "".join(canonical_json(r) + "\n" for r in rows))
    archive.write_derived(METRICS, canonical_json(summarise(config, frame), indent=2) + "\n")
    verdicts = decide(config, frame)
    archive.write_derived(VERDICTS, canonical_json(verdicts, indent=2) + "\n")
    archive.record_hashes(["trials.jsonl", *DERIVED])
    return verdicts


def report(archive: RunArchive, formats: list[str], workspace_templates: Path | None = None) -> list[Path]:
    """Write report.html and/or report.pdf into the run folder; returns the paths written."""
    import json

    manifest = archive.manifest()
    if not (archive.path / VERDICTS).is_file():
        derive(archive)
    metrics = json.loads((archive.path / METRICS).read_text(encoding="utf-8"))
    verdicts = json.loads((archive.path / VERDICTS).read_text(encoding="utf-8"))
    generated = manifest.get("finished_at") or datetime.now(timezone.utc).isoformat(timespec="seconds")
    html = render_html(build_view(manifest, metrics, verdicts, generated), workspace_templates)
    written = []
    if "html" in formats:
        target = archive.path / "report.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
    if "pdf" in formats:
        target = archive.path / "report.pdf"
        write_pdf(html, archive.path, target)
        written.append(target)
    return written
