"""Prototype decision rules for roadtest statistics v2 (research scratch, not the product code).

Every rule returns a :class:`Bounds`:

* ``lower`` / ``upper``: one-sided (1 - alpha) bounds; together a (1 - 2 alpha) interval (90% at 0.05).
* ``p_at_least``: p-value of the claim "quantity >= t" (H0: quantity <= t). SUPPORTED when < alpha,
  which (for the rules that invert exactly) is the same event as ``lower > t``.
* ``p_at_most``: p-value of the claim "quantity <= t". SUPPORTED when < alpha (``upper < t``).
* ``method``: the rule's name; ``note``: why a bound is missing, etc.

Threshold verdicts (spec): claim ">= t" SUPPORTED if L > t, REFUTED if U < t, else INCONCLUSIVE.

Most functions have a vectorised core (suffix ``_v``) that works on the last axis of an array of
Monte Carlo replications; the simulation scripts call the cores, the scalar wrappers call the same cores.
Pure numpy / scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal, Sequence

import numpy as np
from scipy import stats as sps
from scipy.special import betainc

ALPHA = 0.05


@dataclass(frozen=True)
class Bounds:
    """One quantity, one interval: one-sided (1-alpha) bounds and both one-sided p-values at t."""

    lower: float
    upper: float
    p_at_least: float
    p_at_most: float
    method: str
    estimate: float = float("nan")
    note: str = ""
    extra: dict = field(default_factory=dict)

    def verdict(self, t: float, claim: Literal["at_least", "at_most"] = "at_least") -> str:
        """SUPPORTED / REFUTED / INCONCLUSIVE for "quantity >= t" (at_least) or "<= t" (at_most)."""
        lo = -math.inf if self.lower is None or math.isnan(self.lower) else self.lower
        hi = math.inf if self.upper is None or math.isnan(self.upper) else self.upper
        if claim == "at_least":
            return "SUPPORTED" if lo > t else ("REFUTED" if hi < t else "INCONCLUSIVE")
        return "SUPPORTED" if hi < t else ("REFUTED" if lo > t else "INCONCLUSIVE")


# ----------------------------------------------------------------------------------------------
# 1. Proportion k of n: exact one-sided binomial test, Clopper-Pearson one-sided bounds
# ----------------------------------------------------------------------------------------------

def cp_bounds_v(k, n, alpha: float = ALPHA):
    """One-sided (1-alpha) Clopper-Pearson bounds; k may be real (continuous-k extension, see 2.)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(all="ignore"):
        lo = np.where(k <= 0, 0.0, sps.beta.ppf(alpha, np.maximum(k, 1e-300), n - k + 1))
        hi = np.where(k >= n, 1.0, sps.beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1e-300)))
    return lo, hi


