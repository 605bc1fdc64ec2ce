"""Does a recorded decision still hold? Each hypothesis x model verdict across the workspace's runs in time
order (flips and endpoint drift marked), and each decision's status against the latest evidence or one run.

Statuses: holds (still SUPPORTED), at risk (INCONCLUSIVE), contradicted (REFUTED), stale (the endpoint changed
under the model's name since the decision, or no run of it for longer than `decisions.stale_after`), not run
(no run holds the cell), not decided (its endpoint failed: an outage is not evidence, so the last verdict before
it stands, and the status says so). Contradicted comes first: a REFUTED verdict is news even on a drifted model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from roadtest.decisions.evidence import RunVerdicts, drifted
from roadtest.decisions.log import Chain, Entry
from roadtest.decisions.schema import utc_time

DECIDING = ("SUPPORTED", "REFUTED", "INCONCLUSIVE")
"""The verdicts that are evidence (NOT DECIDED is an outage, NOT APPLICABLE / NOT RUN say nothing)."""
STATUS_OF = {"SUPPORTED": "holds", "INCONCLUSIVE": "at risk", "REFUTED": "contradicted"}
STATUSES = ("holds", "at risk", "contradicted", "stale", "not run", "not decided")


def clock() -> datetime:
    """Now, in UTC (one place, so a test can set the time)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Point:
    run_id: str
    at: str
    verdict: str
    evidence: str
    flip: bool
    """The verdict differs from the last deciding verdict before it (NOT DECIDED runs are skipped over)."""
    drift: list[str]
    """What changed under the model's name since the run before it that called the model."""

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "at": self.at, "verdict": self.verdict, "evidence": self.evidence,
                "flip": self.flip, "drift": bool(self.drift), "drift_reasons": self.drift}


@dataclass(frozen=True)
class CellHistory:
    hypothesis: str
    title: str
    model: str
    points: list[Point]

    @property
    def flips(self) -> int:
        return sum(p.flip for p in self.points)

    def as_dict(self) -> dict[str, Any]:
        return {"hypothesis": self.hypothesis, "title": self.title, "model": self.model, "flips": self.flips,
                "drift": any(p.drift for p in self.points), "points": [p.as_dict() for p in self.points]}


def cell_histories(runs: list[RunVerdicts], hypothesis: str | None = None) -> list[CellHistory]:
    """Every hypothesis x model cell across `runs` (oldest first)."""
    keys: dict[tuple[str, str], str] = {}
    for run in runs:
        for (hid, model) in run.cells:
            if hypothesis is None or hid == hypothesis:
                keys.setdefault((hid, model), run.titles[hid])
    out = []
    for (hid, model), title in sorted(keys.items()):
        points, last_verdict, last_identity = [], None, None
        for run in runs:
            identity = run.endpoints.get(model)
            if (hid, model) in run.cells:
                cell = run.cells[hid, model]
                flip = cell.verdict in DECIDING and last_verdict is not None and cell.verdict != last_verdict
                points.append(Point(run.run_id, run.at, cell.verdict, cell.evidence, flip,
                                    drifted(model, last_identity, identity)))
                if cell.verdict in DECIDING:
                    last_verdict = cell.verdict
            if identity and model in run.models:
                last_identity = identity
        out.append(CellHistory(hid, title, model, points))
    return out


@dataclass(frozen=True)
class Status:
    status: str
    reason: str
    run_id: str | None
    """The run the status rests on (None when no run holds the cell)."""
    verdict: str | None
    drift: list[str] = field(default_factory=list)


def _drift_since(decision: dict[str, Any], run: RunVerdicts) -> list[str]:
    model = decision["model"]
    return drifted(model, decision.get("endpoints", {}).get(model), run.endpoints.get(model))


