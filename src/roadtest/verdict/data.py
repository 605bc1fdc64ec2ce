"""Everything derived from one archive that verdicts and summaries read: one object, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from roadtest.archive.config import model_specs, scenario_specs
from roadtest.plan import needs_logprobs
from roadtest.scoring import MetricContext, Sample, Scored, metric_sample
from roadtest.spec import ModelSpec, Scenario


@dataclass
class RunData:
    """The resolved configuration and the scored trials of a run."""

    config: dict[str, Any]
    frame: pd.DataFrame
    judges: pd.DataFrame
    scenarios: dict[str, Scenario]
    models: dict[str, ModelSpec]
    conversations: list[dict[str, Any]] = field(default_factory=list)
    """One summary per conversation (Scored.conversations; roadtest.scoring.conversation)."""
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, config: dict[str, Any], scored: Scored) -> "RunData":
        return cls(config, scored.frame, scored.judges, scenario_specs(config), model_specs(config),
                   list(getattr(scored, "conversations", None) or []))

    @property
    def model_ids(self) -> list[str]:
        return self.config["selection"]["models"]

    @property
    def scenario_ids(self) -> list[str]:
        return self.config["selection"]["scenarios"]

    def trials(self, scenario: str, model: str, variant: str | None = None) -> pd.DataFrame:
        """One scenario x model: every variant, or one settings variant relabelled as the original."""
        key = (scenario, model, variant)
        if key not in self._cache:
            part = self.frame[(self.frame["scenario"] == scenario) & (self.frame["model"] == model)]
            if variant is not None:
                part = part[part["variant"] == variant].assign(variant="base")
            self._cache[key] = part
        return self._cache[key]

    def context(self, scenario: str, model: str) -> MetricContext:
        spec = self.scenarios[scenario]
        model_spec = self.models.get(model)
        return MetricContext(spec, model_spec, needs_logprobs(spec),
                             model_logprobs=model_spec.logprobs if model_spec is not None else True)

    def sample(self, metric: str, scenario: str, model: str, slice_group: str | None = None,
               variant: str | None = None) -> Sample:
        return metric_sample(metric, self.trials(scenario, model, variant), self.context(scenario, model), slice_group)

    def has_trials(self, scenario: str, model: str) -> bool:
        return not self.trials(scenario, model).empty
