"""One-sided bounds and p-values for every one-sample quantity (benchmarks/simulations/RESULTS.md rules 1-5).

Every rule returns a `Bounds`: the estimate, one-sided (1 - alpha) lower and upper bounds, and p-value
functions `p_at_least(t)` / `p_at_most(t)` that are below alpha exactly when the bound excludes t.
`one_sample` picks the rule from the metric kind, the item labels (repeats of an item are averaged first:
the item is the unit) and the cluster labels.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy.special import betainc

from roadtest.stats.rules._moments import (
    HallStatistic, JohnsonStatistic, TStatistic, bootstrap_t_values, hall_bounds, johnson_upper, moments,
    t_quantile,
)
from roadtest.stats.rules._result import (
    POSITIVE, REAL, UNIT, BinomialTest, Bounds, CountTest, MaxTest, StatisticTest, StepTest, cp_bounds, trivial,
)
from roadtest.stats.rules._validate import (
    StatsInputError, as_labels, as_vector, check_alpha, check_binary, check_count_pair, check_seed_B,
    check_unit_interval, parent_codes, unit_means,
)

Kind = Literal["binary", "bounded", "skewed", "percentile", "symmetric"]
KINDS = ("binary", "bounded", "skewed", "percentile", "symmetric")

MIN_EVENTS = 5.0
"""Rule 2's guard: the design effect is used only when the rarer outcome has >= 5 item-equivalents
(without it: 7.9% false SUPPORTED at t = .97, r = 5, n = 50; with it: max 0.0476 over both grids)."""
MIN_CLUSTERS = 10
"""Below 10 clusters no clustered verdict (CR2 t: 0.063 at C = 5; rule 5)."""
HALL_CLUSTERS = 40
"""From 40 clusters on, Hall-t on cluster means (worst 0.052); below, effective-n CP (worst 0.047)."""
SKEWED_UPPER_TABLE = ((0.5, 100), (0.75, 200))
"""(max SD of log values, items needed) for the upper bound of a skewed mean (rule 3; worst P(U < mu) 0.0503)."""
SKEWED_MIN_N = 10
"""The bootstrap-t lower bound of a skewed mean is given from 10 items (P(L > mu) <= 0.057 on the grid)."""


# ---------------------------------------------------------------------------------------------------------
# Rule 1: proportion k of n
# ---------------------------------------------------------------------------------------------------------

def proportion(k: int, n: int, alpha: float = 0.05) -> Bounds:
    """Exact one-sided binomial test with Clopper-Pearson bounds for k successes in n independent items.

    Rule 1: exact, size <= alpha in every (t, n) cell (worst 0.0500); Wilson reached 0.183 and is retired.
    p_at_least(t) = P(Bin(n, t) >= k); lower = Beta^-1(alpha; k, n - k + 1).
    """
    k, n = check_count_pair(k, n)
    alpha = check_alpha(alpha)
    lo, hi = cp_bounds(k, n, alpha)
    return Bounds(k / n, lo, hi, n, "exact binomial / Clopper-Pearson", "", alpha, UNIT,
                  {"k": k}, BinomialTest(float(k), float(n)))


# ---------------------------------------------------------------------------------------------------------
# Rule 2: bounded mean (item means of 0/1 repeats, [0, 1] scores), effective-n Clopper-Pearson
# ---------------------------------------------------------------------------------------------------------

def bounded_mean(unit_scores: Any, calls: Any = None, alpha: float = 0.05, weights: Any = None,
                 min_events: float = MIN_EVENTS) -> Bounds:
    """Mean of [0, 1] unit scores (item means of repeats, or cluster means): effective-n Clopper-Pearson.

    Rule 2 (`bounded_mean_recommended`): n_eff = ybar (1 - ybar) / V * (z_alpha / t_alpha,n-1)^2, V the variance
    of the (weighted) mean, clipped to [units, calls] (repeats count at most as independent calls, never as less
    than one Bernoulli per unit), then Clopper-Pearson with the real count ybar n_eff. The design effect is used
    only when min(sum y, sum(1 - y)) >= 5 unit-equivalents, else n_eff = units (real-k CP). Worst rate 0.0476
    over t .5-.97, r 1-5, n 10-300; with one 0/1 call per unit it is exactly the exact binomial.
    `calls` is the number of calls per unit (default 1); `weights` weight the units (cluster sizes).
    """
    y = check_unit_interval(as_vector(unit_scores, "unit_scores", min_n=1))
    alpha = check_alpha(alpha)
    n = y.size
    c = np.ones(n) if calls is None else as_vector(calls, "calls", min_n=n)
    w = np.ones(n) if weights is None else as_vector(weights, "weights", min_n=n)
    if c.size != n or w.size != n or np.any(c < 1) or np.any(w <= 0):
        raise StatsInputError("calls and weights need one positive value per unit (calls >= 1)")
    m = float(np.sum(w * y) / np.sum(w))
    n_eff, used = _effective_n(y, w, m, float(np.sum(c)), alpha, min_events)
    k = m * n_eff
    lo, hi = cp_bounds(k, n_eff, alpha)
    method = "exact binomial / Clopper-Pearson" if (n_eff == n and np.all(c == 1) and np.all((y == 0) | (y == 1))) \
        else "effective-n Clopper-Pearson (5-event guard)"
    details = {"n_eff": n_eff, "design_effect_used": bool(used), "calls": float(np.sum(c))}
    return Bounds(m, lo, hi, n, method, "", alpha, UNIT, details, BinomialTest(k, n_eff))


def _effective_n(y: np.ndarray, w: np.ndarray, m: float, cap: float, alpha: float,
                 min_events: float) -> tuple[float, bool]:
    """n_eff of rule 2 for weighted unit means (equal weights: n ybar(1-ybar)/s^2), and whether it was used."""
    n = y.size
    if n < 2 or not 0 < m < 1 or min(m, 1 - m) * n < min_events - 1e-9:
        return float(n), False
    e = n * w * (y - m) / np.sum(w)
    V = float(np.sum(e ** 2) / (n * (n - 1)))
    if V <= 0:
        return float(n), False
    raw = m * (1 - m) / V * (t_quantile(alpha, math.inf) / t_quantile(alpha, n - 1)) ** 2
    return float(min(max(raw, n), max(cap, n))), raw > n


# ---------------------------------------------------------------------------------------------------------
# Means of unbounded scores: t (symmetric), skewness-corrected (skewed positive metrics)
# ---------------------------------------------------------------------------------------------------------

def mean_t(values: Any, alpha: float = 0.05) -> Bounds:
    """Student t bounds for the mean of roughly symmetric scores (spec: 't bounds for roughly symmetric
    scores'; the simulation study rule 6B: paired t holds for normal data, 0.046-0.054). Not for skewed or 0/1 data."""
    x = as_vector(values, "values", min_n=2)
    alpha = check_alpha(alpha)
    n = x.size
    m, se = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(x.size)
    if se == 0:
        return trivial(m, n, "t", f"no variation seen in {n} items: no interval", alpha, REAL)
    q = t_quantile(alpha, n - 1)
    return Bounds(m, m - q * se, m + q * se, n, "t", "", alpha, REAL, {"se": se},
                  StatisticTest(TStatistic(m, se), n - 1))


def skewed_mean(values: Any, alpha: float = 0.05, seed: int = 0, B: int = 9999) -> Bounds:
    """Mean of a skewed positive metric (latency, tokens, cost), per item.

    Rule 3 (`mean_skewed_recommended`). Lower bound: studentized bootstrap (bootstrap-t), from 10 items.
    Upper bound: max(bootstrap-t, Johnson), only when n >= n_min(s), s = SD of log values: s <= 0.5 needs
    100 items, s <= 0.75 needs 200, larger s gets none (no candidate holds at sigma = 1 by n = 500: best 0.060).
    The gated rule's worst P(U < mu) was 0.0503 on lognormal data; a rare far tail (3% of calls 10x slower) is
    not protected below ~100 items (Bahadur-Savage), which is why no band starts below 100.
    Bounds never go below zero. The bootstrap uses numpy.random.default_rng(seed) with B resamples.
    """
    x = as_vector(values, "values", min_n=1)
    alpha = check_alpha(alpha)
    seed, B = check_seed_B(seed, B)
    if np.any(x <= 0):
        raise StatsInputError(f"a skewed positive metric needs values > 0; {int(np.sum(x <= 0))} are <= 0 "
                              "(use kind='symmetric' for signed scores)")
    n = x.size
    m = float(x.mean())
    if n < SKEWED_MIN_N:
        return trivial(m, n, "skewed mean", f"too few items for a mean of a skewed metric ({n} < {SKEWED_MIN_N}); "
                       "a percentile claim is distribution-free", alpha, POSITIVE)
    s = float(np.log(x).std(ddof=1))
    details: dict[str, Any] = {"sd_log": s, "seed": seed, "B": B}
    if float(x.std()) == 0:
        return trivial(m, n, "skewed mean", f"no variation seen in {n} items: no interval", alpha, POSITIVE, details)
    boot = CountTest(bootstrap_t_values(x, B, np.random.default_rng(seed)), B + 1)
    lo, boot_hi = boot.bounds(alpha, POSITIVE)
    need = next((items for limit, items in SKEWED_UPPER_TABLE if s <= limit), None)
    if need is not None and n >= need:
        mom = moments(m, x - m)
        johnson = StatisticTest(JohnsonStatistic(mom), n - 1)
        hi = max(boot_hi, johnson_upper(mom, alpha))
        test = MaxTest((boot,), (boot, johnson))
        reason = ""
    else:
        hi, test = math.inf, MaxTest((boot,), ())
        needed = f"{need} items are needed" if need else "no number of items up to 500 was shown to suffice"
        reason = (f"no upper bound: too few items for a mean of a skewed metric (the SD of log values is {s:.2f}: "
                  f"{needed}, have {n}); a percentile claim is distribution-free")
    method = "bootstrap-t lower; max(bootstrap-t, Johnson) upper, gated by the SD of log values"
    return Bounds(m, lo, hi, n, method, reason, alpha, POSITIVE, details, test)


# ---------------------------------------------------------------------------------------------------------
# Rule 4: percentile, item-fraction effective-n Clopper-Pearson
# ---------------------------------------------------------------------------------------------------------

def min_units_for_percentile(q: float, alpha: float = 0.05) -> tuple[int, int]:
    """Smallest number of independent units with a lower / an upper one-sided bound of the q-quantile:
    (2, 59) for p95 at alpha 0.05 (an upper bound needs q^n < alpha: 0.95^59 = 0.048)."""
    alpha = check_alpha(alpha)
    if not 0 < q < 1:
        raise StatsInputError(f"q must be between 0 and 1, got {q}")
    return (int(math.floor(math.log(alpha) / math.log(1 - q))) + 1,
            int(math.floor(math.log(alpha) / math.log(q))) + 1)


def percentile(values: Any, units: Any = None, q: float = 0.95, alpha: float = 0.05,
               min_events: float = MIN_EVENTS) -> Bounds:
    """Bounds of the per-call q-quantile (e.g. p95 latency) with repeats per unit (item, or cluster).

    Rule 4 (`quantile_item_fraction_kg`): at each value v, f_i(v) is the share of unit i's calls at or below v;
    'p_q <= v' is the bounded-mean claim 'mean f_i(v) >= q', tested with rule 2 (effective-n CP, 5-event guard);
    the bounds invert it over the observed values. Worst rate 0.050; with one call per unit it is the exact
    order-statistic rule. The cluster bootstrap reached 36% and is not used.
    Exactness at ties: 'p_q <= t' uses the share strictly below t and 'p_q >= t' the share at or below t (the
    conservative side), and both p-value step functions are made monotone (the envelope, never smaller), so
    p < alpha exactly when the bound excludes t. An upper bound of p95 needs 59 units.
    Estimate: numpy.quantile(all calls, q, method='linear'). Unequal repeat counts weight units equally.
    """
    x = as_vector(values, "values", min_n=1)
    alpha = check_alpha(alpha)
    if q is None or not 0 < q < 1:
        raise StatsInputError(f"q must be between 0 and 1 for a percentile, got {q!r}")
    codes = np.arange(x.size) if units is None else as_labels(units, x.size, "units")
    n = int(codes.max()) + 1
    domain = POSITIVE if np.all(x >= 0) else REAL
    estimate = float(np.quantile(x, q, method="linear"))
    u, s1, s2 = _fraction_sums(x, codes, n)
    N = float(x.size)
    k_le, n_le = _kg_counts(s1, s2, n, N, alpha, min_events)
    at_most = np.concatenate(([1.0], _upper_tail(k_le, n_le, q)))        # 'p_q <= t': share below t > q
    at_least = np.concatenate(([(1 - q) ** n], _lower_tail(k_le, n_le, q)))  # 'p_q >= t': share <= t < q
    at_most = np.maximum.accumulate(at_most[::-1])[::-1]
    at_least = np.maximum.accumulate(at_least)
    ok_u = np.flatnonzero(at_most < alpha)
    ok_l = np.flatnonzero(at_least < alpha)
    upper = float(u[ok_u[0] - 1]) if ok_u.size else domain[1]
    lower = float(u[ok_l[-1]]) if ok_l.size else domain[0]
    need_lo, need_hi = min_units_for_percentile(q, alpha)
    reason = ""
    if not ok_u.size:
        reason = f"an upper bound on p{_pct(q)} needs at least {need_hi} items (have {n})"
    elif not ok_l.size:
        reason = f"a lower bound on p{_pct(q)} needs at least {need_lo} items (have {n})"
    details = {"q": q, "calls": int(N), "min_units_upper": need_hi, "min_units_lower": need_lo}
    return Bounds(estimate, max(lower, domain[0]), upper, n, "item-fraction effective-n Clopper-Pearson",
                  reason, alpha, domain, details, StepTest(u, at_most, at_least))


def _upper_tail(k: np.ndarray, n: np.ndarray, t: float) -> np.ndarray:
    """P(Bin(n, t) >= k) for real k, n (vectorised BinomialTest.p_at_least)."""
    out = np.ones_like(k)
    pos = k > 0
    out[pos] = betainc(k[pos], n[pos] - k[pos] + 1, t)
    return out


def _lower_tail(k: np.ndarray, n: np.ndarray, t: float) -> np.ndarray:
    """P(Bin(n, t) <= k) for real k, n (vectorised BinomialTest.p_at_most)."""
    out = np.ones_like(k)
    inner = k < n
    out[inner] = 1.0 - betainc(k[inner] + 1, n[inner] - k[inner], t)
    return out


def _pct(q: float) -> str:
    return f"{100 * q:g}"


def _fraction_sums(x: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct sorted values u and, at each, S1 = sum_i f_i(u) and S2 = sum_i f_i(u)^2 (f_i: share of unit i's
    calls <= u), from one sort of the calls: O(N log N) time, O(N) memory."""
    order = np.argsort(x, kind="stable")
    xs, cs = x[order], codes[order]
    r = np.bincount(codes, minlength=n).astype(float)
    by_unit = np.argsort(cs, kind="stable")
    starts = np.concatenate(([0], np.cumsum(r)[:-1])).astype(np.int64)
    rank = np.empty(x.size)
    rank[by_unit] = np.arange(x.size) - starts[cs[by_unit]] + 1.0
    ri = r[cs]
    s1 = np.cumsum(1.0 / ri)
    s2 = np.cumsum((2 * rank - 1) / ri ** 2)
    last = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])
    return xs[last], s1[last], s2[last]


def _kg_counts(s1: np.ndarray, s2: np.ndarray, n: int, cap: float, alpha: float,
               min_events: float) -> tuple[np.ndarray, np.ndarray]:
    """Rule 2's (k_eff, n_eff) for the mean of item fractions at every value (vectorised)."""
    m = s1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (s2 - s1 ** 2 / n) / (n - 1) if n > 1 else np.zeros_like(s1)
        raw = n * m * (1 - m) / var * (t_quantile(alpha, math.inf) / t_quantile(alpha, max(n - 1, 1))) ** 2
    use = (n > 1) & (var > 1e-15) & (m > 0) & (m < 1) & (np.minimum(m, 1 - m) * n >= min_events - 1e-9)
    n_eff = np.where(use, np.clip(np.nan_to_num(raw, nan=n, posinf=cap), n, max(cap, n)), float(n))
    return np.clip(m, 0, 1) * n_eff, n_eff


# ---------------------------------------------------------------------------------------------------------
# Rule 5: clusters
# ---------------------------------------------------------------------------------------------------------

def clustered_bounded_mean(item_scores: Any, clusters: Any, calls: Any = None, alpha: float = 0.05) -> Bounds:
    """Mean of [0, 1] item scores (0/1, or item means of repeats) in real clusters (rule 5,
    `clustered_proportion_recommended`): C < 10 no verdict; 10 <= C < 40 effective-n Clopper-Pearson on the
    cluster means (worst 0.047); C >= 40 Hall's skewness-corrected t on the cluster means with t(C - 1)
    (worst 0.052). CR2 + t(C - 1) reached 8.8-22% at t = 0.85 and is not used for proportions.
    Unequal cluster sizes weight the cluster means by their item counts (not simulated in the simulation study).
    """
    y = check_unit_interval(as_vector(item_scores, "item_scores", min_n=1))
    alpha = check_alpha(alpha)
    codes = as_labels(clusters, y.size, "clusters")
    c = np.ones(y.size) if calls is None else as_vector(calls, "calls", min_n=y.size)
    means, sizes = unit_means(y, codes)
    C = means.size
    m = float(y.mean())
    details = {"clusters": C}
    if C < MIN_CLUSTERS:
        return trivial(m, C, "clustered", f"fewer than {MIN_CLUSTERS} clusters ({C}): no clustered verdict",
                       alpha, UNIT, details)
    calls_per_cluster = np.bincount(codes, weights=c, minlength=C)
    if C < HALL_CLUSTERS:
        b = bounded_mean(means, calls_per_cluster, alpha, weights=sizes)
        return Bounds(b.estimate, b.lower, b.upper, C, "effective-n Clopper-Pearson on cluster means", "", alpha,
                      UNIT, {**details, **b.details}, b.test)
    resid = C * sizes * (means - m) / np.sum(sizes)
    if float(np.max(np.abs(resid))) == 0:
        return trivial(m, C, "Hall t on cluster means", f"no variation seen in {C} clusters", alpha, UNIT, details)
    mom = moments(m, resid)
    lo, hi = hall_bounds(mom, alpha, C - 1)
    return Bounds(m, max(lo, 0.0), min(hi, 1.0), C, "Hall t on cluster means, t(C - 1)", "", alpha, UNIT, details,
                  StatisticTest(HallStatistic(mom), C - 1))


def clustered_mean_t(item_scores: Any, clusters: Any, alpha: float = 0.05) -> Bounds:
    """Mean of roughly symmetric item scores in clusters: CR2 (Bell-McCaffrey) SE with t(C - 1), C >= 10
    (spec; rule 5 found CR2 + t(C - 1) holding from C = 10 at t = 0.5, where the cluster means are symmetric)."""
    y = as_vector(item_scores, "item_scores", min_n=2)
    alpha = check_alpha(alpha)
    codes = as_labels(clusters, y.size, "clusters")
    C = int(codes.max()) + 1
    N = y.size
    m = float(y.mean())
    if C < MIN_CLUSTERS:
        return trivial(m, C, "CR2 t", f"fewer than {MIN_CLUSTERS} clusters ({C}): no clustered verdict", alpha, REAL)
    sizes = np.bincount(codes, minlength=C).astype(float)
    S = np.bincount(codes, weights=y - m, minlength=C)
    se = math.sqrt(float(np.sum(S ** 2 / (1 - sizes / N))) / N ** 2)
    if se == 0:
        return trivial(m, C, "CR2 t", f"no variation seen in {C} clusters", alpha, REAL)
    qt = t_quantile(alpha, C - 1)
    return Bounds(m, m - qt * se, m + qt * se, C, "CR2 cluster-robust SE, t(C - 1)", "", alpha, REAL,
                  {"se": se, "clusters": C}, StatisticTest(TStatistic(m, se), C - 1))


# ---------------------------------------------------------------------------------------------------------
# The dispatcher
# ---------------------------------------------------------------------------------------------------------

def one_sample(kind: Kind, values: Any, items: Any = None, clusters: Any = None, strata: Any = None,
               alpha: float = 0.05, seed: int = 0, B: int = 9999, q: float | None = None) -> Bounds:
    """Bounds for one model's metric from raw per-call values.

    kind: 'binary' (0/1 per call), 'bounded' (scores in [0, 1]), 'skewed' (positive: latency, tokens, cost;
    a mean), 'percentile' (the per-call q-quantile, q required), 'symmetric' (a mean of roughly symmetric scores).
    items: one label per call (repeats of an item share a label; default: every call its own item). Repeats are
    averaged per item first, except for percentiles (rule 4 uses every call through the item fractions).
    clusters: one label per call (constant within an item). strata: fixed groups; accepted and checked, but
    strata never inflate an error, and these bounds are the simple-sample ones (valid, slightly conservative for
    fixed strata: the between-strata variance stays in; a stratified SE was not simulated in the simulation study).

    Rules: binary, one call per item -> exact binomial / Clopper-Pearson; binary with repeats and bounded ->
    effective-n CP; skewed -> gated bootstrap-t / Johnson; percentile -> item-fraction effective-n CP;
    symmetric -> t; with clusters -> rule 5 (no verdict below 10 clusters).
    """
    if kind not in KINDS:
        raise StatsInputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    x = as_vector(values, "values", min_n=1)
    alpha = check_alpha(alpha)
    item = np.arange(x.size) if items is None else as_labels(items, x.size, "items")
    if strata is not None:
        parent_codes(item, as_labels(strata, x.size, "strata"), "item", "stratum")
    cl = None
    if clusters is not None:
        cl = parent_codes(item, as_labels(clusters, x.size, "clusters"), "item", "cluster")
    if kind == "percentile":
        if q is None:
            raise StatsInputError("a percentile needs q, e.g. q=0.95 for p95")
        if cl is None:
            return percentile(x, item, q, alpha)
        C = int(cl.max()) + 1
        if C < MIN_CLUSTERS:
            return trivial(float(np.quantile(x, q, method="linear")), C, "clustered percentile",
                           f"fewer than {MIN_CLUSTERS} clusters ({C}): no clustered verdict", alpha,
                           POSITIVE if np.all(x >= 0) else REAL)
        b = percentile(x, cl[item], q, alpha)
        return Bounds(b.estimate, b.lower, b.upper, b.n, b.method + " (clusters as units)", b.reason, alpha,
                      b.domain, {**b.details, "clusters": C}, b.test)
    y, calls = unit_means(x, item)
    if kind == "binary":
        check_binary(x)
    if kind in ("binary", "bounded"):
        check_unit_interval(x)
        if cl is not None:
            return clustered_bounded_mean(y, cl, calls, alpha)
        if kind == "binary" and np.all(calls == 1):
            return proportion(int(np.sum(y)), y.size, alpha)
        return bounded_mean(y, calls, alpha)
    if kind == "skewed":
        if cl is not None:
            C = int(cl.max()) + 1
            return trivial(float(np.mean(y)), C, "skewed mean, clustered",
                           "no validated rule for a clustered mean of a skewed metric (the simulation study rules 3 and 5 do not "
                           "cover it); a percentile claim is distribution-free", alpha, POSITIVE)
        return skewed_mean(y, alpha, seed, B)
    if cl is not None:
        return clustered_mean_t(y, cl, alpha)
    return mean_t(y, alpha)
