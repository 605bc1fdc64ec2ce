"""What the decision document shows of the decision record: every decision with its status against the
document's run(s), and each hypothesis x model verdict over the workspace's runs.

Written into the run folder as decisions.json when the document is written, so that `replay` renders the same
Decisions section byte for byte from the archive alone; `report` takes a fresh one from the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from roadtest.decisions import log
from roadtest.decisions.evidence import RunVerdicts, workspace_runs
from roadtest.decisions.schema import Record, finite_json
from roadtest.decisions.status import cell_histories, decision_rows

if TYPE_CHECKING:
    from roadtest.archive.run_dir import RunArchive

SNAPSHOT = "decisions.json"
VERSION = 1


def snapshot(root: Path, runs_dir: Path, these: list[RunVerdicts]) -> dict[str, Any] | None:
    """None when the workspace has no decisions/ folder (or its log is empty); BrokenChain when the log does
    not prove itself (a document never shows a record that does not)."""
    folder = log.check_folder(root)
    if not folder.is_dir():
        return None
    chain = log.intact_chain(root)
    if not chain.entries:
        return None
    ids = {r.run_id for r in these}
    known = workspace_runs(runs_dir).runs
    runs = sorted({r.run_id: r for r in [*known, *these]}.values(), key=lambda r: (r.when, r.run_id))
    rows = decision_rows(chain, these, None)
    cells = {(d["hypothesis"], d["model"]) for d in rows}
    cells |= {key for r in these for key in r.cells}
    histories = [h for h in cell_histories(runs) if (h.hypothesis, h.model) in cells]
    return Snapshot.model_validate({
        "version": VERSION,
        "log": {"entries": len(chain.entries), "head": chain.head},
        "decisions": rows,
        "timeline": {
            "runs": [{"run_id": r.run_id, "at": r.at, "this": r.run_id in ids} for r in runs],
            "cells": [{"hypothesis": h.hypothesis, "model": h.model,
                       "points": [{k: p.as_dict()[k] for k in ("run_id", "at", "verdict", "flip", "drift")}
                                  for p in h.points]} for h in histories],
            "decisions": [{"id": d["id"], "hypothesis": d["hypothesis"], "model": d["model"], "at": d["decided_at"]}
                          for d in rows],
        },
    }).model_dump(mode="json")


MAX_SNAPSHOT_BYTES = 16 << 20


def archived_snapshot(archive: RunArchive) -> dict[str, Any] | None:
    """The snapshot kept in a run folder (None when there is none). Archives come from other people: it must be
    the file the manifest records, and of the shape a snapshot has, or nothing is shown from it."""
    import hashlib

    from pydantic import ValidationError

    from roadtest.archive.files import read_bytes
    from roadtest.errors import AlteredArchive

    path = archive.path / SNAPSHOT
    recorded = archive.manifest_record().files.get(SNAPSHOT)
    if not path.exists() and not path.is_symlink():
        return None
    try:
        raw = read_bytes(path, MAX_SNAPSHOT_BYTES)
        if recorded is None or hashlib.sha256(raw).hexdigest() != recorded:
            raise ValueError("it is not the file the manifest records")
        return Snapshot.model_validate(finite_json(raw)).model_dump(mode="json")
    except (OSError, ValueError, ValidationError, RecursionError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise AlteredArchive(f"{path}: the decision record kept with the run cannot be shown: {reason[:200]}",
                             f"delete it, then `roadtest report {archive.run_id}` takes a fresh one from the "
                             "workspace's decisions/") from None


class Alternative(Record):
    model: str
    """A model the decision considered and did not choose."""
    verdict: str
    """Its verdict in the evidence at decision time."""
    evidence: str
    """The sentence the document gave as its evidence."""


class DecisionShown(Record):
    """One recorded decision as the document shows it, with its status against the document's run(s)."""

    id: str
    hypothesis: str
    hypothesis_title: str
    model: str
    """The chosen model."""
    decided_at: str
    decided_by: str
    note: str
    """The deciders' note (Markdown; rendered with raw HTML disabled)."""
    against_evidence: str | None
    """Why the model was chosen although its verdict was not SUPPORTED (None: it was)."""
    verdict: str
    """The chosen model's verdict in the evidence at decision time."""
    alternatives: list[Alternative]
    runs: list[str]
    """The evidence runs."""
    supersedes: str | None
    superseded_by: str | None
    status: Literal["holds", "at risk", "contradicted", "stale", "not run", "not decided"]
    status_reason: str
    status_run: str | None
    """The run the status rests on."""
    verdict_now: str | None
    """The chosen model's verdict in that run."""
    drift: list[str]
    """What changed under the model's name since the decision."""


class RunShown(Record):
    run_id: str
    at: str
    this: bool
    """The run (or one of the runs) of this document."""


class PointShown(Record):
    run_id: str
    at: str
    verdict: str
    flip: bool
    drift: bool


class CellShown(Record):
    hypothesis: str
    model: str
    points: list[PointShown]


class DecisionMark(Record):
    id: str
    hypothesis: str
    model: str
    at: str


class Timeline(Record):
    runs: list[RunShown]
    cells: list[CellShown]
    decisions: list[DecisionMark]


class LogHead(Record):
    entries: int
    head: str
    """sha256 of the log's last entry: a copy of it elsewhere anchors the chain."""


class Snapshot(Record):
    """decisions.json: the decision record as a decision document shows it (version 1)."""

    version: Literal[1]
    log: LogHead
    decisions: list[DecisionShown]
    timeline: Timeline
