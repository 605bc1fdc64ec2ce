"""Spec models: what the user wrote, frozen and validated, no I/O."""

import os

# The spec models are built without pydantic's plugins, as typer builds its own models: looking plugins up reads
# the entry points of every installed distribution (about 7 ms, 2% of `roadtest check`), and roadtest's input
# format is no plugin's business. Models built later (and the variable itself) are left as they were.
_PLUGINS = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
try:
    from roadtest.spec.base import Spec
    from roadtest.spec.hypothesis import Criterion, Hypothesis, Load, Versus
    from roadtest.spec.model import ModelSpec, Price
    from roadtest.spec.scenario import (
        Counterfactuals, DatasetRef, FewShot, Judge, Limits, Policy, Prompt, Sampling, Scenario, Scoring, Variant,
    )
    from roadtest.spec.workspace import ReportSettings, Workspace
finally:
    if _PLUGINS is None:
        del os.environ["PYDANTIC_DISABLE_PLUGINS"]
    else:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = _PLUGINS

__all__ = [
    "Counterfactuals", "Criterion", "DatasetRef", "FewShot", "Hypothesis", "Judge", "Limits", "Load", "ModelSpec",
    "Policy", "Price", "Prompt", "ReportSettings", "Sampling", "Scenario", "Scoring", "Spec", "Variant", "Versus",
    "Workspace",
]