def binom_p_v(k, n, t):
    """(p_at_least, p_at_most) of the exact binomial test at p = t; real k uses the regularised
    incomplete beta I_t(k, n-k+1), which equals P(Bin(n,t) >= k) for integer k."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    t = np.asarray(t, dtype=float)
    with np.errstate(all="ignore"):
        p_ge = np.where(k <= 0, 1.0, betainc(np.maximum(k, 1e-300), n - k + 1, t))        # P(X >= k)
        p_le = np.where(k >= n, 1.0, 1.0 - betainc(k + 1, np.maximum(n - k, 1e-300), t))  # P(X <= k)
    return p_ge, p_le


def proportion_exact(k: int, n: int, t: float, alpha: float = ALPHA) -> Bounds:
    """Exact one-sided binomial test of p >= t / p <= t, with Clopper-Pearson one-sided bounds.

    The test and the bounds invert each other: p_at_least < alpha  <=>  lower > t.
    """
    if not (0 <= k <= n and n >= 1):
        raise ValueError(f"need 0 <= k <= n, n >= 1; got k={k}, n={n}")
    lo, hi = cp_bounds_v(k, n, alpha)
    pg, pl = binom_p_v(k, n, t)
    return Bounds(float(lo), float(hi), float(pg), float(pl), "exact binomial / Clopper-Pearson", k / n)


def wilson_bounds_v(k, n, alpha: float = ALPHA):
    """One-sided Wilson (score) bounds, the v1 rule, for comparison only."""
    z = sps.norm.isf(alpha)
    p = np.asarray(k, float) / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return np.maximum(0, c - h), np.minimum(1, c + h)


# ----------------------------------------------------------------------------------------------
# 2. Proportion with repeats: item score y_i = mean of r 0/1 repeats, in [0, 1]; item is the unit
# ----------------------------------------------------------------------------------------------

def t_bounds_v(y, alpha: float = ALPHA):
    """One-sided t bounds of the mean along the last axis -> (mean, se, lower, upper).
    s = 0 gives lower = upper = mean (a degenerate interval)."""
    y = np.asarray(y, float)
    n = y.shape[-1]
    m = y.mean(-1)
    se = y.std(-1, ddof=1) / math.sqrt(n)
    q = sps.t.ppf(1 - alpha, n - 1)
    return m, se, m - q * se, m + q * se


def mean_t(y: Sequence[float], t: float, alpha: float = ALPHA, unit_interval: bool = False) -> Bounds:
    """Student t bounds and p-values for a mean (clipped to [0, 1] for item means of 0/1 scores)."""
    y = np.asarray(y, float)
    n = y.size
    m, se, lo, hi = (float(v) for v in t_bounds_v(y, alpha))
    if se == 0:
        pg = 0.0 if m > t else 1.0
        pl = 0.0 if m < t else 1.0
        note = f"no variation seen in {n} items"
    else:
        stat = (m - t) / se
        pg, pl = float(sps.t.sf(stat, n - 1)), float(sps.t.cdf(stat, n - 1))
        note = ""
    if unit_interval:
        lo, hi = max(0.0, lo), min(1.0, hi)
    return Bounds(lo, hi, pg, pl, "t on item means", m, note)


def bounded_cp_v(y, t, alpha: float = ALPHA):
    """Clopper-Pearson with the *real* count S = sum of [0,1] item scores (continuous-k extension).

    Reduces to the exact binomial when every y is 0/1 (one repeat). -> (lo, hi, p_ge, p_le).
    Justification: a [0,1] score with mean mu is a mean-preserving contraction of Bernoulli(mu);
    validity for the real-k extension is checked by simulation (sim_repeats.py).
    """
    y = np.asarray(y, float)
    n = y.shape[-1]
    S = y.sum(-1)
    lo, hi = cp_bounds_v(S, n, alpha)
    pg, pl = binom_p_v(S, n, t)
    return lo, hi, pg, pl


def mean_bounded_cp(y: Sequence[float], t: float, alpha: float = ALPHA) -> Bounds:
    """Bounded-mean rule for item means in [0,1]: Clopper-Pearson on the real sum of item scores."""
    y = np.asarray(y, float)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("item scores must lie in [0, 1]")
    lo, hi, pg, pl = (float(v) for v in bounded_cp_v(y, t, alpha))
    return Bounds(lo, hi, pg, pl, "Clopper-Pearson on item means (real k)", float(y.mean()))


def bernoulli_randomised_v(y, t, rng: np.random.Generator, alpha: float = ALPHA):
    """Exactly valid: replace each item score y_i by a seeded Bernoulli(y_i) draw, then exact binomial.
    (Equivalent in law to scoring one randomly chosen repeat per item.)"""
    y = np.asarray(y, float)
    b = (rng.random(y.shape) < y).astype(float)
    return bounded_cp_v(b, t, alpha)


def hoeffding_v(y, t, alpha: float = ALPHA):
    """Hoeffding bounds for a mean of [0,1] scores -> (lo, hi, p_ge, p_le)."""
    y = np.asarray(y, float)
    n = y.shape[-1]
    m = y.mean(-1)
    h = math.sqrt(math.log(1 / alpha) / (2 * n))
    pg = np.where(m > t, np.exp(-2 * n * (m - t) ** 2), 1.0)
    pl = np.where(m < t, np.exp(-2 * n * (m - t) ** 2), 1.0)
    return np.maximum(0, m - h), np.minimum(1, m + h), pg, pl


def _betting_logcap(y, m, alpha, side: int, c: float = 0.5):
    """log capital process of the Waudby-Smith & Ramdas (2023) hedged bet, fixed-n predictable plug-in.

    side=+1 tests H0: mean <= m (bets that y - m > 0); side=-1 tests H0: mean >= m.
    lambda_i = min(sqrt(2 log(1/alpha) / (n sigma2_{i-1})), c / m)  (c/(1-m) for side -1).
    Returns the running maximum of log K (Ville: reject when >= log(1/alpha)).
    """
    y = np.asarray(y, float)
    n = y.shape[-1]
    i = np.arange(1, n + 1)
    mu = (0.5 + np.cumsum(y, -1)) / (i + 1)
    sig2 = (0.25 + np.cumsum((y - mu) ** 2, -1)) / (i + 1)
    sig2_prev = np.concatenate([np.full(y.shape[:-1] + (1,), 0.25), sig2[..., :-1]], -1)
    lam = np.sqrt(2 * math.log(1 / alpha) / (n * sig2_prev))
    m = np.asarray(m, float)[..., None] if np.ndim(m) else m
    cap = c / np.maximum(m, 1e-12) if side > 0 else c / np.maximum(1 - m, 1e-12)
    lam = np.minimum(lam, cap)
    x = (y - m) if side > 0 else (m - y)
    logk = np.cumsum(np.log1p(lam * x), -1)
    return np.max(logk, -1)


def betting_p_v(y, t, alpha: float = ALPHA):
    """(p_ge, p_le) of the betting test at t: p = min(1, 1 / max_i K_i) (anytime-valid, so valid at fixed n)."""
    pg = np.minimum(1.0, np.exp(-_betting_logcap(y, t, alpha, +1)))
    pl = np.minimum(1.0, np.exp(-_betting_logcap(y, t, alpha, -1)))
    return pg, pl


def mean_betting(y: Sequence[float], t: float, alpha: float = ALPHA, grid: int = 2001, seed: int = 0) -> Bounds:
    """Waudby-Smith-Ramdas betting bounds for a mean of [0,1] item scores (order: a seeded shuffle).
    Bounds by inverting the test on a grid of candidate means."""
    y = np.asarray(y, float)
    y = y[np.random.default_rng(seed).permutation(y.size)]
    ms = np.linspace(0, 1, grid)
    rej_lo = _betting_logcap(np.broadcast_to(y, (grid, y.size)), ms, alpha, +1) >= math.log(1 / alpha)
    rej_hi = _betting_logcap(np.broadcast_to(y, (grid, y.size)), ms, alpha, -1) >= math.log(1 / alpha)
    lo = float(ms[rej_lo].max()) if rej_lo.any() else 0.0
    hi = float(ms[rej_hi].min()) if rej_hi.any() else 1.0
    pg, pl = (float(v) for v in betting_p_v(y, t, alpha))
    return Bounds(lo, hi, pg, pl, "betting (Waudby-Smith-Ramdas, fixed n)", float(y.mean()))


# ----------------------------------------------------------------------------------------------
# 3. Mean of a skewed positive metric
# ----------------------------------------------------------------------------------------------

def _moments(x):
    x = np.asarray(x, float)
    n = x.shape[-1]
    m = x.mean(-1)
    d = x - m[..., None]
    s = np.sqrt((d ** 2).sum(-1) / (n - 1))
    m2 = (d ** 2).mean(-1)
    m3 = (d ** 3).mean(-1)
    return n, m, s, m2, m3


def johnson_stat_v(x, mu, monotone: bool = True):
    """Johnson (1978) modified t at mean mu:
        t_J = [ (xbar - mu) + m3/(6 s^2 n) + m3/(3 s^4) (xbar - mu)^2 ] / (s / sqrt(n)),
    m3 = sum (x - xbar)^3 / n, compared with t(n-1). The quadratic is not monotone in mu; with
    ``monotone`` the statistic is held at its turning value beyond the turning point
    (xbar - mu = -s^2/(2 m3/s^2) ...), so that it cannot support claims far on the wrong side."""
    n, m, s, m2, m3 = _moments(x)
    a = m3 / (6 * s ** 2 * n)
    b = m3 / (3 * s ** 4)
    dlt = m - np.asarray(mu, float)
    if monotone:
        with np.errstate(all="ignore"):
            turn = np.where(b != 0, -1.0 / (2 * b), np.nan)
        dlt = np.where(b > 0, np.maximum(dlt, turn), np.where(b < 0, np.minimum(dlt, turn), dlt))
    return (dlt + a + b * dlt ** 2) / (s / math.sqrt(n))


def johnson_bounds_v(x, alpha: float = ALPHA):
    """Bounds that invert the monotone Johnson statistic (inf / 0 when the quadratic has no root)."""
    n, m, s, m2, m3 = _moments(x)
    a = m3 / (6 * s ** 2 * n)
    b = m3 / (3 * s ** 4)
    q = sps.t.ppf(1 - alpha, n - 1)
    se = s / math.sqrt(n)

    def root(target):  # solve b d^2 + d + a = target on the monotone branch (d >= -1/(2b) for b > 0)
        with np.errstate(all="ignore"):
            disc = 1 - 4 * b * (a - target)
            d_quad = (-1 + np.sqrt(disc)) / (2 * b)
            d_lin = target - a
            d = np.where(np.abs(b) < 1e-14, d_lin, d_quad)
            return np.where(disc < 0, np.nan, d)

    d_hi = root(q * se)      # xbar - mu = d_hi  -> lower bound of mu
    d_lo = root(-q * se)     # -> upper bound of mu
    lower = m - d_hi
    upper = m - d_lo
    # no root: for b > 0 the statistic never falls to -q*se -> no upper bound; for b < 0 no lower bound
    upper = np.where(np.isnan(upper), np.inf, upper)
    lower = np.where(np.isnan(lower), -np.inf, lower)
    return np.maximum(lower, 0.0), upper


def hall_stat_v(x, mu):
    """Hall (1992) cubic transformation of the studentized mean (monotone):
        sqrt(n) [ T + g T^2/3 + g^2 T^3/27 + g/(6n) ],  T = (xbar - mu)/s,  g = m3 / m2^{3/2}."""
    n, m, s, m2, m3 = _moments(x)
    g = m3 / m2 ** 1.5
    T = (m - np.asarray(mu, float)) / s
    return math.sqrt(n) * (T + g * T ** 2 / 3 + g ** 2 * T ** 3 / 27 + g / (6 * n))


def hall_bounds_v(x, alpha: float = ALPHA, dist: str = "z"):
    """Invert Hall's statistic: T = (3/g)[(1 + g (u - g/(6n)))^{1/3} - 1], u = q / sqrt(n)."""
    n, m, s, m2, m3 = _moments(x)
    g = m3 / m2 ** 1.5
    q = sps.norm.isf(alpha) if dist == "z" else sps.t.isf(alpha, n - 1)

    def inv(u):
        with np.errstate(all="ignore"):
            out = 3 / g * (np.cbrt(1 + g * (u - g / (6 * n))) - 1)
        return np.where(np.abs(g) < 1e-12, u, out)

    lower = m - s * inv(q / math.sqrt(n))
    upper = m - s * inv(-q / math.sqrt(n))
    return np.maximum(lower, 0.0), upper


