"""Two models on the same items: the paired difference A - B with its bounds, and the comparative claims
(superiority by a margin, non-inferiority, equivalence by two one-sided tests).

Rules (benchmarks/simulations/RESULTS.md rule 6):
- 0/1 scores, one call per item: the exact unconditional test ordered by Tango's score statistic and its
  inversion, for every margin including 0 (size <= 0.0486 on the exact grid; asymptotic Tango reached 0.0726,
  exact McNemar disagreed with the Tango interval beside it in 1-4% of outcomes, so McNemar is kept only as a
  reference function). Its p-value is not monotone in the margin, so the bound is the first non-rejected margin
  (see `_tango`).
- Continuous differences: the conservative combination of a symmetric-case rule and Hall's skew-corrected t,
  i.e. a claim is SUPPORTED only when both support it (lower = min of the two lower bounds). The symmetric-case
  rule is the exact sign-flip test for n <= 20 (spec) and paired t above. Why: paired t and sign-flip fail for
  skewed differences (0.067-0.107, rule 6B) and Hall-t fixes that from n ~ 20 (skew 0.5) / ~100 (skew 1.4);
  but Hall-t alone fails for heavy-tailed symmetric differences (t3: 0.062-0.069 at n = 10-100, our check),
  where t and sign-flip hold. The combination's error is at most the smaller of the two, so it holds wherever
  either holds (our check: normal 0.041-0.051, t3 0.042-0.050, skew 0.5 0.046-0.052 from n = 15,
  gamma(2) 0.076 at n = 10 falling to 0.051 at n = 100).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from roadtest.stats.rules import _tango
from roadtest.stats.rules._moments import HallStatistic, TStatistic, hall_bounds, moments, t_quantile
from roadtest.stats.rules._result import (
    DIFFERENCE, REAL, Bounds, MaxTest, StatisticTest, Verdict, smallest_count, trivial,
)
from roadtest.stats.rules._validate import (
    StatsInputError, as_labels, as_vector, check_alpha, check_binary, check_threshold, parent_codes, unit_means,
)
from roadtest.stats.rules.bounds import MIN_CLUSTERS

SIGN_FLIP_MAX_N = 20
"""Exact sign-flip (2^n subsets) up to 20 items (spec); paired t above."""
MIN_PAIRED_N = 5
"""Below 5 units no paired interval: the exact sign-flip test cannot reach p < 0.05 (1/16 > 0.05); nor can the
exact 0/1 test with every item on one side (4 items: p = 0.0625)."""


# ---------------------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairedBounds:
    """A - B on the same items: estimate, one-sided (1 - alpha) bounds, and the p-values at `margin` of
    'A - B > margin' (p_greater) and 'A - B < margin' (p_less). `correlation` is Pearson's r of the item-level
    scores of A and B (None when either is constant); `se_paired` and `se_unpaired` show what pairing gained.
    `difference` is the full `Bounds` of A - B (p-values at any other margin)."""

    estimate: float
    lower: float
    upper: float
    margin: float
    p_greater: float
    p_less: float
    correlation: float | None
    se_paired: float
    se_unpaired: float
    n: int
    method: str
    reason: str
    alpha: float
    difference: Bounds


@dataclass(frozen=True)
class ClaimResult:
    """A comparative claim's verdict with the p-value of the claim (p_supported) and of its negation
    (p_refuted); each is below alpha exactly when the verdict says so."""

    verdict: Verdict
    p_supported: float
    p_refuted: float
    claim: str
    method: str


# ---------------------------------------------------------------------------------------------------------
# 0/1 scores
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TangoTest:
    """Exact unconditional Tango-ordered p-values for the table (b, c) of n items."""

    b: int
    c: int
    n: int

    def p_at_least(self, t: float) -> float:
        return _tango.exact_p(self.b, self.c, self.n, t, +1)

    def p_at_most(self, t: float) -> float:
        return _tango.exact_p(self.b, self.c, self.n, t, -1)


def paired_binary(b: int, c: int, n: int, alpha: float = 0.05) -> Bounds:
    """p10 - p01 from the discordant counts b (A right, B wrong) and c (A wrong, B right) of n items.

    Rule 6A (`tango_exact_pvalues` / `paired_binary_exact`): exact unconditional test ordered by Tango's Z and
    the interval that inverts it, margin 0 included, so test and interval always agree; size <= 0.0486 on the
    exact grid (n 20-200). Cost: about 0.1-0.5 s for both bounds at n = 200-3000, cached per table.
    """
    for name, v in (("b", b), ("c", c), ("n", n)):
        if not float(v).is_integer() or v < 0:
            raise StatsInputError(f"{name} must be a whole number >= 0, got {v!r}")
    b, c, n = int(b), int(c), int(n)
    if n < 1 or b + c > n:
        raise StatsInputError(f"need b + c <= n and n >= 1, got b={b}, c={c}, n={n}")
    alpha = check_alpha(alpha)
    lo, hi = _tango.exact_bounds(b, c, n, alpha)
    lo, hi = max(lo, -1.0), min(hi, 1.0)
    return Bounds((b - c) / n, lo, hi, n, "exact unconditional test ordered by Tango's score, inverted", "",
                  alpha, DIFFERENCE, {"b": b, "c": c}, TangoTest(b, c, n))


def mcnemar_exact(b: int, c: int) -> dict[str, float]:
    """Exact (conditional) McNemar p-values from the discordant counts: 'greater' (A better), 'less', and
    'two-sided' = min(1, 2 P(Bin(b + c, 1/2) <= min(b, c))). Reference only (spec check value: b = 12, c = 3
    gives 0.0352); decisions use `paired_binary`, whose interval agrees with its test."""
    d = int(b) + int(c)
    if d == 0:
        return {"greater": 1.0, "less": 1.0, "two-sided": 1.0}
    return {"greater": float(sps.binom.sf(b - 1, d, 0.5)), "less": float(sps.binom.cdf(b, d, 0.5)),
            "two-sided": float(min(1.0, 2 * sps.binom.cdf(min(b, c), d, 0.5)))}


# ---------------------------------------------------------------------------------------------------------
# Continuous differences
# ---------------------------------------------------------------------------------------------------------

def paired_t_bounds(d: Any, alpha: float = 0.05) -> Bounds:
    """Paired t on per-item differences (the spec's 'paired t'; statsmodels `ttost_paired` uses it).
    Valid for roughly symmetric differences only (gamma(2) differences: 0.067-0.108, rule 6B)."""
    x = as_vector(d, "differences", min_n=2)
    alpha = check_alpha(alpha)
    n, m = x.size, float(x.mean())
    se = float(x.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        return trivial(m, n, "paired t", f"no variation seen in the differences over {n} items", alpha, REAL)
    q = t_quantile(alpha, n - 1)
    return Bounds(m, m - q * se, m + q * se, n, "paired t", "", alpha, REAL, {"se": se},
                  StatisticTest(TStatistic(m, se), n - 1))


@dataclass(frozen=True)
class SignFlipTest:
    """Exact sign-flip p-values from the differences themselves (n <= 20): the 2^n - 1 subset means are rebuilt
    on each call (about 10-20 ms at n = 20) instead of being stored (8 MB per result)."""

    d: tuple[float, ...]
    tol: float

    def p_at_least(self, t: float) -> float:
        m = _subset_means(np.asarray(self.d))
        return (1 + int(np.count_nonzero(m <= t + self.tol))) / 2.0 ** len(self.d)

    def p_at_most(self, t: float) -> float:
        m = _subset_means(np.asarray(self.d))
        return (1 + int(np.count_nonzero(m >= t - self.tol))) / 2.0 ** len(self.d)


def _subset_means(x: np.ndarray) -> np.ndarray:
    """Means of the 2^n - 1 non-empty subsets of x (by doubling into preallocated arrays; the same float
    operations on every call, so bounds and p-values compare identical numbers)."""
    n = x.size
    sums = np.zeros(1 << n)
    sizes = np.zeros(1 << n, dtype=np.int8)
    for i, v in enumerate(x):
        h = 1 << i
        np.add(sums[:h], v, out=sums[h:2 * h])
        np.add(sizes[:h], 1, out=sizes[h:2 * h])
    return sums[1:] / sizes[1:]


def sign_flip_bounds(d: Any, alpha: float = 0.05) -> Bounds:
    """Exact sign-flip test of the mean difference (n <= 20) and its exact inversion.

    p('mean > t') = (1 + #{non-empty subsets S with mean(d_S) <= t}) / 2^n, because flipping the signs of S
    raises the sum of d - t exactly when the mean of d over S is <= t; so the bounds are order statistics of the
    2^n - 1 subset means (Hartigan 1969) and test and interval agree exactly. Subset means within 1e-12 x max|d|
    of t count as ties (conservative). Exact for differences symmetric about the mean; with skewed differences
    it tests the median (rule 6B)."""
    x = as_vector(d, "differences", min_n=1)
    alpha = check_alpha(alpha)
    n = x.size
    if n > SIGN_FLIP_MAX_N:
        raise StatsInputError(f"the exact sign-flip test enumerates 2^n subsets; n = {n} > {SIGN_FLIP_MAX_N}")
    tol = 1e-12 * max(float(np.max(np.abs(x))), 1e-300)
    m = _subset_means(x)
    K = smallest_count(alpha, 2.0 ** n)
    if 1 <= K <= m.size:
        part = np.partition(m, sorted({K - 1, m.size - K}))
        lo, hi = float(part[K - 1]) - tol, float(part[m.size - K]) + tol
    else:
        lo, hi = REAL
    return Bounds(float(x.mean()), lo, hi, n, "exact sign-flip", "", alpha, REAL, {},
                  SignFlipTest(tuple(float(v) for v in x), tol))


def hall_t_bounds(pseudo: Any, alpha: float = 0.05) -> Bounds:
    """Hall's (1992) skew-corrected t for a mean, t(n - 1) quantiles, from (pseudo-)values."""
    x = as_vector(pseudo, "values", min_n=3)
    alpha = check_alpha(alpha)
    m = float(x.mean())
    mom = moments(m, x - m)
    if mom.sd == 0:
        return trivial(m, x.size, "Hall t", f"no variation seen over {x.size} units", alpha, REAL)
    lo, hi = hall_bounds(mom, alpha, x.size - 1)
    return Bounds(m, lo, hi, x.size, "Hall t", "", alpha, REAL, {"skewness": mom.skew},
                  StatisticTest(HallStatistic(mom), x.size - 1))


def paired_continuous(d: Any, alpha: float = 0.05) -> Bounds:
    """Mean of per-unit differences: (exact sign-flip if n <= 20, else paired t) combined with Hall-t,
    a claim SUPPORTED only when both support it (see the module docstring for the numbers)."""
    x = as_vector(d, "differences", min_n=1)
    alpha = check_alpha(alpha)
    n, m = x.size, float(x.mean())
    if n < MIN_PAIRED_N:
        return trivial(m, n, "paired", f"too few items for a paired interval ({n} < {MIN_PAIRED_N})", alpha, REAL)
    if float(np.ptp(x)) == 0:
        return trivial(m, n, "paired", f"no variation seen in the differences over {n} items (all {m:g}): "
                       "no interval", alpha, REAL)
    sym = sign_flip_bounds(x, alpha) if n <= SIGN_FLIP_MAX_N else paired_t_bounds(x, alpha)
    hall = hall_t_bounds(x, alpha)
    lo, hi = min(sym.lower, hall.lower), max(sym.upper, hall.upper)
    method = f"{sym.method} and Hall t (both must agree)"
    details = {"skewness": hall.details.get("skewness", 0.0), "lower_" + sym.method: sym.lower,
               "upper_" + sym.method: sym.upper, "lower_hall": hall.lower, "upper_hall": hall.upper}
    return Bounds(m, lo, hi, n, method, "", alpha, REAL, details,
                  MaxTest((sym.test, hall.test), (sym.test, hall.test)))


SKEWED_PAIRED_MIN_N = 40
"""Below 40 items no comparison of means of a skewed metric (latency, tokens, cost) was shown to hold."""


@dataclass(frozen=True)
class ScaledTest:
    """p-values multiplied by `factor` (Bonferroni over the bound's two rules' halves): a bound computed at
    alpha / factor excludes t exactly when the scaled p is below alpha."""

    test: Any
    factor: float

    def p_at_least(self, t: float) -> float:
        return min(1.0, self.factor * float(self.test.p_at_least(t)))

    def p_at_most(self, t: float) -> float:
        return min(1.0, self.factor * float(self.test.p_at_most(t)))


def skewed_difference(d: Any, alpha: float = 0.05) -> Bounds:
    """Mean of per-item differences of a skewed metric (latency, tokens, cost): the continuous rule at alpha / 2
    on each side, from 40 items.

    Why: the continuous rule at alpha under-covers the short-tail side for right-skewed differences (our boundary
    simulation, R = 2000: false REFUTED 0.0695 for gamma(2) at 15 items, 0.061 at 100; lognormal(1) 0.129 at 15,
    0.090 at 100). At alpha / 2 it holds from 40 items (gamma(2) 0.026-0.030, gamma(1) 0.035/0.026, lognormal(1)
    0.051/0.043 at 40/100) and fails below (lognormal(1) 0.077 at 15)."""
    x = as_vector(d, "differences", min_n=1)
    alpha = check_alpha(alpha)
    if x.size < SKEWED_PAIRED_MIN_N:
        return trivial(float(x.mean()), x.size, "paired, skewed metric",
                       f"too few items for a comparison of means of a skewed metric ({x.size} < "
                       f"{SKEWED_PAIRED_MIN_N}); a percentile claim on each model is distribution-free", alpha, REAL)
    b = paired_continuous(x, alpha / 2)
    if b.test is None:
        return replace(b, alpha=alpha)
    return Bounds(b.estimate, b.lower, b.upper, b.n, b.method + f" at {alpha / 2:g} per side (skewed metric)",
                  b.reason, alpha, b.domain, b.details, ScaledTest(b.test, 2.0))


# ---------------------------------------------------------------------------------------------------------
# The dispatcher
# ---------------------------------------------------------------------------------------------------------

PairedKind = Literal["binary", "bounded", "skewed", "symmetric"]


def paired(kind: PairedKind, a: Any, b: Any, items: Any = None, clusters: Any = None, margin: float = 0.0,
           alpha: float = 0.05, items_b: Any = None, seed: int = 0) -> PairedBounds:
    """A - B on the same items from raw per-call values.

    a, b: per-call values of models A and B; items (and items_b, default items) label their items; repeats
    are averaged per item (the item is the unit). clusters: one label per call of A, constant within an item.
    margin: the p-values are reported at it ('A - B > margin', 'A - B < margin').

    kind 'binary': one call per item -> exact unconditional Tango-ordered test on (b, c); with repeats -> the
    same test on one seeded random call per item and model (valid by construction; rules 2 and 4 found one
    random call per item valid, and no paired rule with repeats was simulated in the simulation study); with clusters ->
    the continuous rule on cluster-mean differences (C >= 10; not simulated in the simulation study).
    Other kinds: the continuous rule on item differences, or on cluster-mean differences with clusters
    (pseudo-values with cluster-robust weights, t(C - 1); no verdict below 10 clusters).
    """
    if kind not in ("binary", "bounded", "skewed", "symmetric"):
        raise StatsInputError(f"unknown paired kind {kind!r}; use 'binary', 'bounded', 'skewed' or 'symmetric' "
                              "(paired percentiles are not covered by the simulation study)")
    alpha = check_alpha(alpha)
    margin = check_threshold(margin, "margin")
    xa, xb = as_vector(a, "a"), as_vector(b, "b")
    ia = np.arange(xa.size) if items is None else as_labels(items, xa.size, "items")
    if items_b is None:
        if xb.size != xa.size:
            raise StatsInputError(f"a has {xa.size} values and b {xb.size}; give items_b for b's calls")
        ib = ia
    else:
        keys_a = np.asarray(items if items is not None else np.arange(xa.size), dtype=object)
        ib = _align_items(keys_a, ia, np.asarray(items_b, dtype=object), xb.size)
    if kind == "binary":
        check_binary(xa, "a")
        check_binary(xb, "b")
    ya, ra = unit_means(xa, ia)
    yb, rb = unit_means(xb, ib)
    cl = None if clusters is None else parent_codes(ia, as_labels(clusters, xa.size, "clusters"), "item", "cluster")
    n = ya.size
    corr = float(np.corrcoef(ya, yb)[0, 1]) if n > 1 and np.std(ya) > 0 and np.std(yb) > 0 else None
    if cl is not None:
        diff, se_p, se_u = _clustered_difference(ya, yb, cl, alpha)
    elif kind == "binary":
        diff = _binary_difference(xa, ia, ra, xb, ib, rb, alpha, seed)
        se_p, se_u = _ses(ya, yb)
    elif kind == "skewed":
        diff = skewed_difference(ya - yb, alpha)
        se_p, se_u = _ses(ya, yb)
    else:
        diff = paired_continuous(ya - yb, alpha)
        se_p, se_u = _ses(ya, yb)
    return PairedBounds(diff.estimate, diff.lower, diff.upper, margin, diff.p_at_least(margin),
                        diff.p_at_most(margin), corr, se_p, se_u, diff.n, diff.method, diff.reason, alpha, diff)


def _align_items(keys_a: np.ndarray, codes_a: np.ndarray, keys_b: np.ndarray, nb: int) -> np.ndarray:
    """Item codes of B's calls in A's coding; every item needs both models."""
    lookup: dict[str, int] = {}
    for key, code in zip(keys_a.tolist(), codes_a.tolist()):
        lookup.setdefault(type(key).__name__ + ":" + str(key), code)
    if keys_b.size != nb:
        raise StatsInputError(f"items_b has {keys_b.size} labels for {nb} values of b")
    out = np.empty(nb, dtype=np.int64)
    missing = 0
    for i, key in enumerate(keys_b.tolist()):
        code = lookup.get(type(key).__name__ + ":" + str(key))
        if code is None:
            missing += 1
        else:
            out[i] = code
    n_items = int(codes_a.max()) + 1
    if missing or np.unique(out).size != n_items:
        raise StatsInputError("a paired comparison needs both models on every item: "
                              f"{missing} call(s) of b are on items a lacks, "
                              f"{n_items - np.unique(out[:nb - missing] if missing else out).size} item(s) of a "
                              "have no call of b")
    return out


def _ses(ya: np.ndarray, yb: np.ndarray) -> tuple[float, float]:
    n = ya.size
    if n < 2:
        return math.nan, math.nan
    return (float(np.std(ya - yb, ddof=1)) / math.sqrt(n),
            math.sqrt(float(np.var(ya, ddof=1) + np.var(yb, ddof=1)) / n))


def _one_call_per_item(x: np.ndarray, codes: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    pick = starts + np.floor(rng.random(counts.size) * counts).astype(np.int64)
    return x[order][pick]


def _binary_difference(xa, ia, ra, xb, ib, rb, alpha: float, seed: int) -> Bounds:
    if np.all(ra == 1) and np.all(rb == 1):
        ya, _ = unit_means(xa, ia)
        yb, _ = unit_means(xb, ib)
        return paired_binary(int(np.sum((ya == 1) & (yb == 0))), int(np.sum((ya == 0) & (yb == 1))), ya.size, alpha)
    rng = np.random.default_rng(seed)
    pa = _one_call_per_item(xa, ia, ra, rng)
    pb = _one_call_per_item(xb, ib, rb, rng)
    res = paired_binary(int(np.sum((pa == 1) & (pb == 0))), int(np.sum((pa == 0) & (pb == 1))), pa.size, alpha)
    ya, _ = unit_means(xa, ia)
    yb, _ = unit_means(xb, ib)
    # the estimate is the tested calls' own, so it always lies within the interval that inverts the test;
    # the difference of the item means over every call is kept beside it
    return Bounds(res.estimate, res.lower, res.upper, res.n,
                  res.method + ", on one seeded random call per item and model", "", alpha, DIFFERENCE,
                  {**res.details, "seed": seed, "estimate_all_calls": float(np.mean(ya - yb))}, res.test)


def _clustered_difference(ya: np.ndarray, yb: np.ndarray, cl: np.ndarray, alpha: float):
    d = ya - yb
    means, sizes = unit_means(d, cl)
    C = means.size
    m = float(d.mean())
    e = C * sizes * (means - m) / np.sum(sizes)
    se = math.sqrt(float(np.sum(e ** 2)) / (C * (C - 1))) if C > 1 else math.nan
    ses = []
    for y in (ya, yb):
        my, _ = unit_means(y, cl)
        ey = C * sizes * (my - float(y.mean())) / np.sum(sizes)
        ses.append(float(np.sum(ey ** 2)) / (C * (C - 1)) if C > 1 else math.nan)
    se_u = math.sqrt(ses[0] + ses[1])
    if C < MIN_CLUSTERS:
        return (trivial(m, C, "clustered paired", f"fewer than {MIN_CLUSTERS} clusters ({C}): no clustered verdict",
                        alpha, REAL), se, se_u)
    res = paired_continuous(m + e, alpha)
    return (Bounds(m, res.lower, res.upper, C, res.method + " on cluster-mean differences, t(C - 1)", res.reason,
                   alpha, REAL, {**res.details, "clusters": C}, res.test), se, se_u)


# ---------------------------------------------------------------------------------------------------------
# Comparative claims
# ---------------------------------------------------------------------------------------------------------

def _claim(diff: Bounds, p_sup: float, p_ref: float, claim: str, method: str) -> ClaimResult:
    verdict: Verdict = "SUPPORTED" if p_sup < diff.alpha else ("REFUTED" if p_ref < diff.alpha else "INCONCLUSIVE")
    return ClaimResult(verdict, p_sup, p_ref, claim, method)


def _as_bounds(res: PairedBounds | Bounds) -> Bounds:
    return res.difference if isinstance(res, PairedBounds) else res


def superiority(res: PairedBounds | Bounds, margin: float = 0.0) -> ClaimResult:
    """'A beats B by more than margin': SUPPORTED iff lower > margin, REFUTED iff upper < margin."""
    d = _as_bounds(res)
    margin = check_threshold(margin, "margin")
    return _claim(d, d.p_at_least(margin), d.p_at_most(margin), f"A - B > {margin:g}", d.method)


def non_inferiority(res: PairedBounds | Bounds, margin: float) -> ClaimResult:
    """`no_worse_than: {margin: m}` (m >= 0): SUPPORTED iff lower > -m; REFUTED iff upper < -m (spec)."""
    d = _as_bounds(res)
    m = check_threshold(margin, "margin")
    if m < 0:
        raise StatsInputError(f"a non-inferiority margin is a positive distance, got {m}")
    return _claim(d, d.p_at_least(-m), d.p_at_most(-m), f"A - B > -{m:g}", d.method)


def equivalence(res: PairedBounds | Bounds, margin: float) -> ClaimResult:
    """`equivalent_to: {margin: m}`: two one-sided tests.

    SUPPORTED iff lower > -m and upper < m (intersection-union: p = the larger one-sided p, no adjustment).
    REFUTED iff 'A - B > m' or 'A - B < -m' is shown with Holm over the two (p = 2 x the smaller one-sided p):
    the spec's 'interval wholly outside (-m, m)' can refute a true equivalence with probability up to 2 alpha
    when m is small against the SE (the two tails of a 90% interval add up), as the family rule `any` would
    also require.
    """
    d = _as_bounds(res)
    m = check_threshold(margin, "margin")
    if m <= 0:
        raise StatsInputError(f"an equivalence margin must be > 0, got {m}")
    p_sup = max(d.p_at_least(-m), d.p_at_most(m))
    p_ref = min(1.0, 2 * min(d.p_at_least(m), d.p_at_most(-m)))
    return _claim(d, p_sup, p_ref, f"|A - B| < {m:g}", d.method + "; TOST, Holm for non-equivalence")
