"""Scenario: a dataset, a success sentence, and every setting that can move a score."""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, model_validator

from roadtest.spec.base import Ident, Spec
from roadtest.spec.model import Mode

ScoringRule = Literal["exact", "choice", "regex", "numeric", "contains"]


class DatasetRef(Spec):
    """Where the items are and which fields identify and group them."""

    path: str
    """JSONL or CSV file, relative to the scenario file."""
    id: str = "id"
    """Field holding each item's unique id."""
    group: Optional[str] = None
    """Field holding each item's group (fairness slices, clustered errors)."""


class FewShot(Spec):
    """In-context examples, drawn once with a seed so every model sees the same ones."""

    k: int = Field(ge=0, le=64)
    """How many examples to put before each item."""
    seed: int = 0
    """Seed of the draw; the drawn ids are disclosed in the report."""
    pool: str
    """JSONL or CSV file of examples, relative to the scenario file."""


class Prompt(Spec):
    """How an item becomes a request."""

    system: Optional[str] = None
    """System message (chat) or preamble (completion)."""
    template: str
    """Jinja2 template of the user turn; fields of the dataset row are its variables."""
    fewshot: Optional[FewShot] = None
    """Optional in-context examples."""


class Sampling(Spec):
    """Decoding settings, passed to the endpoint as given."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    seed: Optional[int] = 0
    """Sampling seed sent with each request (repeat r uses seed + r)."""


class Limits(Spec):
    """Length limits."""

    max_new_tokens: int = Field(default=64, ge=1, le=32768)
    """Most tokens the model may generate."""
    max_prompt_tokens: Optional[int] = Field(default=None, ge=1)
    """Longest prompt allowed; a longer one makes the trial an error row."""
    stop: list[str] = Field(default_factory=list, max_length=4)
    """Stop sequences."""


class Scoring(Spec):
    """How an output is judged against the reference."""

    rule: ScoringRule
    """exact | choice | regex | numeric | contains."""
    answer: str
    """Dataset field with the reference answer (for regex: the pattern)."""
    choices: Optional[list[str]] = None
    """choice only: the allowed answers; the first one named in the output is taken."""
    tolerance: float = Field(default=0.0, ge=0.0)
    """numeric only: largest absolute difference still counted correct."""
    case_sensitive: bool = False
    """exact, choice, contains, regex: compare with case."""

    @model_validator(mode="after")
    def _rule_fields(self) -> "Scoring":
        if self.rule == "choice" and not self.choices:
            raise ValueError("the choice rule needs `choices:` (the allowed answers)")
        if self.rule != "choice" and self.choices:
            raise ValueError(f"`choices:` only applies to the choice rule, not {self.rule}")
        return self


class Scenario(Spec):
    """One workload the product will face, with everything that can move its score pinned."""

    id: Ident
    """Name used in criteria, reports and the archive."""
    success: str = Field(min_length=1)
    """One sentence: what success means for the product."""
    dataset: DatasetRef
    """The items."""
    mode: Mode = "chat"
    """chat (messages) or completion (one prompt string)."""
    prompt: Prompt
    """Prompt settings."""
    sampling: Sampling = Sampling()
    """Decoding settings."""
    limits: Limits = Limits()
    """Length limits."""
    repeats: int = Field(default=1, ge=1, le=100)
    """Times each item is sent (for run-to-run variability)."""
    scoring: Scoring
    """Scoring rule."""
    metrics: Optional[list[str]] = None
    """Metrics to show for this scenario (default: all that apply)."""

    @model_validator(mode="after")
    def _one_sentence(self) -> "Scenario":
        text = self.success.strip()
        if "\n" in text or re.search(r"[.!?]\s+[A-Z]", text):
            raise ValueError("`success:` should be one sentence")
        return self
