"""The seeded BCa bootstrap, for statistics that are described but not decided (ECE, run SD, ICC).

No verdict uses it: the rules that decide are in `roadtest.stats.rules`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError, as_vector, check_confidence

DEFAULT_B = 10_000
CHUNK_CELLS = 2_000_000
"""Resampled indices drawn at a time (B x n is drawn in row blocks, so memory stays flat for large n)."""


def row_chunks(B: int, n: int):
    """(start, stop) blocks of bootstrap replicates holding about CHUNK_CELLS indices each."""
    step = max(1, CHUNK_CELLS // max(n, 1))
    for start in range(0, B, step):
        yield start, min(B, start + step)


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
