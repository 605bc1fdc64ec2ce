"""Input checks shared by every statistic: finite numbers only, with a clear message."""

from __future__ import annotations

import numpy as np


class StatsInputError(ValueError):
    """A statistic was given input it cannot use (NaN, infinity, empty, wrong shape)."""


def as_vector(x, name: str = "x", min_n: int = 1) -> np.ndarray:
    """A 1-D float array of finite values with at least `min_n` entries."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} must be numbers, got {type(x).__name__}: {exc}") from None
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise StatsInputError(f"{name} has {bad} NaN or infinite value{'s' if bad > 1 else ''}; "
                              "drop or impute them before computing statistics")
    if arr.size < min_n:
        raise StatsInputError(f"{name} needs at least {min_n} value{'s' if min_n != 1 else ''}, got {arr.size}")
    return arr


def check_count(k: int, n: int) -> tuple[int, int]:
    if not (float(k).is_integer() and float(n).is_integer()):
        raise StatsInputError(f"k and n must be whole numbers, got k={k}, n={n}")
    k, n = int(k), int(n)
    if n < 1 or k < 0 or k > n:
        raise StatsInputError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    return k, n


def check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence must be between 0 and 1, got {confidence}")
    return float(confidence)
