"""Data-generating processes of the simulation study (small versions) and boundary-rate helpers for the simulation tests."""

import math

import numpy as np
from scipy import stats as sps

import roadtest.stats.rules as S

ALPHA = 0.05


def mc_bar(R: int, alpha: float = ALPHA) -> float:
    """A rule holds at the boundary when its error rate is <= alpha + 2 MC SE."""
    return alpha + 2 * math.sqrt(alpha * (1 - alpha) / R)


def rates(decide, draw, R):
    """(P(SUPPORTED), P(REFUTED)) of decide(sample) over R draws; decide returns (supported, refuted)."""
    sup = ref = 0
    for _ in range(R):
        s, r = decide(draw())
        sup += bool(s)
        ref += bool(r)
    return sup / R, ref / R


def item_means_with_repeats(rng, mu, kappa, n, r):
    """sim_repeats: p_i ~ Beta(mean mu, concentration kappa), r 0/1 repeats per item -> per-call values, items."""
    p = np.full(n, mu) if math.isinf(kappa) else rng.beta(mu * kappa, (1 - mu) * kappa, n)
    calls = (rng.random((n, r)) < p[:, None]).astype(float)
    return calls.ravel(), np.repeat(np.arange(n), r)


def sd_item(mu, kappa, r):
    vp = 0.0 if math.isinf(kappa) else mu * (1 - mu) / (kappa + 1)
    return math.sqrt(vp + (mu * (1 - mu) - vp) / r)


def lognormal_mean(sigma):
    return math.exp(sigma ** 2 / 2), math.sqrt((math.exp(sigma ** 2) - 1) * math.exp(sigma ** 2))


def latency_calls(rng, n, r, rho, scale=0.5):
    """sim_percentile: log latency = scale (a_i + e_ij), a ~ N(0, rho), e ~ N(0, 1 - rho)."""
    a = rng.normal(0, math.sqrt(rho), (n, 1))
    e = rng.normal(0, math.sqrt(1 - rho), (n, r))
    return np.exp(scale * (a + e)).ravel(), np.repeat(np.arange(n), r)


def per_call_quantile(level, scale=0.5):
    return math.exp(scale * sps.norm.ppf(level))


def clustered_binary(rng, mu, icc, C, m):
    k = 1 / icc - 1
    p = rng.beta(mu * k, (1 - mu) * k, C)
    return (rng.random((C, m)) < p[:, None]).astype(float).ravel(), np.repeat(np.arange(C), m)


def trinomial_pmf(n, b, c, p10, p01):
    from scipy.special import gammaln, xlogy
    q = max(1 - p10 - p01, 0.0)
    lp = (gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
          + xlogy(b, p10) + xlogy(c, p01) + xlogy(n - b - c, q))
    return np.exp(lp)


def all_table_bounds(n):
    """(b, c, lower, upper) of the paired 0/1 rule for every table of n items."""
    arr = np.array([(b, c, r.lower, r.upper) for b, c, r in
                    ((b, c, S.paired_binary(b, c, n)) for b in range(n + 1) for c in range(n + 1 - b))])
    return arr


def exact_paired_rates(tab, n, psi, d0, delta=None):
    """Exact P(L > d0) and P(U < d0) of the bound rule when p10 - p01 = delta (default: the boundary d0)."""
    delta = d0 if delta is None else delta
    p10, p01 = (psi + delta) / 2, (psi - delta) / 2
    P = trinomial_pmf(n, tab[:, 0], tab[:, 1], p10, p01)
    return float(P[tab[:, 2] > d0].sum()), float(P[tab[:, 3] < d0].sum())


def mcb_draw(rng, mu, n, binary=True):
    K = mu.size
    if binary:
        a = sps.norm.ppf(mu)
        u = rng.normal(0, math.sqrt(0.5), (1, n))
        e = rng.normal(0, math.sqrt(0.5), (K, n))
        return (a[:, None] + u + e > 0).astype(float)
    return mu[:, None] + rng.normal(0, 1, (1, n)) + rng.normal(0, 1, (K, n))
