"""Every statistic against an independent implementation (statsmodels, scipy by another route) or by hand."""

from __future__ import annotations


import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from roadtest import stats


@pytest.mark.parametrize("k,n", [(0, 7), (3, 7), (7, 7), (1, 1), (0, 1), (41, 97), (999, 1000)])
def test_wilson_and_clopper_pearson_match_statsmodels(k, n):
    assert stats.wilson_interval(k, n, 0.9) == pytest.approx(proportion_confint(k, n, 0.1, "wilson"), abs=1e-12)
    assert stats.clopper_pearson_interval(k, n) == pytest.approx(proportion_confint(k, n, 0.05, "beta"), abs=1e-12)


@pytest.mark.parametrize("b,c", [(12, 3), (0, 5), (7, 7), (1, 0), (30, 18)])
def test_mcnemar_matches_statsmodels(b, c):
    table = [[10, b], [c, 20]]
    assert stats.mcnemar_exact(b, c) == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)


def test_holm_and_bh_match_statsmodels():
    p = np.array([0.001, 0.2, 0.03, 0.049, 0.5, 0.0001, 0.03])   # with a tie
    assert stats.holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert stats.benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1])
    assert stats.holm([]).size == 0


def test_sign_flip_exact_by_enumeration():
    d = [0.5, -0.2, 0.3, 0.4]
    # 16 sign patterns; |mean| >= 0.25 for: (+,+,+,+), (+,-,+,+), and their negations -> 4 of 16
    means = [abs(sum(s * x for s, x in zip(signs, d))) / 4
             for signs in __import__("itertools").product((1, -1), repeat=4)]
    assert stats.sign_flip_test(d) == pytest.approx(np.mean([m >= 0.25 - 1e-12 for m in means]))
    assert stats.sign_flip_test([0.0, 0.0, 0.0]) == 1.0


def test_sign_flip_large_n_is_seeded():
    d = np.random.default_rng(2).normal(0.3, 1, size=40)
    assert stats.sign_flip_test(d, seed=3) == stats.sign_flip_test(d, seed=3)
    assert stats.sign_flip_test(d, seed=3) == pytest.approx(sps.ttest_1samp(d, 0).pvalue, abs=0.03)


def test_generic_bootstrap_equals_the_vectorised_mean_bootstrap():
    x = np.random.default_rng(7).gamma(2.0, size=40)
    fast = stats.bootstrap_mean(x, seed=5, B=4000)
    slow = stats.bootstrap(np.mean, x, seed=5, B=4000)
    assert np.allclose(fast.replicates, slow.replicates)
    assert fast.acceleration == pytest.approx(slow.acceleration)
    assert fast.interval(0.9) == pytest.approx(slow.interval(0.9))


def test_bca_p_greater_is_consistent_with_its_bounds():
    x = np.random.default_rng(8).exponential(size=60)
    boot = stats.bootstrap_mean(x, seed=1)
    lo, hi = boot.interval(0.9)
    assert boot.p_greater(lo) == pytest.approx(0.05, abs=0.01)     # the 95% lower bound sits at p = 0.05
    assert 1 - boot.p_greater(hi) == pytest.approx(0.05, abs=0.01)


def test_paired_difference_with_clusters_by_hand():
    a = np.array([1, 1, 0, 1, 0, 1, 1, 0], dtype=float)
    b = np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=float)
    groups = ["x", "x", "y", "y", "z", "z", "w", "w"]
    res = stats.paired_difference(a, b, clusters=groups)
    assert res.se == pytest.approx(stats.clustered_se(a - b, groups))
    assert res.lo == pytest.approx(res.mean - 1.959964 * res.se, abs=1e-6)


def test_required_n_proportion_matches_statsmodels_power():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize
    # Same question, different route: one-sample test of p = 0.9 against t = 0.8 via Cohen's h.
    ours = stats.required_n_proportion(0.8, 0.9)
    h = proportion_effectsize(0.9, 0.8)
    theirs = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=0, alternative="larger")
    assert ours == pytest.approx(theirs, rel=0.15)   # arcsine vs score approximation: same ballpark


def test_variability_by_hand():
    m = np.array([[1, 1, 1], [0, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=float)
    v = stats.variability(m)
    assert v.run_scores == pytest.approx((0.5, 0.5, 0.5))
    assert v.run_sd == 0.0
    assert v.flip_rate == 0.5
    item_means = m.mean(axis=1)
    msb = 3 * item_means.var(ddof=1)
    msw = np.mean(m.var(axis=1, ddof=1))
    assert v.within_item_variance == pytest.approx(msw)
    assert v.icc == pytest.approx((msb - msw) / (msb + 2 * msw))
    assert v.item_se == pytest.approx(item_means.std(ddof=1) / 2)


def test_variability_icc_matches_anova_from_scipy():
    rng = np.random.default_rng(4)
    m = rng.normal(size=(30, 1)) + rng.normal(scale=0.5, size=(30, 4))
    f, _ = sps.f_oneway(*m)   # items as groups: F = MSB / MSW
    icc = (f - 1) / (f + 3)
    assert stats.variability(m).icc == pytest.approx(icc)


def test_variability_edges():
    assert stats.variability(np.ones((5, 3))).icc is None
    with pytest.raises(stats.StatsInputError):
        stats.variability(np.ones((5, 1)))
    with pytest.raises(stats.StatsInputError, match="NaN"):
        stats.variability([[1, np.nan], [0, 1]])


def test_ece_and_brier_check_values_and_equal_mass_by_hand():
    c = [.95, .85, .75, .65, .55, .92, .81, .62, .58, .99, .80, .30]
    y = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0]
    assert round(stats.ece(c, y), 4) == 0.2275
    assert round(stats.brier(c, y), 4) == 0.1955
    # Equal mass, 4 bins of 3 sorted confidences: [.30,.55,.58] [.62,.65,.75] [.80,.81,.85] [.92,.95,.99]
    bins = [([.30, .55, .58], [0, 0, 1]), ([.62, .65, .75], [0, 1, 0]), ([.80, .81, .85], [0, 1, 1]),
            ([.92, .95, .99], [1, 1, 1])]
    expected = sum(3 / 12 * abs(np.mean(cc) - np.mean(yy)) for cc, yy in bins)
    assert stats.ece(c, y, bins=4, scheme="mass") == pytest.approx(expected)


def test_ece_edge_values_land_in_the_right_bin():
    # 0.3 belongs to (0.2, 0.3]; floor(10 * 0.3) would put it in the next bin.
    assert stats.ece([0.3, 0.3], [0, 1]) == pytest.approx(abs(0.3 - 0.5))
    assert stats.ece([0.0, 1.0], [0, 1]) == 0.0
    with pytest.raises(stats.StatsInputError):
        stats.ece([0.5, 1.2], [0, 1])
    with pytest.raises(stats.StatsInputError):
        stats.ece([0.5], [2])


def test_quantile_interval_against_binomial_by_hand():
    x = np.arange(1.0, 101.0)
    est, lo, hi = stats.quantile_interval(x, 0.5, 0.95)
    # Classic order-statistic CI for the median of n = 100: ranks 40 and 61 (coverage >= 95%).
    assert (lo, hi) == (40.0, 61.0)
    assert est == 50.5
