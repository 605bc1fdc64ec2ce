"""robust_accuracy, robustness_drop: the worst case over the original and every perturbation, per item."""

from __future__ import annotations

import pandas as pd

from roadtest.scoring.metrics.base import MetricContext, Sample, item_series, register, unavailable
from roadtest.spec.metrics import MetricInfo


def _worst(frame: pd.DataFrame) -> pd.DataFrame | None:
    variants = frame[(frame["variant"] == "base") | frame["variant"].str.startswith("perturb:")]
    if not (variants["variant"] != "base").any():
        return None
    means = variants.groupby(["item", "variant"])["score"].mean().unstack("variant")
    # a failed call is not a wrong answer: an item counts only when every variant has an answer
    return means.dropna()


def _none(ctx: MetricContext, info: MetricInfo) -> Sample:
    if ctx.scenario.perturbations:
        return unavailable(info, "perturbations are run with the scenario's own settings only, not with this variant")
    return unavailable(info, "the scenario declares no perturbations")


@register("robust_accuracy")
def robust_accuracy(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """robust_accuracy: accuracy in the worst case over the original input and every perturbation, per item."""
    means = _worst(frame)
    if means is None:
        return _none(ctx, info)
    worst = means.min(axis=1)
    kinds = ", ".join(c.split(":", 1)[1] for c in means.columns if c != "base")
    return item_series(info, worst, note=f"worst of original and {kinds}", frame=frame)


@register("robustness_drop")
def robustness_drop(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """robustness_drop: accuracy lost to the worst perturbation: accuracy minus robust accuracy, per item."""
    means = _worst(frame)
    if means is None:
        return _none(ctx, info)
    drop = means["base"] - means.min(axis=1)
    return item_series(info, drop, frame=frame)
