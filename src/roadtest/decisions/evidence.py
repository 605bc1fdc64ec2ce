"""The evidence a decision rests on: each run archive's verdicts, read from its verdicts.json after checking that
file against the sha256 its manifest records, with the endpoint identity of every model (to see drift)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from roadtest.archive.canonical import canonical_json, fingerprint
from roadtest.archive.files import read_bytes, sha256_file
from roadtest.archive.run_dir import MANIFEST, PLAN, TRIALS, RunArchive
from roadtest.archive.schema import Manifest
from roadtest.compare import MODEL_ENTRY_KEYS, drift
from roadtest.decisions.schema import Identity, Verdict, finite_json, utc_time
from roadtest.errors import RoadtestError
from roadtest.spec.base import Ident

VERDICTS = "verdicts.json"
MAX_VERDICTS_BYTES = 64 << 20
DRIFT_KEYS = ("gguf_sha256", "models_entry", "served")
"""The parts of an endpoint's identity that say which model answered under its name."""


@dataclass(frozen=True)
class Cell:
    """One (hypothesis, model) verdict of one run, with the sentence the document gives as its evidence."""

    verdict: str
    evidence: str


@dataclass(frozen=True)
class RunVerdicts:
    run_id: str
    path: Path
    started_at: str
    finished_at: str
    fingerprint: str
    sources: dict[str, str]
    """sha256 of trials.jsonl and plan.jsonl, as the manifest records them (the archive's record; derived files
    may be written again, these never are)."""
    cells: dict[tuple[str, str], Cell]
    titles: dict[str, str]
    gates: dict[str, bool]
    specs: dict[str, Any]
    """Each hypothesis as the run tested it (the archived configuration)."""
    endpoints: dict[str, dict[str, Any]]
    """Per model, the endpoint identity that says which model answered (DRIFT_KEYS)."""
    models: list[str] = field(default_factory=list)

    @property
    def at(self) -> str:
        return self.started_at or self.finished_at

    @property
    def when(self) -> datetime:
        """When the run started, for ordering (archives with no readable time sort first)."""
        return utc_time(self.at) or datetime.min.replace(tzinfo=timezone.utc)

    def hypotheses(self) -> list[str]:
        return list(self.titles)


