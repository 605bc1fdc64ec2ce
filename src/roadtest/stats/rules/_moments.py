"""Skewness-corrected statistics for a mean: Hall's (1992) cubic and Johnson's (1978) modified t, with their
exact inversions, and the vectorised studentized bootstrap. Private helpers for bounds.py and paired.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtrit

CHUNK_CELLS = 2_000_000
"""Resampled indices drawn at a time: B x n is drawn in row blocks, so memory stays flat for large n."""


def t_quantile(alpha: float, df: float) -> float:
    """Upper alpha quantile of t(df) (normal for df = inf), via the fast special functions."""
    return float(-ndtri(alpha)) if math.isinf(df) else float(-stdtrit(df, alpha))


@dataclass(frozen=True)
class Moments:
    """Mean, SD (ddof 1), skewness g = m3 / m2^1.5 and n of pseudo-values x = mean + e (e: residuals)."""

    mean: float
    sd: float
    m2: float
    m3: float
    n: int

    @property
    def skew(self) -> float:
        return self.m3 / self.m2 ** 1.5 if self.m2 > 0 else 0.0


def moments(mean: float, resid: np.ndarray) -> Moments:
    """Moments from residuals around `mean` (plain data: resid = x - x.mean())."""
    n = resid.size
    m2 = float(np.mean(resid ** 2))
    return Moments(float(mean), math.sqrt(m2 * n / (n - 1)), m2, float(np.mean(resid ** 3)), n)


@dataclass(frozen=True)
class HallStatistic:
    """Hall's monotone cubic transform of the studentized mean at hypothesised value mu:
    sqrt(n) [((1 + g T/3)^3 - 1)/g + g/(6n)], T = (mean - mu)/sd (= T + g T^2/3 + g^2 T^3/27 + g/(6n))."""

    mom: Moments

    def __call__(self, mu: float) -> float:
        m, g, n = self.mom, self.mom.skew, self.mom.n
        T = (m.mean - mu) / m.sd
        core = T + g * T ** 2 / 3 + g ** 2 * T ** 3 / 27
        return math.sqrt(n) * (core + g / (6 * n))


def hall_bounds(mom: Moments, alpha: float, df: float) -> tuple[float, float]:
    """Invert Hall's statistic at the t(df) quantile: T = (3/g)[(1 + g (u - g/(6n)))^(1/3) - 1], u = q/sqrt(n)."""
    q = t_quantile(alpha, df)
    g, n = mom.skew, mom.n

    def inv(u: float) -> float:
        if abs(g) < 1e-12:
            return u - g / (6 * n)
        return 3 / g * (np.cbrt(1 + g * (u - g / (6 * n))) - 1)

    return mom.mean - mom.sd * inv(q / math.sqrt(n)), mom.mean - mom.sd * inv(-q / math.sqrt(n))


@dataclass(frozen=True)
class TStatistic:
    """Student's (mean - mu) / se."""

    mean: float
    se: float

    def __call__(self, mu: float) -> float:
        return (self.mean - mu) / self.se


@dataclass(frozen=True)
class JohnsonStatistic:
    """Johnson's (1978) modified t at mu, [d + a + b d^2] / (s/sqrt(n)), d = mean - mu, a = m3/(6 s^2 n),
    b = m3/(3 s^4), held flat beyond its turning point d = -1/(2b) so that it is monotone in mu
    (otherwise the quadratic 'supports' absurd claims far from the mean)."""

    mom: Moments

    def __call__(self, mu: float) -> float:
        m = self.mom
        a = m.m3 / (6 * m.sd ** 2 * m.n)
        b = m.m3 / (3 * m.sd ** 4)
        d = m.mean - mu
        if b > 0:
            d = max(d, -1 / (2 * b))
        elif b < 0:
            d = min(d, -1 / (2 * b))
        return (d + a + b * d * d) / (m.sd / math.sqrt(m.n))


def johnson_upper(mom: Moments, alpha: float) -> float:
    """Upper bound inverting the monotone Johnson statistic at -t(n-1) quantile; +inf when it never gets there."""
    se = mom.sd / math.sqrt(mom.n)
    a = mom.m3 / (6 * mom.sd ** 2 * mom.n)
    b = mom.m3 / (3 * mom.sd ** 4)
    target = -t_quantile(alpha, mom.n - 1) * se
    if abs(b) < 1e-14:
        return mom.mean - (target - a)
    disc = 1 - 4 * b * (a - target)
    if disc < 0:
        return math.inf
    d = (-1 + math.sqrt(disc)) / (2 * b)
    return mom.mean - d


def bootstrap_t_values(x: np.ndarray, B: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted candidate bounds v_b = mean - se T*_b of the studentized bootstrap, T*_b = (m*_b - m)/(s*_b/sqrt n).

    Drawn in row blocks of about CHUNK_CELLS indices. A replicate with zero spread gets T* = +-inf (0 when its
    mean equals the observed one)."""
    n = x.size
    m = float(x.mean())
    se = float(x.std(ddof=1)) / math.sqrt(n)
    xc = x - m
    tstar = np.empty(B)
    step = max(1, CHUNK_CELLS // n)
    for start in range(0, B, step):
        stop = min(B, start + step)
        v = xc[rng.integers(0, n, size=(stop - start, n))]
        s1 = v.sum(axis=1)
        s2 = np.einsum("bn,bn->b", v, v)
        sd = np.sqrt(np.maximum(s2 - s1 ** 2 / n, 0.0) / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (s1 / n) / (sd / math.sqrt(n))
        t = np.where(sd > 0, t, np.where(s1 > 0, np.inf, np.where(s1 < 0, -np.inf, 0.0)))
        tstar[start:stop] = t
    return np.sort(m - se * tstar)
