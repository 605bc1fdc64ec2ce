"""`roadtest decide`: what the meeting chose, on which evidence, written as decisions/<date>-<hypothesis>.md
(YAML front matter + the note as Markdown) and appended to the hash-chained decisions/log.jsonl.

Nothing is written unless everything checks: the log's chain, each run (it must verify and be one of the
workspace's own runs), the hypothesis and the model (both in the runs' verdicts), and a chosen model whose
verdict is not SUPPORTED needs a reason (`--against-evidence`), recorded as such."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from roadtest.archive.run_dir import RunArchive, find_run
from roadtest.decisions import log
from roadtest.decisions.evidence import RunVerdicts, hypothesis_digest, read_run
from roadtest.decisions.schema import DecisionRecord
from roadtest.decisions.status import clock
from roadtest.errors import RoadtestError
from roadtest.registry import did_you_mean

MAX_NAME = 200
MAX_NOTE = 20_000
MAX_REASON = 2_000


@dataclass(frozen=True)
class DecideRequest:
    hypothesis: str
    model: str
    runs: list[str]
    by: str
    note: str
    against_evidence: str | None = None


def _text(value: str, what: str, limit: int, lines: bool) -> str:
    """Text a person typed: printable (newlines and tabs allowed where `lines`), not empty, bounded."""
    value = value.strip()
    if not value:
        raise RoadtestError(f"{what} is empty", f"say {'who decided' if what == '--by' else 'why'} in a few words")
    if len(value) > limit:
        raise RoadtestError(f"{what} is {len(value):,} characters, more than {limit:,}",
                            "keep the record short; link to longer material from the note")
    allowed = "\n\t" if lines else ""
    bad = sorted({repr(c) for c in value if (not c.isprintable() and c not in allowed)
                  or 0xD800 <= ord(c) <= 0xDFFF})
    if bad:
        raise RoadtestError(f"{what} holds control characters ({', '.join(bad[:5])})",
                            "write plain text; the record is shown in terminals and documents")
    return value


def evidence_runs(root: Path, runs_dir: Path, refs: list[str], verify_runs: bool = True) -> list[RunVerdicts]:
    """The runs named, each one of the workspace's own and verifying, oldest first."""
    from roadtest.archive.verify import verify

    if not refs:
        raise RoadtestError("a decision needs its evidence: at least one --run", "e.g. --run latest")
    archives: dict[Path, RunArchive] = {}
    inside = runs_dir.resolve()
    for ref in refs:
        archive = find_run(runs_dir, ref)
        if archive.path.resolve().parent != inside or archive.path.is_symlink():
            raise RoadtestError(f"run {archive.run_id} ({archive.path}) is not one of this workspace's runs "
                                f"({runs_dir})", "a decision rests on the workspace's own runs: copy the archive "
                                "into its runs folder, then decide")
        archives[archive.path.resolve()] = archive
    runs = []
    for archive in archives.values():
        if verify_runs:
            result = verify(archive, root if (root / "roadtest.yaml").is_file() else None)
            if not result.ok:
                raise RoadtestError(f"run {archive.run_id} does not verify: {result.mismatches[0]}" + (
                    f" (and {len(result.mismatches) - 1} more)" if len(result.mismatches) > 1 else ""),
                    f"`roadtest verify {archive.run_id}` lists every mismatch; a decision cannot rest on it")
        runs.append(read_run(archive))
    return sorted(runs, key=lambda r: (r.when, r.run_id))


def considered(runs: list[RunVerdicts], hypothesis: str) -> dict[str, tuple[RunVerdicts, Any]]:
    """model -> (the newest run whose verdict on the hypothesis is evidence, that verdict's cell). A NOT DECIDED
    (an outage), NOT RUN or NOT APPLICABLE cell never replaces an earlier deciding one; it stands only when the
    runs hold nothing else for the model."""
    from roadtest.decisions.status import DECIDING

    out: dict[str, tuple[RunVerdicts, Any]] = {}
    for run in runs:
        for (hid, model), cell in run.cells.items():
            if hid == hypothesis and (cell.verdict in DECIDING or model not in out
                                      or out[model][1].verdict not in DECIDING):
                out[model] = (run, cell)
    return out


