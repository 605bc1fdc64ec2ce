"""Several groups or models: the fairness gap, the best-model set (multiple comparisons with the best), the
model x scenario interaction, and the model x setting interaction.

Rules (benchmarks/simulations/RESULTS.md rules 7 and 8, and our own calibration check for the interaction test):
- Fairness gap: square-and-add intervals on Clopper-Pearson limits for every pair of groups (`mover_cp`); the
  gap's lower bound with Bonferroni over the K pairs (alpha/K per tail), its upper bound with alpha per pair
  (the true gap is attained by one pair, so no multiplicity is needed there). The study's Newcombe (Wilson)
  pairs reached 0.055 (G = 2, R = 4,000) and 0.0532 by exact enumeration; with Clopper-Pearson limits at most
  0.043 exactly. BCa on max - min: coverage 0.67-0.91.
- Best-model set: Hsu's constrained MCB with the critical value from a joint item bootstrap of the studentized
  maximum, with the zero-spread fix (a replicate pair with no spread is studentized by the observed SE).
  P(true best excluded) <= 0.052; without the fix 14-26% at n = 20 with 0/1 data.
- Scenario interaction: Welch's heteroscedastic one-way ANOVA on the per-item paired gaps decides; Cochran's Q
  (spec) is reported beside it. Our check (R = 20,000, 3 or 6 scenarios): Cochran's Q with estimated SEs is
  anti-conservative at small n (0.066-0.082 at 20 items per scenario, 0.053-0.062 at 50), Welch's F holds
  (0.006-0.053).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import optimize
from scipy import stats as sps
from scipy.special import ndtri

from roadtest.stats.rules._moments import CHUNK_CELLS
from roadtest.stats.rules._result import UNIT, Bounds, cp_bounds
from roadtest.stats.rules._validate import (
    StatsInputError, as_labels, as_vector, check_alpha, check_seed_B, check_unit_interval, parent_codes, unit_means,
)
from roadtest.stats.rules.bounds import _effective_n
from roadtest.stats.rules.paired import paired_continuous


# ---------------------------------------------------------------------------------------------------------
# Fairness gap
# ---------------------------------------------------------------------------------------------------------

def wilson_one_sided(p: float, n: float, a: float) -> tuple[float, float]:
    """Wilson score bounds with one-sided level a in each tail, for a share p of an (effective) n."""
    z = float(-ndtri(a))
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / den
    return (0.0 if p <= 0 else max(0.0, centre - half)), (1.0 if p >= 1 else min(1.0, centre + half))


def newcombe(p1: float, n1: float, p2: float, n2: float, a: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 with level a in each tail (method 10)."""
    l1, u1 = wilson_one_sided(p1, n1, a)
    l2, u2 = wilson_one_sided(p2, n2, a)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def mover_cp(p1: float, n1: float, p2: float, n2: float, a: float) -> tuple[float, float]:
    """Bounds of p1 - p2 with level a in each tail: Newcombe's square-and-add (MOVER) built on exact
    Clopper-Pearson limits of each rate (real counts p x n_eff) instead of Wilson's.

    Why: Newcombe's hybrid score interval is approximate and, by exact enumeration of two groups, its size
    exceeds alpha (false REFUTED of 'gap <= 0.1' 0.0532 at rates .45/.55 and 60 per group; false SUPPORTED
    0.0509 at .75/.85 and 200). With Clopper-Pearson limits the same cells give 0.040 and 0.043 (0.037-0.042
    elsewhere), at about the same power (0.82 for 'gap <= .15' at a true gap of 0 and 200 per group)."""
    l1, u1 = cp_bounds(p1 * n1, n1, a)
    l2, u2 = cp_bounds(p2 * n2, n2, a)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@dataclass(frozen=True)
