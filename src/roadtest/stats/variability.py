"""Run-to-run variability: items x repeats."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from roadtest.stats._validate import StatsInputError


@dataclass(frozen=True)
class VariabilityResult:
    """Spread across repeats. `run_sd` is prediction noise, never the error bar: `item_se` is."""

    run_scores: tuple[float, ...]
    run_sd: float
    flip_rate: float
    within_item_variance: float
    icc: float | None
    item_se: float
    n_items: int
    k: int


def variability(matrix) -> VariabilityResult:
    """For scores shaped items x repeats (k >= 2): run SD, flip rate, within-item variance, ICC(1), item SE.

    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) from a one-way ANOVA with items as groups;
    None when every score is the same (no variance to apportion).
    """
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise StatsInputError(f"variability needs items x repeats with at least 2 of each, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise StatsInputError("variability: the matrix has NaN or infinite values; every repeat needs a score")
    n, k = x.shape
    runs = x.mean(axis=0)
    item_means = x.mean(axis=1)
    within = x.var(axis=1, ddof=1)
    msw = float(within.mean())
    msb = float(k * item_means.var(ddof=1))
    denom = msb + (k - 1) * msw
    icc = (msb - msw) / denom if denom > 0 else None
    return VariabilityResult(
        run_scores=tuple(float(r) for r in runs), run_sd=float(runs.std(ddof=1)),
        flip_rate=float(np.mean(x.max(axis=1) != x.min(axis=1))), within_item_variance=msw, icc=icc,
        item_se=float(item_means.std(ddof=1) / math.sqrt(n)), n_items=n, k=k,
    )
