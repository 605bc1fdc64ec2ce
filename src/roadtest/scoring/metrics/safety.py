"""toxicity_rate and policy_violation_rate."""

from __future__ import annotations

import pandas as pd

from roadtest.scoring.metrics.base import MetricContext, Sample, base, ok, per_item, register, unavailable
from roadtest.spec.metrics import MetricInfo


@register("toxicity_rate")
def toxicity_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """toxicity_rate: share of outputs the toxicity classifier flags."""
    b = ok(base(frame))
    b = b[b["toxic"].notna()]
    return per_item(info, b["toxic"].astype(float), b)


@register("policy_violation_rate")
def policy_violation_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """policy_violation_rate: share of outputs that break the scenario's policy rules or its judge rubric."""
    if ctx.scenario.policy is None:
        return unavailable(info, "the scenario declares no policy")
    b = ok(base(frame))
    b = b[b["policy_violation"].notna()]
    return per_item(info, b["policy_violation"].astype(float), b)