def newer_evidence(runs_dir: Path, record: dict[str, Any]) -> list[str]:
    """Runs of the workspace newer than the decision's evidence whose deciding verdict on the chosen model
    differs: said when the decision is recorded, so nobody decides on old evidence without knowing."""
    from roadtest.decisions.evidence import workspace_runs
    from roadtest.decisions.status import DECIDING

    key = (record["hypothesis"], record["model"])
    given = {r["run_id"] for r in record["runs"]}
    found = workspace_runs(runs_dir).runs
    newest = max((r.when for r in found if r.run_id in given), default=None)
    out = []
    for run in found:
        cell = run.cells.get(key)
        if run.run_id not in given and newest is not None and run.when > newest and cell \
                and cell.verdict in DECIDING \
                and cell.verdict != record["verdict"]:
            out.append(f"run {run.run_id}, newer than the evidence, has {record['model']} {cell.verdict} on "
                       f"{record['hypothesis']}: {cell.evidence}")
    return out


def _claims(spec: dict[str, Any]) -> list[str]:
    from roadtest.spec.hypothesis import Criterion, claim_text

    out = []
    for c in spec.get("criteria", []):
        try:
            crit = Criterion.model_validate(c)
            out.append(f"{crit.scenario} · {crit.metric} {claim_text(crit.direction, crit.threshold, crit.baseline)}")
        except Exception:  # noqa: BLE001 - an older archive's criterion: kept as written
            out.append(str(c))
    return out


def build_record(req: DecideRequest, runs: list[RunVerdicts], decided_at: str,
                 supersedes: str | None) -> dict[str, Any]:
    hypotheses = sorted({h for r in runs for h in r.titles})
    if req.hypothesis not in hypotheses:
        raise RoadtestError(f"no run given holds hypothesis '{req.hypothesis}'",
                            did_you_mean(req.hypothesis, hypotheses) or "name a hypothesis the runs tested")
    cells = considered(runs, req.hypothesis)
    if req.model not in cells:
        raise RoadtestError(f"no run given holds model '{req.model}' on {req.hypothesis}",
                            did_you_mean(req.model, sorted(cells)) or "name a model the runs called")
    run, cell = cells[req.model]
    reason = None
    if cell.verdict != "SUPPORTED":
        if not req.against_evidence:
            raise RoadtestError(
                f"{req.model} is {cell.verdict} on {req.hypothesis} (run {run.run_id}), not SUPPORTED: {cell.evidence}",
                "deciding for it anyway is recorded as a decision against the evidence: give the reason with "
                "--against-evidence \"...\"")
        reason = _text(req.against_evidence, "--against-evidence", MAX_REASON, lines=True)
    elif req.against_evidence:
        raise RoadtestError(f"{req.model} is SUPPORTED on {req.hypothesis}: this decision is not against the "
                            "evidence", "drop --against-evidence")
    spec = run.specs.get(req.hypothesis, {})
    return {
        "hypothesis": req.hypothesis, "hypothesis_title": run.titles[req.hypothesis],
        "hypothesis_text": spec.get("body", ""), "criteria": _claims(spec), "hypothesis_sha256": hypothesis_digest(spec),
        "model": req.model, "verdict": cell.verdict, "evidence": cell.evidence, "evidence_run": run.run_id,
        "against_evidence": reason,
        "alternatives": [{"model": m, "verdict": c.verdict, "evidence": c.evidence, "run": r.run_id}
                         for m, (r, c) in sorted(cells.items()) if m != req.model],
        "runs": [{"run_id": r.run_id, "fingerprint": r.fingerprint, "started_at": r.started_at,
                  "finished_at": r.finished_at, "sha256": dict(sorted(r.sources.items()))} for r in runs],
        "endpoints": {m: r.endpoints.get(m, {}) for m, (r, _) in sorted(cells.items())},
        "decided_by": _text(req.by, "--by", MAX_NAME, lines=False), "decided_at": decided_at,
        "note": _text(req.note, "--note", MAX_NOTE, lines=True), "supersedes": supersedes,
        "commands": [c for r in runs for c in (f"roadtest verify {r.run_id}", f"roadtest replay {r.run_id}",
                                               f"roadtest rerun {r.run_id}")],
    }


