"""Power, required n and minimum detectable effect for the tests that decide (benchmarks/simulations/RESULTS.md rule 10).

All exact where the rule is exact: the exact binomial (rule 1), the paired 0/1 rule (exact unconditional
Tango-ordered test), exact McNemar, and percentiles at one call per item (order statistics). 'first' is the
smallest n with the target power; 'stable' is the n from which every larger n has it (the exact binomial's
power saw-tooths in n). The normal-approximation n of the current product under-delivers: exact power
0.746-0.80 (binomial) and 0.76-0.77 (McNemar) at the n it returns.

Statements are for a fresh sample ('a fresh sample of N items gives an 80% chance of a decision if the true
value is the one observed'), never 'would decide it'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
from scipy import optimize
from scipy import stats as sps

from roadtest.stats.rules import _tango
from roadtest.stats.rules._validate import StatsInputError, check_alpha
from roadtest.stats.rules.bounds import MIN_CLUSTERS, SKEWED_UPPER_TABLE, min_units_for_percentile

Side = Literal["at_least", "at_most"]


@dataclass(frozen=True)
class RequiredN:
    """Smallest n with the target power ('first'), the n from which every larger n checked has it ('stable'),
    and the exact power at 'stable'. None when no n up to the search limit reaches the power."""

    first: int | None
    stable: int | None
    power: float | None
    unit: str = "items"


def _check(p: float, name: str) -> float:
    if not 0 <= p <= 1:
        raise StatsInputError(f"{name} must be a proportion in [0, 1], got {p}")
    return float(p)


def _check_power(power: float) -> float:
    if not 0 < power < 1:
        raise StatsInputError(f"power must be between 0 and 1, got {power}")
    return float(power)


def _side(side: str) -> Side:
    if side not in ("at_least", "at_most"):
        raise StatsInputError(f"side must be 'at_least' or 'at_most', got {side!r}")
    return cast(Side, side)


# ---------------------------------------------------------------------------------------------------------
# Exact binomial
# ---------------------------------------------------------------------------------------------------------

def binomial_critical(n: int, t: float, alpha: float = 0.05, side: Side = "at_least") -> int:
    """'at_least': smallest k with P(Bin(n, t) >= k) < alpha (n + 1 if none); 'at_most': largest k with
    P(Bin(n, t) <= k) < alpha (-1 if none). Found from the binomial quantile and checked exactly around it
    (O(1) in n: power searches evaluate it thousands of times)."""
    if side == "at_least":
        ok = lambda k: k <= n and sps.binom.sf(k - 1, n, t) < alpha  # noqa: E731
        k = int(min(n + 1, max(0, sps.binom.isf(alpha, n, t))))
        while k > 0 and ok(k - 1):
            k -= 1
        while k <= n and not ok(k):
            k += 1
        return k
    ok = lambda k: k >= 0 and sps.binom.cdf(k, n, t) < alpha  # noqa: E731
    k = int(min(n, max(-1, sps.binom.ppf(alpha, n, t))))
    while k < n and ok(k + 1):
        k += 1
    while k >= 0 and not ok(k):
        k -= 1
    return k


def power_exact_binomial(n: int, t: float, p: float, alpha: float = 0.05, side: Side = "at_least") -> float:
    """Exact power of the one-sided exact binomial test of 'p >= t' (or '<= t') at n items when the truth is p.
    Rule 10: MC agrees within 1 SE (e.g. n = 304, t = .85, p = .90: exact .811, MC .811)."""
    t, p, alpha, side = _check(t, "t"), _check(p, "p"), check_alpha(alpha), _side(side)
    if n < 1:
        raise StatsInputError(f"n must be >= 1, got {n}")
    k = binomial_critical(int(n), t, alpha, side)
    if side == "at_least":
        return float(sps.binom.sf(k - 1, n, p)) if k <= n else 0.0
    return float(sps.binom.cdf(k, n, p)) if k >= 0 else 0.0


def _first_and_stable(pw, start: int, n_max: int, power: float, window: float, unit: str) -> RequiredN:
    first = next((m for m in range(max(start, 1), n_max + 1) if pw(m) >= power), None)
    if first is None:
        return RequiredN(None, None, None, unit)
    end = int(first * (1 + window)) + 50
    ok = np.array([pw(m) >= power for m in range(first, end)])
    bad = np.flatnonzero(~ok)
    stable = first if bad.size == 0 else first + int(bad[-1]) + 1
    return RequiredN(first, stable, float(pw(stable)), unit)


def required_n_exact_binomial(t: float, p: float, power: float = 0.8, alpha: float = 0.05,
                              n_max: int = 50_000) -> RequiredN:
    """Items for the exact binomial test of p against t (side from the sign of p - t) to reach `power`.
    'stable' is checked up to 1.5 x first + 50 (e.g. t = .85, p = .90: first 281, stable 304)."""
    t, p, power, alpha = _check(t, "t"), _check(p, "p"), _check_power(power), check_alpha(alpha)
    if p == t:
        return RequiredN(None, None, None)
    side: Side = "at_least" if p > t else "at_most"
    z = sps.norm.isf(alpha) * math.sqrt(t * (1 - t)) + sps.norm.isf(1 - power) * math.sqrt(p * (1 - p))
    start = max(1, int(0.7 * (z / (p - t)) ** 2))
    while start > 1 and power_exact_binomial(start, t, p, alpha, side) >= power:
        start //= 2
    return _first_and_stable(lambda m: power_exact_binomial(m, t, p, alpha, side), start, n_max, power, 0.5, "items")


def mde_exact_binomial(n: int, t: float, power: float = 0.8, alpha: float = 0.05, side: Side = "at_least") -> float:
    """Smallest distance from t that the exact binomial test at n detects with `power` (NaN if none below 1):
    e.g. t = .85: .139 at n = 20, .085 at n = 100, .039 at n = 500."""
    t, power, alpha, side = _check(t, "t"), _check_power(power), check_alpha(alpha), _side(side)
    edge = 1.0 if side == "at_least" else 0.0
    if power_exact_binomial(n, t, edge, alpha, side) < power:
        return math.nan
    f = lambda p: power_exact_binomial(n, t, p, alpha, side) - power  # noqa: E731
    lo, hi = (t, 1.0) if side == "at_least" else (0.0, t)
    for _ in range(60):
        mid = (lo + hi) / 2
        good = f(mid) >= 0
        if side == "at_least":
            lo, hi = (lo, mid) if good else (mid, hi)
        else:
            lo, hi = (mid, hi) if good else (lo, mid)
    return (hi - t) if side == "at_least" else (t - lo)


# ---------------------------------------------------------------------------------------------------------
# Bounded mean (effective n) and clusters
# ---------------------------------------------------------------------------------------------------------

def power_bounded_mean(n_units: int, t: float, p: float, n_eff_per_unit: float = 1.0, alpha: float = 0.05,
                       side: Side = "at_least") -> float:
    """Power of rule 2 (effective-n Clopper-Pearson) at n_units, as the exact binomial at n_eff = n_units x
    n_eff_per_unit trials (exact with one 0/1 call per unit, where n_eff_per_unit = 1; with repeats an
    approximation that treats the observed design effect as known). n_eff_per_unit lies in [1, calls per unit]."""
    if n_eff_per_unit < 1:
        raise StatsInputError(f"n_eff_per_unit must be >= 1 (rule 2 never counts a unit as less than one "
                              f"Bernoulli), got {n_eff_per_unit}")
    return power_exact_binomial(max(1, int(math.floor(n_units * n_eff_per_unit))), t, p, alpha, side)


def required_n_bounded_mean(t: float, p: float, n_eff_per_unit: float = 1.0, power: float = 0.8,
                            alpha: float = 0.05, unit: str = "items", min_units: int = 1) -> RequiredN:
    """Units (items, or clusters) for rule 2 to reach `power`: the exact binomial's n divided by the observed
    effective n per unit, at least min_units (10 for clusters: no clustered verdict below 10)."""
    if n_eff_per_unit < 1:
        raise StatsInputError(f"n_eff_per_unit must be >= 1, got {n_eff_per_unit}")
    r = required_n_exact_binomial(t, p, power, alpha)
    if r.first is None:
        return RequiredN(None, None, None, unit)
    assert r.stable is not None             # first and stable are None together
    first = max(min_units, math.ceil(r.first / n_eff_per_unit))
    stable = max(min_units, math.ceil(r.stable / n_eff_per_unit))
    return RequiredN(first, stable, power_bounded_mean(stable, t, p, n_eff_per_unit, alpha,
                                                       "at_least" if p > t else "at_most"), unit)


def required_clusters(t: float, p: float, n_eff_per_cluster: float, power: float = 0.8,
                      alpha: float = 0.05) -> RequiredN:
    """Clusters needed for a clustered proportion (rule 5), stated in clusters: rule 2's count divided by the
    observed effective n per cluster, never below 10 clusters."""
    return required_n_bounded_mean(t, p, max(1.0, n_eff_per_cluster), power, alpha, "clusters", MIN_CLUSTERS)


# ---------------------------------------------------------------------------------------------------------
# Means (t-based) and skewed means
# ---------------------------------------------------------------------------------------------------------

def power_mean_t(n: int, delta: float, sd: float, alpha: float = 0.05) -> float:
    """Exact power of the one-sided t test at n when the mean is delta beyond the threshold (noncentral t)."""
    alpha = check_alpha(alpha)
    if n < 2 or sd <= 0:
        raise StatsInputError(f"need n >= 2 and sd > 0, got n={n}, sd={sd}")
    q = sps.t.isf(alpha, n - 1)
    return float(sps.nct.sf(q, n - 1, abs(delta) * math.sqrt(n) / sd))


def required_n_mean_t(delta: float, sd: float, power: float = 0.8, alpha: float = 0.05, min_n: int = 2,
                      n_max: int = 10_000_000) -> RequiredN:
    """Items for a t-based mean claim (symmetric scores, paired continuous differences) to reach `power`
    (power is monotone in n, so first = stable)."""
    power = _check_power(power)
    if delta == 0:
        return RequiredN(None, None, None)
    lo, hi = max(2, min_n), max(2, min_n)
    while power_mean_t(hi, delta, sd, alpha) < power:
        lo, hi = hi, hi * 2
        if hi > n_max:
            return RequiredN(None, None, None)
    while lo < hi:
        mid = (lo + hi) // 2
        if power_mean_t(mid, delta, sd, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return RequiredN(hi, hi, power_mean_t(hi, delta, sd, alpha))


def mde_mean_t(n: int, sd: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest mean distance from the threshold that the t test at n detects with `power`."""
    power = _check_power(power)
    return float(optimize.brentq(lambda d: power_mean_t(n, d, sd, alpha) - power, 1e-12 * sd, 100 * sd))


