"""Workspace: roadtest.yaml."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from roadtest.spec.base import Ident, Spec, rule_error
from roadtest.spec.model import ModelSpec

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
"""A duration as written in roadtest.yaml: a number and a unit, e.g. 90d, 12h, 2w."""
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str) -> float:
    """'90d' -> seconds; raises ValueError when it is not a duration."""
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"'{text}' is not a positive duration: write a number and a unit (s, m, h, d or w), "
                         "e.g. 90d")
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


class Traffic(Spec):
    """The traffic a model would serve, to turn cost per item into cost per month."""

    items_per_month: int | None = Field(default=None, gt=0, le=10**12)
    """Items a month for every scenario that has no figure of its own in `scenarios`."""
    scenarios: dict[Ident, Annotated[int, Field(gt=0, le=10**12)]] = Field(default={})
    """Items a month per scenario id (overrides items_per_month for that scenario)."""

    @model_validator(mode="after")
    def _some(self) -> "Traffic":
        if self.items_per_month is None and not self.scenarios:
            raise rule_error("traffic_empty",
                             "traffic needs items_per_month or scenarios: {scenario-id: items per month}")
        return self


def _every_format() -> list[Literal["html", "pdf"]]:
    return ["html", "pdf"]


class ReportSettings(Spec):
    """How the decision document is written."""

    title: str = "Model selection: decision document"
    """Title on the first page."""
    formats: list[Literal["html", "pdf"]] = Field(default_factory=_every_format)
    """Formats `roadtest report` writes by default."""
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z$€£¥₹]{1,8}$")] | None = None
    """The currency the models' prices are in (e.g. USD, EUR), named beside every cost."""
    traffic: Traffic | None = None
    """Expected traffic: page 1 then gives each model's cost per month at it."""


class DecisionSettings(Spec):
    """How the decision record judges a recorded decision (roadtest decide, history, gate)."""

    stale_after: str = "90d"
    """A decision whose model has had no run for longer than this is stale (e.g. 30d, 12w)."""

    @field_validator("stale_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            duration_seconds(value)
        except ValueError as exc:
            raise rule_error("duration_invalid", str(exc)) from None
        return value

    @property
    def stale_after_s(self) -> float:
        return duration_seconds(self.stale_after)


class Workspace(Spec):
    """The workspace settings: models and report."""

    name: str = "roadtest workspace"
    """A name for this workspace."""
    models: list[ModelSpec] = Field(min_length=1)
    """The models to road-test."""
    report: ReportSettings = ReportSettings()
    """Decision document settings."""
    decisions: DecisionSettings = DecisionSettings()
    """Decision record settings (not part of a run's configuration)."""
    runs_dir: str = "runs"
    """Folder of run archives, relative to the workspace."""
    max_error_rate: float = Field(default=0.2, ge=0, le=1)
    """A model whose calls fail beyond this share of its planned calls is an endpoint failing, not a worse model:
    the run stops sending to it (exit 3, resumable) and its verdicts are NOT DECIDED."""

    @model_validator(mode="after")
    def _unique_models(self) -> "Workspace":
        seen: set[str] = set()
        for m in self.models:
            if m.id in seen:
                raise rule_error("workspace_model_twice", "model id '{id}' appears twice", id=m.id)
            seen.add(m.id)
        return self

    def model(self, model_id: str) -> ModelSpec:
        return next(m for m in self.models if m.id == model_id)
