"""The descriptive statistics against an independent implementation (scipy by another route) or by hand.

The decision rules are checked in tests/stats/rules/ and, through judge, in tests/verdict/."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from roadtest import stats


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
