"""The typed records of the decision record: what one decision holds (a log entry's `record`, the decision
file's front matter) and the endpoint identity it compares later runs with. A log comes from other people: an
entry whose hashes check but whose record is not of this shape is reported, never read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from roadtest.spec.base import Ident

Verdict = Literal["SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT DECIDED", "NOT APPLICABLE", "NOT RUN"]
RunId = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Sha256 = Field(pattern=r"^[0-9a-f]{64}$")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Served(_Record):
    model: list[StrictStr] = []
    """The model names the endpoint's responses carried."""
    system_fingerprint: list[StrictStr] = []


class Identity(_Record):
    """What an endpoint said it serves under a model's name (the parts that show a model swapped under it)."""

    gguf_sha256: StrictStr | None = None
    models_entry: dict[StrictStr, Any] | StrictStr | None = None
    """Its /models entry (id, root, owned_by, max_model_len, parent)."""
    served: Served | None = None


class Alternative(_Record):
    model: Ident
    """A model the decision considered and did not choose."""
    verdict: Verdict
    evidence: StrictStr
    """The sentence the document gives as that verdict's evidence."""
    run: StrictStr = RunId


class EvidenceRun(_Record):
    run_id: StrictStr = RunId
    fingerprint: StrictStr
    """The run's configuration fingerprint."""
    started_at: StrictStr
    finished_at: StrictStr
    sha256: dict[Literal["trials.jsonl", "plan.jsonl"], StrictStr]
    """The sha256 of the run's own records, as its manifest recorded them."""


class DecisionRecord(_Record):
    """One decision: the hypothesis as tested, the choice, the evidence, who and when."""

    hypothesis: Ident
    hypothesis_title: StrictStr
    hypothesis_text: StrictStr
    """The hypothesis' Markdown body as the evidence runs tested it."""
    criteria: list[StrictStr]
    """Its criteria in words."""
    hypothesis_sha256: StrictStr = Sha256
    """sha256 of the hypothesis as tested (a later run of a changed hypothesis is not the same claim)."""
    model: Ident
    """The chosen model."""
    verdict: Verdict
    """The chosen model's verdict in the evidence."""
    evidence: StrictStr
    evidence_run: StrictStr = RunId
    against_evidence: StrictStr | None
    """Why the model was chosen although its verdict was not SUPPORTED (None: it was)."""
    alternatives: list[Alternative]
    runs: list[EvidenceRun] = Field(min_length=1)
    endpoints: dict[Ident, Identity]
    """Each considered model's endpoint identity in the run its verdict came from."""
    decided_by: StrictStr
    decided_at: StrictStr
    note: StrictStr
    supersedes: StrictStr | None
    commands: list[StrictStr]

    @field_validator("decided_at")
    @classmethod
    def _time(cls, value: str) -> str:
        stamp = datetime.fromisoformat(value)
        if stamp.tzinfo is None:
            raise ValueError("decided_at needs a time zone")
        return value


