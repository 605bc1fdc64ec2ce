"""Reference values: every check value in statistics.md, statsmodels, scipy, and the the simulation study prototypes' numbers."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import ttost_paired

import roadtest.stats.rules as S
from roadtest.stats.rules import _tango


# --- statistics.md check values -------------------------------------------------------------------------

def test_clopper_pearson_17_of_20():
    b = S.proportion(17, 20)
    assert b.lower == pytest.approx(0.6563, abs=5e-5)
    assert b.upper == pytest.approx(0.9578, abs=5e-5)
    two = S.proportion(17, 20, alpha=0.025)
    assert (two.lower, two.upper) == (pytest.approx(0.6211, abs=5e-5), pytest.approx(0.9679, abs=5e-5))
    assert b.p_at_least(0.6) == pytest.approx(0.01596, abs=5e-6)


@pytest.mark.parametrize("k,verdict,lower,upper", [(182, "SUPPORTED", 0.8695, None), (178, "INCONCLUSIVE", 0.8467, 0.9243),
                                                   (160, "REFUTED", None, 0.8454)])
def test_claim_085_on_200(k, verdict, lower, upper):
    b = S.proportion(k, 200)
    assert b.verdict(0.85) == verdict
    if lower is not None:
        assert b.lower == pytest.approx(lower, abs=5e-5)
    if upper is not None:
        assert b.upper == pytest.approx(upper, abs=5e-5)


def test_mcnemar_12_3():
    assert S.mcnemar_exact(12, 3)["two-sided"] == pytest.approx(0.0352, abs=5e-5)


def test_mean_and_se_of_scores():
    s = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1.0])
    b = S.mean_t(s)
    assert b.estimate == pytest.approx(0.7)
    assert b.details["se"] == pytest.approx(0.1528, abs=5e-5)


def test_t_interval_two_sided_95():
    b = S.mean_t([0.2, 0.5, 0.9, 0.4, 0.7], alpha=0.025)
    assert (b.lower, b.upper) == (pytest.approx(0.2045, abs=5e-5), pytest.approx(0.8755, abs=5e-5))


A = [0.9, 0.8, 0.85, 0.7, 0.95, 0.6, 0.75, 0.8, 0.9, 0.65]
B = [0.85, 0.82, 0.8, 0.72, 0.9, 0.62, 0.7, 0.78, 0.88, 0.66]


def test_paired_tost_matches_statsmodels_and_check_value():
    d = np.array(A) - np.array(B)
    ours = S.equivalence(S.paired_t_bounds(d), 0.05)
    ref = ttost_paired(np.array(A), np.array(B), -0.05, 0.05)[0]
    assert ours.p_supported == pytest.approx(ref, rel=1e-10)
    assert ours.p_supported == pytest.approx(0.00490, abs=5e-6)
    assert ours.verdict == "SUPPORTED"


def test_tost_example_with_the_decision_rule():
    """The decision rule at n = 10 (exact sign-flip and Hall t) gives p = 1/64 for this example, not the
    ttost_paired 0.0049: the spec's check value tests paired t (as the simulation study noted)."""
    res = S.paired("bounded", A, B, margin=0.0)
    eq = S.equivalence(res, 0.05)
    assert eq.p_supported == pytest.approx(0.015625)
    assert eq.verdict == "SUPPORTED"


# --- scipy / statsmodels -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 20, 60, 200])
def test_binomial_tails_and_cp_match_scipy_and_statsmodels(n):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        b = S.proportion(k, n)
        for t in (0.05, 0.3, 0.5, 0.85, 0.97):
            assert b.raw_p(t, "at_least") == pytest.approx(sps.binomtest(k, n, t, "greater").pvalue, rel=1e-9, abs=1e-14)
            assert b.raw_p(t, "at_most") == pytest.approx(sps.binomtest(k, n, t, "less").pvalue, rel=1e-9, abs=1e-14)
        lo, hi = proportion_confint(k, n, alpha=0.10, method="beta")
        assert b.lower == pytest.approx(lo, abs=1e-12)
        assert b.upper == pytest.approx(hi, abs=1e-12)


def test_order_statistics_match_scipy_quantile_test():
    rng = np.random.default_rng(1)
    for n in (59, 60, 100, 300):
        x = rng.lognormal(size=n)
        b = S.percentile(x, q=0.95)
        ci = sps.quantile_test(x, q=np.quantile(x, 0.95), p=0.95).confidence_interval(0.90)
        assert b.upper == pytest.approx(float(ci.high))
        assert b.lower == pytest.approx(float(ci.low))


