"""Hypothesis and Criterion: a roadmap sentence tied to measurable claims."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from roadtest.spec.base import Ident, Spec, rule_error


class Versus(Spec):
    """A comparative claim: this model beats another on the same items."""

    model: str
    """The model compared against."""
    by_at_least: float = Field(default=0.0, ge=0.0)
    """Margin the difference must exceed (in the metric's unit, in its better direction)."""


class Margin(Spec):
    """A paired claim against another model with a margin: non-inferiority or equivalence."""

    model: str
    """The model compared against (the baseline, on the same items)."""
    margin: float = Field(gt=0.0)
    """How far the difference may go (in the metric's unit): never worse by more than this (`no_worse_than`),
    or within this either way (`equivalent_to`)."""


COMPARISONS = ("versus", "no_worse_than", "equivalent_to")
CLAIMS = ("at_least", "at_most") + COMPARISONS


class Load(Spec):
    """The traffic a metric is measured under: a fixed concurrency (closed loop) or a request rate (open loop)."""

    concurrency: Optional[int] = Field(default=None, ge=1, le=1024)
    """Requests in flight at once."""
    rps: Optional[float] = Field(default=None, gt=0, le=10000)
    """Requests started per second, whatever the responses do (open loop)."""

    @model_validator(mode="after")
    def _one_level(self) -> "Load":
        if (self.concurrency is None) == (self.rps is None):
            raise rule_error("load_one_level", "a load needs exactly one of `concurrency:` or `rps:`")
        if self.rps is not None and float(f"{self.rps:g}") != self.rps:
            raise rule_error("load_rps_digits", "a request rate is written with at most 6 significant digits "
                             "(`rps: {rps}` would run at {rounded})", rps=self.rps, rounded=f"{self.rps:g}")
        return self

    @property
    def label(self) -> str:
        """The level as trial ids, archives and the engine carry it: 'c6' (6 in flight) or 'r2.5' (2.5 requests/s)."""
        return f"c{self.concurrency}" if self.concurrency is not None else f"r{self.rps:g}"

    @classmethod
    def from_label(cls, label: str) -> "Load":
        """The level a `label` names (the one reader of the string); ValueError for anything else."""
        kind, value = label[:1], label[1:]
        if kind == "c":
            return cls(concurrency=int(value))
        if kind == "r":
            return cls(rps=float(value))
        raise ValueError(f"not a load level: {label!r}")

    def words(self, short: bool = False) -> str:
        """'6 in flight' or '2.5 requests/s' ('2.5 req/s' when `short`), as every page and progress bar says it."""
        if self.concurrency is not None:
            return f"{self.concurrency} in flight"
        return f"{self.rps:g} {'req/s' if short else 'requests/s'}"


def load_words(label: str, short: bool = False) -> str:
    """`Load.words` of a level label ('c6' -> '6 in flight')."""
    return Load.from_label(label).words(short)


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
    no_worse_than: Optional[Margin] = None
    """Claim: not worse than another model on the same items by more than the margin (non-inferiority)."""
    equivalent_to: Optional[Margin] = None
    """Claim: within the margin of another model on the same items, either way (two one-sided tests)."""
    robust_to_settings: bool = False
    """A comparison that must hold under every settings variant of the scenario (intersection-union)."""
    slice: Optional[str] = None
    """Only the items of this dataset group."""
    load: Optional[Load] = None
    """Measure under this load: the scenario's items are sent again at that level (never from the cache)."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    """One-sided confidence of the bounds that decide the claim."""

    @model_validator(mode="after")
    def _one_claim(self) -> "Criterion":
        given = [k for k in CLAIMS if getattr(self, k) is not None]
        if len(given) != 1:
            raise rule_error(
                "criterion_one_claim",
                "a criterion needs exactly one of `at_least:`, `at_most:`, `versus:`, `no_worse_than:` or "
                "`equivalent_to:`" + (" (found {found})" if given else ""), found=", ".join(given),
            )
        if self.robust_to_settings and self.direction not in COMPARISONS:
            raise rule_error("criterion_robust_threshold",
                             "`robust_to_settings: true` applies to a comparison (`versus:`, `no_worse_than:` or "
                             "`equivalent_to:`), not to a threshold")
        return self

    @property
    def direction(self) -> str:
        return next(k for k in CLAIMS if getattr(self, k) is not None)

    @property
    def baseline(self) -> Optional[str]:
        """The model a comparison is made against (None for a threshold claim)."""
        other = self.versus or self.no_worse_than or self.equivalent_to
        return other.model if other is not None else None

    @property
    def threshold(self) -> float:
        """The threshold, or the margin of a comparison (as written)."""
        if self.versus is not None:
            return self.versus.by_at_least
        if self.direction in ("no_worse_than", "equivalent_to"):
            return getattr(self, self.direction).margin
        return self.at_least if self.at_least is not None else self.at_most  # type: ignore[return-value]

    @property
    def claim(self) -> dict:
        """The claim as `roadtest.verdict.judge` takes it."""
        value = getattr(self, self.direction)
        return {self.direction: value.model_dump() if hasattr(value, "model_dump") else value}


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


def claim_text(direction: str, threshold: float, baseline: str | None = None) -> str:
    """A claim in words, the same everywhere: '≥ 0.6', 'better than B by ≥ 0.02', 'no worse than B by more
    than 0.02', 'within ± 0.05 of B'."""
    if direction == "versus":
        return f"better than {baseline} by ≥ {threshold:g}" if threshold else f"better than {baseline}"
    if direction == "no_worse_than":
        return f"no worse than {baseline} by more than {threshold:g}"
    if direction == "equivalent_to":
        return f"within ± {threshold:g} of {baseline}"
    return f"{'≥' if direction == 'at_least' else '≤'} {threshold:g}"