class GapTest:
    """p-values of 'gap > g' (Bonferroni over the K pairs: K x the per-tail level at which the gap's lower bound
    reaches g) and 'gap < g' (the per-pair level at which the gap's upper bound reaches g)."""

    rates: tuple[float, ...]
    n_eff: tuple[float, ...]

    def _pairs(self):
        return list(combinations(range(len(self.rates)), 2))

    def gap_upper(self, a: float) -> float:
        return max(max(u, -lo) for lo, u in (mover_cp(self.rates[i], self.n_eff[i], self.rates[j], self.n_eff[j], a)
                                             for i, j in self._pairs()))

    def gap_lower(self, a: float) -> float:
        return max(max(0.0, lo, -u) for lo, u in (mover_cp(self.rates[i], self.n_eff[i], self.rates[j], self.n_eff[j], a)
                                                  for i, j in self._pairs()))

    def p_at_most(self, g: float) -> float:
        return _level_where(lambda a: self.gap_upper(a) - g, decreasing=True)

    def p_at_least(self, g: float) -> float:
        K = len(self._pairs())
        return min(1.0, K * _level_where(lambda a: g - self.gap_lower(a), decreasing=True))


def _level_where(f, decreasing: bool) -> float:
    """Smallest level a in (0, 0.5] with f(a) < 0, for f decreasing in a (1.0 when even a = 0.5 fails)."""
    lo, hi = 1e-15, 0.5
    if f(hi) >= 0:
        return 1.0
    if f(lo) < 0:
        return lo
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-12))


@dataclass(frozen=True)
class PairGap:
    """One pair of groups: the difference of rates, its Bonferroni bounds (alpha/K per tail, feed the gap's
    lower bound) and its per-pair bounds (alpha per tail, feed the gap's upper bound)."""

    group_a: str
    group_b: str
    difference: float
    lower_bonferroni: float
    upper_bonferroni: float
    lower_single: float
    upper_single: float


@dataclass(frozen=True)
class FairnessGap:
    """The fairness gap max_ij |p_i - p_j| with its bounds (`gap`), the groups' rates and effective sizes, and
    the pairwise table."""

    gap: Bounds
    groups: tuple[str, ...]
    rates: tuple[float, ...]
    n_eff: tuple[float, ...]
    pairs: tuple[PairGap, ...]


def fairness_gap(values: Any, groups: Any, items: Any = None, alpha: float = 0.05) -> FairnessGap:
    """Gap between the best and worst group's rate of a 0/1 (or [0, 1]) metric, with one-sided bounds.

    Rule 7 with Clopper-Pearson limits (`mover_cp`): pairs, the gap's lower bound with Bonferroni over pairs,
    upper bound per pair (exact size at G = 2 at most 0.043). Each group's rate is the mean of its item means;
    with repeats the group's n is rule 2's effective n (not simulated for fairness; one call per item is the
    simulated case).
    """
    x = check_unit_interval(as_vector(values, "values", min_n=2))
    alpha = check_alpha(alpha)
    item = np.arange(x.size) if items is None else as_labels(items, x.size, "items")
    g_codes = as_labels(groups, x.size, "groups")
    g_item = parent_codes(item, g_codes, "item", "group")
    names = _names(groups, g_codes)
    y, calls = unit_means(x, item)
    G = int(g_item.max()) + 1
    if G < 2:
        raise StatsInputError("a fairness gap needs at least 2 groups")
    rates, neffs = [], []
    for g in range(G):
        yg, cg = y[g_item == g], calls[g_item == g]
        m = float(yg.mean())
        ne, _ = _effective_n(yg, np.ones(yg.size), m, float(cg.sum()), alpha, 5.0)
        rates.append(m)
        neffs.append(ne)
    test = GapTest(tuple(rates), tuple(neffs))
    K = G * (G - 1) // 2
    pairs = []
    for i, j in combinations(range(G), 2):
        lb, ub = mover_cp(rates[i], neffs[i], rates[j], neffs[j], alpha / K)
        ls, us = mover_cp(rates[i], neffs[i], rates[j], neffs[j], alpha)
        pairs.append(PairGap(names[i], names[j], rates[i] - rates[j], lb, ub, ls, us))
    est = max(rates) - min(rates)
    lower, upper = test.gap_lower(alpha / K), test.gap_upper(alpha)
    method = (f"Clopper-Pearson square-and-add pairs: Bonferroni over {K} pair(s) for the lower bound, per pair "
              "for the upper bound")
    gap = Bounds(est, lower, upper, int(y.size), method, "", alpha, UNIT, {"pairs": K}, test)
    return FairnessGap(gap, names, tuple(rates), tuple(neffs), tuple(pairs))


