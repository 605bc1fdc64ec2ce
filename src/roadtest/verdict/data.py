"""Everything derived from one archive that verdicts and summaries read: one object, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from roadtest.plan import needs_logprobs
from roadtest.scoring import MetricContext, Sample, Scored, metric_sample
from roadtest.spec import Hypothesis, ModelSpec, Scenario

if TYPE_CHECKING:
    from roadtest.archive.integrity import Specs
    from roadtest.archive.schema import ResolvedConfig


@dataclass
class RunData:
    """The resolved configuration and the scored trials of a run."""

    config: dict[str, Any]
    """The resolved configuration as JSON (what verdict modules still read by key; `record` is the typed one)."""
    frame: pd.DataFrame
    judges: pd.DataFrame
    scenarios: dict[str, Scenario]
    models: dict[str, ModelSpec]
    conversations: list[dict[str, Any]] = field(default_factory=list)
    """One summary per conversation (Scored.conversations; roadtest.scoring.conversation)."""
    record: ResolvedConfig | None = None
    """The typed resolved configuration (None when built by hand from a partial dict, as tests do)."""
    hypotheses: list[Hypothesis] | None = None
    """The selected hypotheses as specs, built once with the archive (None: build them from `config`)."""
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, config: ResolvedConfig, scored: Scored, specs: Specs | None = None) -> "RunData":
        """From a typed configuration and its scores; `specs` are the archive's own spec objects
        (RunArchive.specs()), built from `config` when not given."""
        if specs is None:
            from pathlib import Path

            from roadtest.archive.integrity import build_specs

            specs = build_specs(config, Path("manifest.json"), None)
        return cls(config.dump(), scored.frame, scored.judges, specs.scenarios, specs.models,
                   list(scored.conversations), record=config, hypotheses=list(specs.hypotheses))

    @property
    def model_ids(self) -> list[str]:
        return self.record.selection.models if self.record is not None else self.config["selection"]["models"]

    @property
    def scenario_ids(self) -> list[str]:
        return self.record.selection.scenarios if self.record is not None else self.config["selection"]["scenarios"]

    @property
    def max_error_rate(self) -> float:
        """Above this share of failed calls an endpoint is failing (roadtest.yaml `max_error_rate`)."""
        if self.record is not None:
            return float(self.record.max_error_rate)
        return float((self.config.get("workspace") or {}).get("max_error_rate", 0.2))

    @property
    def loads(self) -> list[dict[str, Any]]:
        """The traffic levels the run measured ({scenario, concurrency or rps, label} each)."""
        if self.record is not None:
            return self.record.selection.loads
        return self.config["selection"].get("loads", [])

    def hypothesis_specs(self) -> list[Hypothesis]:
        """The selected hypotheses, in order, as specs."""
        if self.hypotheses is not None:
            return self.hypotheses
        return [Hypothesis.model_validate(self.config["hypotheses"][h]["spec"])
                for h in self.config["selection"]["hypotheses"]]

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
