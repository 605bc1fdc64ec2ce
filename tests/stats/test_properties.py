"""Properties that must hold for any input, checked with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roadtest import stats


@settings(max_examples=30, deadline=None)
@given(x=st.lists(st.floats(0, 100, allow_nan=False), min_size=3, max_size=200).filter(lambda v: np.ptp(v) > 0))
def test_bca_interval_contains_the_mean(x):
    boot = stats.bootstrap_mean(np.array(x), seed=1, B=2000)
    lo, hi = boot.interval(0.95)
    assert lo - 1e-9 <= float(np.mean(x)) <= hi + 1e-9