def test_percentile_floor_59():
    assert S.min_units_for_percentile(0.95) == (2, 59)
    x = np.random.default_rng(2).lognormal(size=58)
    b = S.percentile(x, q=0.95)
    assert math.isinf(b.upper) and "59 items" in b.reason
    assert not math.isinf(S.percentile(np.r_[x, 1.0], q=0.95).upper)


def test_effective_n_example_from_the_simulation_study():
    y = np.repeat([1, 2 / 3, 1 / 3, 0], [40, 6, 3, 1])
    b = S.bounded_mean(y, np.full(50, 3))
    assert (b.lower, b.upper) == (pytest.approx(0.8295, abs=5e-5), pytest.approx(0.9480, abs=5e-5))
    assert b.p_at_least(0.85) == pytest.approx(0.1246, abs=5e-5)


def test_bounded_mean_one_call_is_exact_binomial():
    y = (np.random.default_rng(4).random(80) < 0.8).astype(float)
    a, b = S.bounded_mean(y), S.proportion(int(y.sum()), y.size)
    assert (a.lower, a.upper) == (pytest.approx(b.lower, abs=1e-12), pytest.approx(b.upper, abs=1e-12))


def test_paired_exact_example_from_the_simulation_study():
    a = [1] * 12 + [0] * 3 + [1] * 20 + [0] * 15
    b = [0] * 12 + [1] * 3 + [1] * 20 + [0] * 15
    r = S.paired("binary", a, b, margin=0.05)
    assert (r.lower, r.upper) == (pytest.approx(0.0473, abs=1e-4), pytest.approx(0.3104, abs=1e-4))
    assert r.p_greater == pytest.approx(0.0564, abs=1e-4)


def _brute_tango_p(b, c, n, d0, npsi=1500):
    from scipy.special import gammaln, xlogy
    B, C = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = B + C <= n
    B, C = B[ok].astype(float), C[ok].astype(float)
    z, zo = _tango.tango_z(B, C, n, d0), float(_tango.tango_z(b, c, n, d0))
    reg = z >= (zo - 1e-9 * max(1, abs(zo)) if math.isfinite(zo) else zo)
    best = 0.0
    for psi in np.linspace(abs(d0), 1, npsi):
        p10, p01 = (psi + d0) / 2, (psi - d0) / 2
        lp = (gammaln(n + 1) - gammaln(B + 1) - gammaln(C + 1) - gammaln(n - B - C + 1)
              + xlogy(B, p10) + xlogy(C, p01) + xlogy(n - B - C, max(1 - psi, 0)))
        best = max(best, float(np.exp(lp)[reg].sum()))
    return best


@pytest.mark.parametrize("n,b,c,d0", [(8, 3, 1, 0.0), (15, 6, 2, 0.1), (25, 5, 9, -0.1), (40, 20, 6, 0.2),
                                      (40, 0, 0, 0.0), (30, 30, 0, 0.5)])
def test_exact_tango_matches_brute_force(n, b, c, d0):
    got = _tango.exact_p(b, c, n, d0, +1)
    ref = _brute_tango_p(b, c, n, d0)
    assert got >= ref - 2e-5           # our sup over psi is at least the 1500-point grid's (up to grid error)
    assert got == pytest.approx(ref, abs=2e-3)


def test_tango_z_restricted_mle_matches_direct_maximisation():
    from scipy import optimize

    def direct(b, c, n, d0):
        a_ = n - b - c

        def nll(p01):
            p10 = p01 + d0
            p11 = 1 - p10 - p01
            if p01 <= 0 or p10 <= 0 or p11 <= 0:
                return 1e10
            return -(b * np.log(p10) + c * np.log(p01) + a_ * np.log(p11))
        p01 = optimize.minimize_scalar(nll, bounds=(max(1e-9, -d0 + 1e-9), (1 - d0) / 2 - 1e-9), method="bounded",
                                       options={"xatol": 1e-12}).x
        return (b - c - n * d0) / math.sqrt(n * (2 * p01 + d0 * (1 - d0)))
    for args in [(12, 3, 50, 0.1), (5, 9, 40, -0.1), (20, 4, 100, 0.05), (3, 0, 20, 0.0)]:
        assert float(_tango.tango_z(*args)) == pytest.approx(direct(*args), abs=1e-4)