def identity(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The parts of a manifest's endpoint entry that name what answered (validated: they come from archives)."""
    out = {k: endpoint[k] for k in DRIFT_KEYS if k in endpoint}
    if isinstance(out.get("models_entry"), dict):
        out["models_entry"] = {k: v for k, v in out["models_entry"].items() if k in MODEL_ENTRY_KEYS}
    return Identity.model_validate(out).model_dump(exclude_unset=True)


def drifted(model: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What changed under the model's name between two endpoint identities (empty when nothing did)."""
    if not before or not after:
        return []
    return drift({"endpoints": {model: before}}, {"endpoints": {model: after}})


def read_run(archive: RunArchive, check_sources: bool = False) -> RunVerdicts:
    """A finished run's verdicts; RoadtestError when it has none, its verdicts.json is not the one recorded or not
    of the shape roadtest writes, or (`check_sources`) its trials, plan or configuration changed after the run."""
    manifest = archive.manifest_record()
    if manifest.shard is not None:   # a slice of a run: its verdicts are of part of the evidence
        raise RoadtestError(f"run {archive.run_id} is shard {manifest.shard.index}/{manifest.shard.count} of a run: "
                            "its verdicts are of its slice of the plan alone, not a decision",
                            "merge the shards (`roadtest merge`) and decide on the merged run")
    recorded = manifest.files
    path = archive.path / VERDICTS
    if VERDICTS not in recorded or not path.is_file():
        raise RoadtestError(f"run {archive.run_id} has no verdicts (status {manifest.status})",
                            f"finish it (`roadtest run --resume {archive.run_id}`) or derive them "
                            f"(`roadtest replay {archive.run_id}`)")
    try:
        raw = read_bytes(path, MAX_VERDICTS_BYTES)
    except (OSError, ValueError) as exc:
        raise RoadtestError(f"{path}: cannot be read: {exc}", f"`roadtest replay {archive.run_id}` writes it again")
    if hashlib.sha256(raw).hexdigest() != recorded[VERDICTS]:
        raise RoadtestError(f"run {archive.run_id}: verdicts.json does not match the sha256 its manifest records",
                            f"`roadtest replay {archive.run_id}` derives it again from the archived responses")
    if check_sources:
        altered = [n for n in (TRIALS, PLAN) if n in recorded and sha256_file(archive.path / n) != recorded[n]]
        if altered or fingerprint(manifest.config.dump()) != manifest.fingerprint:
            raise RoadtestError(f"run {archive.run_id} does not verify: "
                                + (f"{', '.join(altered)} changed after the run" if altered
                                   else "its configuration does not hash to its fingerprint"),
                                f"`roadtest verify {archive.run_id}` names every mismatch")
    try:
        return _cells(archive, manifest, recorded, finite_json(raw))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, ValidationError) as exc:
        raise RoadtestError(f"run {archive.run_id}: verdicts.json or the manifest is not what roadtest writes "
                            f"({type(exc).__name__}: {str(exc)[:160]})",
                            f"`roadtest replay {archive.run_id}` derives the verdicts again from the archived "
                            "responses") from None


def _cells(archive: RunArchive, manifest: Manifest, recorded: dict[str, str],
           verdicts: dict[str, Any]) -> RunVerdicts:
    from roadtest.report.hypothesis_view import evidence_sentence
    from roadtest.spec.metrics import METRICS

    VerdictsFile.model_validate(verdicts)
    config = manifest.config
    units = {m: i.unit for m, i in METRICS.items()}
    cells, titles, gates, specs = {}, {}, {}, {}
    for h in verdicts["hypotheses"]:
        titles[h["id"]] = h["title"]
        gates[h["id"]] = bool(h.get("gate"))
        entry = config.hypotheses.get(h["id"])
        specs[h["id"]] = dict(entry.spec) if entry is not None else {}
        for model, entry in h["models"].items():
            cells[h["id"], model] = Cell(entry["verdict"], evidence_sentence(model, entry, units))
    return RunVerdicts(
        run_id=archive.run_id, path=archive.path, started_at=manifest.started_at or "",
        finished_at=manifest.finished_at or "", fingerprint=manifest.fingerprint,
        sources={k: recorded[k] for k in (TRIALS, PLAN) if k in recorded}, cells=cells, titles=titles, gates=gates,
        specs=specs, endpoints={m: identity(e) for m, e in manifest.endpoints.items()},
        models=list(config.selection.models))


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True)


class CellFile(_Strict):
    verdict: Verdict
    criteria: list[dict[StrictStr, Any]]
    not_decided: list[StrictStr] = []


class HypothesisFile(_Strict):
    id: Ident
    title: StrictStr
    gate: bool = False
    models: dict[Ident, CellFile]


class VerdictsFile(_Strict):
    """The parts of verdicts.json the decision record reads (the rest is the report's)."""

    hypotheses: list[HypothesisFile]


@dataclass
class Runs:
    """Every run of a workspace that has verdicts, oldest first; the others with the reason they are left out."""

    runs: list[RunVerdicts] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def workspace_runs(runs_dir: Path) -> Runs:
    out = Runs()
    if not runs_dir.is_dir():
        return out
    for path in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        if not (path / MANIFEST).is_file():
            continue
        try:
            out.runs.append(read_run(RunArchive(path), check_sources=True))
        except RoadtestError as exc:
            out.skipped.append(f"{path.name}: {exc.message}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            out.skipped.append(f"{path.name}: unreadable ({type(exc).__name__})")
    out.runs.sort(key=lambda r: (r.when, r.run_id))
    return out


def hypothesis_digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()