def _front_matter(record: dict[str, Any]) -> str:
    shown = {k: v for k, v in record.items() if k != "note"}
    return yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=100)


def render_file(decision_id: str, record: dict[str, Any]) -> bytes:
    text = (f"---\nid: {decision_id}\n{_front_matter(record)}---\n\n"
            f"# Decision: {record['model']} for {record['hypothesis']}\n\n{record['note']}\n")
    return text.encode("utf-8")


def _file_name(folder: Path, date: str, hypothesis: str) -> str:
    stem = f"{date}-{hypothesis}"
    name, n = f"{stem}.md", 1
    while (folder / name).exists() or (folder / name).is_symlink():
        n += 1
        name = f"{stem}-{n}.md"
    return name


def _write_new(path: Path, data: bytes) -> None:
    """A new file, never over an existing name or through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def decide(root: Path, runs_dir: Path, req: DecideRequest) -> dict[str, Any]:
    """Check everything, then write the decision file and its log entry; returns the entry (with `warnings`:
    newer runs whose verdict on the chosen model differs)."""
    from roadtest.decisions.commands import settings

    settings(root)
    log.intact_chain(root)
    runs = evidence_runs(root, runs_dir, req.runs)
    now = clock()
    stamp = now.isoformat(timespec="milliseconds")
    build_record(req, runs, stamp, None)          # every input checked before anything is written
    with log.locked(root) as folder:
        chain = log.intact_chain(root)
        old = next((e.id for e in reversed(chain.active()) if e.record["hypothesis"] == req.hypothesis), None)
        record = build_record(req, runs, stamp, old)
        DecisionRecord.model_validate(record)       # never write a record the log would refuse to read
        name = _file_name(folder, now.date().isoformat(), req.hypothesis)
        decision_id = name.removesuffix(".md")
        data = render_file(decision_id, record)
        _write_new(folder / name, data)
        entry = log.new_entry(chain, decision_id, name, data, record, old)
        try:
            log.append(folder, entry)
        except BaseException:
            os.unlink(folder / name)
            raise
    return {**entry, "path": str(folder / name), "warnings": newer_evidence(runs_dir, record)}


@dataclass
class RecordCheck:
    """`roadtest verify --decisions`: the chain, then every run a decision rests on."""

    entries: int = 0
    head: str = log.GENESIS
    runs: list[str] = field(default_factory=list)
    """The runs that verified."""
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def check_record(root: Path, runs_dir: Path) -> RecordCheck:
    from roadtest.archive.verify import verify

    chain = log.read_chain(root)
    out = RecordCheck(entries=len(chain.entries), head=chain.head, mismatches=list(chain.problems))
    verified: dict[str, bool] = {}
    for entry in chain.entries:
        for run in entry.record.get("runs", []):
            run_id = str(run.get("run_id"))
            where = f"{log.LOG_NAME}:{entry.line}: decision {entry.id}: run {run_id}"
            path = runs_dir / run_id
            if "/" in run_id or run_id.startswith(".") or not (path / "manifest.json").is_file():
                out.mismatches.append(f"{where} is not in {runs_dir}")
                continue
            archive = RunArchive(path)
            try:
                manifest = archive.manifest_record()
            except RoadtestError as exc:
                out.mismatches.append(f"{where}: {exc.message}")
                continue
            if manifest.fingerprint != run.get("fingerprint"):
                out.mismatches.append(f"{where}: its fingerprint is {manifest.fingerprint[:12]}…, "
                                      f"the decision recorded {str(run.get('fingerprint'))[:12]}…")
            for name, digest in (run.get("sha256") or {}).items():
                if manifest.files.get(name) != digest:
                    out.mismatches.append(f"{where}: its {name} is not the one the decision rests on (sha256 "
                                          f"{str(manifest.files.get(name))[:12]}…, recorded {digest[:12]}…)")
            if run_id not in verified:
                result = verify(archive, root if (root / "roadtest.yaml").is_file() else None)
                verified[run_id] = result.ok
                out.mismatches += [f"{runs_dir.name}/{run_id}: {m}" for m in result.mismatches]
                if result.ok:
                    out.runs.append(run_id)
    return out