def required_n_skewed_mean(delta: float, sd: float, sd_log: float, power: float = 0.8,
                           alpha: float = 0.05) -> RequiredN:
    """Items for an 'at most' claim on a skewed mean: the t-based n, but never below the rule-3 gate for the SD of
    log values (100 items for sd_log <= 0.5, 200 for <= 0.75; None beyond: no n was shown to suffice)."""
    need = next((items for limit, items in SKEWED_UPPER_TABLE if sd_log <= limit), None)
    if need is None:
        return RequiredN(None, None, None)
    return required_n_mean_t(delta, sd, power, alpha, min_n=need)


# ---------------------------------------------------------------------------------------------------------
# Percentiles
# ---------------------------------------------------------------------------------------------------------

def power_percentile(n: int, q: float, share_below: float, alpha: float = 0.05, side: Side = "at_most") -> float:
    """Exact power of the order-statistic rule (one call per item) for 'p_q <= t' (side 'at_most': needs the true
    share of calls below t, F(t), above q) or 'p_q >= t' (F(t) below q). Zero below the floor: an upper bound on
    p95 needs 59 items whatever the data."""
    side = _side(side)
    return power_exact_binomial(n, q, share_below, alpha, "at_least" if side == "at_most" else "at_most")


def required_n_percentile(q: float, share_below: float, power: float = 0.8, alpha: float = 0.05) -> RequiredN:
    """Items for a percentile claim at one call per item (exact), never below the order-statistic floor
    (59 items for an upper bound on p95, 2 for a lower bound)."""
    r = required_n_exact_binomial(q, share_below, power, alpha)
    if r.first is None:
        return r
    assert r.stable is not None             # first and stable are None together
    floor = min_units_for_percentile(q, alpha)[1 if share_below > q else 0]
    return RequiredN(max(r.first, floor), max(r.stable, floor), r.power)


