"""Scores, metrics and verdicts from an archive alone (no model calls), refused when its sources changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from roadtest.archive import RunArchive, canonical_json
from roadtest.errors import AlteredArchive

if TYPE_CHECKING:
    import pandas as pd

    from roadtest.scoring import Scored

SCORES, METRICS, VERDICTS = "scores.jsonl", "metrics.json", "verdicts.json"
REPORTS = ["report.html", "report.pdf"]
DERIVED = [SCORES, METRICS, VERDICTS]


def check_sources(archive: RunArchive) -> None:
    """Refuse to derive anything from trials or a plan that changed after the run recorded them."""
    altered = archive.altered_sources()
    if altered:
        raise AlteredArchive(
            f"{', '.join(altered)} in {archive.path} no longer match{'es' if len(altered) == 1 else ''} the sha256 recorded when the run ended: "
            "anything derived from them would not be the run's",
            f"restore the original file (`roadtest verify {archive.run_id}` names every mismatch); derived files "
            "can be rebuilt by replay, the archived responses cannot")


def derive(archive: RunArchive) -> dict[str, Any]:
    """Scores, metrics and verdicts from the archive alone (no model calls): what `replay` runs."""
    from roadtest.verdict import RunData, decide, summarise
    check_sources(archive)
    scored = score_archive(archive)
    archive.write_lines(SCORES, _score_lines(scored.frame))
    data = RunData.build(archive.config(), scored, archive.specs())
    archive.write_derived(METRICS, canonical_json(summarise(data), indent=2) + "\n")
    verdicts = decide(data)
    archive.write_derived(VERDICTS, canonical_json(verdicts, indent=2) + "\n")
    archive.record_hashes(DERIVED)
    return verdicts


def derive_if_missing(archive: RunArchive) -> None:
    """Derive a run whose verdicts were never written (a run stopped before its end, an old archive)."""
    if not (archive.path / VERDICTS).is_file():
        derive(archive)


def score_archive(archive: RunArchive) -> Scored:
    """Every trial scored; conversations replayed from their plan entries and archived turns."""
    from roadtest.scoring import score_trials

    specs, config = archive.specs(), archive.config()
    talk = [sid for sid, spec in specs.scenarios.items() if spec.kind == "conversation"]
    if not talk:
        return score_trials(archive.rows, specs.scenarios, specs.models)
    return score_trials(archive.rows, specs.scenarios, specs.models,
                        entries=lambda: (t for t in archive.plan() if t.kind == "conversation"),
                        tables={sid: config.scenarios[sid].tool_rows() for sid in talk})


def _score_lines(frame: pd.DataFrame) -> Iterator[str]:
    """scores.jsonl, one canonical line per trial, streamed from the frame."""
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        yield canonical_json({c: (None if isinstance(v, float) and v != v else v) for c, v in zip(columns, values)})
