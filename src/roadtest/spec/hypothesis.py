"""Hypothesis and Criterion: a roadmap sentence tied to measurable claims."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from roadtest.spec.base import Ident, Spec


class Versus(Spec):
    """A comparative claim: this model beats another on the same items."""

    model: str
    """The model compared against."""
    by_at_least: float = Field(default=0.0, ge=0.0)
    """Margin the difference must exceed (in the metric's unit, in its better direction)."""


class Load(Spec):
    """The traffic a metric is measured under: a fixed concurrency (closed loop) or a request rate (open loop)."""

    concurrency: Optional[int] = Field(default=None, ge=1, le=1024)
    """Requests in flight at once."""
    rps: Optional[float] = Field(default=None, gt=0, le=10000)
    """Requests started per second, whatever the responses do (open loop)."""

    @model_validator(mode="after")
    def _one_level(self) -> "Load":
        if (self.concurrency is None) == (self.rps is None):
            raise ValueError("a load needs exactly one of `concurrency:` or `rps:`")
        return self

    @property
    def label(self) -> str:
        return f"c{self.concurrency}" if self.concurrency is not None else f"r{self.rps:g}"


class Criterion(Spec):
    """One measurable claim about one metric of one scenario."""

    scenario: str
    """Scenario id."""
    metric: str
    """Metric id (see `roadtest check --metrics`)."""
    at_least: Optional[float] = None
    """Claim: the metric is at least this."""
    at_most: Optional[float] = None
    """Claim: the metric is at most this."""
    versus: Optional[Versus] = None
    """Claim: better than another model on the same items, by a margin."""
    slice: Optional[str] = None
    """Only the items of this dataset group."""
    load: Optional[Load] = None
    """Measure under this load: the scenario's items are sent again at that level (never from the cache)."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    """One-sided confidence of the bounds that decide the claim."""

    @model_validator(mode="after")
    def _one_claim(self) -> "Criterion":
        given = [k for k in ("at_least", "at_most", "versus") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a criterion needs exactly one of `at_least:`, `at_most:` or `versus:`"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def direction(self) -> str:
        return "at_least" if self.at_least is not None else "at_most" if self.at_most is not None else "versus"

    @property
    def threshold(self) -> float:
        if self.versus is not None:
            return self.versus.by_at_least
        return self.at_least if self.at_least is not None else self.at_most  # type: ignore[return-value]


class Hypothesis(Spec):
    """A roadmap hypothesis: Markdown text plus the criteria that decide it."""

    id: Ident
    """Name used in reports and `roadtest run -H`."""
    title: str = Field(min_length=1)
    """One line for the decision matrix."""
    roadmap: Optional[str] = None
    """The roadmap item this hypothesis serves."""
    owner: Optional[str] = None
    """Who answers for it."""
    decision: Literal["all", "any"] = "all"
    """How criteria combine: all must hold, or any one."""
    gate: bool = False
    """If true, `roadtest run` exits 1 when this hypothesis is refuted (for CI)."""
    criteria: list[Criterion] = Field(min_length=1)
    """The measurable claims."""
    body: str = ""
    """The Markdown text after the front matter (filled in by the loader)."""
