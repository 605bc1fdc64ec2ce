"""The evidence a decision rests on: each run archive's verdicts, read from its verdicts.json after checking that
file against the sha256 its manifest records, with the endpoint identity of every model (to see drift)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadtest.archive.canonical import canonical_json
from roadtest.archive.files import read_bytes
from roadtest.archive.run_dir import MANIFEST, PLAN, TRIALS, RunArchive
from roadtest.compare import MODEL_ENTRY_KEYS, drift
from roadtest.errors import RoadtestError

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

    def hypotheses(self) -> list[str]:
        return list(self.titles)


def identity(endpoint: dict[str, Any]) -> dict[str, Any]:
    out = {k: endpoint[k] for k in DRIFT_KEYS if k in endpoint}
    if isinstance(out.get("models_entry"), dict):
        out["models_entry"] = {k: v for k, v in out["models_entry"].items() if k in MODEL_ENTRY_KEYS}
    return out


def drifted(model: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What changed under the model's name between two endpoint identities (empty when nothing did)."""
    if not before or not after:
        return []
    return drift({"endpoints": {model: before}}, {"endpoints": {model: after}})


def read_run(archive: RunArchive) -> RunVerdicts:
    """A finished run's verdicts; RoadtestError when it has none or its verdicts.json is not the one recorded."""
    manifest = archive.manifest()
    recorded = manifest.get("files", {})
    path = archive.path / VERDICTS
    if VERDICTS not in recorded or not path.is_file():
        raise RoadtestError(f"run {archive.run_id} has no verdicts (status {manifest.get('status')})",
                            f"finish it (`roadtest run --resume {archive.run_id}`) or derive them "
                            f"(`roadtest replay {archive.run_id}`)")
    try:
        raw = read_bytes(path, MAX_VERDICTS_BYTES)
    except (OSError, ValueError) as exc:
        raise RoadtestError(f"{path}: cannot be read: {exc}", f"`roadtest replay {archive.run_id}` writes it again")
    if hashlib.sha256(raw).hexdigest() != recorded[VERDICTS]:
        raise RoadtestError(f"run {archive.run_id}: verdicts.json does not match the sha256 its manifest records",
                            f"`roadtest replay {archive.run_id}` derives it again from the archived responses")
    verdicts = json.loads(raw)
    config = manifest["config"]
    from roadtest.report.hypothesis_view import evidence_sentence
    from roadtest.spec.metrics import METRICS

    units = {m: i.unit for m, i in METRICS.items()}
    cells, titles, gates, specs = {}, {}, {}, {}
    for h in verdicts["hypotheses"]:
        titles[h["id"]] = h["title"]
        gates[h["id"]] = bool(h.get("gate"))
        specs[h["id"]] = config["hypotheses"].get(h["id"], {}).get("spec", {})
        for model, entry in h["models"].items():
            cells[h["id"], model] = Cell(entry["verdict"], evidence_sentence(model, entry, units))
    return RunVerdicts(
        run_id=archive.run_id, path=archive.path, started_at=manifest.get("started_at") or "",
        finished_at=manifest.get("finished_at") or "", fingerprint=manifest.get("fingerprint") or "",
        sources={k: recorded[k] for k in (TRIALS, PLAN) if k in recorded}, cells=cells, titles=titles, gates=gates,
        specs=specs, endpoints={m: identity(e) for m, e in manifest.get("endpoints", {}).items()},
        models=list(config["selection"]["models"]))


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
            out.runs.append(read_run(RunArchive(path)))
        except RoadtestError as exc:
            out.skipped.append(f"{path.name}: {exc.message}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            out.skipped.append(f"{path.name}: unreadable ({type(exc).__name__})")
    out.runs.sort(key=lambda r: (r.at, r.run_id))
    return out


def hypothesis_digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()
