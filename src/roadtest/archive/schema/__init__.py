"""Typed, documented archive records: pydantic models with a docstring under each field, for every file of a
run folder. An archive is migrated to the current schema version once, when it is opened, and read through
these types after (`RunArchive.manifest_record()`, `.config()`, `.specs()`, `.rows()`).

    manifest.json   Manifest (its `config`: ResolvedConfig)
    plan.jsonl      PlannedTrial, roadtest.archive.records.ConversationEntry
    trials.jsonl    ModelRow, JudgeRow, TurnRow (TrialRow)
    scores.jsonl    ScoreRow
    metrics.json    Metrics
    verdicts.json   Verdicts

Every model dumps (`.dump()`) to the JSON object it was read from, key for key and number for number, so a
record read and written back is the same bytes.
"""

from roadtest.archive.schema.base import Closed, Number, Record
from roadtest.archive.schema.config import (HypothesisEntry, ModelEntry, ResolvedConfig, ScenarioEntry, Selection,
                                            ToolTable, WorkspaceSettings)
from roadtest.archive.schema.derived import (CriterionVerdict, Estimate, HypothesisVerdict, Metrics, ModelVerdict,
                                             ScoreRow, Verdicts)
from roadtest.archive.schema.manifest import (Execution, FileSummary, Manifest, MergedShard, PlanSummary, Resume,
                                              ShardRecord, TrialsSummary, WorkspaceState)
from roadtest.archive.schema.trials import (CacheHit, CallError, CallRow, JudgeRow, ModelRow, PlannedTrial, Request,
                                            Response, TrialRow, TurnRow, row, row_problem)

__all__ = ["CacheHit", "CallError", "CallRow", "Closed", "CriterionVerdict", "Estimate", "Execution", "FileSummary",
           "HypothesisEntry", "HypothesisVerdict", "JudgeRow", "Manifest", "MergedShard", "Metrics", "ModelEntry", "ModelRow",
           "ModelVerdict", "Number", "PlanSummary", "PlannedTrial", "Record", "Request", "ResolvedConfig", "Response",
           "Resume", "ScenarioEntry", "ScoreRow", "Selection", "ShardRecord", "ToolTable", "TrialRow", "TrialsSummary", "TurnRow",
           "Verdicts", "WorkspaceSettings", "WorkspaceState", "row", "row_problem"]