def status_against(decision: dict[str, Any], runs: list[RunVerdicts], stale_after_s: float | None,
                   now: datetime | None = None) -> Status:
    """The decision against the newest of `runs` that holds its cell with a deciding verdict (one run: the
    status against that run). `stale_after_s` None: age is not judged (the status against one given run)."""
    key = (decision["hypothesis"], decision["model"])
    holding = [r for r in runs if key in r.cells]
    if not holding:
        decided = utc_time(decision["decided_at"])
        age = ((now or clock()) - decided).total_seconds() if decided else 0.0
        if stale_after_s is not None and age > stale_after_s:
            return Status("stale", f"no run here holds {decision['model']} on {decision['hypothesis']}, and the "
                                   f"decision is {_span(age)} old (decisions.stale_after is {_span(stale_after_s)})",
                          None, None)
        return Status("not run", f"no run here holds {decision['model']} on {decision['hypothesis']}", None, None)
    deciding = [r for r in holding if r.cells[key].verdict in DECIDING]
    if not deciding:
        last = holding[-1]
        return Status("not decided", f"{last.run_id}: {last.cells[key].evidence}", last.run_id,
                      last.cells[key].verdict)
    run = deciding[-1]
    cell = run.cells[key]
    outage = f" (later runs did not decide it: {', '.join(r.run_id for r in holding if r.when > run.when)})" \
        if holding[-1] is not run else ""
    moved = _drift_since(decision, run)
    changed = hypothesis_changed(decision, run)
    if cell.verdict == "REFUTED":
        return Status("contradicted", f"{run.run_id}: {cell.evidence}{outage}" + (
            f"; the endpoint changed under the same name: {'; '.join(moved)}" if moved else "") + (
            f"; {changed}" if changed else ""), run.run_id, cell.verdict, moved)
    if changed:
        return Status("stale", f"{run.run_id}: {changed}, so its verdict ({cell.verdict}) is about another claim",
                      run.run_id, cell.verdict, moved)
    if moved:
        return Status("stale", f"{run.run_id}: the endpoint changed under the same name since the decision: "
                               f"{'; '.join(moved)}", run.run_id, cell.verdict, moved)
    finished = utc_time(run.finished_at or run.at)
    if stale_after_s is not None and finished is not None:
        age = ((now or clock()) - finished).total_seconds()
        if age > stale_after_s:
            return Status("stale", f"no run of {decision['model']} on {decision['hypothesis']} for "
                                   f"{_span(age)} (the last: {run.run_id}; decisions.stale_after is "
                                   f"{_span(stale_after_s)})", run.run_id, cell.verdict)
    return Status(STATUS_OF[cell.verdict], f"{run.run_id}: {cell.evidence}{outage}", run.run_id, cell.verdict)


def hypothesis_changed(decision: dict[str, Any], run: RunVerdicts) -> str | None:
    """Said when the run tested the hypothesis in another form than the decision rests on."""
    from roadtest.decisions.evidence import hypothesis_digest

    spec = run.specs.get(decision["hypothesis"])
    if not spec or not decision.get("hypothesis_sha256") or hypothesis_digest(spec) == decision["hypothesis_sha256"]:
        return None
    return "the hypothesis changed since the decision (its text or criteria differ from what the decision rests on)"


def _span(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def decision_rows(chain: Chain, runs: list[RunVerdicts], stale_after_s: float | None, now: datetime | None = None,
                  hypothesis: str | None = None) -> list[dict[str, Any]]:
    """Every recorded decision (superseded ones marked) with its status against `runs`."""
    replaced = chain.superseded_by()
    out = []
    for entry in chain.entries:
        record = entry.record
        if hypothesis is not None and record["hypothesis"] != hypothesis:
            continue
        st = status_against(record, runs, stale_after_s, now)
        out.append(decision_row(entry, st, replaced.get(entry.id)))
    return out


def decision_row(entry: Entry, st: Status, superseded_by: str | None) -> dict[str, Any]:
    r = entry.record
    return {"id": entry.id, "hypothesis": r["hypothesis"], "hypothesis_title": r["hypothesis_title"],
            "model": r["model"], "decided_at": r["decided_at"], "decided_by": r["decided_by"], "note": r["note"],
            "against_evidence": r["against_evidence"], "verdict": r["verdict"],
            "alternatives": [{k: a[k] for k in ("model", "verdict", "evidence")} for a in r["alternatives"]],
            "runs": [x["run_id"] for x in r["runs"]], "supersedes": entry.data["supersedes"],
            "superseded_by": superseded_by, "status": st.status, "status_reason": st.reason,
            "status_run": st.run_id, "verdict_now": st.verdict, "drift": st.drift}