# ---------------------------------------------------------------------------------------------------------
# Paired 0/1: exact McNemar and the decision rule (exact unconditional Tango-ordered test)
# ---------------------------------------------------------------------------------------------------------

def power_mcnemar_exact(n: int, p10: float, p01: float, alpha: float = 0.05) -> float:
    """Exact unconditional power of the one-sided exact (conditional) McNemar test of 'A better' on n items:
    sum over D ~ Bin(n, psi) of P(b >= k_crit(D) | D). Rule 10: (.15, .05) needs 134 items (power .802)."""
    p10, p01, alpha = _check(p10, "p10"), _check(p01, "p01"), check_alpha(alpha)
    psi = p10 + p01
    if psi <= 0:
        return 0.0
    d = np.arange(1, n + 1)
    kc = sps.binom.isf(alpha, d, 0.5) + 1
    pr = np.where(kc <= d, sps.binom.sf(kc - 1, d, p10 / psi), 0.0)
    return float(np.sum(sps.binom.pmf(d, n, psi) * pr))


def required_n_mcnemar(p10: float, p01: float, power: float = 0.8, alpha: float = 0.05,
                       n_max: int = 50_000) -> RequiredN:
    """Items for the exact McNemar test to reach `power` (first = stable: the power is smooth in n)."""
    power = _check_power(power)
    if p10 <= p01:
        return RequiredN(None, None, None)
    delta, psi = p10 - p01, p10 + p01
    start = max(2, int(0.7 * ((sps.norm.isf(alpha) * math.sqrt(psi) + sps.norm.isf(1 - power)
                                * math.sqrt(psi - delta ** 2)) / delta) ** 2))
    while start > 2 and power_mcnemar_exact(start, p10, p01, alpha) >= power:
        start //= 2
    return _first_and_stable(lambda m: power_mcnemar_exact(m, p10, p01, alpha), start, n_max, power, 0.3, "items")


