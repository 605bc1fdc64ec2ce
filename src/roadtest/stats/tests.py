"""Tests and multiplicity: exact McNemar, sign-flip permutation, one-sided threshold tests, Holm, BH."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError, as_vector, check_count


def mcnemar_exact(b: int, c: int, alternative: str = "two-sided") -> float:
    """Exact McNemar p-value from the discordant counts: b (first right, second wrong) and c (the reverse).

    `alternative`: 'two-sided', 'greater' (the first is better: b > c) or 'less'.
    """
    if b < 0 or c < 0 or not float(b).is_integer() or not float(c).is_integer():
        raise StatsInputError(f"discordant counts must be whole numbers >= 0, got b={b}, c={c}")
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return 1.0
    if alternative == "greater":
        return float(sps.binom.sf(b - 1, n, 0.5))
    if alternative == "less":
        return float(sps.binom.cdf(b, n, 0.5))
    _alternative(alternative)
    return float(min(1.0, 2 * sps.binom.cdf(min(b, c), n, 0.5)))


def _alternative(alternative: str) -> str:
    if alternative not in ("two-sided", "greater", "less"):
        raise StatsInputError(f"unknown alternative '{alternative}'; use 'two-sided', 'greater' or 'less'")
    return alternative


def _flip_means(arr: np.ndarray, chunk: int = 1 << 15):
    """Every sign-flipped mean of arr (2^n of them), in chunks so that n = 20 needs a few MB, not 400."""
    n = arr.size
    bits = np.arange(n)
    for start in range(0, 1 << n, chunk):
        codes = np.arange(start, min(start + chunk, 1 << n))
        signs = 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)
        yield (signs @ arr) / n


def sign_flip_test(d, max_exact: int = 20, seed: int = 0, B: int = 10_000, alternative: str = "two-sided") -> float:
    """Permutation test of mean(d) = 0 by flipping signs; exact for n <= max_exact, else B random flips.

    `alternative`: 'two-sided', 'greater' (mean(d) > 0) or 'less'.
    """
    arr = as_vector(d, "d")
    side = _alternative(alternative)
    observed = float(arr.mean())
    tol = 1e-12 * max(1.0, float(np.abs(arr).max()))

    def extreme(means: np.ndarray) -> int:
        if side == "greater":
            return int(np.sum(means >= observed - tol))
        if side == "less":
            return int(np.sum(means <= observed + tol))
        return int(np.sum(np.abs(means) >= abs(observed) - tol))

    if arr.size <= max_exact:
        return float(sum(extreme(m) for m in _flip_means(arr)) / 2 ** arr.size)
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(B, arr.size))
    return float((1 + extreme((signs @ arr) / arr.size)) / (B + 1))


def _pvalues(pvalues) -> np.ndarray:
    p = as_vector(pvalues, "pvalues", min_n=0)
    if np.any((p < 0) | (p > 1)):
        raise StatsInputError(f"p-values must lie between 0 and 1, got {p[(p < 0) | (p > 1)][:3].tolist()}")
    return p


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error), in the input order."""
    p = _pvalues(pvalues)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), in the input order."""
    p = _pvalues(pvalues)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def proportion_p_greater(k: int, n: int, t: float) -> float:
    """One-sided score-test p-value of 'p > t' (the test the Wilson interval inverts)."""
    k, n = check_count(k, n)
    return share_p_greater(k / n, n, t)


def proportion_p_less(k: int, n: int, t: float) -> float:
    """One-sided score-test p-value of 'p < t'."""
    k, n = check_count(k, n)
    return share_p_less(k / n, n, t)


def share_p_greater(p: float, n: float, t: float) -> float:
    """Score-test p-value of 'p > t' for a share p with (effective) sample size n."""
    if t <= 0:
        return 0.0 if p > 0 else 1.0
    if t >= 1:
        return 1.0
    return float(sps.norm.sf((p - t) / math.sqrt(t * (1 - t) / n)))


def share_p_less(p: float, n: float, t: float) -> float:
    """Score-test p-value of 'p < t' for a share p with (effective) sample size n."""
    if t >= 1:
        return 0.0 if p < 1 else 1.0
    if t <= 0:
        return 1.0
    return float(sps.norm.cdf((p - t) / math.sqrt(t * (1 - t) / n)))


def mean_p_greater(mean: float, se: float, t: float, df: int | None = None) -> float:
    """One-sided p-value of 'mean > t' from an estimate and its SE (t with df, else normal)."""
    if se == 0:
        return 0.0 if mean > t else 1.0
    stat = (mean - t) / se
    return float(sps.t.sf(stat, df) if df else sps.norm.sf(stat))


def quantile_p_greater(x, q: float, t: float) -> float:
    """Order-statistic (binomial) p-value of 'the q-quantile is greater than t'."""
    arr = as_vector(x)
    return float(sps.quantile_test(arr, q=t, p=q, alternative="greater").pvalue)


def quantile_p_less(x, q: float, t: float) -> float:
    """Order-statistic (binomial) p-value of 'the q-quantile is less than t'."""
    arr = as_vector(x)
    return float(sps.quantile_test(arr, q=t, p=q, alternative="less").pvalue)
