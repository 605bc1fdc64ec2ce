"""Two models on the same items: the paired difference and what pairing gained."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError, as_vector, check_confidence
from roadtest.stats.intervals import clustered_se, standard_error


@dataclass(frozen=True)
class PairedResult:
    """Mean of a - b over shared items, with its paired SE and the unpaired SE for contrast."""

    mean: float
    se: float
    lo: float
    hi: float
    n: int
    correlation: float | None
    """Pearson correlation of a and b across items (None when either is constant)."""
    se_unpaired: float
    clustered: bool

    @property
    def var_d(self) -> float:
        return self.se ** 2 * self.n


def paired_difference(a, b, confidence: float = 0.95, clusters=None) -> PairedResult:
    """Per-item differences d = a - b; SE sd(d)/sqrt(n) (clustered form when clusters are given)."""
    x = as_vector(a, "a", min_n=2)
    y = as_vector(b, "b", min_n=2)
    if x.shape != y.shape:
        raise StatsInputError(f"a and b must cover the same items, got {x.size} and {y.size} values")
    d = x - y
    n = d.size
    se = clustered_se(d, clusters) if clusters is not None else standard_error(d)
    z = float(sps.norm.ppf(0.5 + check_confidence(confidence) / 2))
    mean = float(d.mean())
    corr = None
    if np.std(x) > 0 and np.std(y) > 0:
        corr = float(np.corrcoef(x, y)[0, 1])
    se_unpaired = math.sqrt(np.var(x, ddof=1) / n + np.var(y, ddof=1) / n)
    return PairedResult(mean, se, mean - z * se, mean + z * se, n, corr, se_unpaired, clusters is not None)