def mde_mcnemar(n: int, psi: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest A - B = p10 - p01 that exact McNemar detects at n items and discordance psi (NaN if none)."""
    if power_mcnemar_exact(n, psi, 0.0, alpha) < power:
        return math.nan
    lo, hi = 0.0, psi
    for _ in range(40):
        mid = (lo + hi) / 2
        if power_mcnemar_exact(n, (psi + mid) / 2, (psi - mid) / 2, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def _tango_critical(n: int, d0: float, alpha: float) -> float:
    """Smallest Tango Z (at margin d0) whose exact unconditional p-value is below alpha (inf if none)."""
    B, C = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = B + C <= n
    bb, cc = B[ok], C[ok]
    z = _tango.tango_z(bb, cc, n, d0)
    order = np.argsort(z)
    zs, bs, cs = z[order], bb[order], cc[order]
    keep = np.r_[np.diff(zs) > _tango.TIE * np.maximum(1, np.abs(zs[1:])), True]
    zs, bs, cs = zs[keep], bs[keep], cs[keep]          # one table per distinct Z (the p-value depends on Z only)
    p = lambda i: _tango.exact_p(int(bs[i]), int(cs[i]), n, d0, +1)  # noqa: E731
    if p(zs.size - 1) >= alpha:
        return math.inf
    lo, hi = 0, zs.size - 1                              # p is nonincreasing in Z: find the first index below alpha
    while lo < hi:
        mid = (lo + hi) // 2
        if p(mid) < alpha:
            hi = mid
        else:
            lo = mid + 1
    return float(zs[hi])


def power_paired_binary(n: int, p10: float, p01: float, margin: float = 0.0, alpha: float = 0.05) -> float:
    """Exact power of the paired 0/1 rule's test at `margin` ('A - B > margin') on n items when the cell
    probabilities are (p10, p01): the trinomial probability of Z_margin >= its exact critical value.
    The decision rule is the inverted bound (first non-rejected margin), whose power can be slightly lower
    (by the tables in the p-value's saw-tooth just below the margin)."""
    p10, p01, alpha = _check(p10, "p10"), _check(p01, "p01"), check_alpha(alpha)
    if p10 + p01 > 1:
        raise StatsInputError("p10 + p01 must be <= 1")
    zc = _tango_critical(int(n), float(margin), alpha)
    if math.isinf(zc):
        return 0.0
    k = _tango._region_from_z(int(n), float(margin), zc)
    psi = p10 + p01
    return float(_tango._region_prob(int(n), np.array([p10 - p01]), k, np.array([max(psi, 1e-300)]))[0])


def required_n_paired_binary(p10: float, p01: float, margin: float = 0.0, power: float = 0.8,
                             alpha: float = 0.05, n_max: int = 5000) -> RequiredN:
    """Items for the paired 0/1 rule (exact unconditional test at `margin`) to reach `power`: a bisection on n
    from the exact McNemar / normal start, then 'stable' checked over the next 5% (about 40 evaluations)."""
    power = _check_power(power)
    delta = p10 - p01
    if delta <= margin:
        return RequiredN(None, None, None)
    pw = lambda m: power_paired_binary(m, p10, p01, margin, alpha)  # noqa: E731
    psi = p10 + p01
    guess = max(10, int(((sps.norm.isf(alpha) + sps.norm.isf(1 - power)) ** 2 * max(psi - delta ** 2, 1e-6))
                        / (delta - margin) ** 2))
    lo, hi = max(2, guess // 2), guess
    while pw(hi) < power:
        lo, hi = hi, hi * 2
        if hi > n_max:
            return RequiredN(None, None, None)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    first = hi
    stable = first
    for m in range(first + 1, first + max(5, int(0.05 * first)) + 1):
        if pw(m) < power:
            stable = m + 1
    return RequiredN(first, stable, pw(stable))


def mde_paired_binary(n: int, psi: float, margin: float = 0.0, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest A - B beyond `margin` (at discordance psi) that the paired 0/1 rule detects with `power`."""
    top = psi
    if top <= margin or power_paired_binary(n, (psi + top) / 2, (psi - top) / 2, margin, alpha) < power:
        return math.nan
    lo, hi = max(margin, -psi), top
    for _ in range(30):
        mid = (lo + hi) / 2
        if power_paired_binary(n, (psi + mid) / 2, (psi - mid) / 2, margin, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi - margin
