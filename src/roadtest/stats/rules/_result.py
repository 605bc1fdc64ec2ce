"""The result types: one-sided bounds whose p-values are functions of the threshold and always agree with them.

A claim "quantity >= t" is SUPPORTED when lower > t and REFUTED when upper < t (spec, threshold verdicts);
"quantity <= t" mirrors it. `p_at_least(t)` is the one-sided p-value of the first claim and is below alpha
exactly when lower > t; `p_at_most(t)` is below alpha exactly when upper < t.

Each rule supplies a small test object with raw p-value functions; `Bounds` routes every p-value through
`_agree`, which only moves a p-value that sits on the wrong side of alpha by floating-point rounding at the
bound itself (analytic inversions), or - for the exact paired 0/1 test, whose p-value is not monotone in the
margin - floors it at alpha beyond the first non-rejected margin (see `_tango`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from scipy.special import betainc, betaincinv, ndtr, stdtr

from roadtest.stats.rules._validate import StatsInputError, check_threshold

Claim = Literal["at_least", "at_most"]
Verdict = Literal["SUPPORTED", "REFUTED", "INCONCLUSIVE"]
REAL = (-math.inf, math.inf)
UNIT = (0.0, 1.0)
POSITIVE = (0.0, math.inf)
DIFFERENCE = (-1.0, 1.0)


class OneSidedTest(Protocol):
    """Raw one-sided p-values of 'quantity > t' (p_at_least) and 'quantity < t' (p_at_most)."""

    def p_at_least(self, t: float) -> float: ...

    def p_at_most(self, t: float) -> float: ...


@dataclass(frozen=True)
class Bounds:
    """One quantity, one interval: the estimate with its one-sided (1 - alpha) lower and upper bounds.

    Together [lower, upper] is a (1 - 2 alpha) interval (90% at alpha 0.05). A missing bound is the trivial
    one of the quantity's domain (0 or 1 for a proportion, 0 or +inf for a positive metric), never NaN, so
    comparisons always work; `reason` says why a bound is missing or the result is INCONCLUSIVE by construction.
    `n` counts the independent units (items, or clusters); `details` holds rule-specific numbers
    (effective n, SD of log values, seed and B of a bootstrap, ...).
    """

    estimate: float
    lower: float
    upper: float
    n: int
    method: str
    reason: str = ""
    alpha: float = 0.05
    domain: tuple[float, float] = REAL
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    test: Any = field(default=None, repr=False, compare=False)

    def p_at_least(self, t: float) -> float:
        """p-value of the claim 'quantity >= t' (H0: quantity <= t); below alpha exactly when lower > t."""
        t = check_threshold(t)
        if t < self.domain[0]:
            return 0.0
        if t >= self.domain[1]:
            return 1.0
        raw = 1.0 if self.test is None else float(self.test.p_at_least(t))
        return _agree(raw, self.lower > t, self.alpha)

    def p_at_most(self, t: float) -> float:
        """p-value of the claim 'quantity <= t' (H0: quantity >= t); below alpha exactly when upper < t."""
        t = check_threshold(t)
        if t > self.domain[1]:
            return 0.0
        if t <= self.domain[0]:
            return 1.0
        raw = 1.0 if self.test is None else float(self.test.p_at_most(t))
        return _agree(raw, self.upper < t, self.alpha)

    def verdict(self, t: float, claim: Claim = "at_least") -> Verdict:
        """Threshold verdict: 'at_least' t is SUPPORTED if lower > t, REFUTED if upper < t; 'at_most' mirrors it."""
        t = check_threshold(t)
        if claim == "at_least":
            return "SUPPORTED" if self.lower > t else ("REFUTED" if self.upper < t else "INCONCLUSIVE")
        if claim == "at_most":
            return "SUPPORTED" if self.upper < t else ("REFUTED" if self.lower > t else "INCONCLUSIVE")
        raise StatsInputError(f"claim must be 'at_least' or 'at_most', got {claim!r}")

    def raw_p(self, t: float, claim: Claim = "at_least") -> float:
        """The rule's own p-value before `_agree` (for tests of the inversion)."""
        if self.test is None:
            return 1.0
        return float(self.test.p_at_least(t) if claim == "at_least" else self.test.p_at_most(t))


def _agree(p: float, excluded: bool, alpha: float) -> float:
    """The p-value on alpha's side that the bound decides: unchanged when it already agrees."""
    if excluded:
        return p if p < alpha else float(np.nextafter(alpha, 0.0))
    return p if p >= alpha else alpha


def trivial(estimate: float, n: int, method: str, reason: str, alpha: float, domain: tuple[float, float],
            details: dict[str, Any] | None = None) -> Bounds:
    """INCONCLUSIVE by construction: the domain's own bounds, p = 1 for every claim inside the domain."""
    return Bounds(float(estimate), domain[0], domain[1], int(n), method, reason, alpha, domain, details or {}, None)