def _boot_chunk(x, B, rng, max_cells=6_000_000):
    """Bootstrap means and SDs for rows of x (R, n): returns (R, B) arrays, drawn in row blocks."""
    R, n = x.shape
    xc = x - x.mean(-1, keepdims=True)
    means = np.empty((R, B))
    sds = np.empty((R, B))
    step = max(1, max_cells // (B * n))
    rows = np.arange(R)
    for a in range(0, R, step):
        b_ = min(R, a + step)
        idx = rng.integers(0, n, size=(b_ - a, B, n))
        v = xc[rows[a:b_, None, None], idx]
        s1 = v.sum(-1)
        s2 = np.einsum("rbn,rbn->rb", v, v)
        means[a:b_] = s1 / n
        sds[a:b_] = np.sqrt(np.maximum(s2 - s1 ** 2 / n, 0) / (n - 1))
    return means + x.mean(-1, keepdims=True), sds


def boot_t_and_bca_v(x, B: int, rng: np.random.Generator, alpha: float = ALPHA):
    """Studentized (bootstrap-t) and BCa one-sided bounds of the mean for each row of x (R, n).
    Returns dict with 'boot_t' and 'bca' -> (lower, upper); lower bounds clipped at 0."""
    x = np.asarray(x, float)
    R, n = x.shape
    m = x.mean(-1)
    s = x.std(-1, ddof=1)
    bm, bs = _boot_chunk(x, B, rng)
    with np.errstate(all="ignore"):
        tstar = (bm - m[:, None]) / (bs / math.sqrt(n))
    tstar = np.where(np.isfinite(tstar), tstar, np.where(bm > m[:, None], np.inf, -np.inf))
    tstar = np.where(bm == m[:, None], 0.0, tstar)
    q_lo, q_hi = np.quantile(tstar, [alpha, 1 - alpha], axis=1, method="linear")
    se = s / math.sqrt(n)
    bt = (np.maximum(m - q_hi * se, 0.0), m - q_lo * se)
    # BCa: z0 from the share of replicates below the estimate, acceleration from the jackknife
    below = (bm < m[:, None]).mean(1) + 0.5 * (bm == m[:, None]).mean(1)
    z0 = sps.norm.ppf(np.clip(below, 0.5 / B, 1 - 0.5 / B))
    d = x - m[:, None]
    acc = (d ** 3).sum(1) / (6 * ((d ** 2).sum(1)) ** 1.5)
    srt = np.sort(bm, axis=1)

    def bca_q(level):
        z = sps.norm.ppf(level)
        adj = sps.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        pos = adj * (B - 1)
        i0 = np.clip(np.floor(pos).astype(int), 0, B - 1)
        i1 = np.clip(i0 + 1, 0, B - 1)
        fr = pos - i0
        r = np.arange(R)
        return srt[r, i0] + fr * (srt[r, i1] - srt[r, i0])

    bca = (np.maximum(bca_q(alpha), 0.0), bca_q(1 - alpha))
    return {"boot_t": bt, "bca": bca}


def mean_skewed(x: Sequence[float], t: float, alpha: float = ALPHA, method: str = "hall",
                min_n: int | None = None, B: int = 999, seed: int = 0) -> Bounds:
    """Mean of a positive skewed metric. method in {'t', 'johnson', 'hall', 'boot_t', 'bca'}.

    Lower bounds never go below 0. Below ``min_n`` items no bound is given (INCONCLUSIVE, with reason).
    p-values: from the statistic at t for t/johnson/hall; bootstrap ones from the bound-inversion
    p = share of T* beyond the observed studentized value (boot_t) / the BCa ASL.
    """
    x = np.asarray(x, float)
    n = x.size
    if min_n is not None and n < min_n:
        return Bounds(float("nan"), float("nan"), 1.0, 1.0, method, float(x.mean()),
                      f"too few items for a mean of a skewed metric (n={n} < {min_n}); "
                      "a percentile claim is distribution-free")
    X = x[None, :]
    if method == "t":
        m, se, lo, hi = t_bounds_v(X, alpha)
        st = (m - t) / se
        pg, pl = sps.t.sf(st, n - 1), sps.t.cdf(st, n - 1)
        lo = np.maximum(lo, 0)
    elif method == "johnson":
        lo, hi = johnson_bounds_v(X, alpha)
        st = johnson_stat_v(X, t)
        pg, pl = sps.t.sf(st, n - 1), sps.t.cdf(st, n - 1)
    elif method == "hall":
        lo, hi = hall_bounds_v(X, alpha)
        st = hall_stat_v(X, t)
        pg, pl = sps.norm.sf(st), sps.norm.cdf(st)
    elif method in ("boot_t", "bca"):
        rng = np.random.default_rng(seed)
        res = boot_t_and_bca_v(X, B, rng, alpha)
        lo, hi = res[method]
        pg = np.array(0.0 if lo[0] > t else 1.0)  # bootstrap: report the bound-based decision only
        pl = np.array(0.0 if hi[0] < t else 1.0)
    else:
        raise ValueError(method)
    return Bounds(float(np.ravel(lo)[0]), float(np.ravel(hi)[0]), float(np.ravel(pg)[0]),
                  float(np.ravel(pl)[0]), method, float(x.mean()))


# ----------------------------------------------------------------------------------------------
# 4. Percentile (p95) with repeats
# ----------------------------------------------------------------------------------------------

def orderstat_ranks(n: int, q: float, alpha: float = ALPHA) -> tuple[int | None, int | None]:
    """1-based ranks (i_lower, j_upper) of the one-sided (1-alpha) order-statistic bounds of the
    q-quantile from n independent calls; None when no such bound exists.
    Upper: smallest j with P(Bin(n,q) <= j-1) > 1-alpha.  Lower: largest i with P(Bin(n,q) >= i) > 1-alpha."""
    ks = np.arange(0, n + 1)
    cdf = sps.binom.cdf(ks, n, q)          # P(Bin <= k)
    ok_u = np.flatnonzero(cdf > 1 - alpha)  # k = j-1
    j = int(ok_u[0]) + 1 if ok_u.size and ok_u[0] + 1 <= n else None
    sf = sps.binom.sf(ks - 1, n, q)        # P(Bin >= k)
    ok_l = np.flatnonzero((sf > 1 - alpha) & (ks >= 1))
    i = int(ok_l[-1]) if ok_l.size else None
    return i, j


def min_n_orderstat(q: float = 0.95, alpha: float = ALPHA) -> tuple[int, int]:
    """Smallest n with a lower / an upper one-sided order-statistic bound of the q-quantile."""
    n_lo = next(n for n in range(1, 100000) if orderstat_ranks(n, q, alpha)[0] is not None)
    n_hi = next(n for n in range(1, 100000) if orderstat_ranks(n, q, alpha)[1] is not None)
    return n_lo, n_hi


def quantile_orderstat(x: Sequence[float], t: float, q: float = 0.95, alpha: float = ALPHA) -> Bounds:
    """Distribution-free bounds of the q-quantile for independent calls (one per item)."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    i, j = orderstat_ranks(n, q, alpha)
    lo = float(x[i - 1]) if i else float("nan")
    hi = float(x[j - 1]) if j else float("nan")
    k_le = int(np.sum(x <= t))
    k_lt = int(np.sum(x < t))
    p_at_most = float(sps.binom.sf(k_le - 1, n, q))   # claim quantile <= t : many calls <= t
    p_at_least = float(sps.binom.cdf(k_lt, n, q))     # claim quantile >= t : few calls < t
    n_lo, n_hi = min_n_orderstat(q, alpha)
    note = "" if j else f"too few calls for an upper bound: {n} < {n_hi} independent calls needed"
    return Bounds(lo, hi, p_at_least, p_at_most, "order statistics (independent calls)",
                  float(np.quantile(x, q, method="linear")), note)


def quantile_one_per_item(X: np.ndarray, t: float, q: float = 0.95, alpha: float = ALPHA,
                          pick: Literal["first", "random"] = "first", seed: int = 0) -> Bounds:
    """Order-statistic bounds on one call per item (X: items x repeats; NaN = missing repeat)."""
    X = np.asarray(X, float)
    if pick == "first":
        x = X[:, 0]
    else:
        rng = np.random.default_rng(seed)
        r = np.sum(np.isfinite(X), 1)
        col = np.floor(rng.random(X.shape[0]) * r).astype(int)
        x = X[np.arange(X.shape[0]), col]
    b = quantile_orderstat(x, t, q, alpha)
    est = float(np.quantile(X[np.isfinite(X)], q, method="linear"))
    return Bounds(b.lower, b.upper, b.p_at_least, b.p_at_most, f"order statistics, {pick} call per item",
                  est, b.note)


def item_fraction_p_v(X, t, q: float = 0.95):
    """Item-fraction test of the q-quantile at t. X: (..., n_items, r). f_i = share of item i's calls
    <= t (or < t); F(t) >= q  <=> quantile <= t. Clopper-Pearson with real k on sum f_i.
    Returns (p_at_least, p_at_most) for claims 'quantile >= t' and 'quantile <= t'."""
    X = np.asarray(X, float)
    n = X.shape[-2]
    f_le = np.mean(X <= t, -1).sum(-1)
    f_lt = np.mean(X < t, -1).sum(-1)
    p_at_most, _ = binom_p_v(f_le, n, q)   # evidence that F(t) > q
    _, p_at_least = binom_p_v(f_lt, n, q)  # evidence that F(t-) < q
    return p_at_least, p_at_most


def quantile_item_fraction(X: np.ndarray, t: float, q: float = 0.95, alpha: float = ALPHA) -> Bounds:
    """Item-level bounds of the per-call q-quantile with repeats (X: items x repeats, equal r):
    invert the item-fraction test over the observed call values. r = 1: exactly the order statistics."""
    X = np.asarray(X, float)
    n, r = X.shape
    v = np.sort(X.ravel())
    S_le = np.searchsorted(v, v, side="right") / r   # sum_i f_i(v) for equal r: (#calls <= v)/r
    S_lt = np.searchsorted(v, v, side="left") / r
    pu, _ = binom_p_v(S_le, n, q)
    _, pl = binom_p_v(S_lt, n, q)
    ok_u = np.flatnonzero(pu < alpha)
    ok_l = np.flatnonzero(pl < alpha)
    hi = float(v[ok_u[0]]) if ok_u.size else float("nan")
    lo = float(v[ok_l[-1]]) if ok_l.size else float("nan")
    pg, pm = (float(z) for z in item_fraction_p_v(X, t, q))
    note = "" if ok_u.size else f"too few items for an upper bound (needs >= {min_n_orderstat(q, alpha)[1]} items)"
    return Bounds(lo, hi, pg, pm, "item-fraction Clopper-Pearson (real k)",
                  float(np.quantile(X, q, method="linear")), note)


def weighted_linear_quantile_v(vals_sorted, counts, q):
    """np.quantile(..., method='linear') of a multiset: sorted values (N,) with counts (B, N)."""
    C = np.cumsum(counts, -1)
    N = C[..., -1]
    h = (N - 1) * q
    j = np.floor(h).astype(int)
    fr = h - j
    # the j-th and (j+1)-th order statistics (0-based): first index with C > j
    k0 = (C <= j[..., None]).sum(-1)
    k1 = (C <= (j + 1)[..., None]).sum(-1)
    k1 = np.minimum(k1, vals_sorted.size - 1)
    return vals_sorted[k0] + fr * (vals_sorted[k1] - vals_sorted[k0])


def quantile_cluster_bootstrap(X: np.ndarray, t: float, q: float = 0.95, alpha: float = ALPHA,
                               B: int = 999, seed: int = 0) -> Bounds:
    """Item-level (cluster) percentile bootstrap of the pooled linear quantile (X: items x repeats)."""
    X = np.asarray(X, float)
    n, r = X.shape
    rng = np.random.default_rng(seed)
    flat = X.ravel()
    order = np.argsort(flat)
    item_of = np.repeat(np.arange(n), r)[order]
    idx = rng.integers(0, n, size=(B, n))
    w = np.zeros((B, n))
    np.add.at(w, (np.arange(B)[:, None], idx), 1)
    reps = weighted_linear_quantile_v(flat[order], w[:, item_of], q)
    lo, hi = np.quantile(reps, [alpha, 1 - alpha], method="linear")
    pg = float((1 + np.sum(reps <= t)) / (B + 1))
    pm = float((1 + np.sum(reps >= t)) / (B + 1))
    return Bounds(float(lo), float(hi), pg, pm, "cluster percentile bootstrap",
                  float(np.quantile(X, q, method="linear")))


# ----------------------------------------------------------------------------------------------
# 5. Clustered proportions / means: CR2 (Bell-McCaffrey) with t(df)
# ----------------------------------------------------------------------------------------------

def cr2_mean(y: Sequence[float], clusters: Sequence, t: float, alpha: float = ALPHA,
             min_clusters: int = 10) -> Bounds:
    """Mean with CR2 cluster-robust SE (intercept-only model) and Bell-McCaffrey Satterthwaite df.

    For the intercept-only model, H_gg = J/N, so A_g = (I - J_g/N)^(-1/2) scales the cluster's residual
    sum by 1/sqrt(1 - m_g/N):  V = sum_g S_g^2 / (1 - m_g/N) / N^2.  With equal sizes this is
    C/(C-1) sum S_g^2 / N^2 and df = C - 1 (a t-test on the cluster means).
    Below ``min_clusters`` clusters: no verdict (NaN bounds, p = 1) with the reason.
    """
    y = np.asarray(y, float)
    lab = np.asarray(clusters)
    _, code = np.unique(lab, return_inverse=True)
    C = int(code.max()) + 1
    N = y.size
    m = float(y.mean())
    e = y - m
    sizes = np.bincount(code, minlength=C).astype(float)
    S = np.bincount(code, weights=e, minlength=C)
    adj = 1.0 / (1.0 - sizes / N)
    V = float(np.sum(S ** 2 * adj) / N ** 2)
    se = math.sqrt(V)
    # Bell-McCaffrey df under the working model Var(y) = sigma^2 I: Satterthwaite for quadratic form
    # V = e' B e with B = sum_g u_g u_g',  u_g = M a_g,  a_g = 1_g sqrt(adj_g) / N,  M = I - J/N.
    Amat = np.zeros((N, C))
    Amat[np.arange(N), code] = np.sqrt(adj[code]) / N
    U = Amat - Amat.mean(0, keepdims=True)   # M a_g
    G = U.T @ U
    df = float(np.trace(G) ** 2 / np.sum(G * G))
    note = f"{C} clusters, CR2, Bell-McCaffrey df {df:.1f}"
    if C < min_clusters:
        return Bounds(float("nan"), float("nan"), 1.0, 1.0, "CR2 t", m,
                      f"only {C} clusters (< {min_clusters}): no clustered verdict", {"df": df, "se": se})
    q = sps.t.ppf(1 - alpha, df)
    if se == 0:
        pg, pl = (0.0 if m > t else 1.0), (0.0 if m < t else 1.0)
    else:
        st = (m - t) / se
        pg, pl = float(sps.t.sf(st, df)), float(sps.t.cdf(st, df))
    return Bounds(m - q * se, m + q * se, pg, pl, "CR2 t (Bell-McCaffrey)", m, note, {"df": df, "se": se})


def cr2_equal_v(cluster_means, alpha: float = ALPHA):
    """Vectorised CR2 for equal cluster sizes: identical to a t-test on the C cluster means."""
    return t_bounds_v(cluster_means, alpha)


# ----------------------------------------------------------------------------------------------
# 6. Paired comparisons
# ----------------------------------------------------------------------------------------------

def tango_z_v(b, c, n, d0):
    """Tango (1998) score statistic for H0: p10 - p01 = d0 (b = #(A=1,B=0), c = #(A=0,B=1)).

    Z = (b - c - n d0) / sqrt(n (2 p01~ + d0 (1 - d0))),  p01~ the restricted MLE:
    p01~ = (-B + sqrt(B^2 - 8 n C)) / (4 n),  B = -b - c + (2n - b + c) d0,  C = -c d0 (1 - d0).
    Large Z = evidence that the difference exceeds d0.
    """
    b = np.asarray(b, float)
    c = np.asarray(c, float)
    d0 = np.asarray(d0, float)
    A = 2.0 * n
    Bq = -b - c + (2 * n - b + c) * d0
    Cq = -c * d0 * (1 - d0)
    with np.errstate(all="ignore"):
        p01 = (-Bq + np.sqrt(np.maximum(Bq ** 2 - 4 * A * Cq, 0))) / (2 * A)
        var = n * (2 * p01 + d0 * (1 - d0))
        z = (b - c - n * d0) / np.sqrt(var)
    num = b - c - n * d0
    return np.where(var > 1e-15, z, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def tango_bounds_v(b, c, n, alpha: float = ALPHA, iters: int = 60):
    """One-sided (1-alpha) bounds of p10 - p01 inverting the Tango score test (bisection)."""
    z = sps.norm.isf(alpha)
    b = np.asarray(b, float)
    c = np.asarray(c, float)

    def solve(target):  # Z(d0) is decreasing in d0; find d0 with Z(d0) = target
        lo = np.full(np.broadcast(b, c).shape, -1.0)
        hi = np.full_like(lo, 1.0)
        for _ in range(iters):
            mid = (lo + hi) / 2
            zz = tango_z_v(b, c, n, mid)
            up = zz > target
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        return (lo + hi) / 2

    return solve(z), solve(-z)


def paired_binary_margin(a: Sequence[int], b: Sequence[int], delta: float, alpha: float = ALPHA) -> Bounds:
    """A - B on the same items, 0/1 scores: Tango score test at the margin and its inverted bounds.
    p_at_least: claim A - B >= delta (delta may be -m for non-inferiority)."""
    a = np.asarray(a, int)
    b_ = np.asarray(b, int)
    n = a.size
    n10 = int(np.sum((a == 1) & (b_ == 0)))
    n01 = int(np.sum((a == 0) & (b_ == 1)))
    lo, hi = tango_bounds_v(n10, n01, n, alpha)
    z = float(tango_z_v(n10, n01, n, delta))
    return Bounds(float(lo), float(hi), float(sps.norm.sf(z)), float(sps.norm.cdf(z)),
                  "Tango score (paired proportions)", (n10 - n01) / n, extra={"b": n10, "c": n01})


def mcnemar_exact_p(b: int, c: int) -> tuple[float, float, float]:
    """Exact McNemar: (p for 'A better' (b > c), p for 'B better', two-sided)."""
    d = b + c
    if d == 0:
        return 1.0, 1.0, 1.0
    pg = float(sps.binom.sf(b - 1, d, 0.5))
    pl = float(sps.binom.cdf(b, d, 0.5))
    return pg, pl, float(min(1.0, 2 * sps.binom.cdf(min(b, c), d, 0.5)))


def paired_t(d: Sequence[float], t: float, alpha: float = ALPHA) -> Bounds:
    """Paired t on per-item differences d = a - b; claim mean(d) >= t / <= t."""
    b = mean_t(d, t, alpha)
    return Bounds(b.lower, b.upper, b.p_at_least, b.p_at_most, "paired t", b.estimate, b.note)


def _all_signs(n: int) -> np.ndarray:
    codes = np.arange(1 << n)
    return 1.0 - 2.0 * ((codes[:, None] >> np.arange(n)) & 1)


def sign_flip_p_v(d, mu0, signs: np.ndarray):
    """Sign-flip (permutation) p-values of H0: d symmetric about mu0, for rows of d (R, n).
    signs: (M, n) all 2^n sign vectors (exact) or random ones. Returns (p_at_least, p_at_most)."""
    d = np.atleast_2d(np.asarray(d, float))
    x = d - np.asarray(mu0, float).reshape(-1, 1) if np.ndim(mu0) else d - mu0
    obs = x.sum(1)
    flips = x @ signs.T                      # (R, M)
    tol = 1e-9 * np.maximum(1, np.abs(x).max(1))
    pg = np.mean(flips >= (obs - tol)[:, None], 1)
    pl = np.mean(flips <= (obs + tol)[:, None], 1)
    return pg, pl


def sign_flip_bounds(d: Sequence[float], alpha: float = ALPHA, iters: int = 50) -> tuple[float, float]:
    """Invert the exact sign-flip test over the shift mu0 (bisection) -> one-sided (1-alpha) bounds."""
    d = np.asarray(d, float)
    S = _all_signs(d.size)
    span = float(np.ptp(d)) + 1e-9
    lo_a, lo_b = d.min() - span, d.max() + span
    hi_a, hi_b = lo_a, lo_b
    for _ in range(iters):  # lower: largest mu0 with p_at_least(mu0) < alpha
        mid = (lo_a + lo_b) / 2
        if sign_flip_p_v(d, mid, S)[0][0] < alpha:
            lo_a = mid
        else:
            lo_b = mid
        mid2 = (hi_a + hi_b) / 2
        if sign_flip_p_v(d, mid2, S)[1][0] < alpha:
            hi_b = mid2
        else:
            hi_a = mid2
    return lo_a, hi_b


def paired_sign_flip(d: Sequence[float], t: float, alpha: float = ALPHA) -> Bounds:
    """Exact sign-flip test (n <= 20) of mean(d) >= t / <= t and its inverted bounds."""
    d = np.asarray(d, float)
    if d.size > 20:
        raise ValueError("exact sign-flip for n <= 20 only")
    S = _all_signs(d.size)
    pg, pl = sign_flip_p_v(d, t, S)
    lo, hi = sign_flip_bounds(d, alpha)
    return Bounds(lo, hi, float(pg[0]), float(pl[0]), "exact sign-flip", float(d.mean()))


def tost_paired_t(a, b, margin: float, alpha: float = ALPHA) -> tuple[str, float]:
    """Equivalence by two one-sided paired t tests (p = the larger one-sided p)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    lo = mean_t(d, -margin, alpha)
    hi = mean_t(d, margin, alpha)
    p = max(lo.p_at_least, hi.p_at_most)
    return ("SUPPORTED" if p < alpha else "not shown"), p


# ----------------------------------------------------------------------------------------------
# 7. Fairness gap
# ----------------------------------------------------------------------------------------------

def wilson_two_sided_v(k, n, level_each_side: float):
    """Wilson interval with 'level_each_side' in each tail."""
    return wilson_bounds_v(k, n, level_each_side)


def newcombe_v(k1, n1, k2, n2, alpha_each: float):
    """Newcombe hybrid score interval for p1 - p2 with alpha_each in each tail."""
    p1, p2 = np.asarray(k1, float) / n1, np.asarray(k2, float) / n2
    l1, u1 = wilson_bounds_v(k1, n1, alpha_each)
    l2, u2 = wilson_bounds_v(k2, n2, alpha_each)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def gap_from_pairs(L: np.ndarray, U: np.ndarray, L_alt: np.ndarray | None = None,
                   U_alt: np.ndarray | None = None):
    """Gap bounds from pairwise difference bounds (last axis = pairs).
    Upper bound of the gap = max over pairs of max(U, -L); lower = max over pairs of max(0, L, -U).
    (L, U) feed the lower bound of the gap; (L_alt, U_alt), if given, feed its upper bound."""
    La, Ua = (L, U) if L_alt is None else (L_alt, U_alt)
    up = np.max(np.maximum(Ua, -La), -1)
    lo = np.max(np.maximum(0, np.maximum(L, -U)), -1)
    return lo, up


def fairness_gap_newcombe(k: Sequence[int], n: Sequence[int], g: float, alpha: float = ALPHA,
                          upper: Literal["bonferroni", "single"] = "single") -> Bounds:
    """Gap = max |p_i - p_j|, bounds from Newcombe intervals of every pair.

    Lower bound of the gap: Bonferroni over the K pairs (alpha/K in each tail) - needed because any
    pair could push the lower bound above the true gap. Upper bound: the true gap is attained by one
    pair, so ``upper='single'`` uses alpha in each tail per pair (no multiplicity needed);
    ``'bonferroni'`` uses alpha/K (simultaneous, more conservative)."""
    k = np.asarray(k)
    n = np.asarray(n)
    pairs = list(combinations(range(k.size), 2))
    K = len(pairs)
    i, j = np.array(pairs).T
    L, U = newcombe_v(k[i], n[i], k[j], n[j], alpha / K)
    La, Ua = newcombe_v(k[i], n[i], k[j], n[j], alpha if upper == "single" else alpha / K)
    lo, hi = gap_from_pairs(L, U, La, Ua)
    p = k / n
    return Bounds(float(lo), float(hi), float("nan"), float("nan"), f"Newcombe pairs, Bonferroni lower, {upper} upper",
                  float(p.max() - p.min()))


# ----------------------------------------------------------------------------------------------
# 8. Best-model set: multiple comparisons with the best (Hsu), bootstrap critical value
# ----------------------------------------------------------------------------------------------

def bootstrap_weights(rng: np.random.Generator, n: int, B: int, batch: tuple = ()) -> np.ndarray:
    """Item-bootstrap multiplicities W[..., b, i] (each row sums to n), drawn as n indices per replicate."""
    shape = batch + (B,)
    rows = int(np.prod(shape))
    idx = rng.integers(0, n, size=(rows, n)) + (np.arange(rows) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=rows * n).reshape(shape + (n,)).astype(float)


def mcb_from_weights(X: np.ndarray, W: np.ndarray, alpha: float = ALPHA) -> dict:
    """Hsu's constrained MCB on paired item-level data. X: (..., K, n) scores; W: (..., B, n) bootstrap
    multiplicities of the items (the same resampled items for every model: a joint item bootstrap).

    theta_i = mu_i - max_{j != i} mu_j.  With paired SEs se_ij = sd(X_i - X_j) / sqrt(n):
      c_i = (1 - alpha) quantile of max_{j != i} T*_ji,  T*_ji = (d*_ji - d_ji) / se*_ji,  c = max_i c_i;
      U_i = min_{j != i} (xbar_i - xbar_j + c se_ij);  set = {i : U_i >= 0};  upper bound reported as max(U_i, 0);
      L_i = min(0, min_{j != i} (xbar_i - xbar_j - c se_ij))   ('at most -L_i behind the best').
    On the event that the one-sided Dunnett-type bounds with the true best as control hold (prob >= 1 - alpha),
    every [L_i, max(U_i, 0)] covers theta_i and the true best is in the set.
    """
    X = np.asarray(X, float)
    K, n = X.shape[-2:]
    xb = X.mean(-1)                                            # (..., K)
    D = X[..., :, None, :] - X[..., None, :, :]                # (..., K, K, n)
    se = D.std(-1, ddof=1) / math.sqrt(n)
    Df = D.reshape(D.shape[:-3] + (K * K, n))
    Dm = np.matmul(W, np.swapaxes(Df, -1, -2)) / n             # (..., B, K*K)
    D2 = np.matmul(W, np.swapaxes(Df ** 2, -1, -2)) / n
    sest = np.sqrt(np.maximum(D2 - Dm ** 2, 0) / (n - 1))
    dhat = (xb[..., :, None] - xb[..., None, :]).reshape(xb.shape[:-1] + (1, K * K))
    num = Dm - dhat
    # a replicate with zero spread for a pair (0/1 data, no discordant item drawn) is studentized by the
    # observed SE of that pair instead (infinite T* would make c infinite or undefined); identical pairs -> 0
    se_f = se.reshape(se.shape[:-2] + (1, K * K))
    den = np.where(sest > 1e-12, sest, se_f)
    with np.errstate(all="ignore"):
        T = np.where(den > 1e-12, num / den, 0.0)
    T = T.reshape(T.shape[:-1] + (K, K))                       # T[..., b, j, i] = T*_ji
    ci = []
    for i in range(K):
        others = [j for j in range(K) if j != i]
        ci.append(np.quantile(np.max(T[..., others, i], -1), 1 - alpha, axis=-1))
    c = np.max(np.stack(ci, -1), -1)                           # (...)
    eye = np.eye(K, dtype=bool)
    dh = xb[..., :, None] - xb[..., None, :]
    cc = c[..., None, None]
    U = np.where(eye, np.inf, dh + cc * se).min(-1)
    L = np.minimum(np.where(eye, np.inf, dh - cc * se).min(-1), 0.0)
    return {"U": U, "upper": np.maximum(U, 0.0), "lower": L, "in_set": U >= 0, "c": c, "means": xb}


def mcb_bootstrap(X: np.ndarray, alpha: float = ALPHA, B: int = 2000, seed: int = 0) -> dict:
    """The best-model set from K x n paired item scores (see mcb_from_weights)."""
    X = np.asarray(X, float)
    W = bootstrap_weights(np.random.default_rng(seed), X.shape[1], B)
    return mcb_from_weights(X, W, alpha)


# ----------------------------------------------------------------------------------------------
# 9. The family of a decision
# ----------------------------------------------------------------------------------------------

def holm_v(p):
    """Holm-adjusted p-values along the last axis."""
    p = np.asarray(p, float)
    m = p.shape[-1]
    order = np.argsort(p, -1, kind="stable")
    ps = np.take_along_axis(p, order, -1)
    adj = np.maximum.accumulate(ps * (m - np.arange(m)), -1)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, np.minimum(adj, 1.0), -1)
    return out


def family_v(p_sup, p_ref, decision: Literal["all", "any"] = "all", alpha: float = ALPHA):
    """Family verdicts from per-criterion p-values (last axis = criteria).

    all: SUPPORTED iff every p_sup < alpha (intersection-union); REFUTED iff any Holm(p_ref) < alpha.
    any: SUPPORTED iff any Holm(p_sup) < alpha; REFUTED iff every p_ref < alpha.
    Returns (supported, refuted) boolean arrays."""
    p_sup = np.asarray(p_sup, float)
    p_ref = np.asarray(p_ref, float)
    if decision == "all":
        sup = np.all(p_sup < alpha, -1)
        ref = np.any(holm_v(p_ref) < alpha, -1)
    else:
        sup = np.any(holm_v(p_sup) < alpha, -1)
        ref = np.all(p_ref < alpha, -1)
    return sup, ref & ~sup


# ----------------------------------------------------------------------------------------------
# 10. Power and required n (exact)
# ----------------------------------------------------------------------------------------------

def binom_critical(n: int, t: float, alpha: float = ALPHA, side: str = "at_least") -> int:
    """Smallest k with P(Bin(n,t) >= k) < alpha (side at_least), or largest k with P(<= k) < alpha."""
    ks = np.arange(n + 2)
    if side == "at_least":
        ok = np.flatnonzero(sps.binom.sf(ks - 1, n, t) < alpha)
        return int(ok[0]) if ok.size else n + 1
    ok = np.flatnonzero(sps.binom.cdf(ks[: n + 1], n, t) < alpha)
    return int(ok[-1]) if ok.size else -1


def power_exact_binomial(n: int, t: float, p: float, alpha: float = ALPHA, side: str = "at_least") -> float:
    """Exact power of the one-sided exact binomial test (claim p >= t, or <= t) when the truth is p."""
    k = binom_critical(n, t, alpha, side)
    if side == "at_least":
        return float(sps.binom.sf(k - 1, n, p)) if k <= n else 0.0
    return float(sps.binom.cdf(k, n, p)) if k >= 0 else 0.0


def required_n_exact_binomial(t: float, p: float, power: float = 0.8, alpha: float = ALPHA,
                              n_max: int = 20000) -> dict:
    """Smallest n with exact power >= power ('first'), and the smallest n from which every larger n (checked up
    to 1.5 x first + 50) has it ('stable': the exact power curve saw-tooths in n). Side from the sign of p - t.
    Linear scan from n = 1 (each evaluation is one binomial tail)."""
    side = "at_least" if p > t else "at_most"
    pw = lambda nn: power_exact_binomial(nn, t, p, alpha, side)
    first = next((n for n in range(1, n_max + 1) if pw(n) >= power), None)
    if first is None:
        return {"first": None, "stable": None}
    ok = np.array([pw(m) >= power for m in range(first, int(first * 1.5) + 50)])
    bad = np.flatnonzero(~ok)
    return {"first": first, "stable": first if bad.size == 0 else first + int(bad[-1]) + 1}


def mde_exact_binomial(n: int, t: float, power: float = 0.8, alpha: float = ALPHA,
                       side: str = "at_least") -> float:
    """Smallest distance from t detected with the given exact power at this n (power is monotone in p)."""
    lo, hi = (t, 1.0) if side == "at_least" else (0.0, t)
    if side == "at_least" and power_exact_binomial(n, t, 1.0, alpha, side) < power:
        return float("nan")
    if side == "at_most" and power_exact_binomial(n, t, 0.0, alpha, side) < power:
        return float("nan")
    for _ in range(60):
        mid = (lo + hi) / 2
        good = power_exact_binomial(n, t, mid, alpha, side) >= power
        if side == "at_least":
            hi, lo = (mid, lo) if good else (hi, mid)
        else:
            lo, hi = (mid, hi) if good else (lo, mid)
    return (hi - t) if side == "at_least" else (t - lo)


def power_mcnemar_exact(n: int, p10: float, p01: float, alpha: float = ALPHA) -> float:
    """Exact unconditional power of the one-sided exact McNemar test (claim A better, b > c) on n items:
    sum over the number of discordant items D ~ Bin(n, p10 + p01) of P(b >= k_crit(D) | D), b | D ~ Bin(D, p10/psi),
    k_crit(D) = smallest k with P(Bin(D, 1/2) >= k) < alpha."""
    psi = p10 + p01
    if psi <= 0:
        return 0.0
    d = np.arange(1, n + 1)
    kc = sps.binom.isf(alpha, d, 0.5) + 1                       # P(X >= kc) <= alpha (never = alpha: dyadic)
    pr = np.where(kc <= d, sps.binom.sf(kc - 1, d, p10 / psi), 0.0)
    return float(np.sum(sps.binom.pmf(d, n, psi) * pr))


def required_n_mcnemar(p10: float, p01: float, power: float = 0.8, alpha: float = ALPHA,
                       n_max: int = 20000) -> dict:
    """Smallest n (and the stable n) with exact McNemar power >= power (linear scan)."""
    pw = lambda nn: power_mcnemar_exact(nn, p10, p01, alpha)
    first = next((m for m in range(2, n_max + 1) if pw(m) >= power), None)
    if first is None:
        return {"first": None, "stable": None}
    ok = np.array([pw(m) >= power for m in range(first, int(first * 1.3) + 20)])
    bad = np.flatnonzero(~ok)
    return {"first": first, "stable": first if bad.size == 0 else first + int(bad[-1]) + 1}


def mde_mcnemar(n: int, psi: float, power: float = 0.8, alpha: float = ALPHA) -> float:
    """Smallest A - B = p10 - p01 detectable with the given power at n items and discordance psi."""
    if power_mcnemar_exact(n, psi, 0.0, alpha) < power:
        return float("nan")
    lo, hi = 0.0, psi
    for _ in range(40):
        mid = (lo + hi) / 2
        if power_mcnemar_exact(n, (psi + mid) / 2, (psi - mid) / 2, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def mc_se(a: float, R: int) -> float:
    """Monte Carlo SE of a rate a estimated from R replications."""
    return math.sqrt(max(a, 1e-12) * (1 - a) / R)


# ----------------------------------------------------------------------------------------------
# 2b. Effective-sample-size Clopper-Pearson (Korn & Graubard 1998 style) for item means in [0,1]
# ----------------------------------------------------------------------------------------------

def kg_bounded_v(y, t, r: int, alpha: float = ALPHA, df_adjust: bool = True, min_events: float = 0.0,
                 min_units: int = 0):
    """Clopper-Pearson with an effective sample size for item means of r repeats.

    n_eff = n * ybar (1 - ybar) / s^2 (the design effect of repeats), times (z/t_{n-1})^2 when
    ``df_adjust`` (Korn-Graubard), clipped to [n, n r] (repeats can at most count as independent calls,
    and never less than one Bernoulli per item); s = 0 or ybar in {0, 1} -> n_eff = n.
    k_eff = ybar n_eff; bounds and p-values from the real-k Clopper-Pearson. -> (lo, hi, p_ge, p_le).
    ``min_events``: the design effect is only used (n_eff > n) when the rarer outcome has at least this
    many item-equivalents, min(sum y, sum (1 - y)) >= min_events; otherwise n_eff = n (plain real-k CP).
    Without it the rule fails for rare failures (t = 0.97: 7.7% false SUPPORTED, see sim_repeats.py).
    ``min_units``: alternative guard - the design effect is only used when at least this many units are
    below 1 AND at least this many above 0 (units that carry information about the spread)."""
    y = np.asarray(y, float)
    n = y.shape[-1]
    m = y.mean(-1)
    s2 = y.var(-1, ddof=1)
    with np.errstate(all="ignore"):
        raw = n * m * (1 - m) / s2
    if df_adjust:
        raw = raw * (sps.norm.isf(alpha) / sps.t.isf(alpha, n - 1)) ** 2
    events = np.minimum(m, 1 - m) * n
    units = np.minimum(np.sum(y < 1, -1), np.sum(y > 0, -1))
    use = (s2 > 0) & (m > 0) & (m < 1) & (events >= min_events - 1e-9) & (units >= min_units)
    neff = np.where(use, np.clip(raw, n, n * r), n)
    k = m * neff
    lo, hi = cp_bounds_v(k, neff, alpha)
    pg, pl = binom_p_v(k, neff, t)
    return lo, hi, pg, pl


def mean_kg(y: Sequence[float], t: float, r: int, alpha: float = ALPHA, min_events: float = 10.0) -> Bounds:
    """Scalar wrapper of kg_bounded_v (recommended setting: df_adjust, min_events = 10)."""
    lo, hi, pg, pl = (float(v) for v in kg_bounded_v(np.asarray(y, float), t, r, alpha, min_events=min_events))
    return Bounds(lo, hi, pg, pl, "Clopper-Pearson, effective n (Korn-Graubard), item means", float(np.mean(y)))


# ----------------------------------------------------------------------------------------------
# 6b. Exact unconditional test ordered by Tango's statistic (small-n fix for paired 0/1 with a margin)
# ----------------------------------------------------------------------------------------------

def _tables(n: int):
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = b + c <= n
    return b[ok].astype(float), c[ok].astype(float)


def trinomial_pmf(n: int, b, c, p10: float, p01: float):
    """P(b, c) for n items with cell probabilities p10, p01 (and 1 - p10 - p01)."""
    from scipy.special import gammaln, xlogy
    q = max(1 - p10 - p01, 0.0)
    lp = (gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
          + xlogy(b, p10) + xlogy(c, p01) + xlogy(n - b - c, q))
    return np.exp(lp)


def tango_exact_pvalues(n: int, d0: float, n_psi: int = 400):
    """Exact unconditional p-values of 'A - B > d0' for every table (b, c) of n items, ordered by Tango's Z:
    p(b, c) = sup over the nuisance discordance psi of P_psi(Z >= Z(b, c)) under p10 - p01 = d0.
    Returns (b, c, p_greater, p_less); the 'less' side uses the reversed order. Valid by construction
    (up to the psi grid). Cost O(n^2 n_psi): about 0.1 s for n = 200."""
    b, c = _tables(n)
    z = tango_z_v(b, c, n, d0)
    lo = abs(d0) + 1e-9
    psis = np.linspace(lo, 1.0, n_psi)
    out = []
    for sign in (+1, -1):
        key = sign * z
        order = np.argsort(-key, kind="stable")
        ks = key[order]
        # last index of each tie group (tables with equal Z share a p-value)
        grp_end = np.r_[np.flatnonzero(np.diff(ks) != 0), ks.size - 1]
        grp_id = np.repeat(np.arange(grp_end.size), np.diff(np.r_[-1, grp_end]))
        pmax = np.zeros(ks.size)
        for psi in psis:
            p10, p01 = (psi + d0) / 2, (psi - d0) / 2
            if p10 < 0 or p01 < 0 or p10 + p01 > 1:
                continue
            cum = np.cumsum(trinomial_pmf(n, b[order], c[order], p10, p01))
            pmax = np.maximum(pmax, cum[grp_end][grp_id])
        p = np.empty(ks.size)
        p[order] = np.minimum(pmax, 1.0)
        out.append(p)
    return b, c, out[0], out[1]


def paired_binary_exact(a: Sequence[int], b: Sequence[int], delta: float, alpha: float = ALPHA,
                        n_psi: int = 400) -> Bounds:
    """Exact unconditional (Tango-ordered) test of A - B >= delta / <= delta on the same items; bounds by
    inverting it over delta (bisection on each side)."""
    a = np.asarray(a, int)
    b_ = np.asarray(b, int)
    n = a.size
    n10 = int(np.sum((a == 1) & (b_ == 0)))
    n01 = int(np.sum((a == 0) & (b_ == 1)))

    def pv(d0):
        bb, cc, pg, pl = tango_exact_pvalues(n, d0, n_psi)
        i = np.flatnonzero((bb == n10) & (cc == n01))[0]
        return pg[i], pl[i]

    pg, pl = pv(delta)
    lo_a, lo_b = -1.0 + 1e-6, (n10 - n01) / n
    for _ in range(30):
        mid = (lo_a + lo_b) / 2
        lo_a, lo_b = (mid, lo_b) if pv(mid)[0] < alpha else (lo_a, mid)
    hi_a, hi_b = (n10 - n01) / n, 1.0 - 1e-6
    for _ in range(30):
        mid = (hi_a + hi_b) / 2
        hi_a, hi_b = (hi_a, mid) if pv(mid)[1] < alpha else (mid, hi_b)
    return Bounds(lo_a, hi_b, float(pg), float(pl), "exact unconditional, Tango-ordered", (n10 - n01) / n)


# ----------------------------------------------------------------------------------------------
# Recommended rules, assembled (see RESULTS.md)
# ----------------------------------------------------------------------------------------------

SKEWED_UPPER_TABLE = ((0.5, 100), (0.75, 200))
"""(max SD of log values, min items) for an upper bound of a skewed mean; beyond 0.75: no upper bound."""


def mean_skewed_recommended(x: Sequence[float], t: float, alpha: float = ALPHA, B: int = 9999,
                            seed: int = 0) -> Bounds:
    """Mean of a positive skewed metric (latency, tokens, cost).

    lower: studentized bootstrap (bootstrap-t) bound, clipped at 0, from n >= 10 items;
    upper: max(bootstrap-t upper, Johnson upper), only when n >= n_min(s), s = SD of log(x):
           s <= 0.5 -> 100 items, s <= 0.75 -> 200 items, larger s -> no upper bound (INCONCLUSIVE with the reason).
    Validated on lognormal data (sim_skewed*.py); a rare slow mode (3% of calls 10x slower) is not protected below
    ~100 items (no sample-only rule can be: Bahadur-Savage).
    """
    x = np.asarray(x, float)
    n = x.size
    if np.any(x <= 0):
        raise ValueError("a skewed positive metric needs values > 0")
    notes = []
    if n < 10:
        return Bounds(float("nan"), float("nan"), 1.0, 1.0, "skewed mean", float(x.mean()),
                      f"too few items for a mean of a skewed metric ({n} < 10); a percentile claim is distribution-free")
    res = boot_t_and_bca_v(x[None, :], B, np.random.default_rng(seed), alpha)
    lo = float(res["boot_t"][0][0])
    s = float(np.log(x).std(ddof=1))
    need = next((nm for lim, nm in SKEWED_UPPER_TABLE if s <= lim), None)
    if need is not None and n >= need:
        hi = float(max(res["boot_t"][1][0], johnson_bounds_v(x[None, :], alpha)[1][0]))
    else:
        hi = float("nan")
        notes.append(f"no upper bound: SD of log values {s:.2f} needs "
                     + (f"{need} items (have {n})" if need else "more than 500 items (not established)")
                     + "; too few items for a mean of a skewed metric; a percentile claim is distribution-free")
    return Bounds(lo, hi, 0.0 if lo > t else 1.0, 0.0 if (not math.isnan(hi) and hi < t) else 1.0,
                  "bootstrap-t lower; max(bootstrap-t, Johnson) upper", float(x.mean()), "; ".join(notes),
                  {"sd_log": s})


def bounded_mean_recommended(y: Sequence[float], t: float, r: int, alpha: float = ALPHA) -> Bounds:
    """Mean of [0,1] unit scores (item means of r repeats, or cluster means of r items):
    effective-n Clopper-Pearson (Korn-Graubard df factor, n_eff in [n, n r]) with the 5-event guard.
    r = 1: exactly the exact binomial / Clopper-Pearson."""
    return mean_kg(y, t, r, alpha, min_events=5)


def clustered_proportion_recommended(cluster_means: Sequence[float], m: int, t: float,
                                     alpha: float = ALPHA) -> Bounds:
    """Equal-size clusters of m 0/1 items: C < 10 -> no verdict; 10 <= C < 40 -> effective-n CP on the cluster
    means; C >= 40 -> Hall's skewness-corrected t on the cluster means (zero spread -> INCONCLUSIVE)."""
    cm = np.asarray(cluster_means, float)
    C = cm.size
    if C < 10:
        return Bounds(float("nan"), float("nan"), 1.0, 1.0, "clustered", float(cm.mean()),
                      f"only {C} clusters (< 10): no clustered verdict")
    if C < 40:
        b = bounded_mean_recommended(cm, t, m, alpha)
        return Bounds(b.lower, b.upper, b.p_at_least, b.p_at_most, "effective-n CP on cluster means", b.estimate)
    if cm.std() == 0:
        return Bounds(float("nan"), float("nan"), 1.0, 1.0, "Hall t on cluster means", float(cm.mean()),
                      f"no variation seen in {C} clusters")
    lo, hi = hall_bounds_v(cm[None, :], alpha, dist="t")
    st = hall_stat_v(cm[None, :], t)
    return Bounds(float(max(lo[0], 0)), float(min(hi[0], 1)), float(sps.t.sf(st[0], C - 1)),
                  float(sps.t.cdf(st[0], C - 1)), "Hall t on cluster means (C >= 40)", float(cm.mean()))


def quantile_item_fraction_kg(X: np.ndarray, t: float, q: float = 0.95, alpha: float = ALPHA) -> Bounds:
    """Recommended p95 rule with repeats (X: items x r calls, equal r): item fractions f_i(v) = share of item i's
    calls <= v, effective-n Clopper-Pearson (5-event guard) on them, inverted over the observed call values.
    r = 1: exactly the order-statistic bounds. An upper bound needs >= 59 items."""
    X = np.asarray(X, float)
    n, r = X.shape
    v = np.unique(X)
    F_le = (X[:, :, None] <= v[None, None, :]).mean(1).T     # (values, items)
    F_lt = (X[:, :, None] < v[None, None, :]).mean(1).T
    lo_le, _, _, _ = kg_bounded_v(F_le, q, r, alpha, min_events=5)
    _, hi_lt, _, _ = kg_bounded_v(F_lt, q, r, alpha, min_events=5)
    ok_u = np.flatnonzero(lo_le > q)        # F(v) > q shown -> p_q <= v
    ok_l = np.flatnonzero(hi_lt < q)        # F(v-) < q shown -> p_q >= v
    hi = float(v[ok_u[0]]) if ok_u.size else float("nan")
    lo = float(v[ok_l[-1]]) if ok_l.size else float("nan")
    f_le = (X <= t).mean(1)[None, :]
    f_lt = (X < t).mean(1)[None, :]
    _, _, pm, _ = kg_bounded_v(f_le, q, r, alpha, min_events=5)
    _, _, _, pg = kg_bounded_v(f_lt, q, r, alpha, min_events=5)
    note = "" if ok_u.size else f"too few items for an upper bound of p{int(q * 100)} (needs >= {min_n_orderstat(q, alpha)[1]} items)"
    return Bounds(lo, hi, float(pg[0]), float(pm[0]), "item-fraction effective-n Clopper-Pearson",
                  float(np.quantile(X, q, method="linear")), note)
