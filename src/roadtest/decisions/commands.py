"""The decision record's commands as named steps: history, gate, and the settings they read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadtest.decisions import log
from roadtest.decisions.evidence import RunVerdicts, read_run, workspace_runs
from roadtest.decisions.gate import Case, cases
from roadtest.decisions.status import cell_histories, decision_rows
from roadtest.errors import InputError, Problem, RoadtestError
from roadtest.registry import did_you_mean
from roadtest.spec.workspace import DecisionSettings

CONFIG = "roadtest.yaml"


def settings(root: Path) -> DecisionSettings:
    """roadtest.yaml's `decisions:` section (defaults when the file or the section is absent); a bad value is
    a located problem (exit 2), like every other input."""
    from pydantic import ValidationError

    from roadtest.load.files import read_text
    from roadtest.load.yamlsrc import parse_yaml

    path = root / CONFIG
    text, problems = read_text(path, CONFIG)
    if text is None:
        if problems and (path.exists() or path.is_symlink()):
            raise InputError(problems)
        return DecisionSettings()
    parsed = parse_yaml(text, CONFIG)
    if parsed.problems and parsed.data is None:
        raise InputError(parsed.problems)
    data = parsed.data.get("decisions") if isinstance(parsed.data, dict) else None
    if data is None:
        return DecisionSettings()
    try:
        return DecisionSettings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ("decisions", *e["loc"])
            problems.append(Problem(CONFIG, parsed.line(loc), f"{'.'.join(map(str, loc))}: {e['msg']}",
                                    "e.g. decisions: {stale_after: 30d} (units s, m, h, d, w)"))
        raise InputError(problems) from None


@dataclass
class History:
    cells: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Runs left out (no verdicts, or a verdicts.json that is not the recorded one), with the reason."""
    log: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"cells": self.cells, "decisions": self.decisions, "skipped_runs": self.skipped, "log": self.log}


def history(root: Path, runs_dir: Path, hypothesis: str | None = None, model: str | None = None) -> History:
    stale = settings(root).stale_after_s
    chain = log.intact_chain(root)
    found = workspace_runs(runs_dir)
    known = sorted({h for r in found.runs for h in r.titles} | {e.record["hypothesis"] for e in chain.entries})
    if hypothesis is not None and hypothesis not in known:
        raise RoadtestError(f"no run or decision here holds hypothesis '{hypothesis}'",
                            did_you_mean(hypothesis, known) or "run it first: roadtest run -H ID")
    cells = [c for c in cell_histories(found.runs, hypothesis) if model is None or c.model == model]
    if model is not None and not cells and not any(e.record["model"] == model for e in chain.entries):
        models = sorted({m for r in found.runs for (_, m) in r.cells})
        raise RoadtestError(f"no run here holds model '{model}'" + (f" on {hypothesis}" if hypothesis else ""),
                            did_you_mean(model, models) or "list the runs with `roadtest runs`")
    rows = [d for d in decision_rows(chain, found.runs, stale, None, hypothesis)
            if model is None or d["model"] == model]
    return History([c.as_dict() for c in cells], rows, found.skipped,
                   {"entries": len(chain.entries), "head": chain.head})


@dataclass(frozen=True)
class GateResult:
    run: RunVerdicts
    cases: list[Case]

    @property
    def failed(self) -> bool:
        return any(c.blocks for c in self.cases)


def gate(root: Path, archive) -> GateResult:
    """The run (which must verify) against the recorded decisions and its gate hypotheses."""
    from roadtest.archive.verify import verify

    settings(root)
    chain = log.intact_chain(root)
    result = verify(archive, root if (root / CONFIG).is_file() else None)
    if not result.ok:
        raise RoadtestError(f"run {archive.run_id} does not verify: {result.mismatches[0]}",
                            f"`roadtest verify {archive.run_id}` lists every mismatch; a gate cannot rest on it")
    run = read_run(archive)
    return GateResult(run, cases(run, chain))