# ---------------------------------------------------------------------------------------------------------
# Test objects
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BinomialTest:
    """Exact binomial tails with a real count k of n (the continuous-k extension used by effective-n rules):
    p_at_least(t) = I_t(k, n - k + 1) = P(Bin(n, t) >= k); p_at_most(t) = P(Bin(n, t) <= k)."""

    k: float
    n: float

    def p_at_least(self, t: float) -> float:
        if self.k <= 0:
            return 1.0
        return float(betainc(self.k, self.n - self.k + 1, min(max(t, 0.0), 1.0)))

    def p_at_most(self, t: float) -> float:
        if self.k >= self.n:
            return 1.0
        return float(1.0 - betainc(self.k + 1, self.n - self.k, min(max(t, 0.0), 1.0)))


def cp_bounds(k: float, n: float, alpha: float) -> tuple[float, float]:
    """One-sided (1 - alpha) Clopper-Pearson bounds for a (possibly real) count k of n."""
    lo = 0.0 if k <= 0 else float(betaincinv(k, n - k + 1, alpha))
    hi = 1.0 if k >= n else float(betaincinv(k + 1, n - k, 1 - alpha))
    return lo, hi


@dataclass(frozen=True)
class CountTest:
    """p-values that count candidate bounds: p_at_least(t) = (1 + #{v <= t}) / denom and
    p_at_most(t) = (1 + #{v >= t}) / denom, for sorted values v (bootstrap-t: v_b = mean - se T*_b and
    denom = B + 1; exact sign-flip: v = the 2^n - 1 non-empty subset means and denom = 2^n)."""

    values: np.ndarray
    denom: float

    def p_at_least(self, t: float) -> float:
        return min(1.0, (1 + int(np.searchsorted(self.values, t, side="right"))) / self.denom)

    def p_at_most(self, t: float) -> float:
        return min(1.0, (1 + self.values.size - int(np.searchsorted(self.values, t, side="left"))) / self.denom)

    def bounds(self, alpha: float, domain: tuple[float, float]) -> tuple[float, float]:
        """The bounds this test inverts to exactly: p_at_least(t) < alpha iff t < lower (and mirrored)."""
        K = smallest_count(alpha, self.denom)
        m = self.values.size
        lower = float(self.values[K - 1]) if 1 <= K <= m else domain[0]
        upper = float(self.values[m - K]) if 1 <= K <= m else domain[1]
        return max(lower, domain[0]), min(upper, domain[1])


def smallest_count(alpha: float, denom: float) -> int:
    """Smallest c >= 0 with (1 + c) / denom >= alpha: a count test rejects exactly when its count is below c."""
    c = max(int(math.floor(alpha * denom - 1)) - 1, 0)
    while (1 + c) / denom < alpha:
        c += 1
    return c


@dataclass(frozen=True)
class StatisticTest:
    """p-values from a statistic that decreases in the hypothesised value t, against a t(df) (or normal,
    df = inf) reference: p_at_least(t) = sf(stat(t)), p_at_most(t) = cdf(stat(t))."""

    statistic: Any
    df: float

    def _cdf(self, x: float) -> float:
        return float(ndtr(x) if math.isinf(self.df) else stdtr(self.df, x))

    def p_at_least(self, t: float) -> float:
        return self._cdf(-self.statistic(t))

    def p_at_most(self, t: float) -> float:
        return self._cdf(self.statistic(t))


@dataclass(frozen=True)
class MaxTest:
    """The conservative combination of several rules: a claim is SUPPORTED only when every rule supports it.
    p_at_least = max of the lower-bound rules' p-values (lower = min of their lower bounds); p_at_most likewise
    over the upper-bound rules (upper = max of their upper bounds). A side with no rules never rejects."""

    lower_tests: tuple[Any, ...]
    upper_tests: tuple[Any, ...]

    def p_at_least(self, t: float) -> float:
        return max((float(x.p_at_least(t)) for x in self.lower_tests), default=1.0)

    def p_at_most(self, t: float) -> float:
        return max((float(x.p_at_most(t)) for x in self.upper_tests), default=1.0)


@dataclass(frozen=True)
class StepTest:
    """Piecewise-constant, monotone p-values of a percentile (item-fraction rule), stored per gap between the
    sorted distinct values u: at_most[i] holds for t in (u[i-1], u[i]] and at_least[i] for t in [u[i-1], u[i])."""

    u: np.ndarray
    at_most: np.ndarray
    at_least: np.ndarray

    def p_at_least(self, t: float) -> float:
        return float(self.at_least[int(np.searchsorted(self.u, t, side="right"))])

    def p_at_most(self, t: float) -> float:
        return float(self.at_most[int(np.searchsorted(self.u, t, side="left"))])
