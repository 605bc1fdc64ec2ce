"""Workspace: roadtest.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from roadtest.spec.base import Spec
from roadtest.spec.model import ModelSpec


class ReportSettings(Spec):
    """How the decision document is written."""

    title: str = "Model selection: decision document"
    """Title on the first page."""
    formats: list[Literal["html", "pdf"]] = Field(default_factory=lambda: ["html", "pdf"])
    """Formats `roadtest report` writes by default."""


class Workspace(Spec):
    """The workspace settings: models and report."""

    name: str = "roadtest workspace"
    """A name for this workspace."""
    models: list[ModelSpec] = Field(min_length=1)
    """The models to road-test."""
    report: ReportSettings = ReportSettings()
    """Decision document settings."""
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
                raise ValueError(f"model id '{m.id}' appears twice")
            seen.add(m.id)
        return self

    def model(self, model_id: str) -> ModelSpec:
        return next(m for m in self.models if m.id == model_id)
