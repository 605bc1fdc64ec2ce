"""Calibration: expected calibration error (equal-width and equal-mass bins) and the Brier score."""

from __future__ import annotations

import numpy as np

from roadtest.stats._validate import StatsInputError, as_vector


def _pair(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    c = as_vector(confidence, "confidence")
    y = as_vector(correct, "correct")
    if c.size != y.size:
        raise StatsInputError(f"confidence has {c.size} values but correct has {y.size}")
    if np.any((c < 0) | (c > 1)):
        raise StatsInputError("confidence values must lie in [0, 1]")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise StatsInputError("correct must be 0 or 1 for every item")
    return c, y


def width_bins(c: np.ndarray, bins: int) -> np.ndarray:
    """Bin index for equal-width right-closed bins ((m-1)/bins, m/bins]; 0 goes to the first bin.

    Edges are computed explicitly as m / bins, so a confidence of exactly 0.3 lands in (0.2, 0.3];
    floor(10 * c) would misplace it (10 * 0.3 is 3.0000000000000004 in floating point).
    """
    edges = np.arange(bins + 1) / bins
    return np.clip(np.searchsorted(edges, c, side="left") - 1, 0, bins - 1)


def mass_bins(c: np.ndarray, bins: int) -> np.ndarray:
    """Bin index for equal-mass bins (HELM's ece_10_bin): split the sorted confidences into `bins`
    nearly equal chunks, put a boundary halfway between neighbouring chunks, and bin by value,
    so equal confidences always share a bin."""
    chunks = np.array_split(np.sort(c), min(bins, c.size))
    upper = sorted({(a[-1] + b[0]) / 2.0 for a, b in zip(chunks, chunks[1:])} | {1.0})
    return np.searchsorted(np.array(upper), c, side="left")


def ece(confidence, correct, bins: int = 10, scheme: str = "width") -> float:
    """Expected calibration error: sum over non-empty bins of (n_b / n) |mean confidence - accuracy|."""
    c, y = _pair(confidence, correct)
    if not float(bins).is_integer() or bins < 1:
        raise StatsInputError(f"bins must be a whole number >= 1, got {bins}")
    bins = int(bins)
    if scheme == "width":
        index = width_bins(c, bins)
    elif scheme == "mass":
        index = mass_bins(c, bins)
    else:
        raise StatsInputError(f"unknown scheme '{scheme}'; use 'width' or 'mass'")
    counts = np.bincount(index)
    conf_sum = np.bincount(index, weights=c)
    acc_sum = np.bincount(index, weights=y)
    used = counts > 0
    gaps = np.abs(conf_sum[used] - acc_sum[used]) / counts[used]
    return float(np.sum(counts[used] / c.size * gaps))


def brier(confidence, correct) -> float:
    """Mean squared difference between confidence and correctness."""
    c, y = _pair(confidence, correct)
    return float(np.mean((c - y) ** 2))
