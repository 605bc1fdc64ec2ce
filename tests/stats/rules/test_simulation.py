"""Boundary simulations: at truth = threshold both error rates must be <= alpha + 2 MC SE (the simulation study's bar), and
at 2.5 true SEs beyond it the rule must have power. The default lane runs small versions (a few seconds each);
`pytest -m slow` runs the larger grids and prints the measured rates.

These check the rules directly. The one-sample and paired rules are checked in the default lane through
`roadtest.verdict.judge` (tests/verdict/test_judge_simulation.py), so here their small versions run in the slow
lane too; the rules judge does not reach (best-model set, families, interactions) keep theirs in the default lane."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import ndtr


import roadtest.stats.rules as S
from tests.stats.rules.sim_helpers import (
    ALPHA, mc_bar,
    all_table_bounds, clustered_binary, exact_paired_rates, item_means_with_repeats, latency_calls, lognormal_mean,
    mcb_draw, per_call_quantile, rates, sd_item,
)


def report(name, sup, ref, power=None, R=None):
    extra = f", power {power:.3f}" if power is not None else ""
    print(f"\n[sim] {name}: false SUPPORTED {sup:.4f}, false REFUTED {ref:.4f}{extra}" + (f" (R = {R})" if R else ""))


def at_least(b, t):
    return b.lower > t, b.upper < t


def at_most(b, t):
    return b.upper < t, b.lower > t


# ---------------------------------------------------------------------------------------------------------
# Rule 1: exact binomial (exact enumeration, no MC error)
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("n", [10, 35, 100, 500])
@pytest.mark.parametrize("t", [0.05, 0.5, 0.85, 0.95])
def test_proportion_exact_size(n, t):
    ks = np.arange(n + 1)
    L = np.array([S.proportion(k, n).lower for k in ks])
    U = np.array([S.proportion(k, n).upper for k in ks])
    pmf = sps.binom.pmf(ks, n, t)
    assert pmf[L > t].sum() <= ALPHA + 1e-12
    assert pmf[U < t].sum() <= ALPHA + 1e-12
    if n >= 100 and t in (0.5, 0.85):
        se = math.sqrt(t * (1 - t) / n)
        assert sps.binom.pmf(ks, n, t + 2.5 * se)[L > t].sum() >= 0.7


# ---------------------------------------------------------------------------------------------------------
# Rule 2: repeats (effective-n CP with the 5-event guard)
# ---------------------------------------------------------------------------------------------------------

def _repeats_cell(t, kappa, n, r, R, seed):
    rng = np.random.default_rng(seed)

    def draw(mu):
        return lambda: item_means_with_repeats(rng, mu, kappa, n, r)

    decide = lambda x: at_least(S.one_sample("binary", x[0], items=x[1]), t)  # noqa: E731
    sup, ref = rates(decide, draw(t), R)
    se = sd_item(t, kappa, r) / math.sqrt(n)
    mup = t + 2.5 * se if t + 2.5 * se < 1 else (1 + t) / 2
    pw, _ = rates(decide, draw(mup), R // 2)
    return sup, ref, pw


@pytest.mark.slow
def test_repeats_boundary_small():
    R = 2000
    for t, kappa in ((0.5, 2.0), (0.9, 2.0)):
        sup, ref, pw = _repeats_cell(t, kappa, 50, 3, R, seed=101)
        report(f"repeats t={t} kappa={kappa} n=50 r=3", sup, ref, pw, R)
        assert sup <= mc_bar(R) and ref <= mc_bar(R)
        assert pw >= 0.4


@pytest.mark.slow
@pytest.mark.parametrize("t,kappa,n,r", [(0.97, 0.5, 50, 5), (0.9, 2.0, 10, 3), (0.9, 0.5, 100, 3),
                                         (0.75, 10.0, 20, 5), (0.5, math.inf, 20, 2)])
def test_repeats_boundary_slow(t, kappa, n, r):
    R = 10_000
    sup, ref, pw = _repeats_cell(t, kappa, n, r, R, seed=102)
    report(f"repeats t={t} kappa={kappa} n={n} r={r}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 3: skewed mean
# ---------------------------------------------------------------------------------------------------------

def _skewed_cell(sigma, n, R, B, seed, side):
    rng = np.random.default_rng(seed)
    mu, sd = lognormal_mean(sigma)
    se = sd / math.sqrt(n)
    s0 = [0]

    def decide_at(t):
        def decide(x):
            s0[0] += 1
            b = S.skewed_mean(x, seed=s0[0], B=B)
            return at_most(b, t) if side == "at_most" else at_least(b, t)
        return decide

    sup, ref = rates(decide_at(mu), lambda: rng.lognormal(0, sigma, n), R)
    shift = 2.5 * se if side == "at_most" else -2.5 * se
    pw, _ = rates(decide_at(mu + shift), lambda: rng.lognormal(0, sigma, n), R // 2)
    return sup, ref, pw


@pytest.mark.slow
def test_skewed_mean_lower_side_small():
    R = 800
    sup, ref, pw = _skewed_cell(0.5, 20, R, 499, 201, "at_least")
    report("skewed mean >= mu, sigma .5, n 20", sup, ref, pw, R)
    assert sup <= mc_bar(R)
    assert ref == 0.0                 # no upper bound below 100 items: never a false REFUTED of '>='
    assert pw >= 0.6


@pytest.mark.slow
def test_skewed_mean_upper_side_small():
    R = 600
    sup, ref, pw = _skewed_cell(0.25, 100, R, 499, 202, "at_most")
    report("skewed mean <= mu, sigma .25, n 100", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    assert pw >= 0.6


@pytest.mark.slow
@pytest.mark.parametrize("sigma,n,side", [(0.5, 100, "at_most"), (0.75, 200, "at_most"), (1.0, 10, "at_least"),
                                          (1.0, 50, "at_least"), (0.5, 200, "at_most")])
def test_skewed_mean_slow(sigma, n, side):
    R = 2000
    sup, ref, pw = _skewed_cell(sigma, n, R, 999, 203, side)
    report(f"skewed mean {side} mu, sigma {sigma}, n {n}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 4: p95 with repeats
# ---------------------------------------------------------------------------------------------------------

def _percentile_cell(n, r, rho, R, seed):
    rng = np.random.default_rng(seed)
    t = per_call_quantile(0.95)
    decide = lambda x: at_most(S.one_sample("percentile", x[0], items=x[1], q=0.95), t)  # noqa: E731
    sup, ref = rates(decide, lambda: latency_calls(rng, n, r, rho), R)
    t_pow = per_call_quantile(min(0.95 + 2.5 * math.sqrt(0.95 * 0.05 / n), 0.995))
    decide_p = lambda x: at_most(S.one_sample("percentile", x[0], items=x[1], q=0.95), t_pow)  # noqa: E731
    pw, _ = rates(decide_p, lambda: latency_calls(rng, n, r, rho), R // 2)
    return sup, ref, pw


@pytest.mark.slow
def test_percentile_boundary_small():
    R = 1500
    sup, ref, pw = _percentile_cell(100, 3, 0.8, R, 301)
    report("p95 <= true p95, n 100, r 3, rho .8", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    assert pw >= 0.7


@pytest.mark.slow
@pytest.mark.parametrize("n,r,rho", [(20, 3, 0.8), (60, 3, 0.8), (300, 3, 0.8), (100, 1, 0.5), (60, 2, 0.5)])
def test_percentile_slow(n, r, rho):
    R = 4000
    sup, ref, pw = _percentile_cell(n, r, rho, R, 302)
    report(f"p95 <= true p95, n {n}, r {r}, rho {rho}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 5: clustered proportions
# ---------------------------------------------------------------------------------------------------------

def _cluster_cell(t, icc, C, m, R, seed):
    rng = np.random.default_rng(seed)
    decide = lambda x: at_least(S.one_sample("binary", x[0], clusters=x[1]), t)  # noqa: E731
    sup, ref = rates(decide, lambda: clustered_binary(rng, t, icc, C, m), R)
    se = math.sqrt(t * (1 - t) * (1 + (m - 1) * icc) / (C * m))
    mup = t + 2.5 * se if t + 2.5 * se < 1 else (1 + t) / 2
    pw, _ = rates(decide, lambda: clustered_binary(rng, mup, icc, C, m), R // 2)
    return sup, ref, pw


@pytest.mark.slow
@pytest.mark.parametrize("C", [15, 40])
def test_clustered_boundary_small(C):
    R = 2000
    sup, ref, pw = _cluster_cell(0.5, 0.2, C, 5, R, 401)
    report(f"clustered t=.5 icc .2 C {C} m 5", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    # 10 <= C < 40: effective-n CP on cluster means, valid but weak (the 5-event guard counts clusters)
    assert pw >= (0.3 if C < 40 else 0.7)


@pytest.mark.slow
@pytest.mark.parametrize("t,icc,C,m", [(0.85, 0.3, 10, 12), (0.85, 0.1, 20, 5), (0.85, 0.2, 40, 12),
                                       (0.5, 0.3, 10, 5), (0.5, 0.05, 60, 5)])
def test_clustered_slow(t, icc, C, m):
    R = 10_000
    sup, ref, pw = _cluster_cell(t, icc, C, m, R, 402)
    report(f"clustered t={t} icc {icc} C {C} m {m}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 6A: paired 0/1 - exact size of the bound rule, by enumerating every table
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_paired_binary_exact_size_small():
    n = 10
    tab = all_table_bounds(n)
    worst = 0.0
    for psi in (0.3, 0.5, 0.8):
        for d0 in (0.0, 0.1, -0.1, 0.2):
            sup, ref = exact_paired_rates(tab, n, psi, d0)
            worst = max(worst, sup, ref)
    report("paired 0/1 bound rule, n 10, exact", worst, worst)
    assert worst <= ALPHA
    pw, _ = exact_paired_rates(tab, n, 0.8, 0.0, delta=0.6)
    assert pw >= 0.55


@pytest.mark.slow
@pytest.mark.parametrize("n", [20, 30])
def test_paired_binary_exact_size_slow(n):
    tab = all_table_bounds(n)
    worst = (0.0, None)
    for psi in (0.1, 0.3, 0.5, 0.9):
        for d0 in (0.0, 0.05, 0.1, -0.05, -0.1, 0.3):
            if abs(d0) > psi:
                continue
            sup, ref = exact_paired_rates(tab, n, psi, d0)
            worst = max(worst, (max(sup, ref), (psi, d0)))
    report(f"paired 0/1 bound rule, n {n}, exact; worst at (psi, d0) = {worst[1]}", worst[0], worst[0])
    assert worst[0] <= ALPHA


@pytest.mark.slow
def test_paired_binary_power_matches_monte_carlo():
    rng = np.random.default_rng(601)
    n, p10, p01, R = 134, 0.15, 0.05, 1500
    cells = rng.multinomial(n, [p10, p01, 1 - p10 - p01], size=R)
    from roadtest.stats.rules import _tango
    rej = np.mean([_tango.exact_p(int(b), int(c), n, 0.0, +1) < ALPHA for b, c, _ in cells])
    exact = S.power_paired_binary(n, p10, p01, 0.0)
    assert abs(rej - exact) <= 3 * math.sqrt(exact * (1 - exact) / R)
    assert exact > S.power_mcnemar_exact(n, p10, p01)      # more powerful than exact McNemar


@pytest.mark.slow
def test_paired_binary_with_repeats_random_call():
    rng = np.random.default_rng(602)
    n, r, R = 30, 3, 1000
    # items: A and B success probabilities drawn per item; true difference 0.05 = margin
    sup = ref = 0
    for _ in range(R):
        pa = rng.beta(2, 1, n)
        pb = np.clip(pa - 0.05 + rng.normal(0, 0.02, n), 0, 1)
        pb = pb + (np.mean(pa) - 0.05 - np.mean(pb))
        pb = np.clip(pb, 0, 1)
        a = (rng.random((n, r)) < pa[:, None]).astype(float).ravel()
        b = (rng.random((n, r)) < pb[:, None]).astype(float).ravel()
        res = S.paired("binary", a, b, items=np.repeat(np.arange(n), r), margin=float(np.mean(pa - pb)),
                       seed=int(rng.integers(1 << 30)))
        sup += res.p_greater < ALPHA
        ref += res.p_less < ALPHA
    report("paired 0/1 with repeats (random call), n 30 r 3", sup / R, ref / R, R=R)
    assert sup / R <= mc_bar(R) and ref / R <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 6B: paired continuous (sign-flip or t, combined with Hall t)
# ---------------------------------------------------------------------------------------------------------

SHAPES = {
    "normal": lambda rng, s: rng.normal(0, 1, s),
    "t3": lambda rng, s: rng.standard_t(3, s) / math.sqrt(3),
    "gamma2": lambda rng, s: (rng.gamma(2.0, 1.0, s) - 2) / math.sqrt(2),
    "disc": lambda rng, s: (rng.choice([-1, 0, 1, 2], p=[.2, .5, .2, .1], size=s) - 0.2) / math.sqrt(0.76),
}


def _paired_cont_cell(shape, n, R, seed):
    rng = np.random.default_rng(seed)
    draw = lambda: 0.05 + 0.1 * SHAPES[shape](rng, n)  # noqa: E731
    decide = lambda d: at_least(S.paired_continuous(d), 0.05)  # noqa: E731
    sup, ref = rates(decide, draw, R)
    pw, _ = rates(decide, lambda: draw() + 0.25 / math.sqrt(n), R // 2)
    return sup, ref, pw


@pytest.mark.slow
@pytest.mark.parametrize("shape,n", [("normal", 10), ("t3", 30), ("gamma2", 100)])
def test_paired_continuous_small(shape, n):
    R = 2500
    sup, ref, pw = _paired_cont_cell(shape, n, R, 611)
    report(f"paired continuous {shape} n {n}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    assert pw >= 0.6


@pytest.mark.slow
@pytest.mark.parametrize("shape,n", [(s, n) for s in ("normal", "t3", "disc") for n in (10, 20, 50)]
                         + [("gamma2", 100), ("gamma2", 200)])
def test_paired_continuous_slow(shape, n):
    R = 3000 if n == 20 else 10_000      # n = 20 enumerates 2^20 sign flips per sample
    sup, ref, pw = _paired_cont_cell(shape, n, R, 612)
    report(f"paired continuous {shape} n {n}", sup, ref, pw, R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


@pytest.mark.slow
@pytest.mark.parametrize("shape,n", [("gamma2", 10), ("gamma2", 20), ("gamma2", 50)])
def test_paired_continuous_known_failures(shape, n):
    """Documented: strongly skewed differences (skew 1.4) are not held below ~100 items by any candidate."""
    R = 3000 if n == 20 else 10_000
    sup, ref, pw = _paired_cont_cell(shape, n, R, 613)
    report(f"paired continuous {shape} n {n} (known limitation)", sup, ref, pw, R)
    assert max(sup, ref) <= 0.09


def _clustered_paired_cell(C, m, R, seed, binary=False):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(C), m)

    def draw():
        u = np.repeat(rng.normal(0, 0.5, C), m)
        if binary:
            pa = sps.norm.cdf(0.6 + u + rng.normal(0, 0.5, C * m))
            pb = sps.norm.cdf(0.6 + u + rng.normal(0, 0.5, C * m))
            return (rng.random(C * m) < pa).astype(float), (rng.random(C * m) < pb).astype(float)
        a = u + rng.normal(0, 1, C * m)
        return a, u + rng.normal(0, 1, C * m) + np.repeat(rng.normal(0, 0.3, C), m)

    def decide(x):
        res = S.paired("binary" if binary else "symmetric", x[0], x[1], clusters=cl, margin=0.0)
        return res.p_greater < ALPHA, res.p_less < ALPHA

    return rates(decide, draw, R)


@pytest.mark.slow
def test_clustered_paired_small():
    R = 1500
    sup, ref = _clustered_paired_cell(12, 5, R, 621)
    report("clustered paired continuous, C 12 m 5", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    rng = np.random.default_rng(623)              # power: A better by 0.8 SD of the cluster-level gap
    cl = np.repeat(np.arange(12), 5)
    hits = 0
    for _ in range(200):
        u = np.repeat(rng.normal(0, 0.5, 12), 5)
        a = u + rng.normal(0, 1, 60) + 0.6
        b = u + rng.normal(0, 1, 60) + np.repeat(rng.normal(0, 0.3, 12), 5)
        hits += S.paired("symmetric", a, b, clusters=cl).p_greater < ALPHA
    assert hits / 200 >= 0.6


@pytest.mark.slow
@pytest.mark.parametrize("C,m,binary", [(10, 12, True), (20, 5, True), (40, 5, True), (10, 5, False)])
def test_clustered_paired_slow(C, m, binary):
    R = 6000
    sup, ref = _clustered_paired_cell(C, m, R, 622, binary)
    report(f"clustered paired {'0/1' if binary else 'continuous'}, C {C} m {m}", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 7: fairness gap
# ---------------------------------------------------------------------------------------------------------

def _fairness_cell(G, n, g, centre, R, seed, layout="split"):
    rng = np.random.default_rng(seed)
    if layout == "split":
        ps = np.array([centre - g / 2 if i < G / 2 else centre + g / 2 for i in range(G)])
    else:
        ps = np.linspace(centre - g / 2, centre + g / 2, G)
    labels = np.repeat(np.arange(G), n)

    def draw(pp):
        return lambda: (rng.random(G * n) < np.repeat(pp, n)).astype(float)

    decide = lambda x: at_most(S.fairness_gap(x, labels).gap, g)  # noqa: E731
    sup, ref = rates(decide, draw(ps), R)
    return sup, ref


@pytest.mark.slow
def test_fairness_small():
    R = 1500
    sup, ref = _fairness_cell(3, 100, 0.2, 0.5, R, 701)
    report("fairness gap <= g, G 3, n 100, g .2, split", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    rng = np.random.default_rng(703)              # power: equal groups, 150 items each, claim gap <= 0.2
    labels = np.repeat(np.arange(3), 150)
    pw = np.mean([S.fairness_gap((rng.random(450) < 0.5).astype(float), labels).gap.upper < 0.2 for _ in range(200)])
    assert pw >= 0.7


@pytest.mark.slow
@pytest.mark.parametrize("G,n,g,centre,layout", [(2, 50, 0.2, 0.5, "split"), (5, 100, 0.1, 0.8, "split"),
                                                 (3, 20, 0.2, 0.5, "spread"), (2, 100, 0.1, 0.9, "split")])
def test_fairness_slow(G, n, g, centre, layout):
    R = 4000
    sup, ref = _fairness_cell(G, n, g, centre, R, 702, layout)
    report(f"fairness gap <= g, G {G}, n {n}, g {g}, centre {centre}, {layout}", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 8: best-model set
# ---------------------------------------------------------------------------------------------------------

def _mcb_cell(mu, n, R, B, seed, binary=True):
    rng = np.random.default_rng(seed)
    excl = worst_excl = 0
    for i in range(R):
        res = S.best_set(mcb_draw(rng, np.array(mu), n, binary), seed=i, B=B)
        excl += not res.in_set[0]
        worst_excl += not res.in_set[-1]
    return excl / R, worst_excl / R


def test_best_set_small():
    R = 300
    excl, _ = _mcb_cell([0.7, 0.7, 0.7], 50, R, 499, 801)
    report("best set, 0/1, K 3, n 50, all equal: P(best excluded)", excl, 0.0, R=R)
    assert excl <= mc_bar(R)
    _, power = _mcb_cell([0.8, 0.75, 0.6], 100, 100, 499, 802)
    assert power >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("mu,n,binary", [([0.7] * 3, 20, True), ([0.7] * 4, 50, True), ([0.0] * 3, 20, False)])
def test_best_set_slow(mu, n, binary):
    R = 2000
    excl, _ = _mcb_cell(mu, n, R, 999, 803, binary)
    report(f"best set, {'0/1' if binary else 'continuous'}, K {len(mu)}, n {n}, all equal: P(best excluded)",
           excl, 0.0, R=R)
    assert excl <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 9: family
# ---------------------------------------------------------------------------------------------------------

def _family_rates(m, R, seed, decision):
    rng = np.random.default_rng(seed)
    sup = ref = 0
    for _ in range(R):
        if decision == "all":      # one criterion at the boundary, the rest clearly true -> false SUPPORTED
            mean_sup = np.r_[0.0, np.full(m - 1, 4.0)]
        else:                      # all at the boundary -> false SUPPORTED of 'any'
            mean_sup = np.zeros(m)
        x = rng.normal(mean_sup, 1.0)
        f = S.family_verdict(ndtr(-x), ndtr(x), decision)
        sup += f.verdict == "SUPPORTED"
        xr = rng.normal(np.zeros(m), 1.0)           # all at the boundary -> false REFUTED of 'all'
        if decision == "any":
            xr = rng.normal(np.r_[0.0, np.full(m - 1, -4.0)], 1.0)
        ref += S.family_verdict(ndtr(-xr), ndtr(xr), decision).verdict == "REFUTED"
    return sup / R, ref / R


@pytest.mark.parametrize("decision", ["all", "any"])
def test_family_small(decision):
    R = 8000
    sup, ref = _family_rates(3, R, 901, decision)
    report(f"family {decision}, m 3, independent z", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    rng = np.random.default_rng(903)              # power: every criterion clearly true (4 SE)
    x = rng.normal(4.0, 1.0, (500, 3))
    pw = np.mean([S.family_verdict(ndtr(-r), ndtr(r), decision).verdict == "SUPPORTED" for r in x])
    assert pw >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("decision,m", [("all", 5), ("any", 5)])
def test_family_slow(decision, m):
    R = 100_000
    sup, ref = _family_rates(m, R, 902, decision)
    report(f"family {decision}, m {m}, independent z", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------------------

def _interaction_rate(S_, n, R, seed, kind="normal", shift=0.0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(R):
        ds = []
        for s in range(S_):
            if kind == "normal":
                d = rng.normal(0.1 + (shift if s == 0 else 0.0), 1 + 0.5 * s, n)
            else:
                d = rng.choice([1.0, -1.0, 0.0], p=[0.2, 0.1, 0.7], size=n)
            ds.append(d)
        hits += S.scenario_interaction(ds).significant
    return hits / R


def test_scenario_interaction_small():
    R = 3000
    size = _interaction_rate(4, 20, R, 1001)
    report("scenario interaction (Welch), S 4, n 20, no interaction: P(significant)", size, 0.0, R=R)
    assert size <= mc_bar(R)
    assert _interaction_rate(4, 50, 500, 1002, shift=1.0) >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("S_,n,kind", [(6, 20, "normal"), (6, 20, "binary"), (3, 50, "binary")])
def test_scenario_interaction_slow(S_, n, kind):
    R = 20_000
    size = _interaction_rate(S_, n, R, 1003, kind)
    report(f"scenario interaction (Welch), S {S_}, n {n}, {kind}: P(significant)", size, 0.0, R=R)
    assert size <= mc_bar(R)


def _setting_rates(n, R, seed, first_offset=0.3):
    rng = np.random.default_rng(seed)

    def draw():
        u = rng.normal(0, 0.7, n)
        cols = [(rng.random(n) < sps.norm.cdf(0.5 + u + off + rng.normal(0, 0.5, n))).astype(float)
                for off in (first_offset, 0.0, 0.3, 0.0)]   # A, B under setting 1; A, B under setting 2
        return (cols[0] - cols[1]), (cols[2] - cols[3])

    decide = lambda x: at_least(S.setting_interaction(x[0], x[1]), 0.0)  # noqa: E731
    return rates(decide, draw, R)


def test_setting_interaction_small():
    R = 2000
    sup, ref = _setting_rates(100, R, 1101)
    report("setting interaction, 0/1, n 100, no interaction", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)
    pw, _ = _setting_rates(100, 300, 1102, first_offset=0.9)   # the gap is larger under setting 1
    assert pw >= 0.4


@pytest.mark.slow
@pytest.mark.parametrize("n", [30, 300])
def test_setting_interaction_slow(n):
    R = 6000
    sup, ref = _setting_rates(n, R, 1103)
    report(f"setting interaction, 0/1, n {n}, no interaction", sup, ref, R=R)
    assert sup <= mc_bar(R) and ref <= mc_bar(R)


# ---------------------------------------------------------------------------------------------------------
# Rule 10: power (Monte Carlo against exact)
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_power_exact_binomial_matches_monte_carlo():
    rng = np.random.default_rng(1201)
    n, t, p, R = 304, 0.85, 0.90, 20_000
    k = rng.binomial(n, p, R)
    kc = min(kk for kk in range(n + 1) if S.proportion(kk, n).lower > t)
    mc = np.mean(k >= kc)
    exact = S.power_exact_binomial(n, t, p)
    assert abs(mc - exact) <= 3 * math.sqrt(exact * (1 - exact) / R)
