"""The decision document: one run's, written into its folder, or one over several runs combined (every verdict
in one Holm family, models side by side on the same items)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roadtest.archive import RunArchive, canonical_json
from roadtest.archive.schema import Manifest, ResolvedConfig
from roadtest.workflow.archives import runs_folder
from roadtest.workflow.deriving import METRICS, VERDICTS, check_sources, derive_if_missing, score_archive

if TYPE_CHECKING:
    from roadtest.report.diff_view import DiffView
    from roadtest.scoring import Scored

SUBSETTER_WARNING = ("HarfBuzz-subset (Debian package libharfbuzz-subset0) is not installed, so weasyprint subset "
                     "the PDF's fonts with fontTools: the PDF is deterministic, but its bytes differ from a PDF made "
                     "where HarfBuzz-subset is installed. `make install` installs it")


@dataclass(frozen=True)
class CombinedRuns:
    """Several archives read as one run: model ids that repeat are suffixed with their run id."""

    config: ResolvedConfig
    """One resolved configuration: every run's models, the first run's settings, every scenario and hypothesis."""
    manifest: Manifest
    """The first run's manifest with the combined configuration, every run's endpoints, and the last finishing
    time (never written: the document's title block and appendix read it)."""
    run_ids: list[str]
    """Every run, in the order given."""
    fingerprints: list[str]
    """Every run's fingerprint, in the same order."""
    scored: Scored
    warnings: list[str] = field(default_factory=list)
    """Page 1's warnings: each later run whose settings differ from the first's."""
    diffs: list[DiffView] = field(default_factory=list)
    """The appendix's comparisons: the first run against each later one."""


def report_runs(root: Path, archives: list[RunArchive], formats: list[str], out: Path | None = None) -> list[Path]:
    """`roadtest report`: one run's document into its folder; several runs' into `out` (default: the runs
    folder's reports/A+B). The workspace's report templates and its decision record are used."""
    runs_dir = runs_folder(root)
    record = (root, runs_dir)
    if len(archives) == 1:
        return report(archives[0], formats, root / "report_templates", record=record)
    folder = out or runs_dir / "reports" / "+".join(a.run_id for a in archives)
    return report_many(archives, formats, folder, root / "report_templates", record=record)


def report(archive: RunArchive, formats: list[str], workspace_templates: Path | None = None,
           record: tuple[Path, Path] | None = None) -> list[Path]:
    """Write report.html and/or report.pdf into the run folder; returns the paths written.

    `record`: (workspace, runs folder) whose decision record the document shows, against this run; its snapshot
    is kept in the run folder (decisions.json). Without it (replay), the archived snapshot is shown again."""
    from roadtest.report import build_view, render_html
    from roadtest.decisions.snapshot import SNAPSHOT, archived_snapshot

    check_sources(archive)
    manifest = archive.manifest_record()
    derive_if_missing(archive)
    metrics = json.loads((archive.path / METRICS).read_text(encoding="utf-8"))
    verdicts = json.loads((archive.path / VERDICTS).read_text(encoding="utf-8"))
    decisions = _fresh_snapshot(record, [archive]) if record is not None else None
    if decisions is not None:
        archive.write_derived(SNAPSHOT, canonical_json(decisions, indent=2) + "\n")
        archive.record_hashes([SNAPSHOT])
    else:
        decisions = archived_snapshot(archive)
    generated = _to_the_second(manifest.finished_at) or datetime.now(timezone.utc).isoformat(timespec="seconds")
    html = render_html(build_view(manifest, metrics, verdicts, generated, _first_requests(archive),
                                  decisions=decisions), workspace_templates)
    written = _write_report(html, archive.path, formats, archive)
    archive.record_hashes([p.name for p in written])
    return written


def report_many(archives: list[RunArchive], formats: list[str], out: Path,
                workspace_templates: Path | None = None, record: tuple[Path, Path] | None = None) -> list[Path]:
    """One decision document over several runs (models evaluated at different times): every verdict in one
    Holm family, models side by side on the same items, and a warning when the runs' settings differ."""
    from roadtest.report import build_view, render_html
    from roadtest.verdict import RunData, decide, summarise
    for archive in archives:
        check_sources(archive)
    combined = combine_runs(archives)
    out.mkdir(parents=True, exist_ok=True)
    data = RunData.build(combined.config, combined.scored)
    metrics, verdicts = summarise(data), decide(data)
    (out / METRICS).write_text(canonical_json(metrics, indent=2) + "\n", encoding="utf-8")
    (out / VERDICTS).write_text(canonical_json(verdicts, indent=2) + "\n", encoding="utf-8")
    for archive in archives:
        derive_if_missing(archive)
    decisions = _fresh_snapshot(record, archives)
    generated = _to_the_second(combined.manifest.finished_at)
    assert generated is not None  # combine_runs sets finished_at to a string: the latest of the runs' ("" if none)
    view = build_view(combined.manifest, metrics, verdicts, generated,
                      decisions=decisions, run_ids=combined.run_ids, fingerprints=combined.fingerprints,
                      warnings=combined.warnings, diffs=combined.diffs)
    html = render_html(view, workspace_templates)
    return _write_report(html, out, formats)


def combine_runs(archives: list[RunArchive]) -> CombinedRuns:
    """Several archives as one: model ids that repeat are suffixed with their run id."""
    import pandas as pd

    from roadtest.compare import compare_runs, setting_changes
    from roadtest.report.diff_view import diff_view
    from roadtest.scoring import Scored

    manifests = [a.manifest_record() for a in archives]
    seen: set[str] = set()
    frames, judges, talks, models, endpoints = [], [], [], [], {}
    config = manifests[0].config.dump()
    config["selection"]["models"] = []
    for archive, manifest in zip(archives, manifests):
        cfg = manifest.config
        rename: dict[str | None, str] = {m.id: (m.id if m.id not in seen else f"{m.id}.{archive.run_id}"[:64])
                                         for m in cfg.models}
        seen.update(rename.values())
        scored = score_archive(archive)
        frames.append(scored.frame.assign(model=scored.frame["model"].map(lambda m: rename.get(m, m))))
        judges.append(scored.judges)
        talks += [{**c, "model": rename.get(c.get("model"), c.get("model"))} for c in scored.conversations]
        for m in cfg.models:
            models.append({**m.dump(), "id": rename[m.id]})
            config["selection"]["models"].append(rename[m.id])
            endpoints[rename[m.id]] = manifest.endpoints.get(m.id, {})
        for key, entries in (("scenarios", cfg.scenarios), ("hypotheses", cfg.hypotheses)):
            for k, v in entries.items():
                config[key].setdefault(k, v.dump())
        for key, ids in (("hypotheses", cfg.selection.hypotheses), ("scenarios", cfg.selection.scenarios)):
            config["selection"][key] += [k for k in ids if k not in config["selection"][key]]
    config["models"] = models
    warnings, diffs = [], []
    replicas = replica_note([(a.run_id, m) for a, m in zip(archives, manifests)])
    if replicas:
        warnings.append(replicas)
    for archive, manifest in zip(archives[1:], manifests[1:]):
        changes = [c for c in setting_changes(manifests[0].dump(), manifest.dump())
                   if c.category not in ("model", "endpoint")]
        if changes:
            names = ", ".join(sorted({c.path for c in changes})[:6]) + (" …" if len(changes) > 6 else "")
            warnings.append(f"{archive.run_id} was run with different settings than {archives[0].run_id} "
                            f"({len(changes)} differ: {names}); its numbers are not strictly comparable. "
                            f"See the appendix.")
        for other in (archives[0], archive):
            derive_if_missing(other)
        diffs.append(diff_view(compare_runs(archives[0], archive)))
    combined = ResolvedConfig.model_validate(config)
    manifest = Manifest.model_validate({**manifests[0].dump(), "config": config, "endpoints": endpoints,
                                        "finished_at": max(m.finished_at or "" for m in manifests)})
    frame = pd.concat(frames, ignore_index=True).sort_values(["trial_id", "model"], kind="stable")
    scored = Scored(frame.reset_index(drop=True), pd.concat(judges, ignore_index=True), talks)
    return CombinedRuns(combined, manifest, [a.run_id for a in archives], [m.fingerprint for m in manifests],
                        scored, warnings, diffs)


def replica_note(runs: list[tuple[str, Manifest]]) -> str | None:
    """Page 1's words when the runs served their models with different numbers of replicas (None when every
    run used the same counts): a level of traffic spread over more replicas is a lighter load on each."""
    from roadtest.spec import ModelSpec

    counts = {run_id: {m.id: ModelSpec.model_validate(m.dump()).replica_count for m in manifest.config.models}
              for run_id, manifest in runs}
    if len({tuple(sorted(set(c.values()))) for c in counts.values()}) < 2:
        return None
    told = "; ".join(f"{run_id}: " + ", ".join(f"{m} with {n} replica{'s' if n != 1 else ''}" for m, n in c.items())
                     for run_id, c in counts.items())
    return (f"The runs served their models with different numbers of replicas ({told}): latency and load figures "
            f"measured with more replicas are not comparable with ones measured with fewer.")


def pdf_warnings() -> list[str]:
    """What makes this machine's PDFs differ, byte for byte, from one where `make install` ran."""
    from roadtest.report.render import font_subsetter

    return [SUBSETTER_WARNING] if font_subsetter() == "fonttools" else []


def _to_the_second(stamp: str | None) -> str | None:
    """A manifest time (to the millisecond since runs needed an order within a second) as the document prints it."""
    try:
        return datetime.fromisoformat(stamp).isoformat(timespec="seconds") if stamp else stamp
    except ValueError:
        return stamp


def _fresh_snapshot(record: tuple[Path, Path] | None, archives: list[RunArchive]) -> dict[str, Any] | None:
    """The workspace's decision record as the document shows it against these runs (None: no decisions/)."""
    if record is None or any(a.manifest_record().shard is not None for a in archives):
        return None   # a shard's verdicts are of a slice: no decision is shown against them
    from roadtest.decisions.evidence import read_run
    from roadtest.decisions.snapshot import snapshot

    root, runs_dir = record
    return snapshot(root, runs_dir, [read_run(a) for a in archives])


def _first_requests(archive: RunArchive) -> dict[tuple[str, str], dict[str, Any]]:
    """(scenario, model) -> the body of its first original request, as archived (the appendix shows it; for a
    conversation, its first assistant turn)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in archive.rows():
        key = (row.scenario, row.model)
        if (row.kind == "model" or (row.kind == "turn" and row.role == "assistant")) \
                and (row.variant is None or row.variant == "base") and not row.level and key not in found:
            found[key] = row.request.body
    return found


def _write_report(html: str, folder: Path, formats: list[str], archive: RunArchive | None = None) -> list[Path]:
    """Into a run folder (`archive`): written beside the target and renamed over it, never through a link."""
    from roadtest.report import write_pdf
    written = []
    if "html" in formats:
        target = folder / "report.html"
        if archive is not None:
            archive.write_derived(target.name, html)
        else:
            target.write_text(html, encoding="utf-8")
        written.append(target)
    if "pdf" in formats:
        target = folder / "report.pdf"
        if archive is not None:
            with archive.derived_path(target.name) as tmp:
                write_pdf(html, folder, tmp)
        else:
            write_pdf(html, folder, target)
        written.append(target)
    return written
