"""Tests and multiplicity: exact McNemar, sign-flip permutation, one-sided threshold tests, Holm, BH."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError, as_vector, check_count


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts b and c."""
    if b < 0 or c < 0 or not float(b).is_integer() or not float(c).is_integer():
        raise StatsInputError(f"discordant counts must be whole numbers >= 0, got b={b}, c={c}")
    n = int(b + c)
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * sps.binom.cdf(min(b, c), n, 0.5)))


def sign_flip_test(d, max_exact: int = 20, seed: int = 0, B: int = 10_000) -> float:
    """Two-sided permutation test of mean(d) = 0 by flipping signs; exact for n <= max_exact."""
    arr = as_vector(d, "d")
    observed = abs(arr.mean())
    tol = 1e-12 * max(1.0, float(np.abs(arr).max()))
    if arr.size <= max_exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=arr.size)))
        means = np.abs(signs @ arr) / arr.size
        return float(np.mean(means >= observed - tol))
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(B, arr.size))
    means = np.abs(signs @ arr) / arr.size
    return float((1 + np.sum(means >= observed - tol)) / (B + 1))


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error), in the input order."""
    p = as_vector(pvalues, "pvalues", min_n=0)
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
    p = as_vector(pvalues, "pvalues", min_n=0)
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
