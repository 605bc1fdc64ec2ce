"""Spec models: what the user wrote, frozen and validated, no I/O."""

from roadtest.spec.base import Spec
from roadtest.spec.hypothesis import Criterion, Hypothesis, Load, Versus
from roadtest.spec.model import ModelSpec, Price
from roadtest.spec.scenario import (
    Counterfactuals, DatasetRef, FewShot, Judge, Limits, Policy, Prompt, Sampling, Scenario, Scoring, Variant,
)
from roadtest.spec.workspace import ReportSettings, Workspace

__all__ = [
    "Counterfactuals", "Criterion", "DatasetRef", "FewShot", "Hypothesis", "Judge", "Limits", "Load", "ModelSpec",
    "Policy", "Price", "Prompt", "ReportSettings", "Sampling", "Scenario", "Scoring", "Spec", "Variant", "Versus",
    "Workspace",
]