def _names(labels: Any, codes: np.ndarray) -> tuple[str, ...]:
    """The label of each code 0..G-1."""
    arr = np.asarray(labels, dtype=object)
    first = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size)[::-1]
    return tuple(str(arr[i]) for i in first)


# ---------------------------------------------------------------------------------------------------------
# Best-model set: Hsu's constrained MCB
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BestSet:
    """Multiple comparisons with the best: theta_i = mu_i - max_{j != i} mu_j with simultaneous bounds.

    `in_set[i]`: model i's upper bound reaches 0 (it may be the best). `behind[i]` = -lower[i]: 'model i is at
    most behind[i] behind the best'. `c` is the bootstrap critical value. `rank_probs[i, r]` is P(model i has
    rank r + 1) over the same bootstrap (descriptive; ties split evenly)."""

    names: tuple[str, ...]
    means: tuple[float, ...]
    in_set: tuple[bool, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    behind: tuple[float, ...]
    c: float
    rank_probs: np.ndarray
    n: int
    alpha: float
    seed: int
    B: int
    method: str

    def sentence(self, metric: str = "the metric") -> str:
        """'The best on <metric> is in {A, C} with 95% confidence; B is at most 0.04 behind the best.'"""
        best = [nm for nm, s in zip(self.names, self.in_set) if s]
        out = [f"{nm} is at most {b:.3g} behind the best" for nm, s, b in zip(self.names, self.in_set, self.behind)
               if not s]
        text = f"The best on {metric} is in {{{', '.join(best)}}} with {100 * (1 - self.alpha):g}% confidence"
        return text + ("; " + "; ".join(out) if out else "") + "."


def best_set(scores: Any, names: Sequence[str] | None = None, alpha: float = 0.05, seed: int = 0, B: int = 9999,
             higher_is_better: bool = True) -> BestSet:
    """The set of models that may be the best, from item-level scores of K models on the same n items.

    Rule 8 (`mcb_from_weights`): se_ij = sd(x_i - x_j)/sqrt(n); c_i = (1 - alpha) quantile of max_{j != i} T*_ji
    from a joint item bootstrap (numpy.random.default_rng(seed), B replicates, drawn in blocks), c = max_i c_i;
    U_i = min_{j != i}(xbar_i - xbar_j + c se_ij), set = {U_i >= 0}; L_i = min(0, min_{j != i}(xbar_i - xbar_j
    - c se_ij)). Zero-spread replicate pairs are studentized by the observed SE; identical pairs give T* = 0.
    P(true best excluded) <= 0.052 (K 3-4, n 20-100, 0/1 and continuous). `scores`: K x n array, or a mapping
    name -> per-item scores (repeats averaged by the caller). higher_is_better=False for latency or cost.
    """
    X, nm = _score_matrix(scores, names)
    alpha = check_alpha(alpha)
    seed, B = check_seed_B(seed, B)
    sign = 1.0 if higher_is_better else -1.0
    X = sign * X
    K, n = X.shape
    xb = X.mean(axis=1)
    D = X[:, None, :] - X[None, :, :]                       # D[a, b] = X_a - X_b
    se = D.std(axis=2, ddof=1) / math.sqrt(n)
    Df = D.reshape(K * K, n)
    dhat = (xb[:, None] - xb[None, :]).reshape(K * K)
    maxT = np.empty((B, K))
    rank_counts = np.zeros((K, K))
    rng = np.random.default_rng(seed)
    step = max(1, CHUNK_CELLS // max(n, K * K))
    others = [[j for j in range(K) if j != i] for i in range(K)]
    for start in range(0, B, step):
        rows = min(B, start + step) - start
        idx = rng.integers(0, n, size=(rows, n)) + (np.arange(rows) * n)[:, None]
        W = np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(float)
        Dm = W @ Df.T / n
        D2 = W @ (Df ** 2).T / n
        sest = np.sqrt(np.maximum(D2 - Dm ** 2, 0.0) * n / (n - 1)) / math.sqrt(n)
        den = np.where(sest > 1e-12, sest, se.reshape(1, K * K))
        with np.errstate(divide="ignore", invalid="ignore"):
            T = np.where(den > 1e-12, (Dm - dhat) / den, 0.0).reshape(rows, K, K)
        for i in range(K):
            maxT[start:start + rows, i] = T[:, others[i], i].max(axis=1)
        _add_ranks(rank_counts, W @ X.T / n)
    c = float(max(np.quantile(maxT[:, i], 1 - alpha) for i in range(K)))
    dh = xb[:, None] - xb[None, :]
    eye = np.eye(K, dtype=bool)
    U = np.where(eye, np.inf, dh + c * se).min(axis=1)
    L = np.minimum(np.where(eye, np.inf, dh - c * se).min(axis=1), 0.0)
    in_set = tuple(bool(u >= 0) for u in U)
    return BestSet(nm, tuple(float(sign * v) for v in xb), in_set, tuple(float(max(u, 0.0)) for u in U),
                   tuple(float(v) for v in L), tuple(float(-v) for v in L), c, rank_counts / B, n, alpha, seed, B,
                   "Hsu constrained MCB, joint item bootstrap of the studentized maximum (zero-spread fix)")


def _score_matrix(scores: Any, names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(scores, Mapping):
        nm = tuple(str(k) for k in scores)
        rows = [as_vector(v, f"scores[{k!r}]", min_n=2) for k, v in scores.items()]
    else:
        arr = np.asarray(scores, dtype=float)
        if arr.ndim != 2:
            raise StatsInputError(f"scores must be models x items, got shape {arr.shape}")
        rows = [as_vector(r, f"scores[{i}]", min_n=2) for i, r in enumerate(arr)]
        nm = tuple(names) if names is not None else tuple(f"model {i + 1}" for i in range(len(rows)))
    if len(rows) < 2 or len({r.size for r in rows}) != 1:
        raise StatsInputError("best_set needs at least 2 models scored on the same items (equal lengths)")
    if len(nm) != len(rows):
        raise StatsInputError(f"{len(nm)} names for {len(rows)} models")
    return np.vstack(rows), nm


def _add_ranks(counts: np.ndarray, means: np.ndarray) -> None:
    """Add P(rank) counts for bootstrap means (rows = replicates); ties share their places evenly."""
    K = means.shape[1]
    lo = sps.rankdata(-means, axis=1, method="min")
    hi = sps.rankdata(-means, axis=1, method="max")
    for r in range(1, K + 1):
        covers = (lo <= r) & (r <= hi)
        counts[:, r - 1] += np.sum(covers / (hi - lo + 1), axis=0)


# ---------------------------------------------------------------------------------------------------------
# Model x scenario interaction
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heterogeneity:
    """Does the paired gap A - B differ between scenarios? Welch's F decides (`p`); Cochran's Q and I^2 describe."""

    gaps: tuple[float, ...]
    ses: tuple[float, ...]
    f_welch: float
    df: tuple[float, float]
    p: float
    q_cochran: float
    p_cochran: float
    i2: float
    significant: bool
    method: str

    def sentence(self) -> str:
        if self.significant:
            return "Which model is better depends on the task (model x scenario interaction, p = %.3g)." % self.p
        return "No evidence that the gap differs between scenarios (p = %.3g)." % self.p


def scenario_interaction(differences: Sequence[Any] | Mapping[str, Any], alpha: float = 0.05) -> Heterogeneity:
    """Model x scenario interaction from per-item paired differences d = A - B in each scenario (items differ
    between scenarios, so the scenario gaps are independent).

    Decision: Welch's (1951) heteroscedastic one-way ANOVA F on the scenario means of d, with its df
    correction; this is the spec's 'equivalent heterogeneity test' to Cochran's Q, which our check found
    anti-conservative with estimated SEs at 20-50 items per scenario (0.053-0.082) while Welch held
    (<= 0.053). A scenario whose differences have no spread borrows the pooled variance (if every scenario has
    none, the gaps are compared exactly: p = 0 if they differ, 1 if not).
    """
    ds = list(differences.values()) if isinstance(differences, Mapping) else list(differences)
    ds = [as_vector(d, f"differences[{i}]", min_n=2) for i, d in enumerate(ds)]
    alpha = check_alpha(alpha)
    k = len(ds)
    if k < 2:
        raise StatsInputError("an interaction needs at least 2 scenarios")
    n = np.array([d.size for d in ds], dtype=float)
    m = np.array([d.mean() for d in ds])
    v = np.array([d.var(ddof=1) for d in ds])
    if np.all(v == 0):
        differ = bool(np.ptp(m) > 0)
        p = 0.0 if differ else 1.0
        return Heterogeneity(tuple(m), tuple(np.zeros(k)), math.inf if differ else 0.0, (k - 1.0, math.inf), p,
                             math.inf if differ else 0.0, p, 1.0 if differ else 0.0, p < alpha,
                             "no spread in any scenario: exact comparison of the gaps")
    pooled = float(np.sum((n - 1) * v) / np.sum(n - 1))
    v = np.where(v > 0, v, pooled)
    w = n / v
    W = w.sum()
    mw = float(np.sum(w * m) / W)
    A = float(np.sum(w * (m - mw) ** 2)) / (k - 1)
    lam = float(np.sum((1 - w / W) ** 2 / (n - 1)))
    F = A / (1 + 2 * (k - 2) / (k ** 2 - 1) * lam)
    df2 = (k ** 2 - 1) / (3 * lam) if lam > 0 else math.inf
    p = float(sps.f.sf(F, k - 1, df2))
    Q = float(np.sum(w * (m - mw) ** 2))
    p_q = float(sps.chi2.sf(Q, k - 1))
    i2 = max(0.0, (Q - (k - 1)) / Q) if Q > 0 else 0.0
    return Heterogeneity(tuple(float(x) for x in m), tuple(float(x) for x in np.sqrt(v / n)), float(F),
                         (float(k - 1), float(df2)), p, Q, p_q, i2, p < alpha,
                         "Welch heteroscedastic ANOVA on the scenario gaps (Cochran's Q reported)")


# ---------------------------------------------------------------------------------------------------------
# Model x setting interaction
# ---------------------------------------------------------------------------------------------------------

def setting_interaction(d_first: Any, d_second: Any, alpha: float = 0.05, same_items: bool = True) -> Bounds:
    """The difference of paired gaps between two settings of one scenario, (A - B | first) - (A - B | second),
    with its one-sided bounds.

    Same items under both settings: the per-item difference of differences, decided by the paired continuous
    rule (sign-flip or t, combined with Hall t). Different items: Welch's two-sample t on the two gaps (not
    simulated in the simulation study). Neither was simulated in the simulation study for 0/1 scores; see tests/test_groups.py for our check.
    """
    a = as_vector(d_first, "d_first", min_n=2)
    b = as_vector(d_second, "d_second", min_n=2)
    alpha = check_alpha(alpha)
    if same_items:
        if a.size != b.size:
            raise StatsInputError(f"same_items needs one difference per item under each setting ({a.size} vs {b.size})")
        res = paired_continuous(a - b, alpha)
        return Bounds(res.estimate, res.lower, res.upper, res.n, res.method + " on the difference of gaps",
                      res.reason, alpha, res.domain, res.details, res.test)
    from roadtest.stats.rules._moments import TStatistic
    from roadtest.stats.rules._result import REAL, StatisticTest
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    est = float(a.mean() - b.mean())
    if se == 0:
        from roadtest.stats.rules._result import trivial
        return trivial(est, a.size + b.size, "Welch t", "no variation seen in either setting", alpha, REAL)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    q = float(sps.t.isf(alpha, df))
    return Bounds(est, est - q * se, est + q * se, a.size + b.size, "Welch t on the difference of gaps", "", alpha,
                  REAL, {"df": df, "se": se}, StatisticTest(TStatistic(est, se), df))
