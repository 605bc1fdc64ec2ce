"""manifest.json: what a run was (its configuration, the endpoints that answered, the hashes of its files) and
what happened to it (status, resumes, executions). Read through `RunArchive.manifest_record()`, migrated to the
current schema version once, when the archive is opened (see roadtest.archive.migrations)."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, StrictBool, StrictInt

from roadtest.archive.schema.base import Number, Record
from roadtest.archive.schema.config import ResolvedConfig


class FileSummary(Record):
    """A source file as the run recorded it: its size and sha256, so a file cut short or changed is told apart."""

    bytes: StrictInt = Field(ge=0)
    """Its size."""
    sha256: str
    """Its sha256 (hex)."""


class PlanSummary(FileSummary):
    """plan.jsonl, recorded once it was written whole (a plan never recorded is never resumed from)."""

    trials: StrictInt = Field(ge=0)
    """Planned trials (lines)."""


class TrialsSummary(FileSummary):
    """trials.jsonl as it was when the run last ended: a resume tells records appended since from records
    changed."""

    records: StrictInt = Field(ge=0)
    """Complete lines."""


class Resume(Record):
    """One `roadtest run --resume` of the run."""

    command: list[str] = []
    """The command line."""
    at: Optional[str] = None
    """When it started (UTC, ISO 8601)."""
    done_before: Optional[StrictInt] = None
    """Trials already in the archive when it started."""
    retry_errors: StrictBool = True
    """It sent the failed calls again (--retry-errors); archives that did not record it are counted as if so."""


class Execution(Record):
    """One execution of the run's calls (the run itself, then each resume), as it ended."""

    cache: Optional[dict[str, Any]] = None
    """The response cache's counts (hits, misses, stored, unsaved, warnings); None: --no-cache."""
    max_cost: Optional[Number] = None
    """--max-cost, if given."""
    deadline_s: Optional[Number] = None
    """--deadline, if given (seconds)."""
    finished_at: Optional[str] = None
    """When it ended (UTC, ISO 8601)."""


class ShardRecord(Record):
    """`roadtest run --shard K/N`: this run is one slice of its plan (roadtest.plan.shards); plan.jsonl is the
    whole plan, trials.jsonl holds only the shard's trials."""

    index: StrictInt = Field(ge=1)
    """K: which shard (1-based)."""
    count: StrictInt = Field(ge=1)
    """N: how many shards the plan is split into."""


class MergedShard(Record):
    """One shard of a merged run, as it was when it was merged (`roadtest merge`)."""

    run_id: str
    """The shard's run id."""
    index: StrictInt
    """K."""
    count: StrictInt
    """N."""
    command: list[str] = []
    """The command line that started it."""
    started_at: Optional[str] = None
    """When it started."""
    finished_at: Optional[str] = None
    """When it last ended."""
    platform: Optional[str] = None
    """The machine it ran on (platform.platform())."""
    versions: dict[str, Optional[str]] = {}
    """Its roadtest, python and package versions."""
    trials: TrialsSummary
    """Its trials.jsonl (records, bytes, sha256): the merged trials.jsonl is the shards' files one after another,
    in shard order (the merged run's `resumes` and `execution` are the shards' too, in the same order)."""


class WorkspaceState(Record):
    """The workspace the run was started from."""

    git_revision: Optional[str] = None
    """Its git HEAD, when it is a repository."""


class Manifest(Record):
    """manifest.json at the current schema version."""

    schema_version: StrictInt = 1
    """The archive format's version (roadtest.archive.migrations.SCHEMA_VERSION when written by this roadtest);
    absent in the first archives, which are version 1."""
    migrations: list[str] = []
    """The migrations applied to bring an older archive's manifest to this version, in order."""
    run_id: str
    """The run folder's name: `<UTC start>-<fingerprint[:6]>`."""
    status: str
    """running, complete, interrupted, failed, or `stopped: <why>`."""
    command: list[str] = []
    """The command line that started the run."""
    started_at: Optional[str] = None
    """UTC, to the millisecond (ISO 8601)."""
    finished_at: Optional[str] = None
    """When the run last ended; None while it runs."""
    versions: dict[str, Optional[str]] = {}
    """roadtest, python and the packages that can move a number -> their versions (None: not installed)."""
    platform: Optional[str] = None
    """platform.platform() of the machine that ran it."""
    workspace: Optional[WorkspaceState] = None
    """The workspace it was run from."""
    config: ResolvedConfig
    """The resolved configuration."""
    fingerprint: str
    """sha256 of the canonical configuration: two runs with one fingerprint measured the same thing."""
    datasets: dict[str, str] = {}
    """Workspace-relative dataset, pool and table path -> sha256 (`roadtest verify -w` checks them)."""
    endpoints: dict[str, dict[str, Any]]
    """model id -> what its endpoint said about itself (provider identity; from schema 2 also its /models entry
    under `models_entry` and the model names and system fingerprints its answers carried under `served`)."""
    files: dict[str, str]
    """File of the run folder -> sha256: the sources (trials, plan) when the run ended, derived files when
    written."""
    plan: Optional[PlanSummary] = None
    """plan.jsonl once written whole (None: never completely written; absent: an older roadtest that did not
    record it)."""
    trials: Optional[TrialsSummary] = None
    """trials.jsonl when the run last ended."""
    resumes: list[Resume] = []
    """Every resume, in order."""
    execution: list[Execution] = []
    """Every execution, in order."""
    rerun_of: Optional[str] = None
    """`roadtest rerun`: the run whose plan was sent again."""
    shard: Optional[ShardRecord] = None
    """`roadtest run --shard K/N`: the slice of the plan this run sends (absent: the whole plan)."""
    merged_from: list[MergedShard] = []
    """`roadtest merge`: the shards this run was merged from, in shard order (absent: it ran as one)."""

    @property
    def written_by(self) -> Optional[str]:
        """The roadtest version that wrote the archive."""
        return self.versions.get("roadtest")

    def resends_allowed(self) -> int:
        """Resumes that may have sent failed calls again (older archives did not record which did)."""
        return sum(1 for r in self.resumes if r.retry_errors)
