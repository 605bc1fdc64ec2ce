"""Statistics against the spec's check values and independent computations (scipy by other routes, by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from roadtest import stats


def test_wilson_check_value():
    lo, hi = stats.wilson_interval(17, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.6396, 0.9476)


def test_clopper_pearson_check_value():
    lo, hi = stats.clopper_pearson_interval(17, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.6211, 0.9679)


def test_wilson_against_the_score_test_inversion():
    # Independent route: the Wilson bounds are where the score test's z equals +/-1.96.
    k, n = 37, 52
    lo, hi = stats.wilson_interval(k, n)
    for bound in (lo, hi):
        z = (k / n - bound) / math.sqrt(bound * (1 - bound) / n)
        assert abs(abs(z) - sps.norm.ppf(0.975)) < 1e-9


def test_clopper_pearson_against_binomial_tails():
    k, n = 4, 30
    lo, hi = stats.clopper_pearson_interval(k, n)
    assert sps.binom.sf(k - 1, n, lo) == pytest.approx(0.025, abs=1e-9)   # P(X >= k | lo) = alpha/2
    assert sps.binom.cdf(k, n, hi) == pytest.approx(0.025, abs=1e-9)      # P(X <= k | hi) = alpha/2


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (0, 1), (1, 1)])
def test_proportion_edges(k, n):
    for f in (stats.wilson_interval, stats.clopper_pearson_interval):
        lo, hi = f(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert stats.wilson_interval(0, n)[0] == 0.0
    assert stats.wilson_interval(n, n)[1] == 1.0


@pytest.mark.parametrize("k,n", [(-1, 5), (6, 5), (0, 0), (1.5, 3)])
def test_bad_counts_are_rejected(k, n):
    with pytest.raises(stats.StatsInputError):
        stats.wilson_interval(k, n)


def test_mean_and_se_check_values():
    x = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
    assert round(float(np.mean(x)), 4) == 0.7
    assert round(stats.standard_error(x), 4) == 0.1528


def test_t_interval_check_value():
    mean, lo, hi = stats.mean_interval([0.2, 0.5, 0.9, 0.4, 0.7])
    assert (round(lo, 4), round(hi, 4)) == (0.2045, 0.8755)
    ref = sps.t.interval(0.95, 4, loc=0.54, scale=sps.sem([0.2, 0.5, 0.9, 0.4, 0.7]))
    assert (lo, hi) == pytest.approx(ref)


def test_mean_interval_edges():
    assert stats.mean_interval([3.0]) == (3.0, None, None)
    assert stats.mean_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    with pytest.raises(stats.StatsInputError, match="NaN"):
        stats.mean_interval([1.0, float("nan")])
    with pytest.raises(stats.StatsInputError):
        stats.mean_interval([])


def test_bca_close_to_scipy_and_reproducible():
    x = np.random.default_rng(3).exponential(size=25)
    _, lo, hi = stats.mean_interval(x, method="bca", seed=11)
    ref = sps.bootstrap((x,), np.mean, method="BCa", n_resamples=10_000, rng=np.random.default_rng(5))
    assert lo == pytest.approx(ref.confidence_interval.low, rel=0.03)
    assert hi == pytest.approx(ref.confidence_interval.high, rel=0.03)
    assert stats.mean_interval(x, method="bca", seed=11) == (float(x.mean()), lo, hi)  # same seed, same digits


def test_quantile_interval_matches_order_statistics():
    x = np.arange(1, 201, dtype=float)
    est, lo, hi = stats.quantile_interval(x, 0.95)
    assert est == pytest.approx(np.quantile(x, 0.95))
    # By hand: the bounds are order statistics whose binomial coverage is >= 95%.
    ranks = [int(np.searchsorted(x, v)) + 1 for v in (lo, hi)]
    coverage = sps.binom.cdf(ranks[1] - 1, 200, 0.95) - sps.binom.cdf(ranks[0] - 1, 200, 0.95)
    assert coverage >= 0.95


def test_quantile_interval_says_when_n_is_too_small():
    est, lo, hi = stats.quantile_interval([0.1, 0.2, 0.3, 0.4, 0.5], 0.95)
    assert hi is None  # five calls cannot bound a 95th percentile from above


def test_clustered_se_by_hand():
    s = np.array([1, 0, 1, 1, 0, 0], dtype=float)
    c = ["a", "a", "b", "b", "c", "c"]
    m = s.mean()
    sums = [(1 - m) + (0 - m), (1 - m) + (1 - m), (0 - m) + (0 - m)]
    expected = math.sqrt(3 / 2 * sum(v * v for v in sums)) / 6
    assert stats.clustered_se(s, c) == pytest.approx(expected)
    assert stats.design_effect(s, c) == pytest.approx(expected ** 2 / stats.standard_error(s) ** 2)


def test_mcnemar_check_value():
    assert round(stats.mcnemar_exact(12, 3), 4) == 0.0352
    assert stats.mcnemar_exact(12, 3) == pytest.approx(sps.binomtest(3, 15, 0.5).pvalue)
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    assert list(stats.holm(p)) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: sorted 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4 -> 0.02, 0.02, 0.04, 0.04
    assert list(stats.benjamini_hochberg(p)) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_power_check_value():
    var_d = 0.75 * 0.25 + 0.70 * 0.30  # correlation 0
    assert stats.required_n_paired(var_d, 0.05) == 1248
    assert stats.minimum_detectable_effect(1.0) == pytest.approx(2.8016, abs=1e-4)


def test_required_n_proportion_by_hand():
    t, p = 0.85, 0.9
    n = ((1.6448536 * math.sqrt(t * (1 - t)) + 0.8416212 * math.sqrt(p * (1 - p))) / (p - t)) ** 2
    assert stats.required_n_proportion(t, p) == math.ceil(n)
    assert stats.required_n_proportion(0.5, 0.5) is None


def test_paired_difference_reports_what_pairing_gained():
    rng = np.random.default_rng(0)
    base = rng.normal(size=40)
    a, b = base + 0.3 + rng.normal(scale=0.1, size=40), base
    res = stats.paired_difference(a, b)
    d = a - b
    assert res.mean == pytest.approx(d.mean())
    assert res.se == pytest.approx(d.std(ddof=1) / math.sqrt(40))
    assert res.se < res.se_unpaired
    assert res.correlation == pytest.approx(np.corrcoef(a, b)[0, 1])
