"""Properties that must hold for any input, checked with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roadtest import stats


@given(n=st.integers(1, 2000), data=st.data(), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_intervals_contain_the_estimate(n, data, conf):
    k = data.draw(st.integers(0, n))
    for lo, hi in (stats.wilson_interval(k, n, conf), stats.clopper_pearson_interval(k, n, conf)):
        assert 0.0 <= lo <= k / n <= hi <= 1.0


@given(p=st.floats(0.05, 0.95), n=st.integers(10, 500))
def test_wilson_narrows_as_n_grows(p, n):
    k1, k2 = round(p * n), round(p * 4 * n)
    lo1, hi1 = stats.wilson_interval(k1, n)
    lo2, hi2 = stats.wilson_interval(k2, 4 * n)
    assert hi2 - lo2 < hi1 - lo1


@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=60))
def test_t_interval_contains_the_mean_and_narrows_with_replication(x):
    mean, lo, hi = stats.mean_interval(x)
    assert lo <= mean <= hi
    mean4, lo4, hi4 = stats.mean_interval(x * 4)
    assert np.isclose(mean4, mean)
    assert hi4 - lo4 <= hi - lo + 1e-9


@settings(max_examples=30, deadline=None)
@given(x=st.lists(st.floats(0, 10, allow_nan=False), min_size=3, max_size=40))
def test_bca_interval_contains_the_mean(x):
    mean, lo, hi = stats.mean_interval(x, method="bca", seed=1, B=2000)
    assert lo - 1e-9 <= mean <= hi + 1e-9


@settings(max_examples=40, deadline=None)
@given(x=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=300), q=st.sampled_from([0.5, 0.9, 0.95]))
def test_quantile_interval_contains_the_estimate(x, q):
    est, lo, hi = stats.quantile_interval(x, q)
    assert lo is None or lo <= est + 1e-9
    assert hi is None or est <= hi + 1e-9
