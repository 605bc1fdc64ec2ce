"""Intervals: proportions, means (t and BCa bootstrap), percentiles, clustered standard errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError, as_vector, check_confidence, check_count

DEFAULT_B = 10_000
CHUNK_CELLS = 2_000_000
"""Resampled indices drawn at a time (B x n is drawn in row blocks, so memory stays flat for large n)."""


def row_chunks(B: int, n: int):
    """(start, stop) blocks of bootstrap replicates holding about CHUNK_CELLS indices each."""
    step = max(1, CHUNK_CELLS // max(n, 1))
    for start in range(0, B, step):
        yield start, min(B, start + step)


def z_value(confidence: float) -> float:
    """Two-sided critical value: 1.96 for 0.95."""
    return float(sps.norm.ppf(0.5 + check_confidence(confidence) / 2))


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (two-sided)."""
    k, n = check_count(k, n)
    return wilson_bounds(k / n, n, confidence)


def wilson_bounds(p: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson interval for an observed share p with a (possibly effective, non-integer) sample size n.

    With clustered items, n is the effective sample size n / DEFF.
    """
    if not (0.0 <= p <= 1.0) or not n > 0:
        raise StatsInputError(f"need 0 <= p <= 1 and n > 0, got p={p}, n={n}")
    z = z_value(confidence)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if p == 0 else max(0.0, centre - half)
    hi = 1.0 if p == 1 else min(1.0, centre + half)
    return lo, hi


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval; conservative, for zero or all successes in safety metrics."""
    k, n = check_count(k, n)
    alpha = 1 - check_confidence(confidence)
    lo = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def standard_error(x) -> float:
    """Sample SD (ddof = 1) over sqrt(n)."""
    arr = as_vector(x, min_n=2)
    return float(np.std(arr, ddof=1) / math.sqrt(arr.size))


@dataclass(frozen=True)
class Bootstrap:
    """A seeded bootstrap of a statistic with its BCa constants (bias z0, acceleration)."""

    estimate: float
    replicates: np.ndarray
    z0: float
    acceleration: float
    seed: int
    B: int

    def interval(self, confidence: float) -> tuple[float, float]:
        alpha = 1 - check_confidence(confidence)
        return self.quantile(alpha / 2), self.quantile(1 - alpha / 2)

    def quantile(self, level: float) -> float:
        """The BCa-adjusted quantile of the bootstrap distribution at `level`."""
        z = sps.norm.ppf(level)
        adj = self.z0 + (self.z0 + z) / (1 - self.acceleration * (self.z0 + z))
        return float(np.quantile(self.replicates, sps.norm.cdf(adj), method="linear"))

    def p_greater(self, value: float) -> float:
        """Achieved significance (BCa) of 'the statistic is greater than value': the level at which
        the one-sided lower bound reaches `value`. 1 - p_greater is the ASL of 'less than'."""
        share = np.mean(self.replicates < value) + 0.5 * np.mean(self.replicates == value)
        share = min(max(share, 0.5 / self.B), 1 - 0.5 / self.B)
        u = sps.norm.ppf(share) - self.z0
        z = u / (1 + self.acceleration * u) - self.z0
        return float(sps.norm.cdf(z))


def _bca(estimate: float, reps: np.ndarray, jack: np.ndarray, seed: int) -> Bootstrap:
    B = reps.size
    below = np.mean(reps < estimate) + 0.5 * np.mean(reps == estimate)
    z0 = float(sps.norm.ppf(min(max(below, 0.5 / B), 1 - 0.5 / B)))
    d = jack.mean() - jack
    denom = 6.0 * (np.sum(d ** 2)) ** 1.5
    acc = float(np.sum(d ** 3) / denom) if denom > 0 else 0.0
    return Bootstrap(estimate, reps, z0, acc, seed, B)


def bootstrap_mean(x, seed: int = 0, B: int = DEFAULT_B) -> Bootstrap:
    """Resample items with numpy.random.default_rng(seed); BCa constants from the jackknife."""
    arr = as_vector(x, min_n=2)
    rng = np.random.default_rng(seed)
    n = arr.size
    reps = np.empty(B)
    for start, stop in row_chunks(B, n):  # bounded memory for large n
        reps[start:stop] = arr[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return _bca(float(arr.mean()), reps, (arr.sum() - arr) / (n - 1), seed)


def _resample_indices(rng: np.random.Generator, n: int, B: int, strata):
    """Replicate index rows, yielded block by block (within strata when given)."""
    groups = None
    if strata is not None:
        labels = np.asarray(strata)
        if labels.shape != (n,):
            raise StatsInputError(f"strata has {labels.size} labels for {n} items")
        groups = [np.flatnonzero(labels == label) for label in sorted(set(labels.tolist()), key=str)]
    for start, stop in row_chunks(B, n):
        rows = stop - start
        if groups is None:
            block = rng.integers(0, n, size=(rows, n))
        else:
            block = np.concatenate([m[rng.integers(0, m.size, size=(rows, m.size))] for m in groups], axis=1)
        yield from block


def bootstrap(statistic, *arrays, seed: int = 0, B: int = DEFAULT_B, strata=None) -> Bootstrap:
    """BCa bootstrap of any statistic of paired arrays (resampled together, by item).

    With `strata`, items are resampled within each stratum (every group keeps its size).
    Replicates where the statistic is undefined (NaN) are dropped.
    """
    data = [as_vector(a, f"array {i}", min_n=2) for i, a in enumerate(arrays)]
    n = data[0].size
    if any(d.size != n for d in data):
        raise StatsInputError("the arrays must have one value per item each")
    rng = np.random.default_rng(seed)
    reps = np.array([statistic(*(d[idx] for d in data)) for idx in _resample_indices(rng, n, B, strata)],
                    dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        raise StatsInputError("the statistic is undefined in almost every bootstrap replicate")
    keep = np.ones(n, dtype=bool)
    jack = np.empty(n)
    for i in range(n):
        keep[i] = False
        jack[i] = statistic(*(d[keep] for d in data))
        keep[i] = True
    return _bca(float(statistic(*data)), reps, jack[np.isfinite(jack)], seed)


def mean_interval(x, confidence: float = 0.95, method: str = "t", seed: int = 0,
                  B: int = DEFAULT_B) -> tuple[float, float | None, float | None]:
    """(mean, lo, hi): t-interval, or BCa bootstrap. With one value there is no interval (None)."""
    arr = as_vector(x)
    mean = float(arr.mean())
    check_confidence(confidence)
    if method not in ("t", "bca"):
        raise StatsInputError(f"unknown method '{method}'; use 't' or 'bca'")
    if arr.size == 1:
        return mean, None, None
    if np.all(arr == arr[0]):
        return mean, mean, mean
    if method == "t":
        half = float(sps.t.ppf(0.5 + check_confidence(confidence) / 2, arr.size - 1)) * standard_error(arr)
        return mean, mean - half, mean + half
    if method == "bca":
        lo, hi = bootstrap_mean(arr, seed, B).interval(confidence)
        return mean, lo, hi
    raise StatsInputError(f"unknown method '{method}'; use 't' or 'bca'")


def quantile_interval(x, q: float = 0.95, confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Percentile with a distribution-free order-statistic interval; a bound is None when n is too small."""
    arr = as_vector(x)
    if not 0 < q < 1:
        raise StatsInputError(f"q must be between 0 and 1, got {q}")
    estimate = float(np.quantile(arr, q, method="linear"))
    ci = sps.quantile_test(arr, q=estimate, p=q).confidence_interval(check_confidence(confidence))
    lo, hi = float(ci.low), float(ci.high)
    return estimate, (None if math.isnan(lo) else lo), (None if math.isnan(hi) else hi)


def clustered_se(scores, clusters) -> float:
    """SE of the mean with clusters: (1/n) sqrt(C/(C-1) * sum_c (sum_{i in c} (s_i - mean))^2)."""
    arr = as_vector(scores, "scores", min_n=2)
    labels = np.asarray(clusters, dtype=object)
    if labels.shape != arr.shape:
        raise StatsInputError(f"clusters has {labels.size} labels for {arr.size} scores")
    if any(label is None or (isinstance(label, float) and math.isnan(label)) for label in labels):
        raise StatsInputError("clusters has missing labels (None or NaN); give every item its group")
    labels = labels.astype(str)
    _, codes = np.unique(labels, return_inverse=True)
    c = int(codes.max()) + 1
    if c < 2:
        raise StatsInputError("clustered_se needs at least 2 clusters")
    sums = np.bincount(codes, weights=arr - arr.mean(), minlength=c)
    return float(math.sqrt(c / (c - 1) * np.sum(sums ** 2)) / arr.size)


def design_effect(scores, clusters) -> float:
    """DEFF = SE_clustered^2 / SE^2 (1 means clustering costs nothing)."""
    se = standard_error(scores)
    if se == 0:
        return 1.0
    return clustered_se(scores, clusters) ** 2 / se ** 2
