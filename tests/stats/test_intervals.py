"""The descriptive BCa bootstrap against scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from roadtest import stats


def test_bca_close_to_scipy_and_reproducible():
    x = np.random.default_rng(3).exponential(size=25)
    boot = stats.bootstrap_mean(x, seed=11)
    lo, hi = boot.interval(0.95)
    ref = sps.bootstrap((x,), np.mean, method="BCa", n_resamples=10_000, rng=np.random.default_rng(5))
    assert lo == pytest.approx(ref.confidence_interval.low, rel=0.03)
    assert hi == pytest.approx(ref.confidence_interval.high, rel=0.03)
    assert stats.bootstrap_mean(x, seed=11).interval(0.95) == (lo, hi)   # same seed, same digits
