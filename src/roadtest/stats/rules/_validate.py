"""Input checks and item/cluster grouping shared by every statistic (finite numbers, clear messages)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from roadtest.stats._validate import StatsInputError, as_vector  # one error type, one check of finite input


def check_alpha(alpha: float) -> float:
    """alpha must lie strictly between 0 and 0.5 (one-sided error rate of each bound)."""
    if not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 0.5:
        raise StatsInputError(f"alpha must be a number between 0 and 0.5 (one-sided), got {alpha!r}")
    return float(alpha)


def check_threshold(t: float, name: str = "threshold") -> float:
    """A finite threshold."""
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be a number, got {t!r}") from None
    if not math.isfinite(value):
        raise StatsInputError(f"{name} must be finite, got {t!r}")
    return value


def check_unit_interval(y: np.ndarray, name: str = "values") -> np.ndarray:
    """Scores of a bounded metric must lie in [0, 1]."""
    if np.any((y < 0) | (y > 1)):
        bad = y[(y < 0) | (y > 1)][:3].tolist()
        raise StatsInputError(f"{name} must lie in [0, 1] for this kind of metric, got e.g. {bad}")
    return y


def check_binary(y: np.ndarray, name: str = "values") -> np.ndarray:
    """0/1 scores only."""
    if not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)][:3].tolist()
        raise StatsInputError(f"{name} must be 0 or 1 for a binary metric, got e.g. {bad}")
    return y


def check_seed_B(seed: int, B: int) -> tuple[int, int]:
    """A whole-number seed >= 0 and at least 99 resamples."""
    if not float(seed).is_integer() or seed < 0:
        raise StatsInputError(f"seed must be a whole number >= 0, got {seed!r}")
    if not float(B).is_integer() or B < 99:
        raise StatsInputError(f"B (resamples) must be a whole number >= 99, got {B!r}")
    return int(seed), int(B)


def as_labels(labels: Any, n: int, name: str) -> np.ndarray:
    """Integer codes 0..G-1 for `n` labels (numbers or strings; None/NaN rejected). Codes follow the sorted
    order of the labels (mixed-type object labels: their first-seen order), so results never depend on input
    order beyond the labels themselves."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size != n:
        raise StatsInputError(f"{name} has {arr.size} labels for {n} values; give one label per value")
    if arr.dtype.kind in "iub":
        return np.unique(arr, return_inverse=True)[1].astype(np.int64)
    if arr.dtype.kind == "f":
        if np.any(np.isnan(arr)):
            raise StatsInputError(f"{name} has missing labels (NaN); give every value its label")
        return np.unique(arr, return_inverse=True)[1].astype(np.int64)
    if arr.dtype.kind in "US":
        return np.unique(arr, return_inverse=True)[1].astype(np.int64)
    for label in arr.tolist():
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise StatsInputError(f"{name} has missing labels (None or NaN); give every value its label")
    keys = [type(v).__name__ + ":" + str(v) for v in arr.tolist()]
    seen: dict[str, int] = {}
    return np.fromiter((seen.setdefault(k, len(seen)) for k in keys), dtype=np.int64, count=n)


def unit_means(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean per unit, number of values per unit) for unit codes 0..G-1."""
    g = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=g).astype(float)
    sums = np.bincount(codes, weights=values, minlength=g)
    return sums / counts, counts


def parent_codes(child: np.ndarray, parent: np.ndarray, child_name: str, parent_name: str) -> np.ndarray:
    """The parent code of each child unit (e.g. the cluster of each item); every child needs one parent."""
    g = int(child.max()) + 1
    first = np.full(g, -1, dtype=np.int64)
    first[child[::-1]] = parent[::-1]
    if np.any(first[child] != parent):
        bad = int(np.count_nonzero(first[child] != parent))
        raise StatsInputError(f"{bad} value(s) put one {child_name} in two {parent_name}s; "
                              f"every {child_name} must belong to exactly one {parent_name}")
    return first


def sequence_of_vectors(x: Sequence[Any], name: str, min_n: int = 2) -> list[np.ndarray]:
    """A list of finite 1-D arrays (e.g. per-scenario differences)."""
    if len(x) == 0:
        raise StatsInputError(f"{name} is empty")
    return [as_vector(v, f"{name}[{i}]", min_n=min_n) for i, v in enumerate(x)]


def check_count_pair(k: Any, n: Any) -> tuple[int, int]:
    """Whole numbers with 0 <= k <= n and n >= 1."""
    try:
        kf, nf = float(k), float(n)
    except (TypeError, ValueError):
        raise StatsInputError(f"k and n must be whole numbers, got k={k!r}, n={n!r}") from None
    if not (kf.is_integer() and nf.is_integer()):
        raise StatsInputError(f"k and n must be whole numbers, got k={k}, n={n}")
    ki, ni = int(kf), int(nf)
    if ni < 1 or ki < 0 or ki > ni:
        raise StatsInputError(f"need 0 <= k <= n and n >= 1, got k={ki}, n={ni}")
    return ki, ni
