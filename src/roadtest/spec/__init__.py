"""Spec models: what the user wrote, frozen and validated, no I/O."""

from roadtest.spec.base import Spec
from roadtest.spec.hypothesis import Criterion, Hypothesis, Versus
from roadtest.spec.model import ModelSpec, Price
from roadtest.spec.scenario import DatasetRef, FewShot, Limits, Prompt, Sampling, Scenario, Scoring
from roadtest.spec.workspace import ReportSettings, Workspace

__all__ = [
    "Criterion", "DatasetRef", "FewShot", "Hypothesis", "Limits", "ModelSpec", "Price",
    "Prompt", "ReportSettings", "Sampling", "Scenario", "Scoring", "Spec", "Versus", "Workspace",
]
