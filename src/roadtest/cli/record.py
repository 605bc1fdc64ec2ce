"""The decision record's commands: decide, history, gate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import roadtest.api as api
from roadtest.cli.app import JsonFlag, Workspace, _emit_json, command, err, out
from roadtest.cli.tables import print_table as _print_table
from roadtest.errors import RoadtestError


@command
def decide(hypothesis: Annotated[str, typer.Argument(help="The hypothesis the decision is about (its id).")],
           model: Annotated[str, typer.Option("--model", "-m", help="The model chosen.")],
           run: Annotated[list[str], typer.Option("--run", "-r", help="A run the decision rests on (id, folder or 'latest'; repeatable).")],
           by: Annotated[str, typer.Option("--by", help="Who decided (a name, a team, a meeting).")],
           note: Annotated[str, typer.Option("--note", help="Why, in a few sentences (Markdown).")],
           against_evidence: Annotated[Optional[str], typer.Option("--against-evidence", help="Required when the chosen model's verdict is not SUPPORTED: the reason, recorded as a decision against the evidence.")] = None,
           workspace: Workspace = Path("."), json_out: JsonFlag = False) -> None:
    """Record what was chosen for a hypothesis, on which runs, by whom.

    Writes decisions/<date>-<hypothesis>.md (the hypothesis as tested, the chosen model and the alternatives with
    their verdicts, the runs with their fingerprints and hashes, who, when, and the commands
    that replay, rerun and verify the evidence) and an entry of the hash-chained decisions/log.jsonl. A new
    decision on the same hypothesis supersedes the last one (the entry names it). Nothing is written unless
    every run verifies.

    Example: roadtest decide self-serve -m gemma3-270m --run latest --by "Ana Ruiz" --note "Cheapest that meets it."
    """
    entry = api.record_decision(workspace, api.DecideRequest(hypothesis, model, run, by, note, against_evidence))
    record = entry["record"]
    if json_out:
        _emit_json({"id": entry["id"], "path": entry["path"], "sha256": entry["sha256"],
                    "supersedes": entry["supersedes"], "record": record, "warnings": entry["warnings"]})
        return
    flag = " AGAINST THE EVIDENCE" if record["against_evidence"] else ""
    out.print(f"recorded{flag}: {entry['id']}: {record['model']} for {record['hypothesis']} "
              f"({record['verdict']} in {record['evidence_run']})", markup=False)
    if entry["supersedes"]:
        out.print(f"  supersedes {entry['supersedes']}", markup=False)
    out.print(f"  file: {entry['path']}\n  log: decisions/log.jsonl entry {entry['seq']} (sha256 {entry['sha256']})",
              markup=False)
    for w in entry["warnings"]:
        err.print(f"warning: {api.printable_text(w)}", markup=False)
    out.print("next: commit decisions/ with the runs; `roadtest history` and `roadtest gate` check it from now on",
              markup=False)


def print_table(console, headers, rows, *, title: str | None = None, caption: str | None = None) -> None:
    """Tables of text that came from archives and endpoints: control characters shown, never acted on, and no
    rich markup read from it."""
    from rich.markup import escape

    _print_table(console, headers, [[api.printable_text(str(c)) for c in row] for row in rows],
                 title=escape(api.printable_text(title)) if title else None,
                 caption=escape(api.printable_text(caption)) if caption else None)


STATUS_MARK = {"holds": "holds", "at risk": "AT RISK", "contradicted": "CONTRADICTED", "stale": "STALE",
               "not run": "not run", "not decided": "NOT DECIDED"}


@command
def history(hypothesis: Annotated[Optional[str], typer.Argument(help="Only this hypothesis (its id).")] = None,
            model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only this model.")] = None,
            workspace: Workspace = Path("."), json_out: JsonFlag = False) -> None:
    """Verdicts over time, and whether each recorded decision still holds.

    Each hypothesis x model verdict across every run of the workspace in time order, flips and endpoint drift
    marked, and each recorded decision's status against the latest evidence: holds, at risk (INCONCLUSIVE),
    contradicted (REFUTED), stale (the endpoint drifted, or no run for longer than decisions.stale_after).

    Example: roadtest history self-serve
    """
    result = api.decision_history(workspace, hypothesis, model)
    if json_out:
        _emit_json(result.as_dict())
        return
    for s in result.skipped:
        err.print(f"warning: run left out: {api.printable_text(s)}", markup=False)
    if not result.cells and not result.decisions:
        out.print("no runs with verdicts yet — next: roadtest run")
        return
    for cell in result.cells:
        marks = []
        for p in cell["points"]:
            tags = [t for t, on in (("flip", p["flip"]), ("drift", p["drift"])) if on]
            marks.append(f"{p['verdict']}" + (f" [{', '.join(tags).upper()}]" if tags else ""))
        rows = [[p["run_id"], (p["at"] or "")[:19], m, "; ".join(p["drift_reasons"])]
                for p, m in zip(cell["points"], marks)]
        caption = f"{cell['flips']} flip{'s' if cell['flips'] != 1 else ''}" + (
            "; the endpoint changed under the same name" if cell["drift"] else "")
        print_table(out, ["run", "started", "verdict", "endpoint drift"], rows,
                    title=f"{cell['hypothesis']} · {cell['model']}", caption=caption)
    if result.decisions:
        rows = [[d["id"], d["model"], f"{d['decided_by']}, {d['decided_at'][:10]}",
                 "superseded by " + d["superseded_by"] if d["superseded_by"] else STATUS_MARK[d["status"]],
                 d["status_reason"]] for d in result.decisions]
        print_table(out, ["decision", "model", "decided", "status", "why"], rows, title="Decisions")
    n = result.log["entries"]
    out.print(f"decision log: {n} entr{'y' if n == 1 else 'ies'}, head {result.log['head'][:16]}…")


@command
def gate(run_ref: Annotated[str, typer.Argument(help="Run id, run folder, or 'latest'.")] = "latest",
         workspace: Workspace = Path("."),
         junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: one test case per hypothesis x model.", dir_okay=False)] = None,
         summary: Annotated[Optional[Path], typer.Option("--summary", help="Write a Markdown summary here (default: $GITHUB_STEP_SUMMARY when set).", dir_okay=False)] = None,
         json_out: JsonFlag = False) -> None:
    """For CI: fail when a run contradicts a recorded decision or refutes a gate hypothesis.

    Exit 1 when the run contradicts a recorded decision (the chosen model is REFUTED) or refutes a
    `gate: true` hypothesis; 0 otherwise. INCONCLUSIVE is not a failure (the JUnit case is skipped); a model whose
    endpoint failed (NOT DECIDED) is an error case, never a refutation.

    Example: roadtest gate latest --junit gate.xml
    """
    archive = api.find_run(workspace, run_ref)
    for path, option in ((junit, "--junit"), (summary, "--summary")):
        if path is not None:
            _check_target(path, option)          # every output checked before the first is written
    step = os.environ.get("GITHUB_STEP_SUMMARY") if summary is None else None
    if step:
        try:
            _check_target(Path(step), "$GITHUB_STEP_SUMMARY")
        except RoadtestError as exc:          # the CI's file, not the caller's: say so, gate all the same
            err.print(f"warning: {api.printable_text(exc.message)}; no job summary written", markup=False)
            step = None
    result = api.gate_run(workspace, archive)
    if junit is not None:
        _write_text(junit, api.gate_junit(result), "--junit")
    if summary is not None or step:
        _write_text(summary or Path(step or ""), api.gate_summary(result),
                    "--summary" if summary is not None else "$GITHUB_STEP_SUMMARY", append=summary is None)
    if json_out:
        _emit_json({"run_id": result.run.run_id, "failed": result.failed,
                    "cases": [c.as_dict() for c in result.cases]})
    else:
        _print_gate(result)
    if result.failed:
        raise typer.Exit(1)


def _print_gate(result: Any) -> None:
    rows = [[c.hypothesis, c.model, c.verdict, c.outcome.upper() if c.blocks else c.outcome, c.message]
            for c in result.cases]
    print_table(out, ["hypothesis", "model", "verdict", "case", "evidence"], rows,
                title=f"Gate: {result.run.run_id}")
    blocking = [c for c in result.cases if c.blocks]
    if blocking:
        for c in blocking:
            err.print(f"GATE FAILED: {c.hypothesis} · {c.model}: {api.printable_text(c.message)}", markup=False)
    else:
        out.print("gate passed: no recorded decision is contradicted and no gate hypothesis is refuted")


def _check_target(path: Path, option: str) -> None:
    """A CI output file: never written through a link, nor as a folder, nor into a folder that is not there."""
    if path.is_symlink():
        raise RoadtestError(f"{option} {path} is a symbolic link", "name a plain file; roadtest does not write "
                            "through links")
    if path.exists() and not path.is_file():
        raise RoadtestError(f"{option} {path} is not a regular file", "name a file path")
    if not path.parent.is_dir():
        raise RoadtestError(f"{option} {path}: the folder {path.parent} does not exist", "create it first")


def _write_text(path: Path, text: str, option: str, append: bool = False) -> None:
    _check_target(path, option)
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise RoadtestError(f"{option} {path}: cannot write: {exc.strerror or exc}", "check the path") from None
