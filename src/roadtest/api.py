"""The public façade: check, run, derive (replay), report. Orchestration reads as named steps."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from roadtest.archive import RunArchive, canonical_json, resolve_config
from roadtest.archive.config import model_specs, scenario_specs
from roadtest.engine import Events, execute
from roadtest.errors import RunError
from roadtest.load import LoadedWorkspace, load_workspace
from roadtest.plan import Selection, build_trials, select
from roadtest.report import build_view, render_html, write_pdf
from roadtest.scoring import score_trials
from roadtest.scoring.judging import judge_trials
from roadtest.verdict import RunData, decide, summarise
from roadtest.verdict.feasibility import feasibility

CHARS_PER_TOKEN = 4  # a rough, tokenizer-free estimate for planning only
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
    """The models' trials, then the judges' trials about them (judges read the archived outputs)."""
    models = {m.id: m for m in ws.spec.models}
    scenarios = {sid: ws.scenarios[sid].spec for sid in sel.scenarios}
    archive.open_trials()

    async def phases() -> None:
        await execute(build_trials(ws, sel), models, ws.root, archive, events)
        archive.flush()
        await execute(judge_trials(archive.trials(), scenarios, models), models, ws.root, archive, events)

    try:
        asyncio.run(phases())
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
    scored = score_trials(archive.trials, scenario_specs(config), model_specs(config))
    frame = scored.frame
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    archive.write_derived(SCORES, "".join(canonical_json(r) + "\n" for r in rows))
    data = RunData.build(config, scored)
    archive.write_derived(METRICS, canonical_json(summarise(data), indent=2) + "\n")
    verdicts = decide(data)
    archive.write_derived(VERDICTS, canonical_json(verdicts, indent=2) + "\n")
    archive.record_hashes(["trials.jsonl", *DERIVED])
    return verdicts


def plan(root: Path, hypotheses: list[str] | None, models: list[str] | None) -> dict[str, Any]:
    """What a run would do, before any model call: trials, token estimates, which criteria n can decide."""
    ws = load_workspace(root)
    sel = select(ws, hypotheses, models)
    config = resolve_config(ws, sel)
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for trial in build_trials(ws, sel):
        entry = counts.setdefault((trial.model, trial.scenario), {"trials": 0, "prompt_chars": 0, "max_out": 0})
        entry["trials"] += 1
        entry["prompt_chars"] += len(json.dumps(trial.body.get("messages") or trial.body.get("prompt"),
                                                ensure_ascii=False))
        entry["max_out"] += trial.body["max_tokens"]
    for spec in (ws.scenarios[sid].spec for sid in sel.scenarios):   # judges: one call per judged trial
        for judge in spec.judges():
            judged = sum(c["trials"] for (_, sid), c in list(counts.items()) if sid == spec.id)
            entry = counts.setdefault((judge.model, f"{spec.id} (judge)"), {"trials": 0, "prompt_chars": 0, "max_out": 0})
            entry["trials"] += judged
            entry["prompt_chars"] += judged * (len(judge.rubric) + 600)
            entry["max_out"] += judged * judge.max_new_tokens
    rows = []
    for (model, scenario), c in counts.items():
        spec = ws.spec.model(model)
        tokens_in = round(c["prompt_chars"] / CHARS_PER_TOKEN)
        cost = None
        if spec.price is not None:
            cost = (tokens_in * spec.price.input_per_mtok + c["max_out"] * spec.price.output_per_mtok) / 1e6
        rows.append({"model": model, "scenario": scenario, "trials": c["trials"], "tokens_in_est": tokens_in,
                     "tokens_out_max": c["max_out"], "cost_max": cost})
    return {"selection": config["selection"], "trials": rows, "feasibility": feasibility(config)}


def report(archive: RunArchive, formats: list[str], workspace_templates: Path | None = None) -> list[Path]:
    """Write report.html and/or report.pdf into the run folder; returns the paths written."""
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
