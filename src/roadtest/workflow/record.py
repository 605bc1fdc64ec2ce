"""The decision record's commands: decide (record a decision), history, gate (for CI), verify --decisions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from roadtest.workflow.archives import runs_folder

if TYPE_CHECKING:
    from roadtest.archive import RunArchive
    from roadtest.decisions.commands import GateResult, History
    from roadtest.decisions.record import DecideRequest, RecordCheck


def record_decision(root: Path, request: DecideRequest) -> dict[str, Any]:
    """Record a decision: decisions/<date>-<hypothesis>.md and an entry of the hash-chained decisions/log.jsonl;
    nothing is written unless every input checks."""
    from roadtest.decisions.record import decide as write_decision

    return write_decision(root, runs_folder(root), request)


def decision_history(root: Path, hypothesis: str | None = None, model: str | None = None) -> History:
    """Each hypothesis x model verdict across the workspace's runs, and each decision's status against them."""
    from roadtest.decisions.commands import history as cell_history

    return cell_history(root, runs_folder(root), hypothesis, model)


def gate_run(root: Path, archive: RunArchive) -> GateResult:
    """The run (which must verify) against the recorded decisions and its gate hypotheses."""
    from roadtest.decisions.commands import gate as run_gate

    return run_gate(root, archive)


def gate_junit(result: GateResult) -> str:
    """A gate's outcome as JUnit XML: one test case per hypothesis x model."""
    from roadtest.decisions.gate import junit_xml

    return junit_xml(result.run, result.cases)


def gate_summary(result: GateResult) -> str:
    """A gate's outcome as a Markdown summary (a CI job's step summary)."""
    from roadtest.decisions.gate import summary_markdown

    return summary_markdown(result.run, result.cases)


def verify_decisions(root: Path) -> RecordCheck:
    """The hash chain of decisions/log.jsonl, each decision file, and every run a decision rests on."""
    from roadtest.decisions.record import check_record

    return check_record(root, runs_folder(root))
