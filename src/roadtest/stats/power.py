"""Power: the smallest effect the current n can detect, and the n that would decide a claim."""

from __future__ import annotations

import math

from scipy import stats as sps

from roadtest.stats._validate import StatsInputError


def _z(alpha: float, power: float, two_sided: bool) -> tuple[float, float]:
    if not (0 < alpha < 1 and 0 < power < 1):
        raise StatsInputError(f"alpha and power must be between 0 and 1, got {alpha}, {power}")
    z_a = sps.norm.ppf(1 - alpha / 2) if two_sided else sps.norm.ppf(1 - alpha)
    return float(z_a), float(sps.norm.ppf(power))


def minimum_detectable_effect(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """MDE = (z_{1-alpha/2} + z_power) * SE: 2.8016 * SE at alpha 0.05 two-sided, power 0.8."""
    if not se >= 0:
        raise StatsInputError(f"se must be >= 0, got {se}")
    z_a, z_b = _z(alpha, power, True)
    return (z_a + z_b) * se


def required_n_proportion(threshold: float, p: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Items needed to show one proportion p is beyond threshold t with a one-sided test.

    n = ((z_{1-alpha} sqrt(t(1-t)) + z_power sqrt(p(1-p))) / (p - t))^2; None when p == t (never).
    """
    if not (0 <= threshold <= 1 and 0 <= p <= 1):
        raise StatsInputError(f"threshold and p must be proportions, got {threshold}, {p}")
    if p == threshold:
        return None
    z_a, z_b = _z(alpha, power, False)
    n = ((z_a * math.sqrt(threshold * (1 - threshold)) + z_b * math.sqrt(p * (1 - p))) / (p - threshold)) ** 2
    return max(1, math.ceil(n - 1e-9))


def required_n_paired(var_d: float, delta: float, alpha: float = 0.05, power: float = 0.8,
                      two_sided: bool = True) -> int | None:
    """Items needed to detect a mean paired difference delta: n = (z_a + z_b)^2 var(d) / delta^2."""
    if not (math.isfinite(var_d) and math.isfinite(delta)):
        raise StatsInputError(f"var_d and delta must be finite numbers, got var_d={var_d}, delta={delta}")
    if var_d < 0:
        raise StatsInputError(f"var_d must be >= 0, got {var_d}")
    if delta == 0:
        return None
    z_a, z_b = _z(alpha, power, two_sided)
    return max(1, math.ceil((z_a + z_b) ** 2 * var_d / delta ** 2 - 1e-9))
