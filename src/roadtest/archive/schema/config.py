"""The resolved configuration (`manifest.json`'s `config`, what `roadtest.archive.config.resolve_config` builds):
everything that can move a score, without secrets. Its canonical hash is the run's fingerprint, so it is dumped
back exactly as read; the specs inside it stay the JSON they were validated as (`spec`), and are built into
`roadtest.spec` objects once per archive (`RunArchive.specs()`)."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import StrictInt

from roadtest.archive.schema.base import Number, Record


class WorkspaceSettings(Record):
    """What of roadtest.yaml, besides its models, the run depends on."""

    name: str
    """The workspace's name (roadtest.yaml `name`)."""
    report: dict[str, Any]
    """roadtest.yaml `report` (title, formats; currency and traffic only when set)."""
    max_error_rate: Number = 0.2
    """Above this share of failed calls an endpoint is failing (NOT DECIDED); absent in archives written before
    it existed, which mean 0.2."""


class ModelEntry(Record):
    """One model as roadtest.yaml describes it (`roadtest.spec.ModelSpec` dumped as JSON; `api_key_env` is the
    name of a variable, never a key)."""

    id: str
    """The model's id in the workspace: what trial ids, verdicts and the report name it by."""


class ToolTable(Record):
    """A conversation tool's lookup table, archived whole (a rerun reads only the archive)."""

    path: str
    """The table's file, relative to the scenario's folder."""
    key: str
    """The column rows are looked up by."""
    sha256: str
    """sha256 of the table's file."""
    rows: dict[str, Any] = {}
    """key -> row, as the tool answers from them."""


class ScenarioEntry(Record):
    """One scenario: its spec as validated, with what the loader resolved beside it."""

    spec: dict[str, Any]
    """The scenario file as validated (`roadtest.spec.Scenario` dumped as JSON)."""
    source: str
    """The scenario file, relative to the workspace."""
    dataset_sha256: Optional[str] = None
    """sha256 of the dataset file."""
    items: Optional[StrictInt] = None
    """Rows in the dataset."""
    group_counts: dict[str, StrictInt] = {}
    """Rows per stratum (empty without strata)."""
    cluster_counts: dict[str, StrictInt] = {}
    """Rows per cluster; only present when the dataset names a cluster column."""
    fewshot_ids: list[str] = []
    """The ids of the drawn few-shot examples, in prompt order."""
    pool_sha256: Optional[str] = None
    """sha256 of the few-shot pool file (None: the examples come from the dataset, or there are none)."""
    variant_fewshot_ids: dict[str, list[str]] = {}
    """Settings variant -> its drawn few-shot ids."""
    tables: dict[str, ToolTable] = {}
    """Conversations: tool name -> its lookup table."""
    tools_chat_format: Optional[str] = None
    """Conversations: the chat format a local server answers tool calls with (None: no tools)."""
    text_protocol: Optional[dict[str, Any]] = None
    """Conversations: the one-JSON-line action protocol completion models get (`version`, `text`)."""

    def tool_rows(self) -> dict[str, dict[str, Any]]:
        """tool name -> key -> row, as the run archived them."""
        return {name: table.rows or {} for name, table in self.tables.items()}


class HypothesisEntry(Record):
    """One hypothesis file."""

    spec: dict[str, Any]
    """The hypothesis as validated (`roadtest.spec.Hypothesis` dumped as JSON)."""
    source: Optional[str] = None
    """The hypothesis file, relative to the workspace."""


class Selection(Record):
    """What the run was asked to decide: `roadtest run`'s hypotheses and models, and what they imply."""

    hypotheses: list[str]
    """The hypotheses decided, in order."""
    models: list[str]
    """The models under test, in order (judges and simulated customers are not among them)."""
    scenarios: list[str]
    """The scenarios the hypotheses' criteria name, in order."""
    loads: list[dict[str, Any]] = []
    """Traffic levels: {scenario, concurrency or rate, label} each."""


class ResolvedConfig(Record):
    """The configuration as the run saw it."""

    workspace: Optional[WorkspaceSettings] = None
    """roadtest.yaml's own settings."""
    models: list[ModelEntry]
    """The models under test."""
    judge_models: list[ModelEntry] = []
    """Models that are called but never judged: LLM judges and simulated customers."""
    scenarios: dict[str, ScenarioEntry]
    """scenario id -> its entry."""
    hypotheses: dict[str, HypothesisEntry]
    """hypothesis id -> its entry."""
    selection: Selection
    """What was chosen to run."""

    @property
    def max_error_rate(self) -> float:
        """The workspace's failing-endpoint threshold (0.2 when the archive predates it)."""
        return self.workspace.max_error_rate if self.workspace is not None else 0.2

    def all_models(self) -> list[ModelEntry]:
        """The models under test, then the judges and simulated customers."""
        return self.models + self.judge_models
