"""The workspace's decision record as the document shows it: each recorded decision with its status against this
run, the log's length and head hash, and the verdict of every (hypothesis, model) cell over time.

The snapshot (decisions.json in the run folder, see roadtest.decisions) is data from other people: every string
is escaped by the templates, and a decision's note is rendered by `render_markdown` (raw HTML off) only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from markupsafe import Markup

from roadtest.report import charts
from roadtest.report.hypothesis_view import Badge, badge
from roadtest.report.markdown import render_markdown

STATUSES = {
    "holds": ("holds", "✓", "still SUPPORTED in this run"),
    "at risk": ("atrisk", "?", "INCONCLUSIVE in this run"),
    "contradicted": ("contradicted", "×", "REFUTED in this run"),
    "stale": ("stale", "~", "the endpoint drifted, or no run for longer than decisions.stale_after"),
    "not run": ("notrun", "–", "the decided model is not in this run"),
    "not decided": ("notdecided", "!", "its endpoint failed in this run"),
}
"""status -> (css class, symbol, what it means): the symbol and the word read without colour."""
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Status:
    label: str
    css: str
    symbol: str


def _records(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list from the snapshot (anything else in it is left out)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    """A mapping from the snapshot, or an empty one when it is anything else."""
    return value if isinstance(value, dict) else {}


def status(label: str) -> Status:
    css, symbol, _ = STATUSES.get(label, ("notrun", "–", ""))
    return Status(label, css, symbol)


def when(iso: str | None) -> str:
    """An ISO time as the document prints it: '2026-12-01 10:00 UTC' (the text itself when it is not one)."""
    at = parse_time(iso)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else str(iso or "—")


def parse_time(iso: str | None) -> datetime | None:
    """An ISO time in UTC (a time without a zone is taken as UTC); None when it is not one."""
    try:
        at = datetime.fromisoformat(str(iso))
    except (TypeError, ValueError):
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


@dataclass(frozen=True)
class Alternative:
    model: str
    verdict: Badge
    evidence: str


@dataclass(frozen=True)
class DecisionEntry:
    id: str
    hypothesis: str
    hypothesis_title: str
    model: str
    decided_by: str
    decided_at: str
    note: Markup
    against_evidence: str | None
    verdict: Badge
    """The chosen model's verdict in the evidence at decision time."""
    alternatives: list[Alternative]
    runs: list[str]
    supersedes: str | None
    superseded_by: str | None
    status: Status
    """The status against this run, or 'superseded' for a decision a newer one replaced."""
    status_reason: str
    verdict_now: Badge | None
    """The decided model's verdict in this run (None when it is not in it)."""

    @property
    def superseded(self) -> bool:
        return self.superseded_by is not None


@dataclass(frozen=True)
class CurrentDecision:
    """Page 1: the decision in force for a hypothesis and how it stands against this run."""

    id: str
    model: str
    decided_by: str
    decided_at: str
    status: Status
    status_reason: str


@dataclass(frozen=True)
class DecisionsView:
    entries: list[DecisionEntry]
    log_entries: str
    log_head: str
    chart: Markup | None
    rows: list[str]
    """The chart's rows, top to bottom: 'hypothesis · model'."""
    runs: list[str]
    """The runs the chart shows, oldest first."""
    this_run: list[str]


def decision_entry(d: dict[str, Any]) -> DecisionEntry:
    superseded_by = d.get("superseded_by") or None
    now = d.get("verdict_now")
    return DecisionEntry(
        id=str(d.get("id", "")), hypothesis=str(d.get("hypothesis", "")),
        hypothesis_title=str(d.get("hypothesis_title") or d.get("hypothesis", "")), model=str(d.get("model", "")),
        decided_by=str(d.get("decided_by") or "—"), decided_at=when(d.get("decided_at")),
        note=render_markdown(str(d.get("note") or "")), against_evidence=d.get("against_evidence") or None,
        verdict=badge(str(d.get("verdict", "NOT RUN"))),
        alternatives=[Alternative(str(a.get("model", "")), badge(str(a.get("verdict", "NOT RUN"))),
                                  str(a.get("evidence") or "")) for a in _records(d.get("alternatives"))],
        runs=[str(r) for r in d.get("runs") or [] if isinstance(r, str)], supersedes=d.get("supersedes") or None,
        superseded_by=superseded_by,
        status=Status(SUPERSEDED, SUPERSEDED, "»") if superseded_by else status(str(d.get("status", ""))),
        status_reason=(f"replaced by decision {superseded_by}, the one in force" if superseded_by
                       else str(d.get("status_reason") or "")),
        verdict_now=badge(str(now)) if now else None)


def current_decisions(snapshot: dict[str, Any] | None, hypothesis: str) -> list[CurrentDecision]:
    """The decisions in force (not superseded) for one hypothesis, oldest first."""
    out = []
    for d in _records((snapshot or {}).get("decisions")):
        if d.get("hypothesis") == hypothesis and not d.get("superseded_by"):
            out.append(CurrentDecision(str(d.get("id", "")), str(d.get("model", "")), str(d.get("decided_by") or "—"),
                                       when(d.get("decided_at")), status(str(d.get("status", ""))),
                                       str(d.get("status_reason") or "")))
    return out


def timeline_rows(timeline: dict[str, Any]) -> list[charts.TimelineRow]:
    """One row per (hypothesis, model) cell of the timeline, then one per decided cell no run had."""
    decided: dict[tuple[str, str], list[datetime]] = {}
    for d in _records(timeline.get("decisions")):
        at = parse_time(d.get("at"))
        if at is not None:
            decided.setdefault((str(d.get("hypothesis", "")), str(d.get("model", ""))), []).append(at)
    cells: dict[tuple[str, str], list[charts.TimelinePoint]] = {}
    for cell in _records(timeline.get("cells")):
        points = [charts.TimelinePoint(at, str(p.get("verdict", "NOT RUN")), bool(p.get("flip")), bool(p.get("drift")))
                  for p in _records(cell.get("points")) if (at := parse_time(p.get("at"))) is not None]
        cells.setdefault((str(cell.get("hypothesis", "")), str(cell.get("model", ""))), points)
    keys = list(cells) + [k for k in decided if k not in cells]
    return [charts.TimelineRow(f"{h} · {m}", cells.get((h, m), []), tuple(decided.get((h, m), [])))
            for h, m in keys]


def decisions_view(snapshot: dict[str, Any]) -> DecisionsView:
    timeline = _mapping(snapshot.get("timeline"))
    timed = [(r, at) for r in _records(timeline.get("runs")) if (at := parse_time(r.get("at"))) is not None]
    runs = [r for r, _ in timed]
    rows = timeline_rows(timeline)
    this = [at for r, at in timed if r.get("this")]
    log = _mapping(snapshot.get("log"))
    entries = log.get("entries")
    return DecisionsView(
        entries=[decision_entry(d) for d in _records(snapshot.get("decisions"))],
        log_entries=f"{entries:,}" if isinstance(entries, int) else "—", log_head=str(log.get("head") or "—"),
        chart=charts.verdict_timeline(rows, [at for _, at in timed], this),
        rows=[r.label for r in rows], runs=[str(r.get("run_id", "")) for r in runs],
        this_run=[str(r.get("run_id", "")) for r in runs if r.get("this")])
