"""The public façade: every step the command line takes, each a thin call into roadtest.workflow.

Each function imports the step it calls when it is called, so importing this module costs nothing and
`roadtest --help` or `check` never loads the engine, scoring, statistics or the report (pandas, scipy,
matplotlib, weasyprint). The dataclasses a caller builds or reads (RunOptions, RunResult, CombinedRuns,
DecideRequest) are imported the same way, on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from roadtest.archive import RunArchive
    from roadtest.archive.verify import Verification
    from roadtest.decisions.commands import GateResult, History
    from roadtest.decisions.record import DecideRequest, RecordCheck
    from roadtest.engine import Events
    from roadtest.load import LoadedWorkspace
    from roadtest.workflow.reporting import CombinedRuns
    from roadtest.workflow.running import RunOptions, RunResult


def __getattr__(name: str) -> Any:
    if name in ("RunOptions", "RunResult"):
        from roadtest.workflow import running
        return getattr(running, name)
    if name == "CombinedRuns":
        from roadtest.workflow.reporting import CombinedRuns
        return CombinedRuns
    if name == "DecideRequest":
        from roadtest.decisions.record import DecideRequest
        return DecideRequest
    raise AttributeError(f"module 'roadtest.api' has no attribute {name!r}")


# the workspace: init, check, plan

def init(target: Path) -> list[Path]:
    """A new workspace in `target` (refused over existing files); the files written."""
    from roadtest.workflow import workspace
    return workspace.init(target)


def check(root: Path, allow_outside: bool = False, max_cost: float | None = None) -> LoadedWorkspace:
    """The workspace loaded and validated (InputError lists every problem); a bad --max-cost is refused first."""
    from roadtest.workflow import workspace
    workspace.check_max_cost(max_cost)
    return workspace.check(root, allow_outside)


def check_warnings(ws: LoadedWorkspace, max_cost: float | None = None) -> list[str]:
    """What is valid but cannot come out as the author expects, and the models --max-cost cannot count."""
    from roadtest.workflow import workspace
    return workspace.check_warnings(ws) + workspace.budget_warnings(ws.spec.models, max_cost)


def metric_rows() -> list[dict[str, Any]]:
    """The metrics a criterion can name: id, family, better, unit, description."""
    from roadtest.workflow import workspace
    return workspace.metric_rows()


def plan(root: Path, hypotheses: list[str] | None, models: list[str] | None, max_cost: float | None = None,
         allow_outside: bool = False) -> dict[str, Any]:
    """What a run would do, before any model call: trials, tokens, cost, time, which criteria n can decide."""
    from roadtest.workflow import estimates
    return estimates.plan(root, hypotheses, models, max_cost, allow_outside)


# running: run, resume, rerun

def check_run_options(resume: str | None, retry_errors: bool, retry_base_s: float) -> None:
    """Refuse, before anything starts, run options that are out of range or do not go together."""
    from roadtest.workflow import running
    running.check_request(resume, retry_errors, retry_base_s)


def run(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events, command: list[str],
        options: RunOptions | None = None, warn: Callable[[str], None] = lambda _: None,
        resume: str | None = None, shard: str | None = None, runs_dir: Path | None = None) -> RunResult:
    """A new run of the selection (`shard` 'K/N': only that slice of its plan, into a shard's run folder; under
    `runs_dir` instead of the workspace's runs folder when given), or (`resume`: id, folder or 'latest') that run
    finished as it was planned."""
    from roadtest.plan.shards import Shard
    from roadtest.workflow import running
    return running.start(root, hypotheses, models, events, command, options or running.RunOptions(), warn, resume,
                         shard=Shard.parse(shard) if shard is not None else None, runs_dir=runs_dir)


def run_on_ray(root: Path, hypotheses: list[str] | None, models: list[str] | None, events: Events,
               command: list[str], options: RunOptions | None, warn: Callable[[str], None], address: str | None,
               shards: int) -> tuple[RunResult, list[Path]]:
    """The run as `shards` Ray tasks (a local cluster when `address` is None), merged: the merged run's result and
    the shards' folders (needs the ray extra)."""
    from roadtest.workflow import on_ray, running
    return on_ray.run_on_ray(root, hypotheses, models, events, command, options or running.RunOptions(), warn,
                             address, shards)


def merge(root: Path, refs: list[str], into: Path | None = None) -> tuple[RunResult, list[str], list[Path]]:
    """The shards named by `refs` (ids or folders) checked and merged into one run (at `into`, default beside the
    first shard): its result, the merge's warnings and the shards' folders in shard order."""
    from roadtest.workflow import merging, running
    from roadtest.workflow.archives import find_run
    merged = merging.merge([find_run(root, ref) for ref in refs], into)
    return running.result_of(merged.archive, merged.verdicts), merged.warnings, merged.shards


def rerun(root: Path, original: RunArchive, into: Path | None, events: Events,
          command: list[str]) -> tuple[RunResult, dict[str, Any]]:
    """The archived plan sent again from the archive's own configuration, and compared with the original."""
    from roadtest.workflow import running
    return running.rerun(root, original, into, events, command)


def trial_label(record: dict[str, Any]) -> str:
    """The progress group a finished trial counts in (its model, and its load level or kind)."""
    from roadtest.workflow import running
    return running.trial_label(record)


# deriving, reporting, comparing

def derive(archive: RunArchive) -> dict[str, Any]:
    """Scores, metrics and verdicts from the archive alone (no model calls); the verdicts."""
    from roadtest.workflow import deriving
    return deriving.derive(archive)


def replay(archive: RunArchive, workspace_templates: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Everything derived again; per file, whether it came out as the run wrote it."""
    from roadtest.workflow import replaying
    return replaying.replay(archive, workspace_templates)


def report(root: Path, archives: list[RunArchive], formats: list[str], out: Path | None = None) -> list[Path]:
    """The decision document (html, pdf) of one run, in its folder, or of several runs combined, in `out`."""
    from roadtest.workflow import reporting
    return reporting.report_runs(root, archives, formats, out)


def combine_runs(archives: list[RunArchive]) -> CombinedRuns:
    """Several archives read as one run (model ids that repeat are suffixed with their run id)."""
    from roadtest.workflow import reporting
    return reporting.combine_runs(archives)


def pdf_warnings() -> list[str]:
    """What makes this machine's PDFs differ, byte for byte, from one where `make install` ran."""
    from roadtest.workflow import reporting
    return reporting.pdf_warnings()


def diff(a: RunArchive, b: RunArchive) -> dict[str, Any]:
    """What differs between two runs: settings, endpoints, metrics beyond their noise, verdicts."""
    from roadtest.workflow import comparing
    return comparing.diff(a, b)


def diff_page(result: dict[str, Any], workspace_templates: Path | None = None) -> str:
    """A comparison from `diff` as a standalone HTML page."""
    from roadtest.workflow import comparing
    return comparing.diff_page(result, workspace_templates)


def reproduction_line(comparison: dict[str, Any]) -> str:
    """A rerun's comparison in one line: whether the results reproduced."""
    from roadtest.workflow import comparing
    return comparing.reproduction_line(comparison)


# the workspace's runs

def find_run(root: Path, ref: str) -> RunArchive:
    """A run of the workspace by id, by folder path, or 'latest'."""
    from roadtest.workflow import archives
    return archives.find_run(root, ref)


def list_runs(root: Path) -> list[dict[str, Any]]:
    """The workspace's runs, in run order."""
    from roadtest.workflow import archives
    return archives.list_runs(root)


def verify_run(archive: RunArchive, root: Path) -> Verification:
    """Every file of the archive against its recorded sha256, its datasets against the workspace."""
    from roadtest.workflow import archives
    return archives.verify_run(archive, root)


# the decision record

def record_decision(root: Path, request: DecideRequest) -> dict[str, Any]:
    """A decision written to decisions/ and the hash-chained log; nothing unless every input checks."""
    from roadtest.workflow import record
    return record.record_decision(root, request)


def decision_history(root: Path, hypothesis: str | None = None, model: str | None = None) -> History:
    """Verdicts over time, and whether each recorded decision still holds."""
    from roadtest.workflow import record
    return record.decision_history(root, hypothesis, model)


def gate_run(root: Path, archive: RunArchive) -> GateResult:
    """A run against the recorded decisions and its gate hypotheses (for CI)."""
    from roadtest.workflow import record
    return record.gate_run(root, archive)


def gate_junit(result: GateResult) -> str:
    """A gate's outcome as JUnit XML."""
    from roadtest.workflow import record
    return record.gate_junit(result)


def gate_summary(result: GateResult) -> str:
    """A gate's outcome as a Markdown summary."""
    from roadtest.workflow import record
    return record.gate_summary(result)


def verify_decisions(root: Path) -> RecordCheck:
    """The decision record proves itself: its hash chain, its files, the runs it rests on."""
    from roadtest.workflow import record
    return record.verify_decisions(root)


# words for the terminal

def printable_text(text: str) -> str:
    """Control characters written as escapes, so printed text cannot drive the terminal."""
    from roadtest.load.workspace import printable_text as printable
    return printable(text)


def not_decided(verdicts: dict[str, Any]) -> list[str]:
    """Each hypothesis x model left without a verdict because its endpoint failed, with the reason."""
    from roadtest.verdict.decide import not_decided as undecided
    return undecided(verdicts)


def claim_text(direction: str, threshold: float, baseline: str | None = None) -> str:
    """A criterion's claim in words, the same everywhere: '≥ 0.6', 'better than B by ≥ 0.02'."""
    from roadtest.spec.hypothesis import claim_text as claim
    return claim(direction, threshold, baseline)