def test_tango_z_increases_in_b_at_fixed_discordance():
    """The fast O(n) tail sum relies on it."""
    for n in (5, 20, 60, 150):
        for d0 in np.linspace(-0.9, 0.9, 19):
            for D in range(n + 1):
                bb = np.arange(D + 1.0)
                assert np.all(np.diff(_tango.tango_z(bb, D - bb, n, d0)) >= -1e-12)


def test_sign_flip_matches_enumeration():
    d = np.array(A) - np.array(B)
    signs = 1.0 - 2.0 * ((np.arange(1 << d.size)[:, None] >> np.arange(d.size)) & 1)
    for t in (-0.05, -0.01, 0.0, 0.017, 0.03):
        x = d - t
        flips = signs @ x
        ref = np.mean(flips >= x.sum() - 1e-12)
        assert S.sign_flip_bounds(d).raw_p(t, "at_least") == pytest.approx(ref)
    b = S.sign_flip_bounds(d)
    assert (b.lower, b.upper) == (pytest.approx(0.0, abs=1e-12), pytest.approx(0.035, abs=1e-12))


def test_hall_and_johnson_inversions_hit_the_quantiles():
    from roadtest.stats.rules._moments import HallStatistic, JohnsonStatistic, hall_bounds, johnson_upper, moments
    x = np.random.default_rng(1).lognormal(sigma=1.0, size=25)
    mom = moments(float(x.mean()), x - x.mean())
    lo, hi = hall_bounds(mom, 0.05, math.inf)
    assert HallStatistic(mom)(lo) == pytest.approx(sps.norm.isf(0.05), abs=1e-9)
    assert HallStatistic(mom)(hi) == pytest.approx(-sps.norm.isf(0.05), abs=1e-9)
    u = johnson_upper(mom, 0.05)
    assert JohnsonStatistic(mom)(u) == pytest.approx(-sps.t.isf(0.05, 24), abs=1e-9)


# --- power (the simulation study rule 10 tables) -------------------------------------------------------------------------

@pytest.mark.parametrize("t,p,first,stable", [(.85, .90, 281, 304), (.85, .92, 134, 150), (.85, .95, 59, 68),
                                              (.90, .95, 179, 203), (.50, .60, 158, 169), (.80, .70, 116, 127),
                                              (.95, .98, 234, 286)])
def test_required_n_exact_binomial_table(t, p, first, stable):
    r = S.required_n_exact_binomial(t, p)
    assert (r.first, r.stable) == (first, stable)


@pytest.mark.parametrize("n,mde", [(20, .139), (50, .104), (100, .085), (200, .059), (500, .039), (1000, .027)])
def test_mde_exact_binomial_table(n, mde):
    assert S.mde_exact_binomial(n, 0.85) == pytest.approx(mde, abs=6e-4)


def test_mde_none_below_one():
    assert math.isnan(S.mde_exact_binomial(20, 0.9))


@pytest.mark.parametrize("p10,p01,first", [(.15, .05, 134), (.10, .05, 398), (.20, .10, 199), (.25, .15, 263),
                                           (.06, .02, 335)])
def test_required_n_mcnemar_table(p10, p01, first):
    assert S.required_n_mcnemar(p10, p01).first == first


@pytest.mark.parametrize("psi,n,mde", [(0.3, 50, .199), (0.3, 100, .141), (0.5, 200, .128), (0.1, 500, .037)])
def test_mde_mcnemar_table(psi, n, mde):
    assert S.mde_mcnemar(n, psi) == pytest.approx(mde, abs=6e-4)


def test_power_helpers_for_effective_n_clusters_percentiles_and_skewed_means():
    assert S.required_n_bounded_mean(.85, .90, n_eff_per_unit=1.0).stable == 304      # = exact binomial
    r = S.required_n_bounded_mean(.85, .90, n_eff_per_unit=2.0)
    assert (r.first, r.stable) == (141, 152)
    c = S.required_clusters(.85, .90, n_eff_per_cluster=100.0)
    assert c.unit == "clusters" and c.first == 10                                     # never below 10 clusters
    assert S.required_n_percentile(.95, .999).first >= 59                              # the order-statistic floor
    assert S.power_percentile(58, .95, 0.9999) == 0.0
    assert S.required_n_skewed_mean(0.1, 0.05, 0.4).first == 100                       # the rule-3 gate
    assert S.required_n_skewed_mean(0.1, 0.5, 0.9).first is None
    assert S.power_mean_t(S.required_n_mean_t(0.25, 1.0).first, 0.25, 1.0) >= 0.8
    assert S.power_paired_binary(200, 0.15, 0.05) > S.power_mcnemar_exact(200, 0.15, 0.05)
