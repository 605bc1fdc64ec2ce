"""The typed records of the decision record: what one decision holds (a log entry's `record`, the decision
file's front matter) and the endpoint identity it compares later runs with. A log comes from other people: an
entry whose hashes check but whose record is not of this shape is reported, never read."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from roadtest.spec.base import Ident

Verdict = Literal["SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT DECIDED", "NOT APPLICABLE", "NOT RUN"]
RunId = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Sha256 = Field(pattern=r"^[0-9a-f]{64}$")


def finite_json(raw: bytes | str) -> Any:
    """JSON as the decision record reads it from files other people wrote: NaN, Infinity and numbers beyond a
    float (1e999) are refused (ValueError), like every other non-finite input."""

    def constant(name: str) -> float:
        raise ValueError(f"{name} is not a number JSON allows")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"the number {text} reads as infinity")
        return value

    return json.loads(raw, parse_constant=constant, parse_float=number)


def utc_time(text: Any) -> datetime | None:
    """An ISO time (UTC when it names no zone), or None when it is not one."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Record(BaseModel):
    """The base of every decision-record model: no unknown keys, no coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Served(Record):
    model: list[StrictStr] = []
    """The model names the endpoint's responses carried."""
    system_fingerprint: list[StrictStr] = []


class Identity(Record):
    """What an endpoint said it serves under a model's name (the parts that show a model swapped under it)."""

    gguf_sha256: StrictStr | None = None
    models_entry: dict[StrictStr, Any] | StrictStr | None = None
    """Its /models entry (id, root, owned_by, max_model_len, parent)."""
    served: Served | None = None


class Alternative(Record):
    model: Ident
    """A model the decision considered and did not choose."""
    verdict: Verdict
    evidence: StrictStr
    """The sentence the document gives as that verdict's evidence."""
    run: StrictStr = RunId


class EvidenceRun(Record):
    run_id: StrictStr = RunId
    fingerprint: StrictStr
    """The run's configuration fingerprint."""
    started_at: StrictStr
    finished_at: StrictStr
    sha256: dict[Literal["trials.jsonl", "plan.jsonl"], StrictStr]
    """The sha256 of the run's own records, as its manifest recorded them."""


class DecisionRecord(Record):
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


