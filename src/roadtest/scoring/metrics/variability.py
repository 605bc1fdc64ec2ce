"""run_sd, flip_rate, icc: spread across repeats of the original inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from roadtest import stats
from roadtest.scoring.metrics.base import (
    MetricContext, Sample, base, item_series, register, statistic_sample, unavailable,
)
from roadtest.spec.metrics import MetricInfo


def repeat_matrix(frame: pd.DataFrame) -> pd.DataFrame | None:
    """items x repeats of scores (items with every repeat)."""
    wide = base(frame).pivot_table(index="item", columns="repeat", values="score", aggfunc="first").dropna()
    return wide if wide.shape[0] >= 2 and wide.shape[1] >= 2 else None


def _needs_repeats(info: MetricInfo) -> Sample:
    return unavailable(info, "needs repeats >= 2")


@register("run_sd")
def run_sd(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """run_sd: standard deviation of whole-run accuracy across repeats (prediction noise)."""
    wide = repeat_matrix(frame)
    if wide is None:
        return _needs_repeats(info)
    m = wide.to_numpy(float)
    return statistic_sample(info, list(wide.index), lambda idx: float(m[idx.astype(int)].mean(axis=0).std(ddof=1)),
                            note=f"{m.shape[1]} repeats")


@register("flip_rate")
def flip_rate(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """flip_rate: share of items whose correctness changes between repeats."""
    wide = repeat_matrix(frame)
    if wide is None:
        return _needs_repeats(info)
    return item_series(info, (wide.max(axis=1) != wide.min(axis=1)).astype(float), frame=base(frame))


@register("icc")
def icc(frame: pd.DataFrame, ctx: MetricContext, info: MetricInfo) -> Sample:
    """icc: iCC(1) of item scores across repeats: near 1 when repeats agree."""
    wide = repeat_matrix(frame)
    if wide is None:
        return _needs_repeats(info)
    m = wide.to_numpy(float)
    if stats.variability(m).icc is None:
        return unavailable(info, "undefined: every repeat of every item scored the same")

    def fn(idx: np.ndarray) -> float:
        value = stats.variability(m[idx.astype(int)]).icc
        return float("nan") if value is None else float(value)

    return statistic_sample(info, list(wide.index), fn, note=f"{m.shape[1]} repeats")
